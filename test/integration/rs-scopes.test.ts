/**
 * R5/R7: the per-operation scope gate and what the tools report, with real tokens from the real AS
 * (both servers in-process on port 0). "The handler did not run" is observed through MCP itself:
 * the store is read back after every refused call.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startStack, type Stack } from "../helpers/stack.ts";
import { obtainTokens } from "../helpers/oauth.ts";
import { assertChallenge, McpTestSession, toolCall } from "../helpers/rs-mcp.ts";
import { createAppWithoutGate, UNGATED_CLIENT_ID } from "../../scripts/bench/rs-without-gate.ts";
import { loadConfig } from "../../shared/config.ts";
import { closeServer, listenLoopback } from "../../shared/listen.ts";
import { SCOPE_CATALOG } from "../../shared/scopes.ts";

let stack: Stack;
let admin: Stack;
let reader: { token: string; client_id: string };
let session: McpTestSession;

before(async () => {
  stack = await startStack();
  admin = await startStack({ AS_GRANTABLE_SCOPES: "files:read files:write files:admin" });
  const tokens = await obtainTokens(stack.config, { scope: "files:read" });
  assert.equal(tokens.scope, "files:read");
  reader = { token: tokens.access_token, client_id: tokens.client_id };
  session = await McpTestSession.open(stack.config, reader.token);
});

after(async () => {
  await Promise.all([stack.close(), admin.close()]);
});

/** What `read-file` says about a file, through MCP (the observable state of the store). */
async function readBack(s: McpTestSession, name: string): Promise<{ isError: boolean; text: string }> {
  const response = await s.call("read-file", { name });
  assert.equal(response.status, 200, response.text);
  return { isError: response.body.result.isError === true, text: response.body.result.content[0].text };
}

const insufficient = (scope: string, description: string) => ({
  error: "insufficient_scope",
  scope,
  resource_metadata: stack.config.resourceMetadataUrl,
  error_description: description,
});

describe("R5/R7 a files:read token", () => {
  test("lists and reads; each result names the client and its scopes", async () => {
    const listing = await session.callText("list-files");
    assert.match(listing, new RegExp(`^listed 3 files — read by ${reader.client_id} \\[files:read\\]\\n`));
    assert.match(listing, /^notes\.txt \(\d+ bytes\)$/m);
    const read = await session.callText("read-file", { name: "notes.txt" });
    assert.match(read, new RegExp(`^read notes\\.txt \\(\\d+ bytes\\) — read by ${reader.client_id} \\[files:read\\]\\n\\nStep-up`));
  });

  test("write-file → 403 insufficient_scope scope=files:write, JSON-RPC error, and the tool does not run", async () => {
    const response = await session.post(toolCall(41, "write-file", { name: "gate.txt", content: "must not exist" }));
    assertChallenge(response, 403, insufficient("files:write", "write-file requires files:write"));
    assert.equal(response.body.jsonrpc, "2.0");
    assert.equal(response.body.id, 41, "a single request's error answers its id");
    assert.equal(response.body.error.data.error, "insufficient_scope");
    assert.equal(response.body.error.data.scope, "files:write");
    assert.equal(response.body.result, undefined);
    assert.deepEqual(await readBack(session, "gate.txt"), { isError: true, text: "no such file: gate.txt" });
  });

  test("delete-file → 403 scope=files:admin, and the file is still there", async () => {
    const response = await session.call("delete-file", { name: "notes.txt" });
    assertChallenge(response, 403, insufficient("files:admin", "delete-file requires files:admin"));
    assert.equal((await readBack(session, "notes.txt")).isError, false);
  });

  test("an unknown tool is not challenged: MCP's own error, no scope disclosed", async () => {
    const response = await session.call("format-disk", { name: "notes.txt" });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("www-authenticate"), null);
    assert.equal(response.body.result.isError, true);
    assert.equal(response.body.result.content[0].text, "MCP error -32602: Tool format-disk not found");
    assert.doesNotMatch(response.text, /files:/);
  });

  test("a batch with one under-scoped call → one 403 with id null, and nothing in it runs", async () => {
    const batch = [
      toolCall(51, "list-files"),
      toolCall(52, "write-file", { name: "batch.txt", content: "must not exist" }),
      toolCall(53, "read-file", { name: "notes.txt" }),
    ];
    const response = await session.post(batch);
    assertChallenge(response, 403, insufficient("files:read files:write", "write-file requires files:write"));
    assert.equal(response.body.id, null);
    assert.equal(Array.isArray(response.body), false, "one error for the whole batch");
    assert.equal((await readBack(session, "batch.txt")).isError, true);
  });

  test("a batch of calls the token covers runs, each answered", async () => {
    const response = await session.post([toolCall(61, "list-files"), toolCall(62, "read-file", { name: "todo.md" })]);
    assert.equal(response.status, 200, response.text);
    assert.deepEqual(response.body.map((r: { id: number }) => r.id).sort(), [61, 62]);
    for (const r of response.body) assert.match(r.result.content[0].text, /read by .* \[files:read\]/);
  });
});

