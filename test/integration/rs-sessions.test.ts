/**
 * R6: MCP sessions are bound to the principal (sub + client_id) that opened them — checked before the
 * scope gate, on POST, GET and DELETE — a step-up token of the same principal continues the session,
 * and sessions are bounded (LRU eviction at the cap, idle expiry). Real AS tokens, except where a
 * second `sub` is needed (the demo AS has one user): there a test-key RS mints both.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startStack, type Stack } from "../helpers/stack.ts";
import { obtainTokens, type RegisteredClient } from "../helpers/oauth.ts";
import {
  ACCEPT,
  assertChallenge,
  initializeRequest,
  mcpRequest,
  McpTestSession,
  mintToken,
  startTestResourceServer,
  toolCall,
  type McpResponse,
} from "../helpers/rs-mcp.ts";

let stack: Stack;
let owner: { token: string; client_id: string; client: RegisteredClient };
let other: { token: string; client_id: string };

before(async () => {
  stack = await startStack();
  const a = await obtainTokens(stack.config, { scope: "files:read" });
  const b = await obtainTokens(stack.config, { scope: "files:read files:write" });
  owner = { token: a.access_token, client_id: a.client_id, client: a.client };
  other = { token: b.access_token, client_id: b.client_id };
});

after(() => stack.close());

function assertSessionNotFound(response: McpResponse): void {
  assert.equal(response.status, 404, response.text);
  assert.equal(response.headers.get("www-authenticate"), null, "never a challenge: no refresh, no step-up");
  assert.deepEqual(response.body, { jsonrpc: "2.0", error: { code: -32001, message: "Session not found" }, id: null });
}

/** Open the standalone SSE stream (GET /mcp), read only the status line, then hang up. */
async function openStream(config: Stack["config"], token: string, sessionId: string): Promise<McpResponse> {
  const controller = new AbortController();
  const response = await fetch(config.resource, {
    headers: { accept: ACCEPT, authorization: `Bearer ${token}`, "mcp-session-id": sessionId },
    signal: controller.signal,
  });
  const result = { status: response.status, headers: response.headers, body: undefined as any, text: "" };
  if (response.headers.get("content-type")?.startsWith("text/event-stream")) controller.abort();
  else {
    result.text = await response.text();
    result.body = result.text ? JSON.parse(result.text) : undefined;
  }
  return result;
}

describe("R6 a session belongs to the principal that opened it", () => {
  test("another client's valid token gets 404 on POST, GET and DELETE — before the scope gate", async () => {
    const session = await McpTestSession.open(stack.config, owner.token);
    // `other` holds files:write, the owner only files:read: still 404, never 403 or 401.
    assertSessionNotFound(await session.call("write-file", { name: "x.txt", content: "x" }, { token: other.token }));
    assertSessionNotFound(await session.call("list-files", undefined, { token: other.token }));
    assertSessionNotFound(await openStream(stack.config, other.token, session.sessionId));
    assertSessionNotFound(await mcpRequest(stack.config, undefined, { method: "DELETE", token: other.token, sessionId: session.sessionId }));
    // The other way round: a files:read token on a files:write holder's session, calling write-file,
    // must hear "not your session" (404), not "step up" (403) — session binding runs first.
    const theirs = await McpTestSession.open(stack.config, other.token);
    assertSessionNotFound(await theirs.call("write-file", { name: "x.txt", content: "x" }, { token: owner.token }));
    // The owner's session survived all of it.
    assert.match(await session.callText("list-files"), new RegExp(`read by ${owner.client_id} \\[files:read\\]`));
    // …and its own under-scoped call is still answered by the gate, not by session binding.
    assertChallenge(await session.call("write-file", { name: "x.txt", content: "x" }), 403, {
      error: "insufficient_scope",
      scope: "files:write",
      resource_metadata: stack.config.resourceMetadataUrl,
      error_description: "write-file requires files:write",
    });
  });

  test("the owner's GET opens the SSE stream; DELETE ends the session, after which it is gone", async () => {
    const session = await McpTestSession.open(stack.config, owner.token);
    const stream = await openStream(stack.config, owner.token, session.sessionId);
    assert.equal(stream.status, 200);
    const deleted = await mcpRequest(stack.config, undefined, { method: "DELETE", token: owner.token, sessionId: session.sessionId });
    assert.equal(deleted.status, 200, deleted.text);
    assertSessionNotFound(await session.call("list-files"));
  });

  test("an unknown session id → 404; a request without one that is not initialize → 400", async () => {
    assertSessionNotFound(await mcpRequest(stack.config, toolCall(1, "list-files"), { token: owner.token, sessionId: "no-such-session" }));
    const missing = await mcpRequest(stack.config, toolCall(1, "list-files"), { token: owner.token });
    assert.equal(missing.status, 400);
    assert.match(missing.body.error.message, /Mcp-Session-Id header is required/);
  });

  test("the same client but another user (sub) is another principal", async () => {
    const rs = await startTestResourceServer();
    try {
      const alice = await mintToken(rs.config, rs.key, { claims: { sub: "alice", client_id: "shared-client" } });
      const bob = await mintToken(rs.config, rs.key, { claims: { sub: "bob", client_id: "shared-client" } });
      const session = await McpTestSession.open(rs.config, alice);
      assertSessionNotFound(await session.call("list-files", undefined, { token: bob }));
      assert.match(await session.callText("list-files"), /read by shared-client/);
    } finally {
      await rs.close();
    }
  });
});

