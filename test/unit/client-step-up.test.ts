import { test } from "node:test";
import assert from "node:assert/strict";
import {
  computeScopeUnion,
  formatScope,
  isStrictScopeSuperset,
  InsufficientScopeError,
  operationOf,
  withStepUp,
  type StepUpAuthorizer,
} from "../../client/step-up/index.ts";

test("computeScopeUnion: requested ∪ granted ∪ challenged, first-seen order, no duplicates", () => {
  assert.deepEqual(computeScopeUnion("files:read", "files:read", "files:write"), ["files:read", "files:write"]);
  assert.deepEqual(computeScopeUnion("b a", "a c", "d b"), ["b", "a", "c", "d"]);
  assert.deepEqual(computeScopeUnion(["files:read"], ["files:read", "files:write"], ["files:admin"]), [
    "files:read",
    "files:write",
    "files:admin",
  ]);
});

test("computeScopeUnion tolerates whitespace, empty strings and undefined", () => {
  assert.deepEqual(computeScopeUnion("  files:read\tfiles:write \n", undefined, " files:write  files:admin "), [
    "files:read",
    "files:write",
    "files:admin",
  ]);
  assert.deepEqual(computeScopeUnion("", undefined, null), []);
  assert.deepEqual(computeScopeUnion(undefined, undefined, "files:read"), ["files:read"]);
  assert.deepEqual(computeScopeUnion([], [" "], ""), []);
});

test("computeScopeUnion with granted = requested (token response omitted scope) keeps the request", () => {
  const requested = "files:read files:write";
  assert.deepEqual(computeScopeUnion(requested, requested, "files:write"), ["files:read", "files:write"]);
});

test("isStrictScopeSuperset decides refresh (false) versus fresh authorization (true)", () => {
  assert.equal(isStrictScopeSuperset("files:read files:write", "files:read"), true, "D3: widening");
  assert.equal(isStrictScopeSuperset("files:write files:read", "files:read files:write"), false, "order is irrelevant");
  assert.equal(isStrictScopeSuperset(["files:read", "files:write"], "files:read files:write"), false, "D6: nothing new");
  assert.equal(isStrictScopeSuperset("files:admin", "files:read"), false, "not a superset at all");
  assert.equal(isStrictScopeSuperset("files:read", undefined), true, "anything beats no token");
  assert.equal(isStrictScopeSuperset("", ""), false);
});

test("operationOf: tools/call:<name>, the JSON-RPC method, a batch, or the HTTP method", () => {
  const rpc = (m: object) => ({ method: "POST", body: JSON.stringify(m) });
  assert.equal(operationOf(rpc({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "write-file" } })), "tools/call:write-file");
  assert.equal(operationOf(rpc({ jsonrpc: "2.0", id: 2, method: "tools/list" })), "tools/list");
  assert.equal(
    operationOf(rpc([{ method: "tools/call", params: { name: "a" } }, { method: "ping" }])),
    "tools/call:a,ping",
  );
  assert.equal(operationOf({ method: "GET" }), "GET");
  assert.equal(operationOf({ method: "POST", body: "not json" }), "POST");
  assert.equal(operationOf(undefined), "GET");
});

// ---- the middleware against a scripted server and a counting AS stand-in ----

const INSUFFICIENT = (scope: string) => ({
  "www-authenticate": `Bearer error="insufficient_scope", scope="${scope}", error_description="needs ${scope}"`,
});

/**
 * A stand-in AS that issues tokens `t1`, `t2`, … and counts what it was asked to do. It grants what
 * `grantable` allows (mutate the array to change its policy), refuses a request of which it may grant
 * nothing with `access_denied`. It keeps no requested set: the middleware does (C4.4). Its refresh
 * reports the grant `narrowTo` when set (an AS may narrow a grant on refresh).
 */