describe("R5 broken-challenge (deliberately broken, D6)", () => {
  test("answers 403 scope=files:read even to a token that has files:read and files:write", async () => {
    const tokens = await obtainTokens(stack.config, { scope: "files:read files:write" });
    const s = await McpTestSession.open(stack.config, tokens.access_token);
    for (let attempt = 0; attempt < 2; attempt++) {
      assertChallenge(await s.call("broken-challenge"), 403, insufficient("files:read", "broken-challenge requires files:read"));
    }
    const listed = await s.post({ jsonrpc: "2.0", id: 1, method: "tools/list" });
    const tool = listed.body.result.tools.find((t: { name: string }) => t.name === "broken-challenge");
    assert.match(tool.description, /DELIBERATELY BROKEN/);
  });
});

describe("R5 independent scopes: a token has a scope only when it names it", () => {
  test("a files:read files:write token writes, and the result shows both scopes", async () => {
    const tokens = await obtainTokens(stack.config, { scope: "files:read files:write" });
    const s = await McpTestSession.open(stack.config, tokens.access_token);
    const text = await s.callText("write-file", { name: "rw.txt", content: "hello, world" });
    assert.equal(text, `wrote rw.txt (12 bytes) — written by ${tokens.client_id} [files:read files:write]`);
    assert.match((await readBack(s, "rw.txt")).text, /\n\nhello, world$/);
  });

  test("a token holding only files:admin deletes, but may neither list nor write", async () => {
    const tokens = await obtainTokens(admin.config, { scope: "files:admin" });
    assert.equal(tokens.scope, "files:admin");
    const s = await McpTestSession.open(admin.config, tokens.access_token);
    assert.equal(await s.callText("delete-file", { name: "notes.txt" }), `deleted notes.txt — deleted by ${tokens.client_id} [files:admin]`);
    assertChallenge(await s.call("list-files"), 403, {
      ...insufficient("files:read", "list-files requires files:read"),
      resource_metadata: admin.config.resourceMetadataUrl,
    });
    assertChallenge(await s.call("write-file", { name: "a.txt", content: "x" }), 403, {
      ...insufficient("files:write", "write-file requires files:write"),
      resource_metadata: admin.config.resourceMetadataUrl,
    });
  });

  test("a files:write token (no files:read) writes but may not read: the step-up union matters", async () => {
    const tokens = await obtainTokens(admin.config, { scope: "files:write" });
    const s = await McpTestSession.open(admin.config, tokens.access_token);
    assert.match(await s.callText("write-file", { name: "w.txt", content: "x" }), /written by .* \[files:write\]/);
    assertChallenge(await s.call("read-file", { name: "todo.md" }), 403, {
      ...insufficient("files:read", "read-file requires files:read"),
      resource_metadata: admin.config.resourceMetadataUrl,
    });
  });
});

describe("the file store is bounded (tool errors, not crashes)", () => {
  test("an oversized file and a full store are refused as tool errors", async () => {
    const tokens = await obtainTokens(admin.config, { scope: "files:write" });
    const s = await McpTestSession.open(admin.config, tokens.access_token);
    const big = await s.call("write-file", { name: "big.txt", content: "x".repeat(8 * 1024 + 1) });
    assert.equal(big.body.result.isError, true);
    assert.match(big.body.result.content[0].text, /file too large/);

    const writes = Array.from({ length: 40 }, (_, i) => toolCall(100 + i, "write-file", { name: `f${i}.txt`, content: "." }));
    const response = await s.post(writes);
    assert.equal(response.status, 200, response.text);
    const full = response.body.filter((r: { result: { isError?: boolean } }) => r.result.isError);
    assert.ok(full.length > 0, "some writes must hit the cap");
    assert.match(full[0].result.content[0].text, /store full: at most 32 files/);
    const bad = await s.call("write-file", { name: "../etc/passwd", content: "x" });
    assert.match(bad.body.result.content[0].text, /invalid file name/);
  });
});

describe("scripts/bench/rs-without-gate.ts — P2's baseline, assembled outside the teaching server", () => {
  test("serves /mcp with no token and no scope gate; the tools report the ungated principal", async () => {
    const rs = await listenLoopback(0);
    const config = loadConfig({ RS_PORT: String(rs.address.port) });
    rs.server.on("request", createAppWithoutGate(config));
    try {
      const s = await McpTestSession.open(config, undefined);
      const everyScope = `[${SCOPE_CATALOG.join(" ")}]`;
      assert.ok((await s.callText("list-files")).includes(`read by ${UNGATED_CLIENT_ID} ${everyScope}`));
      assert.ok((await s.callText("write-file", { name: "x.txt", content: "x" })).includes(`written by ${UNGATED_CLIENT_ID}`));
      // R9: without the gate, the tool itself still refuses, as the gate would (always insufficient_scope).
      const refused = await s.call("broken-challenge");
      assert.equal(refused.status, 200);
      assert.equal(refused.body.result.isError, true);
      assert.equal(refused.body.result.content[0].text, "insufficient_scope: broken-challenge requires files:read");
    } finally {
      await closeServer(rs.server);
    }
  });
});
