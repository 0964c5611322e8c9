/**
 * The client against a resource server it shares no code with (test/helpers/stub-rs.ts), paired with
 * the real AS — and against a stub AS that misbehaves. Evidence: the client's recorded exchanges and
 * the stub's own log of what it received.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { connectClient, type McpClientHandle } from "../../client/connect.ts";
import { AuthorizationResponseError } from "../../client/authorization-response.ts";
import { ExchangeRecorder, type RecordedExchange } from "../../client/recorder.ts";
import { InsufficientScopeError } from "../../client/step-up/index.ts";
import { startAuthorizationServer } from "../helpers/oauth.ts";
import {
  startScopeOmittingAuthorizationServer,
  startStubAuthorizationServer,
  startStubResourceServer,
  type StubOptions,
  type StubRequest,
  type StubResourceServer,
  type ToolPolicy,
} from "../helpers/stub-rs.ts";

const authorizations = (xs: RecordedExchange[]) => xs.filter((e) => e.path === "/authorize");
const refreshes = (xs: RecordedExchange[]) => xs.filter((e) => e.path === "/token" && e.request.form?.grant_type === "refresh_token");
const codeExchanges = (xs: RecordedExchange[]) =>
  xs.filter((e) => e.path === "/token" && e.request.form?.grant_type === "authorization_code");

/** `tool` needs `scope` (plain set membership, like the demo RS: independent scopes). */
const needs = (rules: Record<string, string>): ToolPolicy => (tool, held) =>
  rules[tool] !== undefined && !held.includes(rules[tool]) ? rules[tool] : undefined;

async function withStub(
  policy: ToolPolicy,
  run: (c: McpClientHandle, rs: StubResourceServer) => Promise<void>,
  options: { maxStepUpAttempts?: number; recorder?: ExchangeRecorder } & StubOptions = {},
) {
  const rs = await startStubResourceServer(policy, options);
  const as = await startAuthorizationServer({ RS_PORT: new URL(rs.url).port });
  rs.setIssuer(as.config.issuer);
  let client: McpClientHandle | undefined;
  try {
    client = await connectClient({ serverUrl: rs.resource, maxStepUpAttempts: options.maxStepUpAttempts, recorder: options.recorder });
    await run(client, rs);
  } finally {
    await client?.close();
    await Promise.all([rs.close(), as.close()]);
  }
}

const callsOf = (rs: { requests: StubRequest[] }, tool: string) => rs.requests.filter((r) => r.tool === tool);

test("C3: the first authorization asks for the 401's scope, else the PRM's scopes_supported, else none", async () => {
  const firstScope = async (options: StubOptions) => {
    let scope: string | undefined = "(not run)";
    await withStub(() => undefined, async (c) => {
      scope = authorizations(c.recorder.exchanges)[0]?.query.scope;
    }, options);
    return scope;
  };
  assert.equal(await firstScope({ unauthorizedScope: "files:write", scopesSupported: ["files:read"] }), "files:write");
  assert.equal(await firstScope({ unauthorizedScope: null, scopesSupported: ["files:read", "files:write"] }), "files:read files:write");
  assert.equal(await firstScope({ unauthorizedScope: "", scopesSupported: ["files:read", "files:write"] }), "files:read files:write");
  assert.equal(await firstScope({ unauthorizedScope: null, scopesSupported: null }), undefined, "no scope parameter at all");
});

test("step-up: one fresh authorization for the union, no refresh; a decoy scope= in error_description is ignored", async () => {
  await withStub(needs({ "write-thing": "files:write" }), async (c, rs) => {
    const mark = c.recorder.mark();
    const result = await c.client.callTool({ name: "write-thing", arguments: {} });
    assert.deepEqual(result.content, [{ type: "text", text: "write-thing ran with [files:read files:write]" }]);
    const during = c.recorder.since(mark);
    assert.deepEqual(authorizations(during).map((e) => e.query.scope), ["files:read files:write"]);
    assert.equal(refreshes(during).length, 0, "RFC 6749 §6: never a refresh for a wider scope");
    assert.ok(!c.recorder.exchanges.some((e) => JSON.stringify(e.query).includes("decoy")), "the decoy never reached the AS");
    assert.deepEqual(
      callsOf(rs, "write-thing").map((r) => [r.status, r.tokenScope]),
      [[403, ["files:read"]], [200, ["files:read", "files:write"]]],
    );
  });
});