function fakeAuthorizer(grantable = ["files:read", "files:write"]) {
  let token: string | undefined;
  let granted: string[] = [];
  const asked = { authorize: [] as string[][], refresh: 0, tokens: 0, narrowTo: undefined as string[] | undefined };
  const issue = () => (token = `t${++asked.tokens}`);
  const authorizer: StepUpAuthorizer = {
    accessToken: () => token,
    grantedScope: () => granted,
    canRefresh: () => token !== undefined,
    authorize: async (scope) => {
      await new Promise((r) => setTimeout(r, 5));
      asked.authorize.push(scope);
      if (!scope.some((s) => grantable.includes(s))) {
        throw Object.assign(new Error("authorization refused: access_denied"), { error: "access_denied" });
      }
      granted = scope.filter((s) => grantable.includes(s));
      issue();
    },
    refresh: async () => {
      asked.refresh++;
      if (asked.narrowTo) granted = asked.narrowTo;
      issue();
      return true;
    },
  };
  return { authorizer, asked };
}

const call = (name: string) => ({
  method: "POST",
  body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name } }),
});

test("two requests racing into a 401 cause one authorization, and both are resent with its token", async () => {
  const { authorizer, asked } = fakeAuthorizer();
  const seen: Array<string | null> = [];
  const next = async (_url: string | URL, init?: RequestInit) => {
    const auth = new Headers(init?.headers).get("authorization");
    seen.push(auth);
    return auth ? new Response("{}", { status: 200 }) : new Response(null, { status: 401, headers: { "www-authenticate": 'Bearer scope="files:read"' } });
  };
  const fetchFn = withStepUp(authorizer, { resource: "r" })(next);
  const [a, b] = await Promise.all([fetchFn("http://x/mcp", call("list-files")), fetchFn("http://x/mcp", { method: "GET" })]);
  assert.equal(a.status, 200);
  assert.equal(b.status, 200);
  assert.deepEqual(asked.authorize, [["files:read"]], "one authorization, with the challenge's scope");
  assert.deepEqual(seen, [null, null, "Bearer t1", "Bearer t1"]);
});

test("throw mode: InsufficientScopeError at once, no AS work, one request", async () => {
  const { authorizer, asked } = fakeAuthorizer();
  await authorizer.authorize(["files:read"], {});
  let requests = 0;
  const next = async () => (requests++, new Response(null, { status: 403, headers: INSUFFICIENT("files:write") }));
  const fetchFn = withStepUp(authorizer, { resource: "r", onInsufficientScope: "throw" })(next);
  const error = await fetchFn("http://x/mcp", call("write-file")).catch((e: unknown) => e);
  assert.ok(error instanceof InsufficientScopeError);
  assert.equal(error.reason, "throw-mode");
  assert.equal(error.requiredScope, "files:write");
  assert.equal(error.grantedScope, "files:read");
  assert.equal(error.errorDescription, "needs files:write");
  assert.equal(error.attempts, 0);
  assert.equal(requests, 1);
  assert.deepEqual(asked.authorize, [["files:read"]], "only the set-up authorization");
  assert.equal(asked.refresh, 0);
});

test("the cap counts across requests and resets when the operation succeeds", async () => {
  const { authorizer, asked } = fakeAuthorizer();
  await authorizer.authorize(["files:read"], {});
  let healthy = false;
  let requests = 0;
  const next = async () => {
    requests++;
    return healthy ? new Response("{}", { status: 200 }) : new Response(null, { status: 403, headers: INSUFFICIENT("files:read") });
  };
  const fetchFn = withStepUp(authorizer, { resource: "r" })(next);
  const first = await fetchFn("http://x/mcp", call("broken")).catch((e: unknown) => e);
  assert.ok(first instanceof InsufficientScopeError && first.reason === "retry-limit" && first.attempts === 2);
  assert.equal(requests, 3);
  assert.equal(asked.refresh, 2, "nothing to widen: the normal path refreshes");
  const again = await fetchFn("http://x/mcp", call("broken")).catch((e: unknown) => e);
  assert.ok(again instanceof InsufficientScopeError && again.reason === "retry-limit");
  assert.equal(requests, 4, "the count survived: one request, no further step-up");
  assert.equal(asked.refresh, 2);
  healthy = true;
  assert.equal((await fetchFn("http://x/mcp", call("broken"))).status, 200);
  healthy = false;
  await fetchFn("http://x/mcp", call("broken")).catch(() => {});
  assert.equal(asked.refresh, 4, "after a success the operation gets its two step-ups again");
});

