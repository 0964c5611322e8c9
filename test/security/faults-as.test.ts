/**
 * Faults at the authorization server, met by the project's real client (client/connect.ts,
 * client/step-up/step-up.ts, client/authorizer.ts) against the real AS and RS in this process
 * (catalog/rs-stack.ts: either side can be stopped and restarted on the same port).
 *
 * What a careful user expects, and what is asserted:
 * - AS down during a step-up (and staying down): the call fails fast with the named
 *   `AuthorizationServerUnreachableError` (the issuer, the exchange, the refused address), after
 *   exactly one attempt at the AS (no retry storm); nothing was written; what needs no AS keeps working.
 * - AS restarted with a new signing key (it forgot every client and grant): the RS picks up the new
 *   key from the JWKS, an old token is refused `401 invalid_token`, and a client that registers afresh
 *   works at once. The *same* client recovers by itself: re-register, re-authorize, new MCP session
 *   (the RS binds sessions to the principal, R6).
 * - A slow AS: the client's auth timeout (`authTimeoutMs`) bounds each AS request, and is configurable.
 *
 * No timing is asserted: every test has its own timeout, and "it finished" is the bound.
 */
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import { decodeJwt } from "jose";
import { connectClient, type McpClientHandle } from "../../client/connect.ts";
import { AuthorizationServerUnreachableError } from "../../client/recorder.ts";
import { FetchTimeoutError } from "../../client/recorder.ts";
import { obtainTokens } from "../helpers/oauth.ts";
import { initializeRequest, mcpRequest, parseChallenge, toolCall } from "../helpers/rs-mcp.ts";
import { receivedSince, startRestartableStack, type RestartableStack } from "./catalog/rs-stack.ts";

const WRITE = { name: "write-file", arguments: { name: "fault.txt", content: "written during a fault\n" } };

/** The error and every `cause` below it, as one line of text. */
function chainText(error: unknown): string {
  const parts: string[] = [];
  for (let e = error, depth = 0; e && depth < 6; e = (e as { cause?: unknown }).cause, depth++) {
    parts.push(e instanceof Error ? `${e.name}: ${e.message}` : String(e));
  }
  return parts.join(" <- ");
}

function textOf(result: unknown): string {
  return ((result as { content?: Array<{ text?: string }> }).content ?? []).map((c) => c.text ?? "").join("\n");
}

let stack: RestartableStack;
const handles: McpClientHandle[] = [];

async function connect(options: { authTimeoutMs?: number } = {}): Promise<McpClientHandle> {
  const handle = await connectClient({ serverUrl: stack.config.resource, requestTimeoutMs: 10_000, authTimeoutMs: 2_000, ...options });
  handles.push(handle);
  return handle;
}

async function closeHandles(): Promise<void> {
  await Promise.all(handles.splice(0).map((handle) => handle.close()));
}

describe("the AS is down during a step-up", () => {
  before(async () => {
    stack = await startRestartableStack();
  });
  after(async () => {
    await closeHandles();
    await stack.close();
  });

  test("the call fails fast with AuthorizationServerUnreachableError; one attempt at the AS; nothing written", { timeout: 15_000 }, async () => {
    const handle = await connect();
    assert.match(textOf(await handle.client.callTool({ name: "list-files" })), /\[files:read\]/);

    await stack.as.stop(); // and it stays down for the rest of this test
    const mark = handle.recorder.mark();
    const rsMark = stack.rs.received.length;
    const error = await handle.client.callTool(WRITE, undefined, { timeout: 10_000 }).then(
      () => assert.fail("write-file cannot succeed while the AS is down"),
      (e: unknown) => e,
    );

    assert.ok(error instanceof AuthorizationServerUnreachableError, `the named error: ${chainText(error)}`);
    assert.equal(error.issuer, stack.config.issuer);
    assert.equal(error.endpoint, `GET ${stack.config.issuer}/authorize`, "step-up went straight to a new authorization");
    assert.match(chainText(error), new RegExp(`ECONNREFUSED 127\\.0\\.0\\.1:${stack.as.port}`), "the cause names the AS's address");

    // The transport's standalone SSE GET lives on its own schedule; everything else is the call's.
    const sent = handle.recorder.since(mark).filter((e) => !(e.method === "GET" && e.path === "/mcp"));
    assert.deepEqual(
      sent.map((e) => `${e.method} ${e.path} ${e.status ?? "no response"}`),
      ["POST /mcp 403", "GET /authorize no response"],
      "the 403, then one attempt at the AS — no refresh (it would widen), no retry",
    );
    const writes = receivedSince(stack.rs, rsMark).filter((r) => r.method === "POST");
    assert.equal(writes.length, 1, "the tool call was sent once (the 403), never retried");

    // What needs no AS still works on the same session, and the write never happened.
    const read = await handle.client.callTool({ name: "read-file", arguments: { name: "fault.txt" } });
    assert.equal(read.isError, true, "fault.txt was never written");
    assert.match(textOf(await handle.client.callTool({ name: "list-files" })), /\[files:read\]/);
  });
});

