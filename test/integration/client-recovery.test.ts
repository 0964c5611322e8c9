/**
 * The client recovering from a server that forgot it, read from its recorded exchanges:
 *
 * - the AS forgot the client (a restart): `invalid_client` at /authorize (400 JSON) or at the token
 *   endpoint (401) → drop the registration and tokens, register again, authorize once with the
 *   accumulated scope — and a confused AS gets one new registration per call, never a loop;
 * - the MCP server forgot the session: `404` for a request carrying `Mcp-Session-Id` → a new
 *   `initialize` without a session id, then the request once more (MCP Streamable HTTP, Session
 *   Management) — with no AS traffic, and once per request;
 * - the AS does not answer at all: an error that names the AS and the exchange.
 *
 * The AS side uses the real AS, restarted on the same port (a new app: no clients, no grants, a new
 * key). The stub RS (test/helpers/stub-rs.ts) reads tokens without verifying them — it stands for an
 * RS whose tokens outlive an AS restart (an AS with persistent keys), so the step-up path meets the
 * forgotten client at /authorize rather than at a 401. The session tests use the real AS and RS.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import type http from "node:http";
import { decodeJwt } from "jose";
import { StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { OAuthError } from "@modelcontextprotocol/sdk/server/auth/errors.js";
import { createApp as createAuthorizationServer } from "../../as/app.ts";
import { AuthorizationResponseError } from "../../client/authorization-response.ts";
import { connectClient, type McpClientHandle } from "../../client/connect.ts";
import { AuthorizationServerUnreachableError } from "../../client/recorder.ts";
import { ExchangeRecorder, type RecordedExchange } from "../../client/recorder.ts";
import { InsufficientScopeError } from "../../client/step-up/index.ts";
import { loadConfig, type Config } from "../../shared/config.ts";
import { closeServer, listenLoopback } from "../../shared/listen.ts";
import { startStack } from "../helpers/stack.ts";
import { startStubResourceServer, type StubResourceServer, type ToolPolicy } from "../helpers/stub-rs.ts";

const cleanups: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

/** The real AS on a fixed loopback port; `restart()` replaces it with a new app that knows nobody. */
async function startRestartableAs(rsPort: string) {
  const first = await listenLoopback(0);
  const config = loadConfig({ AS_PORT: String(first.address.port), RS_PORT: rsPort });
  let server: http.Server | undefined = first.server;
  server.on("request", await createAuthorizationServer(config));
  const stop = async () => {
    if (server) await closeServer(server);
    server = undefined;
  };
  const start = async () => {
    server = (await listenLoopback(first.address.port, await createAuthorizationServer(config))).server;
  };
  return { config, stop, start, restart: async () => (await stop(), await start()) };
}

/** `tool` needs `scope` (plain set membership). */
const needs = (rules: Record<string, string>): ToolPolicy => (tool, held) =>
  rules[tool] !== undefined && !held.includes(rules[tool]) ? rules[tool] : undefined;