// ---- 401 recovery (C5): a refresh only when nothing wider is needed ----

/** A server that answers 401 (with `challenge`) to token `t1` and runs everything for any other token. */
function refusingFirstToken(challenge: string) {
  const seen: Array<string | null> = [];
  const next = async (_url: string | URL, init?: RequestInit) => {
    const auth = new Headers(init?.headers).get("authorization");
    seen.push(auth);
    if (auth === "Bearer t1") return new Response(null, { status: 401, headers: { "www-authenticate": challenge } });
    return new Response("{}", { status: 200 });
  };
  return { next, seen };
}

test("401 whose challenge asks for more than the held grant: no refresh, one authorization for the union", async () => {
  const { authorizer, asked } = fakeAuthorizer();
  await authorizer.authorize(["files:read"], {}); // t1, files:read, and a refresh token
  const { next, seen } = refusingFirstToken('Bearer error="invalid_token", scope="files:read files:write"');
  const response = await withStepUp(authorizer, { resource: "r" })(next)("http://x/mcp", call("list-files"));
  assert.equal(response.status, 200);
  assert.equal(asked.refresh, 0, "RFC 6749 §6: a refresh cannot widen the grant, so none is sent");
  assert.deepEqual(asked.authorize, [["files:read"], ["files:read", "files:write"]], "C4.1: the union, freshly authorized");
  assert.deepEqual(seen, ["Bearer t1", "Bearer t2"]);
});

test("401 while more was requested than granted (a refresh narrowed the grant): no refresh, authorize the union", async () => {
  const { authorizer, asked } = fakeAuthorizer();
  const seen: Array<string | null> = [];
  // No token → 401 asking for read+write; then t2 (the refreshed token) → 401; anything else runs.
  const next = async (_url: string | URL, init?: RequestInit) => {
    const auth = new Headers(init?.headers).get("authorization");
    seen.push(auth);
    if (auth === null) return new Response(null, { status: 401, headers: { "www-authenticate": 'Bearer scope="files:read files:write"' } });
    if (auth === "Bearer t2") return new Response(null, { status: 401, headers: { "www-authenticate": 'Bearer error="invalid_token"' } });
    return new Response("{}", { status: 200 });
  };
  const fetchFn = withStepUp(authorizer, { resource: "r" })(next);
  assert.equal((await fetchFn("http://x/mcp", call("list-files"))).status, 200); // t1: read+write, requested read+write
  asked.narrowTo = ["files:read"];
  assert.equal(await authorizer.refresh(), true); // t2, and the AS reports only files:read
  assert.equal((await fetchFn("http://x/mcp", call("list-files"))).status, 200);
  assert.equal(asked.refresh, 1, "only the refresh above: the union (requested ∪ granted) is wider than the grant");
  assert.deepEqual(asked.authorize, [["files:read", "files:write"], ["files:read", "files:write"]]);
  assert.deepEqual(seen, [null, "Bearer t1", "Bearer t2", "Bearer t3"]);
});

test("401 with nothing wider needed: one refresh, no authorization (C5)", async () => {
  const { authorizer, asked } = fakeAuthorizer();
  await authorizer.authorize(["files:read"], {});
  const { next, seen } = refusingFirstToken('Bearer error="invalid_token", scope="files:read"');
  const response = await withStepUp(authorizer, { resource: "r" })(next)("http://x/mcp", call("list-files"));
  assert.equal(response.status, 200);
  assert.equal(asked.refresh, 1);
  assert.deepEqual(asked.authorize, [["files:read"]], "only the set-up authorization");
  assert.deepEqual(seen, ["Bearer t1", "Bearer t2"]);
});

