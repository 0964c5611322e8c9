/**
 * B4: nothing a server sends reaches the terminal raw. `client/main.ts` runs as a child process against
 * hostile servers on loopback — an AS whose authorization response carries an `error_description` with
 * ESC sequences and a lone CR, an MCP server whose tool result, JSON-RPC error message and HTTP error
 * body do — in the generic `--call` mode (with and without `--verbose`) and in the story. Whatever the
 * client prints, no control character but a line break may be in it, and the hostile text is shown
 * escaped.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startClient } from "../helpers/client-process.ts";
import { startAuthorizationServer, type TestAuthorizationServer } from "../helpers/oauth.ts";
import { startStubAuthorizationServer, startStubResourceServer, type RawAnswer, type StubResourceServer } from "../helpers/stub-rs.ts";

/** What an attacker would print: clear the screen, retitle the window, return to column 0, fake a pass. */
const HOSTILE = "\x1b[2J\x1b[H\x1b]0;pwned\x07 all good\r✓ PASS \u009b31m\u202e";
const SHOWN = "\\x1b[2J\\x1b[H\\x1b]0;pwned\\x07 all good\\r✓ PASS \\x9b31m\\u202e";
/** Any control character but a newline (NO_COLOR is set: not even our own styling may appear). */
const RAW_CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e]/;

function assertNothingRaw(output: { stdout: string; stderr: string }, what: string): void {
  for (const stream of ["stdout", "stderr"] as const) {
    const raw = RAW_CONTROL.exec(output[stream]);
    assert.equal(raw, null, `${what}: ${stream} carries U+${raw?.[0].charCodeAt(0).toString(16).padStart(4, "0")} raw:\n${JSON.stringify(output[stream])}`);
  }
}

const jsonRpc = (id: number | string | undefined, body: object): RawAnswer => ({
  status: 200,
  contentType: "application/json",
  body: JSON.stringify({ jsonrpc: "2.0", id, ...body }),
});

/** The hostile MCP server: every tool answers with HOSTILE somewhere, in the way its name says. */
const hostileAnswers = (tool: string, id: number | string | undefined): RawAnswer | undefined => {
  switch (tool) {
    case "hostile-result":
      return jsonRpc(id, { result: { content: [{ type: "text", text: `line one\n${HOSTILE}\r\nline three` }], structuredContent: { note: HOSTILE } } });
    case "hostile-rpc-error":
      return jsonRpc(id, { error: { code: -32603, message: HOSTILE } });
    case "hostile-http-error":
      return { status: 500, contentType: "text/plain", body: HOSTILE };
    default:
      return undefined;
  }
};

let as: TestAuthorizationServer;
let rs: StubResourceServer;
before(async () => {
  rs = await startStubResourceServer(() => undefined, { rawAnswer: hostileAnswers });
  as = await startAuthorizationServer({ RS_PORT: new URL(rs.url).port });
  rs.setIssuer(as.config.issuer);
});
after(async () => {
  await Promise.all([rs.close(), as.close()]);
});

test("a hostile MCP server's tool result, JSON-RPC error and HTTP error body are printed escaped, with and without --verbose", async () => {
  for (const verbose of [[], ["--verbose"]]) {
    const result = await startClient(["--call", "hostile-result", ...verbose, rs.resource]).exited;
    assert.equal(result.code, 0, result.stderr);
    assertNothingRaw(result, `hostile-result ${verbose.join(" ")}`);
    assert.ok(result.stdout.startsWith(`line one\n${SHOWN}\nline three\n`), `the tool's lines stay lines, its controls are shown: ${result.stdout}`);
    assert.ok(result.stdout.includes(`"note": "\\u001b[2J`), "structuredContent is JSON (ESC as \\u001b)");

    const rpc = await startClient(["--call", "hostile-rpc-error", ...verbose, rs.resource]).exited;
    assert.equal(rpc.code, 1, rpc.stderr);
    assertNothingRaw(rpc, `hostile-rpc-error ${verbose.join(" ")}`);
    assert.ok(rpc.stderr.includes(SHOWN), `the JSON-RPC error message is shown escaped: ${rpc.stderr}`);

    const http = await startClient(["--call", "hostile-http-error", ...verbose, rs.resource]).exited;
    assert.equal(http.code, 1, http.stderr);
    assertNothingRaw(http, `hostile-http-error ${verbose.join(" ")}`);
    assert.match(http.stderr, /^client: HTTP 500: /m);
    assert.ok(http.stderr.includes(SHOWN), `the HTTP error body is shown escaped: ${http.stderr}`);
    if (verbose.length > 0) assert.match(http.stderr, /POST \/mcp tools\/call hostile-http-error .*→ 500/, "--verbose printed the exchanges");
  }
});

test("a hostile AS's error_description (RFC 6749 §4.1.2.1) is printed escaped by --call, --verbose and the story", async () => {
  // An AS that refuses every authorization with a redirect whose error_description is hostile.
  const hostileAs = await startStubAuthorizationServer((query, issuer) => {
    const callback = new URL(query.get("redirect_uri") ?? "");
    callback.search = new URLSearchParams({ error: "access_denied", error_description: HOSTILE, state: query.get("state") ?? "", iss: issuer }).toString();
    return { status: 302, location: callback.href };
  });
  const refused = await startStubResourceServer(() => undefined);
  refused.setIssuer(hostileAs.issuer);
  try {
    for (const verbose of [[], ["--verbose"]]) {
      const call = await startClient(["--call", "list-files", ...verbose, refused.resource]).exited;
      assert.equal(call.code, 1, call.stderr);
      assertNothingRaw(call, `--call ${verbose.join(" ")}`);
      assert.ok(call.stderr.includes(`access_denied (${SHOWN})`), `the description is shown escaped: ${call.stderr}`);
    }
    const story = await startClient(["--server", refused.resource]).exited;
    assert.equal(story.code, 1, story.stderr);
    assertNothingRaw(story, "the story");
    assert.match(story.stdout, /^ {3}✗ authorization refused: access_denied \(\\x1b\[2J/m, "the failed check's line");
    assert.match(story.stdout, /^ {4}authorization refused: access_denied \(\\x1b\[2J/m, "the checklist's detail");
    const json = await startClient(["--server", refused.resource, "--json"]).exited;
    const report = JSON.parse(json.stdout) as { checks: Array<{ id: string; detail: string }> };
    assert.ok(report.checks[0]!.detail.includes(SHOWN), `the JSON report's detail is escaped too: ${report.checks[0]!.detail}`);
    assertNothingRaw(json, "the story --json");
  } finally {
    await Promise.all([refused.close(), hostileAs.close()]);
  }
});
