/**
 * End-to-end: `pnpm demo --verbose` shows the servers' side of each step, in order, with no secret.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { runDemo } from "../helpers/demo-process.ts";

test("pnpm demo --verbose interleaves [as] and [rs] lines with the steps they belong to, each issued token's claims, tokens redacted", async () => {
  const { code, stdout } = await runDemo(["--verbose"]);
  assert.equal(code, 0, stdout.slice(-3000));

  const lines = stdout.split("\n");
  const at = (pattern: RegExp) => lines.findIndex((line) => pattern.test(line));
  const d3 = at(/^D3 /);
  const d4 = at(/^D4 /);
  const d5 = at(/^D5 /);
  assert.ok(d3 > 0 && d4 > d3 && d5 > d4, "the steps are narrated in order");
  // D3: the RS's 403, then the AS's authorization, inside D3.
  const refused = at(/^\[rs\] 403 insufficient_scope for .*write-file requires files:write/);
  assert.ok(refused > d3 && refused < d4, `the RS's 403 is shown within D3 (line ${refused})`);
  // D4: the replayed refresh token revokes the whole family — the AS says so, within D4.
  const revoked = at(/^\[as\] warn: revoked token family .*rotated refresh token reused/);
  assert.ok(revoked > d4 && revoked < d5, `the AS's family revocation is shown within D4 (line ${revoked})`);
  // Every access token issued is described by its claims, on the line after the token response.
  const clientLines = lines.filter((line) => !/^\[(as|rs)\]/.test(line)); // the servers' lines may fall in between
  const issued = clientLines.flatMap((line, i) => (/^ {5}AS POST \/token .* → 200 /.test(line) ? [clientLines[i + 1] ?? ""] : []));
  assert.ok(issued.length >= 6, `${issued.length} tokens issued`);
  for (const claims of issued) assert.match(claims, /^ {8}access token claims: aud=http:\/\/127\.0\.0\.1:\d+\/mcp scope="files:[a-z: ]+" client_id=[\w-]+ exp in \d+ s$/);
  assert.ok(issued.some((claims) => claims.includes('scope="files:read files:write"')), "the step-up token's claims");
  assert.doesNotMatch(stdout, /eyJ[\w-]{10,}\.[\w-]{10,}\.[\w-]{10,}/, "no whole JWT");
  assert.doesNotMatch(stdout, /(code|refresh_token|code_verifier)=[\w-]{12,}/, "no whole code or refresh token");
});