test("access_denied during a step-up is a decline: InsufficientScopeError(declined), the call is not resent", async () => {
  const grantable = ["files:read"];
  const { authorizer, asked } = fakeAuthorizer(grantable);
  await authorizer.authorize(["files:read"], {});
  grantable.length = 0; // the AS now grants nothing at all
  let requests = 0;
  const next = async () => (requests++, new Response(null, { status: 403, headers: INSUFFICIENT("files:write") }));
  const error = await withStepUp(authorizer, { resource: "r" })(next)("http://x/mcp", call("write-file")).catch((e: unknown) => e);
  assert.ok(error instanceof InsufficientScopeError, String(error));
  assert.equal(error.reason, "declined");
  assert.equal(error.requiredScope, "files:write");
  assert.equal(error.grantedScope, "files:read", "the held grant is unchanged");
  assert.equal(error.attempts, 1);
  assert.match(String((error.cause as Error | undefined)?.message), /access_denied/, "the AS's answer is the cause");
  assert.deepEqual(asked.authorize.at(-1), ["files:read", "files:write"]);
  assert.equal(requests, 1, "not resent: asking again cannot help");
});

// ---- C4.4 and "another 403 is not ours", each pinned by a test that fails when its line changes ----

test("a multi-scope challenge partly granted is declined: the call is not resent, the granted part is kept", async () => {
  const { authorizer, asked } = fakeAuthorizer(["files:read", "files:write"]);
  await authorizer.authorize(["files:read"], {});
  let requests = 0;
  const next = async () => (requests++, new Response(null, { status: 403, headers: INSUFFICIENT("files:write files:admin") }));
  const stepUp = withStepUp(authorizer, { resource: "r" });
  const error = await stepUp(next)("http://x/mcp", call("archive")).catch((e: unknown) => e);
  assert.ok(error instanceof InsufficientScopeError, String(error));
  assert.equal(error.reason, "declined", "files:write was granted, files:admin was not: one challenged scope declined is enough");
  assert.equal(error.requiredScope, "files:write files:admin");
  assert.equal(error.grantedScope, "files:read files:write");
  assert.equal(Object.hasOwn(error, "cause"), false, "a partial grant, not a refusal: no cause");
  assert.deepEqual(asked.authorize.at(-1), ["files:read", "files:write", "files:admin"], "C4.1: the union was asked for");
  assert.equal(requests, 1, "not resent: asking again cannot help");
  assert.deepEqual(stepUp.requestedScope(), ["files:read", "files:write"], "C4.4: requested := granted");
});

test("after access_denied, a later step-up for another operation does not ask for the denied scope again", async () => {
  const grantable = ["files:read", "files:write"];
  const { authorizer, asked } = fakeAuthorizer(grantable);
  // An all-or-nothing AS: a request naming anything ungrantable is refused whole (access_denied).
  const partial = authorizer.authorize;
  authorizer.authorize = async (scope, hint) => {
    if (scope.some((s) => !grantable.includes(s))) {
      asked.authorize.push(scope);
      throw Object.assign(new Error("authorization refused: access_denied"), { error: "access_denied" });
    }
    return partial(scope, hint);
  };
  await authorizer.authorize(["files:read"], {});
  const needs: Record<string, string> = { purge: "files:admin", edit: "files:write" };
  const next = async (_url: string | URL, init?: RequestInit) => {
    const tool = (JSON.parse(String(init?.body)) as { params: { name: string } }).params.name;
    const held = authorizer.grantedScope();
    if (!held.includes(needs[tool]!)) return new Response(null, { status: 403, headers: INSUFFICIENT(needs[tool]!) });
    return new Response("{}", { status: 200 });
  };
  const stepUp = withStepUp(authorizer, { resource: "r" });
  const denied = await stepUp(next)("http://x/mcp", call("purge")).catch((e: unknown) => e);
  assert.ok(denied instanceof InsufficientScopeError && denied.reason === "declined", String(denied));
  assert.deepEqual(stepUp.requestedScope(), ["files:read"], "C4.4: the denied scope left the requested set");
  assert.equal((await stepUp(next)("http://x/mcp", call("edit"))).status, 200);
  assert.deepEqual(
    asked.authorize,
    [["files:read"], ["files:read", "files:admin"], ["files:read", "files:write"]],
    "the later step-up asks for what it needs and what is held, not for files:admin again",
  );
});