describe("the AS restarts with a new signing key on the same port", () => {
  beforeEach(async () => {
    stack = await startRestartableStack();
  });
  const stop = async () => {
    await closeHandles();
    await stack.close();
  };

  /** Restart the AS, then show the RS has the new key: a new-AS token opens a session (bounded retries). */
  async function restartAsAndRefreshRsKeys(): Promise<void> {
    await stack.as.stop();
    await stack.as.start();
    const fresh = await obtainTokens(stack.config, { scope: "files:read" });
    // The RS refetches its JWKS on an unknown kid, at most once a second (a cooldown against kid
    // floods): within that second the new token is refused, after it accepted. Bounded: 40 × 100 ms.
    for (let attempt = 0; attempt < 40; attempt++) {
      const response = await mcpRequest(stack.config, initializeRequest(), { token: fresh.access_token });
      if (response.status === 200) return;
      assert.equal(response.status, 401, `only a 401 is expected while the RS refetches: ${response.text}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.fail("the RS never accepted a token signed with the AS's new key");
  }

  test("the RS refetches the JWKS; an old token gets 401 invalid_token; a client that registers afresh works at once", { timeout: 20_000 }, async () => {
    try {
      const handle = await connect();
      const oldToken = handle.authorizer.tokens!.access_token;
      const oldClientId = handle.authorizer.client!.client_id;
      const sessionId = handle.transport.sessionId!;

      const jwksBefore = stack.as.received.filter((r) => r.path === "/.well-known/jwks.json").length;
      await restartAsAndRefreshRsKeys();
      assert.ok(stack.as.received.filter((r) => r.path === "/.well-known/jwks.json").length > jwksBefore, "the RS fetched the new JWKS");

      // The old token, sent by hand: refused as invalid_token (the client should refresh or re-authorize).
      const old = await mcpRequest(stack.config, toolCall(1, "list-files"), { token: oldToken, sessionId });
      assert.equal(old.status, 401, old.text);
      const challenge = parseChallenge(old.headers.get("www-authenticate")!);
      assert.equal(challenge.params.error, "invalid_token");
      assert.match(challenge.params.error_description!, /unknown key/);
      assert.equal(new Set(challenge.names).size, challenge.names.length, "each parameter once");

      // (The old client's own recovery, request by request, is the next test.)
      // A client that starts afresh registers with the new AS and steps up normally.
      const fresh = await connect();
      assert.notEqual(fresh.authorizer.client!.client_id, oldClientId);
      assert.match(textOf(await fresh.client.callTool(WRITE)), /written by \S+ \[files:read files:write\]/);
    } finally {
      await stop();
    }
  });

  test(
    "the same client recovers by itself: re-registers, re-authorizes and opens a new MCP session",
    { timeout: 20_000 },
    async () => {
      try {
        const handle = await connect();
        const oldClientId = handle.authorizer.client!.client_id;
        await restartAsAndRefreshRsKeys();

        const asMark = stack.as.received.length;
        const listed = await handle.client.callTool({ name: "list-files" }, undefined, { timeout: 10_000 });
        const newClientId = handle.authorizer.client!.client_id;
        assert.notEqual(newClientId, oldClientId, "registered again");
        assert.match(textOf(listed), new RegExp(`read by ${newClientId} \\[files:read\\]`));
        assert.equal(decodeJwt(handle.authorizer.tokens!.access_token).client_id, newClientId);
        const paths = receivedSince(stack.as, asMark).map((r) => `${r.method} ${r.path}`);
        assert.deepEqual(
          paths.filter((p) => p !== "GET /.well-known/oauth-authorization-server"),
          ["POST /token", "POST /register", "GET /authorize", "POST /token"],
          "refresh refused → register → authorize → code exchange, once each",
        );
      } finally {
        await stop();
      }
    },
  );
});

describe("a slow AS", () => {
  before(async () => {
    stack = await startRestartableStack();
  });
  after(async () => {
    await closeHandles();
    await stack.close();
  });

  test("authTimeoutMs bounds each AS request: a /token that hangs ends the step-up with FetchTimeoutError, once", { timeout: 15_000 }, async () => {
    const handle = await connect({ authTimeoutMs: 300 });
    const asMark = stack.as.received.length;
    stack.delay = (req) => (req.url?.startsWith("/token") ? 5_000 : 0);
    try {
      const error = await handle.client.callTool(WRITE, undefined, { timeout: 10_000 }).then(
        () => assert.fail("the step-up cannot finish while /token hangs"),
        (e: unknown) => e,
      );
      const chain = chainText(error);
      let timeout: unknown = error;
      while (timeout && !(timeout instanceof FetchTimeoutError)) timeout = (timeout as { cause?: unknown }).cause;
      assert.ok(timeout instanceof FetchTimeoutError, `a FetchTimeoutError in the chain: ${chain}`);
      assert.match((timeout as Error).message, /POST http:\/\/127\.0\.0\.1:\d+\/token got no answer within 300 ms/);
      const tokenRequests = receivedSince(stack.as, asMark).filter((r) => r.path === "/token");
      assert.equal(tokenRequests.length, 1, "the timed-out token request was not retried");
    } finally {
      stack.delay = () => 0;
    }
  });

  test("a larger authTimeoutMs rides out a slow (but answering) AS", { timeout: 15_000 }, async () => {
    stack.delay = (req) => (req.url?.startsWith("/token") ? 400 : 0);
    try {
      const handle = await connect({ authTimeoutMs: 5_000 });
      assert.match(textOf(await handle.client.callTool(WRITE)), /written by \S+ \[files:read files:write\]/);
    } finally {
      stack.delay = () => 0;
    }
  });
});