/** A connected client against the stub RS and a restartable real AS; `recorder` may script the network. */
async function stubSetup(policy: ToolPolicy, recorder?: ExchangeRecorder) {
  const rs = await startStubResourceServer(policy);
  cleanups.push(() => rs.close());
  const as = await startRestartableAs(new URL(rs.url).port);
  cleanups.push(() => as.stop());
  rs.setIssuer(as.config.issuer);
  const c = await connectClient({ serverUrl: rs.resource, recorder, authTimeoutMs: 5_000 });
  cleanups.push(() => c.close());
  // The transport opens its standalone SSE GET right after connecting, on its own; wait for the stub's
  // answer (405), so that GET cannot meet a test's 401 and race the call under test.
  for (let i = 0; !c.recorder.exchanges.some((e) => e.method === "GET" && e.path === "/mcp" && e.status); i++) {
    if (i === 100) assert.fail("the transport never opened its SSE GET");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { rs, as, c };
}

/** Exchanges since `mark`, without the transport's standalone SSE GET (opened, and reopened, on its own schedule). */
const since = (c: McpClientHandle, mark: number) => c.recorder.since(mark).filter((e) => !(e.method === "GET" && e.path === "/mcp"));
const brief = (e: RecordedExchange) => `${e.method} ${e.path} ${e.status ?? e.error}`;
const authorizations = (xs: RecordedExchange[]) => xs.filter((e) => e.path === "/authorize");
const textOf = (result: unknown) =>
  ((result as { content?: Array<{ text?: string }> }).content ?? []).map((c) => c.text ?? "").join("\n");
const failure = (promise: Promise<unknown>) => promise.then(() => assert.fail("expected a failure"), (e: unknown) => e);
const callsOf = (rs: StubResourceServer, tool: string) => rs.requests.filter((r) => r.tool === tool);

// ---- the AS forgot the client ----

test("step-up at an AS that forgot the client: /authorize 400 invalid_client → register → authorize once with the union → retry", async () => {
  const { rs, as, c } = await stubSetup(needs({ "write-thing": "files:write" }));
  const oldClientId = c.authorizer.client!.client_id;
  await as.restart();

  const mark = c.recorder.mark();
  const result = await c.client.callTool({ name: "write-thing", arguments: {} });
  assert.equal(textOf(result), "write-thing ran with [files:read files:write]");
  const during = since(c, mark);
  assert.deepEqual(during.map(brief), [
    "POST /mcp 403",
    "GET /authorize 400",
    "POST /register 201",
    "GET /authorize 302",
    "POST /token 200",
    "POST /mcp 200",
  ]);
  assert.equal((during[1]!.response.json as { error?: string }).error, "invalid_client");
  assert.equal(during[1]!.response.location, undefined, "RFC 6749 §4.1.2.1: no redirect for an unknown client");
  const newClientId = c.authorizer.client!.client_id;
  assert.notEqual(newClientId, oldClientId);
  assert.deepEqual(
    authorizations(during).map((e) => [e.query.client_id, e.query.scope]),
    [
      [oldClientId, "files:read files:write"],
      [newClientId, "files:read files:write"],
    ],
    "the same union both times (C4.1)",
  );
  assert.equal(decodeJwt(c.authorizer.accessToken()!).client_id, newClientId);
  assert.deepEqual(callsOf(rs, "write-thing").map((r) => r.status), [403, 200]);
});

test("a 401 at an AS that forgot the client: refresh → 400 invalid_client → register → authorize with the accumulated scope (C5)", async () => {
  const { rs, as, c } = await stubSetup(needs({ "write-thing": "files:write" }));
  await c.client.callTool({ name: "write-thing", arguments: {} }); // step-up: files:read files:write
  await as.restart();
  rs.rejectToken(c.authorizer.accessToken()!); // the RS no longer accepts it (as after a key change)

  const mark = c.recorder.mark();
  const result = await c.client.callTool({ name: "read-thing", arguments: {} });
  assert.equal(textOf(result), "read-thing ran with [files:read files:write]", "nothing lost");
  const during = since(c, mark);
  assert.deepEqual(during.map(brief), [
    "POST /mcp 401",
    "POST /token 400",
    "POST /register 201",
    "GET /authorize 302",
    "POST /token 200",
    "POST /mcp 200",
  ]);
  assert.equal(during[1]!.request.form?.grant_type, "refresh_token");
  assert.equal((during[1]!.response.json as { error?: string }).error, "invalid_client");
  assert.equal(authorizations(during)[0]!.query.scope, "files:read files:write", "the step-up union survived the restart");
  assert.equal(during[4]!.request.form?.grant_type, "authorization_code");
  assert.equal(c.stepUp!.requestedScope().join(" "), "files:read files:write");
});

/** A recorder whose network answers `invalid_client` to the requests `refuse` picks, once `on` is set. */
function refusingRecorder(refuse: (url: URL, init?: RequestInit) => Response | undefined) {
  const control = { on: false };
  const recorder = new ExchangeRecorder({
    fetch: async (url, init) => (control.on ? refuse(new URL(String(url)), init) : undefined) ?? fetch(url, init),
  });
  return { recorder, control };
}
const invalidClient = (status: number) =>
  new Response(JSON.stringify({ error: "invalid_client", error_description: "unknown client_id" }), {
    status,
    headers: { "content-type": "application/json" },
  });

test("an AS that refuses every client at /authorize: one new registration per call, then the error — never a loop", async () => {
  const { recorder, control } = refusingRecorder((url) => (url.pathname === "/authorize" ? invalidClient(400) : undefined));
  const { rs, c } = await stubSetup(needs({ "write-thing": "files:write" }), recorder);
  control.on = true;

  for (const round of [1, 2]) {
    const mark = c.recorder.mark();
    const error = await failure(c.client.callTool({ name: "write-thing", arguments: {} }));
    assert.ok(error instanceof AuthorizationResponseError, String(error));
    assert.equal(error.error, "invalid_client");
    assert.deepEqual(
      since(c, mark).map(brief),
      ["POST /mcp 403", "GET /authorize 400", "POST /register 201", "GET /authorize 400"],
      `round ${round}: the client registered just now is not registered again`,
    );
  }
  // Each failed step-up counted (C4.5): the third call stops at the cap, with no AS traffic.
  const mark = c.recorder.mark();
  const capped = await failure(c.client.callTool({ name: "write-thing", arguments: {} }));
  assert.ok(capped instanceof InsufficientScopeError && capped.reason === "retry-limit", String(capped));
  assert.deepEqual(since(c, mark).map(brief), ["POST /mcp 403"]);
  assert.equal(callsOf(rs, "write-thing").length, 3, "the call was never resent");
});

test("a token endpoint that refuses every client: refresh, one registration and authorization, then the error", async () => {
  const { recorder, control } = refusingRecorder((url) => (url.pathname === "/token" ? invalidClient(401) : undefined));
  const { rs, c } = await stubSetup(() => undefined, recorder);
  rs.rejectToken(c.authorizer.accessToken()!);
  control.on = true;

  const mark = c.recorder.mark();
  const error = await failure(c.client.callTool({ name: "read-thing", arguments: {} }));
  assert.ok(error instanceof OAuthError && error.errorCode === "invalid_client", String(error));
  assert.deepEqual(since(c, mark).map(brief), [
    "POST /mcp 401",
    "POST /token 401", // refresh
    "POST /register 201",
    "GET /authorize 302",
    "POST /token 401", // code exchange, for the client registered just now: not registered again
  ]);
  assert.equal(callsOf(rs, "read-thing").length, 1);
});

test("the AS does not answer during a step-up: AuthorizationServerUnreachableError names the issuer and the exchange", async () => {
  const { rs, as, c } = await stubSetup(needs({ "write-thing": "files:write" }));
  await as.stop();
  const mark = c.recorder.mark();
  const error = await failure(c.client.callTool({ name: "write-thing", arguments: {} }));
  assert.ok(error instanceof AuthorizationServerUnreachableError, String(error));
  assert.equal(error.issuer, as.config.issuer);
  assert.equal(error.endpoint, `GET ${as.config.issuer}/authorize`);
  assert.match(error.message, /^cannot reach the authorization server http:\/\/127\.0\.0\.1:\d+: GET \S+\/authorize failed \(ECONNREFUSED\)$/);
  assert.deepEqual(since(c, mark).map((e) => `${e.method} ${e.path}`), ["POST /mcp", "GET /authorize"], "one attempt");
  assert.equal(callsOf(rs, "write-thing").length, 1);
});

// ---- the MCP server forgot the session ----

/** The real AS and RS, and a connected client that has listed the files once. */
async function realSetup(recorder?: ExchangeRecorder): Promise<{ config: Config; c: McpClientHandle }> {
  const stack = await startStack();
  cleanups.push(() => stack.close());
  const c = await connectClient({ serverUrl: stack.config.resource, recorder, requestTimeoutMs: 10_000 });
  cleanups.push(() => c.close());
  assert.match(textOf(await c.client.callTool({ name: "list-files" })), /\[files:read\]/);
  return { config: stack.config, c };
}

/** End the client's session behind its back (as a restart would): a DELETE with its own token. */
async function forgetSession(config: Config, c: McpClientHandle): Promise<string> {
  const sessionId = c.transport.sessionId!;
  const response = await fetch(config.resource, {
    method: "DELETE",
    headers: { authorization: `Bearer ${c.authorizer.accessToken()}`, "mcp-session-id": sessionId },
  });
  assert.equal(response.status, 200, await response.text());
  return sessionId;
}

/** `[method/rpc, status, which session]` — the shape of the MCP exchanges. */
function sessionShape(xs: RecordedExchange[], oldSession: string) {
  return xs.map((e) => [
    e.request.rpcMethod === "tools/call" ? `tools/call:${e.request.tool}` : e.request.rpcMethod ?? e.method,
    e.status,
    e.request.mcpSessionId === undefined ? "no session" : e.request.mcpSessionId === oldSession ? "old session" : "new session",
  ]);
}

test("404 for the session: a new initialize without a session id, then the call once more — no AS traffic", async () => {
  const { config, c } = await realSetup();
  const clientId = c.authorizer.client!.client_id;
  const oldSession = await forgetSession(config, c);

  const mark = c.recorder.mark();
  const listed = await c.client.callTool({ name: "list-files" });
  assert.match(textOf(listed), new RegExp(`read by ${clientId} \\[files:read\\]`), "the same grant, no new authorization");
  const during = since(c, mark);
  assert.deepEqual(sessionShape(during, oldSession), [
    ["tools/call:list-files", 404, "old session"],
    ["initialize", 200, "no session"],
    ["notifications/initialized", 202, "new session"],
    ["tools/call:list-files", 200, "new session"],
  ]);
  assert.ok(during.every((e) => e.origin === new URL(config.resource).origin), "nothing sent to the AS");
  assert.notEqual(c.transport.sessionId, oldSession);
  assert.equal(c.transport.sessionId, during[1]!.response.mcpSessionId, "the handle's transport is the new session's");
  // And the new session simply works from now on.
  const next = c.recorder.mark();
  await c.client.callTool({ name: "list-files" });
  assert.deepEqual(sessionShape(since(c, next), oldSession), [["tools/call:list-files", 200, "new session"]]);
});

test("two calls that meet the lost session together share one new session", async () => {
  const { config, c } = await realSetup();
  const oldSession = await forgetSession(config, c);
  const mark = c.recorder.mark();
  const results = await Promise.all([
    c.client.callTool({ name: "list-files" }),
    c.client.callTool({ name: "read-file", arguments: { name: "notes.txt" } }),
  ]);
  for (const result of results) assert.notEqual(result.isError, true, textOf(result));
  const during = since(c, mark);
  assert.equal(during.filter((e) => e.request.rpcMethod === "initialize").length, 1, "one new session");
  const resent = during.filter((e) => e.request.rpcMethod === "tools/call" && e.request.mcpSessionId !== oldSession);
  assert.deepEqual(resent.map((e) => [e.request.tool, e.status]).sort(), [["list-files", 200], ["read-file", 200]]);
});

test("a server that keeps answering 404: one new session and one resend per call, then the 404 reaches the caller", async () => {
  let sabotage = false;
  const recorder = new ExchangeRecorder({
    fetch: async (url, init) => {
      const headers = new Headers(init?.headers);
      const isCall = typeof init?.body === "string" && init.body.includes('"tools/call"');
      if (sabotage && isCall && headers.has("mcp-session-id")) return new Response("Session not found", { status: 404 });
      return fetch(url, init);
    },
  });
  const { c } = await realSetup(recorder);
  const oldSession = c.transport.sessionId!;
  sabotage = true;

  const mark = c.recorder.mark();
  const error = await failure(c.client.callTool({ name: "list-files" }));
  assert.ok(error instanceof StreamableHTTPError && error.code === 404, String(error));
  assert.deepEqual(sessionShape(since(c, mark), oldSession), [
    ["tools/call:list-files", 404, "old session"],
    ["initialize", 200, "no session"],
    ["notifications/initialized", 202, "new session"],
    ["tools/call:list-files", 404, "new session"],
  ]);
});

test("a 404 for a request without a session (initialize at a wrong URL) starts nothing new", async () => {
  const rs = await startStubResourceServer(() => undefined);
  cleanups.push(() => rs.close());
  const recorder = new ExchangeRecorder();
  const error = await failure(connectClient({ serverUrl: `${rs.url}/not-mcp`, recorder }));
  assert.ok(error instanceof StreamableHTTPError && error.code === 404, String(error));
  assert.deepEqual(recorder.exchanges.map(brief), ["POST /not-mcp 404"]);
});