test("a 403 that is not insufficient_scope is the caller's answer: returned as is, no AS traffic", async () => {
  const { authorizer, asked } = fakeAuthorizer();
  await authorizer.authorize(["files:read"], {});
  const refusals = [
    // R10: the RS's own refusal of a foreign Origin (JSON-RPC body, no challenge).
    () => new Response(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32600, message: "Origin must be a loopback origin" } }), { status: 403, headers: { "content-type": "application/json" } }),
    // A bare 403: no body, no header.
    () => new Response(null, { status: 403 }),
    // A Bearer challenge with another error code (RFC 6750 §3.1).
    () => new Response("forbidden", { status: 403, headers: { "www-authenticate": 'Bearer error="invalid_token", scope="files:write"' } }),
    // insufficient_scope under another scheme is not a Bearer challenge.
    () => new Response("forbidden", { status: 403, headers: { "www-authenticate": 'DPoP error="insufficient_scope", scope="files:write"' } }),
  ];
  for (const [i, refusal] of refusals.entries()) {
    let requests = 0;
    const sent = refusal();
    const next = async () => (requests++, sent);
    const response = await withStepUp(authorizer, { resource: "r" })(next)("http://x/mcp", call("write-file"));
    assert.equal(response, sent, `refusal ${i}: the very response is returned`);
    assert.equal(response.bodyUsed, false, `refusal ${i}: its body is left for the caller to read`);
    assert.equal(requests, 1, `refusal ${i}: not resent`);
  }
  assert.deepEqual(asked.authorize, [["files:read"]], "only the set-up authorization");
  assert.equal(asked.refresh, 0, "no refresh");
});

// ---- the edges of each rule: what a mutation run showed no test looked at ----

test("formatScope joins with one space; isStrictScopeSuperset needs every held scope, not only more of them", () => {
  assert.equal(formatScope(["files:read", "files:write"]), "files:read files:write");
  assert.equal(isStrictScopeSuperset("a b c", "x y"), false, "bigger, but without the held scopes");
  assert.equal(isStrictScopeSuperset("a b c", "a y"), false);
  assert.equal(isStrictScopeSuperset("a b c", "a b"), true);
});

test("InsufficientScopeError says what the operation needs, what is held, and why step-up stopped", () => {
  const details = { operation: "tools/call:w", requiredScope: "files:write", grantedScope: "files:read", attempts: 2 } as const;
  const messages = {
    declined: 'tools/call:w needs scope "files:write" (held: "files:read"): the authorization server granted less than the challenge requires',
    "retry-limit": 'tools/call:w needs scope "files:write" (held: "files:read"): still refused after 2 step-up attempt(s)',
    "throw-mode": 'tools/call:w needs scope "files:write" (held: "files:read"): step-up is disabled (onInsufficientScope: throw)',
  } as const;
  for (const [reason, message] of Object.entries(messages) as Array<[keyof typeof messages, string]>) {
    const error = new InsufficientScopeError({ ...details, reason });
    assert.equal(error.message, message);
    assert.equal(error.name, "InsufficientScopeError");
    assert.equal(String(error), `InsufficientScopeError: ${message}`);
  }
});