test("declined: one authorization, the call is not retried, and the declined scope is not asked for again", async () => {
  await withStub(needs({ "admin-thing": "files:admin", "write-thing": "files:write" }), async (c, rs) => {
    const mark = c.recorder.mark();
    const error = await c.client.callTool({ name: "admin-thing", arguments: {} }).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof InsufficientScopeError, String(error));
    assert.equal(error.reason, "declined");
    assert.equal(error.requiredScope, "files:admin");
    assert.equal(error.grantedScope, "files:read");
    assert.equal(error.attempts, 1);
    assert.equal(error.errorDescription, 'not scope="decoy:scope", see the scope parameter');
    assert.match(String(error.resourceMetadataUrl), /\/\.well-known\/oauth-protected-resource\/mcp$/);
    const during = c.recorder.since(mark);
    assert.deepEqual(authorizations(during).map((e) => e.query.scope), ["files:read files:admin"]);
    assert.equal((codeExchanges(during)[0]?.response.json as { scope?: string }).scope, "files:read", "partial grant");
    assert.equal(callsOf(rs, "admin-thing").length, 1, "not retried");
    // requested := granted, so the next step-up asks for files:write without files:admin.
    const next = c.recorder.mark();
    await c.client.callTool({ name: "write-thing", arguments: {} });
    assert.deepEqual(authorizations(c.recorder.since(next)).map((e) => e.query.scope), ["files:read files:write"]);
  });
});

test("retry cap: 2 refreshes, 0 authorizations, 3 POSTs; the count survives across calls and resets on success", async () => {
  let broken = true;
  await withStub((tool) => (tool === "flaky" && broken ? "files:read" : undefined), async (c, rs) => {
    const call = () => c.client.callTool({ name: "flaky", arguments: {} }).then(() => undefined, (e: unknown) => e);
    let mark = c.recorder.mark();
    const first = await call();
    assert.ok(first instanceof InsufficientScopeError && first.reason === "retry-limit" && first.attempts === 2, String(first));
    assert.equal(refreshes(c.recorder.since(mark)).length, 2);
    assert.equal(authorizations(c.recorder.since(mark)).length, 0);
    assert.equal(callsOf(rs, "flaky").length, 3);

    mark = c.recorder.mark();
    const again = await call();
    assert.ok(again instanceof InsufficientScopeError && again.reason === "retry-limit");
    assert.equal(callsOf(rs, "flaky").length, 4, "one more POST, no further step-up");
    assert.equal(c.recorder.since(mark).filter((e) => e.origin !== new URL(rs.url).origin).length, 0, "no AS traffic");

    broken = false;
    assert.equal(await call(), undefined, "succeeds, which resets the count");
    broken = true;
    mark = c.recorder.mark();
    await call();
    assert.equal(refreshes(c.recorder.since(mark)).length, 2, "two step-ups again");
  });
});

test("maxStepUpAttempts: 1 → one refresh and two POSTs", async () => {
  await withStub(() => "files:read", async (c, rs) => {
    const mark = c.recorder.mark();
    const error = await c.client.callTool({ name: "anything", arguments: {} }).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof InsufficientScopeError && error.reason === "retry-limit" && error.attempts === 1);
    assert.equal(refreshes(c.recorder.since(mark)).length, 1);
    assert.equal(callsOf(rs, "anything").length, 2);
  }, { maxStepUpAttempts: 1 });
});

