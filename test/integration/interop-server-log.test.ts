/**
 * `pnpm interop` judges clients from what the real servers log. These tests drive the real AS and RS
 * through the requests a client makes and check that their log lines read back as the right events
 * (scripts/interop/server-log.ts) — and that none of those lines carries a token.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createLogger } from "../../shared/log.ts";
import { parseServerLog } from "../../scripts/interop/server-log.ts";
import { exchangeCode, obtainCode, postToken, registerClient, startAuthorizationServer, authorize, authorizationParams, pkcePair } from "../helpers/oauth.ts";
import { McpTestSession, mintToken, startTestResourceServer } from "../helpers/rs-mcp.ts";

test("the AS logs registration, each authorization (asked for, granted, refused) and each token grant (accepted or refused)", async () => {
  const lines: string[] = [];
  const as = await startAuthorizationServer({}, { logger: createLogger("[as]", (line) => lines.push(line.trimEnd())) });
  try {
    const { client_id } = await registerClient(as.config);
    const { code, code_verifier } = await obtainCode(as.config, { client_id, scope: "files:read files:write files:admin" });
    const tokens = await exchangeCode(as.config, { client_id, code, code_verifier });
    const widening = await postToken(as.config, { grant_type: "refresh_token", client_id, refresh_token: tokens.refresh_token, scope: "files:read files:write files:admin" });
    assert.equal(widening.status, 400);
    const denied = await authorize(as.config, authorizationParams(as.config, client_id, pkcePair().code_challenge, { scope: "files:admin" }));
    assert.equal(denied.status, 302);

    assert.deepEqual(parseServerLog(lines), [
      { kind: "register" },
      { kind: "authorize", requested: ["files:read", "files:write", "files:admin"], granted: ["files:read", "files:write"] },
      { kind: "token", grantType: "authorization_code", scope: ["files:read", "files:write"] },
      { kind: "token-refused", grantType: "refresh_token", error: "invalid_scope" },
      { kind: "authorize-refused", error: "access_denied" },
    ]);
    for (const secret of [code, tokens.access_token, tokens.refresh_token!]) {
      assert.ok(!lines.some((line) => line.includes(secret)), "a log line carries a code or token");
    }
  } finally {
    await as.close();
  }
});

test("the RS logs every attempt of a tool call: allowed ones and 403 insufficient_scope ones", async () => {
  const rs = await startTestResourceServer();
  try {
    const token = await mintToken(rs.config, rs.key, { claims: { scope: "files:read" } });
    const session = await McpTestSession.open(rs.config, token);
    await session.callText("list-files");
    assert.equal((await session.call("write-file", { name: "a.txt", content: "a" })).status, 403);
    assert.equal((await session.call("broken-challenge")).status, 403);

    assert.deepEqual(
      parseServerLog(rs.logLines.map((line) => `[rs] ${line}`)).filter((event) => event.kind === "call"),
      [
        { kind: "call", tool: "list-files", status: 200 },
        { kind: "call", tool: "write-file", status: 403 },
        { kind: "call", tool: "broken-challenge", status: 403 },
      ],
    );
    assert.ok(!rs.logLines.some((line) => line.includes(token)), "a log line carries the token");
  } finally {
    await rs.close();
  }
});