test("operationOf: what is not a JSON-RPC message falls back to the HTTP method", () => {
  const post = (body: unknown) => operationOf({ method: "POST", body: body as string });
  assert.equal(post("null"), "POST");
  assert.equal(post("5"), "POST");
  assert.equal(post('"tools/call"'), "POST");
  assert.equal(post("[]"), "POST", "an empty batch");
  assert.equal(post("[1, null]"), "POST");
  assert.equal(post('{"method": 5}'), "POST", "a method that is not a string");
  assert.equal(post('[{"method": 5}, {"method": "ping"}]'), "ping", "only the batch's messages count");
  assert.equal(post('[{"method": "ping"}, null, 3]'), "ping", "a null or a number in a batch is skipped, not fatal");
  assert.equal(post('{"method": "tools/call"}'), "tools/call", "tools/call without a name");
  assert.equal(post('{"method": "tools/call", "params": {"name": 7}}'), "tools/call");
  assert.equal(post('{"method": "resources/read", "params": {"name": "x"}}'), "resources/read", "only tools/call names a tool");
  assert.equal(post(new URLSearchParams({ method: "ping" })), "POST", "a body that is not a string is not read");
  assert.equal(operationOf({ method: "DELETE" }), "DELETE");
});

test("an error from the authorizer that is not access_denied propagates as it is", async () => {
  const { authorizer } = fakeAuthorizer();
  await authorizer.authorize(["files:read"], {});
  for (const thrown of [new Error("the AS is down"), Object.assign(new Error("invalid_scope"), { error: "invalid_scope" }), null]) {
    authorizer.authorize = async () => {
      throw thrown;
    };
    const next = async () => new Response(null, { status: 403, headers: INSUFFICIENT("files:write") });
    const error = await withStepUp(authorizer, { resource: "r" })(next)("http://x/mcp", call("write-file")).then(() => "resolved", (e: unknown) => e);
    assert.equal(error, thrown, "not turned into a decline");
  }
});

test("step-up and 401 recovery pass the challenge's resource_metadata to the authorizer (RFC 9728 §5.1)", async () => {
  const { authorizer } = fakeAuthorizer();
  const hints: unknown[] = [];
  const authorize = authorizer.authorize;
  authorizer.authorize = (scope, hint) => (hints.push(hint), authorize(scope, hint));
  const prm = "http://x/.well-known/oauth-protected-resource/mcp";
  const next = async (_url: string | URL, init?: RequestInit) => {
    const auth = new Headers(init?.headers).get("authorization");
    if (!auth) return new Response(null, { status: 401, headers: { "www-authenticate": `Bearer resource_metadata="${prm}", scope="files:read"` } });
    if (auth === "Bearer t1") {
      return new Response(null, { status: 403, headers: { "www-authenticate": `Bearer error="insufficient_scope", scope="files:write", resource_metadata="${prm}"` } });
    }
    return new Response("{}", { status: 200 });
  };
  assert.equal((await withStepUp(authorizer, { resource: "r" })(next)("http://x/mcp", call("write-file"))).status, 200);
  assert.deepEqual(hints, [{ resourceMetadataUrl: prm }, { resourceMetadataUrl: prm }]);
});

test("a 401 without any challenge is recovered too; a 401 for the fresh token is the caller's answer", async () => {
  const { authorizer, asked } = fakeAuthorizer();
  const authorize = authorizer.authorize;
  authorizer.authorize = (scope, hint) => authorize(scope.length > 0 ? scope : ["files:read"], hint); // [] = its default (C3)
  let sent = 0;
  const next = async () => (sent++, new Response("no", { status: 401 })); // every token refused, no WWW-Authenticate
  const response = await withStepUp(authorizer, { resource: "r" })(next)("http://x/mcp", call("list-files"));
  assert.equal(response.status, 401);
  assert.equal(await response.text(), "no", "the second 401 is returned unread");
  assert.deepEqual(asked.authorize, [["files:read"]], "one authorization, with no scope asked for (the authorizer's default)");
  assert.equal(sent, 2, "sent, recovered once, resent — not recovered again");

  // Held refresh token: the refresh is the recovery, and a refused fresh token ends it the same way.
  sent = 0;
  const refreshed = await withStepUp(authorizer, { resource: "r" })(next)("http://x/mcp", call("list-files"));
  assert.equal(refreshed.status, 401);
  assert.equal(asked.refresh, 1, "one refresh");
  assert.deepEqual(asked.authorize, [["files:read"]], "and no authorization");
  assert.equal(sent, 2);
});