test("C5: a 401 invalid_token after step-up is fixed by a refresh that keeps the stepped-up scope", async () => {
  await withStub(needs({ "write-thing": "files:write" }), async (c, rs) => {
    await c.client.callTool({ name: "write-thing", arguments: {} });
    rs.rejectToken(c.authorizer.accessToken()!);
    const mark = c.recorder.mark();
    const result = await c.client.callTool({ name: "read-thing", arguments: {} });
    assert.deepEqual(result.content, [{ type: "text", text: "read-thing ran with [files:read files:write]" }]);
    const during = c.recorder.since(mark);
    assert.equal(refreshes(during).length, 1);
    assert.equal(refreshes(during)[0]!.request.form?.scope, undefined, "a refresh asks for no scope");
    assert.equal(authorizations(during).length, 0);
    assert.deepEqual(callsOf(rs, "read-thing").map((r) => r.status), [401, 200]);
  });
});

test("C5 + RFC 6749 §6: a 401 whose challenge asks for more than the grant → no refresh, one authorization for the union", async () => {
  await withStub(() => undefined, async (c, rs) => {
    rs.setUnauthorizedScope("files:read files:write");
    rs.rejectToken(c.authorizer.accessToken()!);
    const mark = c.recorder.mark();
    const result = await c.client.callTool({ name: "read-thing", arguments: {} });
    assert.deepEqual(result.content, [{ type: "text", text: "read-thing ran with [files:read files:write]" }]);
    const during = c.recorder.since(mark);
    assert.equal(refreshes(during).length, 0, "a refresh keeps the scope, so it cannot answer a wider challenge");
    assert.deepEqual(authorizations(during).map((e) => e.query.scope), ["files:read files:write"]);
    assert.deepEqual(callsOf(rs, "read-thing").map((r) => r.status), [401, 200]);
  });
});

test("C4.4 on the 401 path too: a partial grant drops the declined scope, so the next step-up does not ask for it", async () => {
  await withStub(needs({ "write-thing": "files:write" }), async (c, rs) => {
    rs.setUnauthorizedScope("files:read files:admin"); // the demo user is never granted files:admin
    rs.rejectToken(c.authorizer.accessToken()!);
    let mark = c.recorder.mark();
    const result = await c.client.callTool({ name: "read-thing", arguments: {} });
    assert.deepEqual(result.content, [{ type: "text", text: "read-thing ran with [files:read]" }]);
    let during = c.recorder.since(mark);
    assert.deepEqual(authorizations(during).map((e) => e.query.scope), ["files:read files:admin"]);
    assert.equal((codeExchanges(during)[0]?.response.json as { scope?: string }).scope, "files:read", "partial grant");
    rs.setUnauthorizedScope("files:read");

    mark = c.recorder.mark();
    await c.client.callTool({ name: "write-thing", arguments: {} });
    during = c.recorder.since(mark);
    assert.deepEqual(authorizations(during).map((e) => e.query.scope), ["files:read files:write"], "files:admin is not asked for again");
  });
});

test("access_denied during a step-up is a decline (C4.4): InsufficientScopeError, the call not resent, the grant kept", async () => {
  let deny = false;
  const recorder = new ExchangeRecorder({
    fetch: async (url, init) => {
      const target = new URL(String(url));
      if (!deny || target.pathname !== "/authorize") return fetch(url, init);
      // The AS refuses the whole request (RFC 6749 §4.1.2.1), with the state and iss of a real answer.
      const callback = new URL(target.searchParams.get("redirect_uri")!);
      callback.search = new URLSearchParams({
        error: "access_denied",
        error_description: "the demo user may not grant any of it",
        state: target.searchParams.get("state")!,
        iss: target.origin,
      }).toString();
      return new Response(null, { status: 302, headers: { location: callback.href } });
    },
  });
  await withStub(needs({ "write-thing": "files:write" }), async (c, rs) => {
    const token = c.authorizer.accessToken();
    deny = true;
    const mark = c.recorder.mark();
    const error = await c.client.callTool({ name: "write-thing", arguments: {} }).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof InsufficientScopeError, String(error));
    assert.equal(error.reason, "declined");
    assert.equal(error.requiredScope, "files:write");
    assert.equal(error.grantedScope, "files:read");
    assert.equal(error.attempts, 1);
    const during = c.recorder.since(mark).filter((e) => !(e.method === "GET" && e.path === "/mcp"));
    assert.deepEqual(during.map((e) => `${e.method} ${e.path} ${e.status}`), ["POST /mcp 403", "GET /authorize 302"]);
    assert.equal(during[1]!.response.locationQuery?.error, "access_denied");
    assert.equal(callsOf(rs, "write-thing").length, 1, "not resent");
    assert.equal(c.authorizer.accessToken(), token, "the held grant is kept");
    deny = false;
    const listed = await c.client.callTool({ name: "read-thing", arguments: {} });
    assert.deepEqual(listed.content, [{ type: "text", text: "read-thing ran with [files:read]" }]);
  }, { recorder });
});

