import { test } from "node:test";
import assert from "node:assert/strict";
import { ExchangeRecorder, FetchTimeoutError, withTimeout } from "../../client/recorder.ts";
import { Authorizer } from "../../client/authorizer.ts";

const JWT = "eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiJkZW1vLXVzZXIifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ";

test("tokens, codes, verifiers and state are cut to a prefix; what a reader needs stays whole", async () => {
  const recorder = new ExchangeRecorder({
    fetch: async () =>
      new Response(JSON.stringify({ access_token: JWT, refresh_token: "rt-secret-value", scope: "files:read", token_type: "Bearer" }), {
        status: 200,
        headers: { "content-type": "application/json", location: "http://127.0.0.1:8976/callback?code=abcdefghijkl&state=statestatestate&iss=http%3A%2F%2F127.0.0.1%3A3001" },
      }),
  });
  recorder.step = "D9";
  const response = await recorder.fetch("http://127.0.0.1:3001/token?state=verysecretstate&scope=files:read", {
    method: "POST",
    headers: { authorization: `Bearer ${JWT}` },
    body: new URLSearchParams({ grant_type: "authorization_code", code: "the-authorization-code", code_verifier: "the-verifier-123", resource: "http://127.0.0.1:3000/mcp" }),
  });
  assert.equal((await response.json()).access_token, JWT, "the caller still gets the real body");
  const [e] = recorder.exchanges;
  assert.ok(e);
  assert.equal(e.step, "D9");
  assert.equal(e.request.authorization, "Bearer eyJ….c2lnbm…");
  assert.deepEqual(e.request.form, {
    grant_type: "authorization_code",
    code: "the-au…",
    code_verifier: "the-ve…",
    resource: "http://127.0.0.1:3000/mcp",
  });
  assert.deepEqual(e.query, { state: "veryse…", scope: "files:read" });
  assert.equal(e.url, "http://127.0.0.1:3001/token?state=veryse…&scope=files:read");
  assert.deepEqual(e.response.locationQuery, { code: "abcdef…", state: "states…", iss: "http://127.0.0.1:3001" });
  assert.deepEqual(e.response.json, { access_token: "eyJ….c2lnbm…", refresh_token: "rt-sec…", scope: "files:read", token_type: "Bearer" });
});

test("a client secret keeps nothing: not in a form, not inside Basic credentials, not in a JSON body", async () => {
  const recorder = new ExchangeRecorder({
    fetch: async () => Response.json({ client_id: "cli", client_secret: "returned-secret-value" }),
  });
  await recorder.fetch("http://127.0.0.1:3001/token", {
    method: "POST",
    headers: { authorization: `Basic ${Buffer.from("cli:basic-secret-value").toString("base64")}` },
    body: new URLSearchParams({ grant_type: "refresh_token", client_id: "cli", client_secret: "posted-secret-value" }),
  });
  const [e] = recorder.exchanges;
  assert.equal(e?.request.authorization, "Basic …");
  assert.equal(e?.request.form?.client_secret, "…");
  assert.deepEqual(e?.response.json, { client_id: "cli", client_secret: "…" });
  assert.doesNotMatch(JSON.stringify(e), /secret-value|Y2xpOmJh/);
});

test("an SSE response body is neither read nor cloned", async () => {
  const never = new ReadableStream<Uint8Array>({ start() {} }); // an open stream that never ends
  const recorder = new ExchangeRecorder({
    fetch: async () => new Response(never, { status: 200, headers: { "content-type": "text/event-stream" } }),
  });
  const response = await recorder.fetch("http://127.0.0.1:3000/mcp", { method: "GET" });
  assert.equal(response.bodyUsed, false);
  assert.equal(never.locked, false, "nobody took a reader, not even a tee");
  assert.equal(recorder.exchanges[0]?.response.json, undefined);
  await response.body?.cancel();
});