test("a 401 whose authorization is refused (access_denied) rejects with the AS's answer", async () => {
  const { authorizer } = fakeAuthorizer([]); // grants nothing
  const next = async () => new Response(null, { status: 401, headers: { "www-authenticate": 'Bearer scope="files:read"' } });
  const error = await withStepUp(authorizer, { resource: "r" })(next)("http://x/mcp", call("list-files")).catch((e: unknown) => e);
  assert.ok(error instanceof Error && (error as { error?: unknown }).error === "access_denied", String(error));
});

test("two calls meeting the same 403 at once cause one step-up, and both are resent with its token", async () => {
  const { authorizer, asked } = fakeAuthorizer();
  await authorizer.authorize(["files:read"], {});
  const next = async (_url: string | URL, init?: RequestInit) =>
    new Headers(init?.headers).get("authorization") === "Bearer t1"
      ? new Response(null, { status: 403, headers: INSUFFICIENT("files:write") })
      : new Response("{}", { status: 200 });
  const fetchFn = withStepUp(authorizer, { resource: "r" })(next);
  const [a, b] = await Promise.all([fetchFn("http://x/mcp", call("write-file")), fetchFn("http://x/mcp", call("write-file"))]);
  assert.deepEqual([a.status, b.status], [200, 200]);
  assert.deepEqual(asked.authorize, [["files:read"], ["files:read", "files:write"]], "one step-up");
});

test("a body that cannot be sent twice is never resent: the 401 or 403 is the caller's; a null body can be", async () => {
  const { authorizer, asked } = fakeAuthorizer();
  for (const status of [401, 403]) {
    let sent = 0;
    const next = async () => (sent++, new Response(null, { status, headers: status === 403 ? INSUFFICIENT("files:write") : {} }));
    const response = await withStepUp(authorizer, { resource: "r" })(next)("http://x/mcp", { method: "POST", body: new URLSearchParams({ a: "1" }) });
    assert.equal(response.status, status);
    assert.equal(sent, 1);
  }
  assert.deepEqual(asked.authorize, [], "no AS work for a request that cannot be repeated");
  await authorizer.authorize(["files:read"], {});
  let sent = 0;
  const next = async () => new Response(null, { status: ++sent === 1 ? 401 : 200 });
  assert.equal((await withStepUp(authorizer, { resource: "r" })(next)("http://x/mcp", { method: "POST", body: null })).status, 200);
  assert.equal(sent, 2, "a null body is resent after the 401");
});

test("only a success resets the cap: an error status in between does not (C4.5)", async () => {
  const { authorizer, asked } = fakeAuthorizer();
  await authorizer.authorize(["files:read"], {});
  const answers: number[] = [403, 500, 403, 403];
  const next = async () => {
    const status = answers.shift() ?? 403;
    return new Response(null, { status, headers: status === 403 ? INSUFFICIENT("files:read") : {} });
  };
  const fetchFn = withStepUp(authorizer, { resource: "r" })(next);
  assert.equal((await fetchFn("http://x/mcp", call("op"))).status, 500, "403 → refresh → 500, returned");
  const error = await fetchFn("http://x/mcp", call("op")).catch((e: unknown) => e);
  assert.ok(error instanceof InsufficientScopeError && error.reason === "retry-limit", String(error));
  assert.equal(error.attempts, 2, "the step-up before the 500 still counts");
  assert.equal(asked.refresh, 2);
});

test("the backstop: a token that changes on every read cannot loop the middleware", async () => {
  let reads = 0;
  const authorizer: StepUpAuthorizer = {
    accessToken: () => `t${++reads}`, // another request always seems to have replaced it
    grantedScope: () => ["files:read"],
    canRefresh: () => true,
    authorize: async () => {},
    refresh: async () => true,
  };
  let sent = 0;
  const next = async () => (sent++, new Response(null, { status: 403, headers: INSUFFICIENT("files:write") }));
  const response = await withStepUp(authorizer, { resource: "r", maxStepUpAttempts: 2 })(next)("http://x/mcp", call("write-file"));
  assert.equal(response.status, 403, "the last 403 is returned");
  assert.equal(sent, 6, "maxStepUpAttempts + 3 rounds after the first: the longest sequence the rules allow, and one more");
});