test("C4.1: a token response without `scope` granted what was requested — the next step-up's union keeps it", async () => {
  const rs = await startStubResourceServer(needs({ "write-thing": "files:write", "admin-thing": "files:admin" }));
  const as = await startScopeOmittingAuthorizationServer();
  rs.setIssuer(as.issuer);
  let c: McpClientHandle | undefined;
  try {
    c = await connectClient({ serverUrl: rs.resource });
    const first = codeExchanges(c.recorder.exchanges);
    assert.equal(first.length, 1);
    assert.equal((first[0]!.response.json as { scope?: string }).scope, undefined, "the token response omits scope");

    let mark = c.recorder.mark();
    const written = await c.client.callTool({ name: "write-thing", arguments: {} });
    assert.deepEqual(written.content, [{ type: "text", text: "write-thing ran with [files:read files:write]" }]);
    assert.deepEqual(authorizations(c.recorder.since(mark)).map((e) => e.query.scope), ["files:read files:write"]);

    mark = c.recorder.mark();
    await c.client.callTool({ name: "admin-thing", arguments: {} });
    assert.deepEqual(
      authorizations(c.recorder.since(mark)).map((e) => e.query.scope),
      ["files:read files:write files:admin"],
      "what was requested before counts as granted",
    );

    // And nothing wider needed ⇒ a refresh (the held grant is what was requested, not nothing).
    rs.rejectToken(c.authorizer.accessToken()!);
    mark = c.recorder.mark();
    await c.client.callTool({ name: "write-thing", arguments: {} });
    assert.equal(refreshes(c.recorder.since(mark)).length, 1);
    assert.equal(authorizations(c.recorder.since(mark)).length, 0);
  } finally {
    await c?.close();
    await Promise.all([rs.close(), as.close()]);
  }
});

test("a misbehaving AS: wrong iss, missing iss, or a look-alike redirect — the code is never redeemed", async () => {
  const cases: Array<[string, (q: URLSearchParams, issuer: string) => string, RegExp]> = [
    ["wrong iss", (q) => `${q.get("redirect_uri")}?code=c&state=${q.get("state")}&iss=${encodeURIComponent("http://127.0.0.1:1")}`, /mix-up/],
    ["no iss", (q) => `${q.get("redirect_uri")}?code=c&state=${q.get("state")}`, /no iss/],
    ["look-alike redirect", (q, iss) => `${q.get("redirect_uri")}evil?code=c&state=${q.get("state")}&iss=${iss}`, /not the registered/],
    ["forged state", (q, iss) => `${q.get("redirect_uri")}?code=c&state=forged&iss=${iss}`, /state/],
  ];
  for (const [name, location, message] of cases) {
    const rs = await startStubResourceServer(() => undefined);
    const as = await startStubAuthorizationServer((q, issuer) => ({ status: 302, location: location(q, issuer) }));
    rs.setIssuer(as.issuer);
    try {
      const recorder = new ExchangeRecorder();
      const error = await connectClient({ serverUrl: rs.resource, recorder }).then(() => undefined, (e: unknown) => e);
      assert.ok(error instanceof AuthorizationResponseError, `${name}: ${String(error)}`);
      assert.match(error.message, message, name);
      assert.equal(recorder.exchanges.filter((e) => e.path === "/token").length, 0, `${name}: no token request`);
      assert.equal(rs.requests.filter((r) => r.authorization).length, 0, `${name}: no token reached the RS`);
    } finally {
      await Promise.all([rs.close(), as.close()]);
    }
  }
});
