/**
 * The resource server restarts under a connected client (client/connect.ts, step-up.ts,
 * authorizer.ts), against the real AS and RS in this process (catalog/rs-stack.ts).
 *
 * A restarted RS has no sessions and an empty JWKS cache; the AS is unchanged, so the client's token
 * is still good. What a careful user expects:
 * - the old session is gone: the call fails with "Session not found" (404) after one POST — not a
 *   refresh, not a step-up (R6: 404 is neither 401 nor 403), no AS traffic, no loop;
 * - the client reconnects with a new MCP session, and needs no new authorization for it: the new
 *   RS fetches the JWKS and accepts the token it already holds.
 * MCP Streamable HTTP says a client that gets 404 for its session MUST start a new one with a new
 * `initialize`: the client does so by itself (client/session.ts, the third test); by hand, reconnecting
 * means a new transport over the same authorizer — shown too.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { connectClient, type McpClientHandle } from "../../client/connect.ts";
import { withStepUp } from "../../client/step-up/index.ts";
import { receivedSince, startRestartableStack, type RestartableStack } from "./catalog/rs-stack.ts";

let stack: RestartableStack;
const closers: Array<() => Promise<unknown>> = [];

before(async () => {
  stack = await startRestartableStack();
});
after(async () => {
  await Promise.all(closers.splice(0).map((close) => close().catch(() => {})));
  await stack.close();
});

function textOf(result: unknown): string {
  return ((result as { content?: Array<{ text?: string }> }).content ?? []).map((c) => c.text ?? "").join("\n");
}

async function connect(): Promise<McpClientHandle> {
  const handle = await connectClient({ serverUrl: stack.config.resource, requestTimeoutMs: 10_000, authTimeoutMs: 2_000 });
  closers.push(() => handle.close());
  return handle;
}

/**
 * Stop the RS (dropping every connection) and start a new one on the same port. A real restart takes
 * a moment, during which the client's pooled keep-alive sockets see the close; without that pause a
 * request sent in the very same instant meets a dead socket ("other side closed") instead of the new
 * server — a race of the test, not a behaviour to assert.
 */
async function restartRs(): Promise<void> {
  await stack.rs.stop();
  await new Promise((resolve) => setTimeout(resolve, 200));
  await stack.rs.start();
}

test("after an RS restart the old session is gone: one POST, a 404 Session not found, no AS traffic", { timeout: 15_000 }, async () => {
  const handle = await connect();
  assert.match(textOf(await handle.client.callTool({ name: "list-files" })), /\[files:read\]/);
  await restartRs();

  const asMark = stack.as.received.length;
  const rsMark = stack.rs.received.length;
  const mark = handle.recorder.mark();
  const error = await handle.client.callTool({ name: "list-files" }, undefined, { timeout: 10_000 }).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (error === undefined) {
    // The client re-initialized by itself (see below): then it must have done so without the AS.
    assert.deepEqual(handle.recorder.since(mark).filter((e) => e.origin === stack.config.issuer), []);
    return;
  }
  assert.match(String((error as Error).message), /404|Session not found/, `a clear "session not found": ${String(error)}`);
  // The new RS fetches the AS's keys to check the token; the client itself sends nothing to the AS.
  assert.deepEqual(
    receivedSince(stack.as, asMark).filter((r) => r.path !== "/.well-known/jwks.json"),
    [],
    "no refresh, no step-up: a 404 is not an auth problem",
  );
  assert.deepEqual(handle.recorder.since(mark).filter((e) => e.origin === stack.config.issuer), []);
  const posts = receivedSince(stack.rs, rsMark).filter((r) => r.method === "POST");
  assert.equal(posts.length, 1, "sent once, not retried");
});

test("reconnecting over the same authorizer: a new session, the same token, no AS traffic", { timeout: 15_000 }, async () => {
  const handle = await connect();
  const oldSession = handle.transport.sessionId;
  const clientId = handle.authorizer.client!.client_id;
  await restartRs();

  const asMark = stack.as.received.length;
  // A failed/abandoned v1 transport cannot be restarted: a new Client + transport, over
  // the same authorizer (the grant) and the same recorder, through the project's step-up middleware.
  const fetch = withStepUp(handle.authorizer, { resource: stack.config.resource })(handle.recorder.fetch);
  const transport = new StreamableHTTPClientTransport(new URL(stack.config.resource), { fetch });
  const client = new Client({ name: "reconnected", version: "0.0.0" });
  await client.connect(transport, { timeout: 10_000 });
  closers.push(async () => {
    await transport.terminateSession().catch(() => {});
    await client.close();
  });

  assert.ok(transport.sessionId, "a new session");
  assert.notEqual(transport.sessionId, oldSession);
  assert.match(textOf(await client.callTool({ name: "list-files" })), new RegExp(`read by ${clientId} \\[files:read\\]`));
  const toAs = receivedSince(stack.as, asMark);
  assert.deepEqual(
    toAs.map((r) => r.path),
    ["/.well-known/jwks.json"],
    "the only AS request is the new RS fetching the keys — the client needed no new authorization",
  );
});

test(
  "the same client handle starts a new session by itself after the RS restarted",
  { timeout: 15_000 },
  async () => {
    const handle = await connect();
    const oldSession = handle.transport.sessionId;
    await restartRs();
    const asMark = stack.as.received.length;
    const listed = await handle.client.callTool({ name: "list-files" }, undefined, { timeout: 10_000 });
    assert.match(textOf(listed), /\[files:read\]/);
    assert.notEqual(handle.transport.sessionId, oldSession);
    assert.deepEqual(receivedSince(stack.as, asMark).map((r) => r.path), ["/.well-known/jwks.json"]);
  },
);

test("a brand-new client connects to the restarted RS and steps up", { timeout: 15_000 }, async () => {
  await restartRs();
  const handle = await connect();
  const written = await handle.client.callTool({ name: "write-file", arguments: { name: "after-restart.txt", content: "ok\n" } });
  assert.match(textOf(written), /written by \S+ \[files:read files:write\]/);
});