test("a request whose token another request replaced during a 401 still recovers itself when that token is refused", async () => {
  const { authorizer, asked } = fakeAuthorizer();
  // No token → 401 for both; t1 is refused for "b" only (say, revoked between the two); anything else runs.
  const next = async (_url: string | URL, init?: RequestInit) => {
    const auth = new Headers(init?.headers).get("authorization");
    const tool = (JSON.parse(String(init?.body)) as { params: { name: string } }).params.name;
    if (!auth || (auth === "Bearer t1" && tool === "b")) {
      return new Response(null, { status: 401, headers: { "www-authenticate": 'Bearer error="invalid_token", scope="files:read"' } });
    }
    return new Response("{}", { status: 200 });
  };
  const fetchFn = withStepUp(authorizer, { resource: "r" })(next);
  const [a, b] = await Promise.all([fetchFn("http://x/mcp", call("a")), fetchFn("http://x/mcp", call("b"))]);
  assert.deepEqual([a.status, b.status], [200, 200], "b did not recover the first time (a did): its own 401 is recovered");
  assert.deepEqual(asked.authorize, [["files:read"]]);
  assert.equal(asked.refresh, 1, "b's recovery: a refresh");
});

test("C4.4 after a refresh: a grant narrowed by the refresh, without the challenged scope, is declined at once", async () => {
  const { authorizer, asked } = fakeAuthorizer();
  await authorizer.authorize(["files:read", "files:write"], {});
  asked.narrowTo = ["files:write"]; // the AS narrows the grant at the next refresh (e.g. a policy changed)
  let requests = 0;
  const next = async () => (requests++, new Response(null, { status: 403, headers: INSUFFICIENT("files:read") }));
  const error = await withStepUp(authorizer, { resource: "r", maxStepUpAttempts: 5 })(next)("http://x/mcp", call("list-files")).catch((e: unknown) => e);
  assert.ok(error instanceof InsufficientScopeError && error.reason === "declined", String(error));
  assert.equal(asked.refresh, 1, "nothing wider was needed: one refresh");
  assert.equal(requests, 1, "not resent: the refreshed grant lacks files:read");
});

test("C4.4 with the authorizer's default scope ([]): the requested set is what was granted", async () => {
  const { authorizer } = fakeAuthorizer();
  const authorizeAsked = authorizer.authorize;
  authorizer.authorize = (scope, hint) => authorizeAsked(scope.length > 0 ? scope : ["files:read"], hint); // C3: its own default
  const next = async (_url: string | URL, init?: RequestInit) =>
    new Headers(init?.headers).get("authorization") ? new Response("{}", { status: 200 }) : new Response(null, { status: 401, headers: { "www-authenticate": "Bearer" } });
  const stepUp = withStepUp(authorizer, { resource: "r" });
  assert.equal((await stepUp(next)("http://x/mcp", call("list-files"))).status, 200);
  assert.deepEqual(stepUp.requestedScope(), ["files:read"]);
});

test("throw mode applies to a request whose body cannot be sent twice, too", async () => {
  const { authorizer, asked } = fakeAuthorizer();
  await authorizer.authorize(["files:read"], {});
  const next = async () => new Response(null, { status: 403, headers: INSUFFICIENT("files:write") });
  const body = new Blob(["{}"]);
  const error = await withStepUp(authorizer, { resource: "r", onInsufficientScope: "throw" })(next)("http://x/mcp", { method: "POST", body }).catch((e: unknown) => e);
  assert.ok(error instanceof InsufficientScopeError && error.reason === "throw-mode", String(error));
  assert.deepEqual(asked.authorize, [["files:read"]], "no AS work");
});