test("JSON-RPC requests are recorded by method and tool; failures are recorded too", async () => {
  const recorder = new ExchangeRecorder({
    fetch: async () => {
      throw new TypeError("fetch failed");
    },
  });
  const body = JSON.stringify({ jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "write-file", arguments: { content: "x" } } });
  await assert.rejects(recorder.fetch("http://127.0.0.1:3000/mcp", { method: "POST", body, headers: { "mcp-session-id": "s-1" } }), TypeError);
  const [e] = recorder.exchanges;
  assert.equal(e?.request.rpcMethod, "tools/call");
  assert.equal(e?.request.tool, "write-file");
  assert.equal(e?.request.mcpSessionId, "s-1");
  assert.equal(e?.status, undefined);
  assert.equal(e?.error, "fetch failed");
});

test("a refused destination is never contacted", async () => {
  let sent = 0;
  const recorder = new ExchangeRecorder({
    fetch: async () => (sent++, new Response(null)),
    refuse: (url) => (url.hostname === "127.0.0.1" ? undefined : "loopback only"),
  });
  await assert.rejects(recorder.fetch("https://attacker.example/cb"), /loopback only/);
  assert.equal(sent, 0);
  assert.equal(recorder.exchanges.length, 0);
});

test("withTimeout: a hung request ends with FetchTimeoutError (not a TypeError, which the SDK would retry)", async () => {
  const hung = (_url: string | URL, init?: RequestInit) =>
    new Promise<Response>((_resolve, reject) => init?.signal?.addEventListener("abort", () => reject(init.signal!.reason)));
  const keepAlive = setTimeout(() => {}, 5_000); // AbortSignal.timeout is unref'd; a real socket would hold the loop
  const error = await withTimeout(hung, 50)("http://127.0.0.1:3001/token").catch((e: unknown) => e);
  clearTimeout(keepAlive);
  assert.ok(error instanceof FetchTimeoutError, String(error));
  assert.ok(!(error instanceof TypeError));
  assert.match(error.message, /no answer within 50 ms/);
});

test("withTimeout: the FetchTimeoutError's message shows the URL redacted, as the recorder does", async () => {
  const hung = (_url: string | URL, init?: RequestInit) =>
    new Promise<Response>((_resolve, reject) => init?.signal?.addEventListener("abort", () => reject(init.signal!.reason)));
  const keepAlive = setTimeout(() => {}, 5_000);
  const state = "s7JkQ2vXw9LmN4pR8tYb3A";
  const codeChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
  const url = `http://127.0.0.1:3001/authorize?response_type=code&state=${state}&code_challenge=${codeChallenge}&scope=files%3Aread`;
  const error = await withTimeout(hung, 50)(url).catch((e: unknown) => e);
  clearTimeout(keepAlive);
  assert.ok(error instanceof FetchTimeoutError, String(error));
  assert.equal(
    error.message,
    "GET http://127.0.0.1:3001/authorize?response_type=code&state=s7JkQ2…&code_challenge=E9Melh…&scope=files:read got no answer within 50 ms",
  );
});

test("the authorizer opens only http(s) authorization URLs, and registers with C2's metadata", async () => {
  const issuer = "http://127.0.0.1:3001";
  const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
  const registered: unknown[] = [];
  const fetch = async (url: string | URL, init?: RequestInit) => {
    const path = new URL(String(url)).pathname;
    if (path === "/.well-known/oauth-protected-resource/mcp") return json({ resource: "http://127.0.0.1:3000/mcp", authorization_servers: [issuer] });
    if (path === "/.well-known/oauth-authorization-server") {
      return json({ issuer, authorization_endpoint: "myapp://authorize", token_endpoint: `${issuer}/token`, registration_endpoint: `${issuer}/register`, response_types_supported: ["code"], code_challenge_methods_supported: ["S256"] });
    }
    if (path === "/register") return (registered.push(JSON.parse(String(init?.body))), json({ client_id: "c1", redirect_uris: ["http://127.0.0.1:8976/callback"] }, 201));
    return json({ error: "not_found" }, 404);
  };
  let opened = 0;
  const authorizer = new Authorizer({ serverUrl: "http://127.0.0.1:3000/mcp", fetch, userAgent: async (url) => (opened++, url) });
  await assert.rejects(authorizer.authorize(["files:read"]), /refusing to open a myapp: authorization URL/);
  assert.equal(opened, 0, "the user agent was never given the URL");
  assert.deepEqual(registered, [
    {
      client_name: "scoped-tools headless client",
      redirect_uris: ["http://127.0.0.1:8976/callback"],
      application_type: "native",
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    },
  ]);
});