describe("R6/R7 a stepped-up token continues the same session", () => {
  test("403 → new token for the same client with more scope → same session, new scopes seen by the tool", async () => {
    const session = await McpTestSession.open(stack.config, owner.token);
    const refused = await session.call("write-file", { name: "step-up.txt", content: "after step-up" });
    assert.equal(refused.status, 403);

    const stepped = await obtainTokens(stack.config, { scope: "files:read files:write", client: owner.client });
    assert.equal(stepped.client_id, owner.client_id);
    session.token = stepped.access_token;
    assert.equal(
      await session.callText("write-file", { name: "step-up.txt", content: "after step-up" }),
      `wrote step-up.txt (13 bytes) — written by ${owner.client_id} [files:read files:write]`,
    );
    // Per request, not per session: the old, still-valid token on the same session reports its own scopes.
    const old = await session.call("list-files", undefined, { token: owner.token });
    assert.match(old.body.result.content[0].text, new RegExp(`read by ${owner.client_id} \\[files:read\\]`));
  });
});

describe("R6 sessions are bounded", () => {
  test(`at the cap, opening a session evicts the least recently used one`, async () => {
    const capped = await startStack({ RS_MAX_SESSIONS: "2" });
    try {
      const { access_token } = await obtainTokens(capped.config, { scope: "files:read" });
      const first = await McpTestSession.open(capped.config, access_token);
      const second = await McpTestSession.open(capped.config, access_token);
      await first.callText("list-files"); // `second` is now the least recently used
      const third = await McpTestSession.open(capped.config, access_token);
      assertSessionNotFound(await second.call("list-files"));
      await first.callText("list-files");
      await third.callText("list-files");
    } finally {
      await capped.close();
    }
  });

  test("an idle session expires; the client can initialize a new one", async () => {
    const idle = await startStack({ RS_SESSION_IDLE_MS: "300" });
    try {
      const { access_token } = await obtainTokens(idle.config, { scope: "files:read" });
      const session = await McpTestSession.open(idle.config, access_token);
      await new Promise((resolve) => setTimeout(resolve, 700));
      assertSessionNotFound(await session.call("list-files"));
      const fresh = await McpTestSession.open(idle.config, access_token);
      await fresh.callText("list-files");
    } finally {
      await idle.close();
    }
  });

  test("an initialize the transport refuses (406: Accept lacks text/event-stream) opens no session", async () => {
    const response = await mcpRequest(stack.config, initializeRequest(), { token: owner.token, headers: { accept: "application/json" } });
    assert.equal(response.status, 406);
    assert.equal(response.headers.get("mcp-session-id"), null);
  });
});
