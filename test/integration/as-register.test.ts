/**
 * `POST /register` (A3) rejections, bad bodies, the DCR rate limit and the store caps (A9).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { stateOf } from "../../as/app.ts";
import { CLIENT_RECENT_USE_MS } from "../../as/state.ts";
import {
  authorize,
  authorizationParams,
  defaultClientMetadata,
  exchangeCode,
  expectOAuthError,
  obtainCode,
  obtainTokens,
  pkcePair,
  postRegister,
  postToken,
  refresh,
  registerClient,
  startAuthorizationServer,
  type TestAuthorizationServer,
} from "../helpers/oauth.ts";

let as: TestAuthorizationServer;

before(async () => {
  as = await startAuthorizationServer({ AS_DCR_RATE_LIMIT: "10000" });
});
after(() => as.close());

/** A3: the rejection is spec-shaped, and the client is not registered. */
async function expectRejected(body: unknown, error: string, status = 400, headers: Record<string, string> = {}) {
  const clients = stateOf(as.app).clients.size;
  const response = await postRegister(as.config, body, headers);
  const result = await expectOAuthError(response, status, error);
  assert.equal(stateOf(as.app).clients.size, clients, "nothing registered");
  return result;
}

const withRedirects = (...redirect_uris: unknown[]) => ({ ...defaultClientMetadata(), redirect_uris });

test("A3: non-loopback, userinfo, fragment, non-http(s) and disguised redirect URIs → invalid_redirect_uri", async () => {
  for (const uri of [
    "https://attacker.example/cb",
    "http://127.0.0.1.evil.com/cb",
    "http://localhost.evil/cb",
    "http://evil-127.0.0.1/cb",
    "http:/127.0.0.1/cb",
    "http://127.0.0.1\\@attacker.example/cb",
    "http://127.0.0.1/cb#",
    "http://127.0.0.1/cb#x",
    "http://user@127.0.0.1/cb",
    "http://127.0.0.1@attacker.example/cb",
    "http://127.0.0.1/c b",
    "ftp://127.0.0.1/cb",
    "com.example.app:/oauth",
    "/relative/cb",
    `http://127.0.0.1/${"a".repeat(5000)}`,
  ]) {
    const { error_description } = await expectRejected(withRedirects(uri), "invalid_redirect_uri");
    assert.match(error_description, /redirect_uris\[0\]/);
  }
  // one bad entry among good ones is enough
  await expectRejected(withRedirects("http://127.0.0.1/cb", "https://attacker.example/cb"), "invalid_redirect_uri");
});

test("A3: missing, empty, non-array, non-string and too many redirect_uris", async () => {
  const { redirect_uris: _, ...noRedirects } = defaultClientMetadata();
  await expectRejected(noRedirects, "invalid_redirect_uri");
  await expectRejected(withRedirects(), "invalid_redirect_uri");
  await expectRejected({ ...defaultClientMetadata(), redirect_uris: "http://127.0.0.1/cb" }, "invalid_client_metadata");
  await expectRejected({ ...defaultClientMetadata(), redirect_uris: null }, "invalid_client_metadata");
  await expectRejected(withRedirects(42), "invalid_redirect_uri");
  await expectRejected(withRedirects(["http://127.0.0.1/cb"]), "invalid_redirect_uri");
  await expectRejected(withRedirects(...Array.from({ length: 11 }, (_, i) => `http://127.0.0.1/cb${i}`)), "invalid_client_metadata");
  // ten is fine
  const ten = await registerClient(as.config, { redirect_uris: Array.from({ length: 10 }, (_, i) => `http://127.0.0.1/cb${i}`) });
  assert.equal(ten.redirect_uris.length, 10);
});

test("A3: unsupported metadata → invalid_client_metadata", async () => {
  const base = defaultClientMetadata();
  for (const overrides of [
    { token_endpoint_auth_method: "client_secret_basic" },
    { token_endpoint_auth_method: "client_secret_post" },
    { token_endpoint_auth_method: "private_key_jwt" },
    { grant_types: ["authorization_code", "client_credentials"] },
    { grant_types: ["implicit"] },
    { grant_types: ["refresh_token"] },
    { grant_types: [] },
    { grant_types: "authorization_code" },
    { response_types: ["token"] },
    { response_types: ["code", "id_token"] },
    { response_types: [] },
    { application_type: "browser" },
    { application_type: 1 },
    { application_type: "web" }, // with http: redirect URIs
    { client_name: 5 },
    { client_name: "n".repeat(201) },
  ]) {
    await expectRejected({ ...base, ...overrides }, "invalid_client_metadata");
  }
});

test("A3: a web client may register https loopback redirect URIs", async () => {
  const client = await registerClient(as.config, { application_type: "web", redirect_uris: ["https://localhost:8443/cb"] });
  assert.equal(client.application_type, "web");
});

test("A3: the redirect URI is stored exactly as submitted", async () => {
  const odd = "http://[::1]:65535/a%2Fb/c;p=1?q=%20&x";
  const client = await registerClient(as.config, { redirect_uris: [odd] });
  assert.deepEqual(client.redirect_uris, [odd]);
  const { location } = await obtainCode(as.config, { client_id: client.client_id, redirect_uri: odd });
  assert.ok(location.href.startsWith(`${odd}&code=`), location.href);
});

test("bodies: malformed JSON, not an object, wrong content type, oversized", async () => {
  await expectRejected("{not json", "invalid_request");
  await expectRejected('"a string"', "invalid_request");
  await expectRejected("[]", "invalid_client_metadata");
  await expectRejected(JSON.stringify(defaultClientMetadata()), "invalid_request", 400, { "content-type": "text/plain" });
  await expectRejected("redirect_uris=http://127.0.0.1/cb", "invalid_request", 400, { "content-type": "application/x-www-form-urlencoded" });
  await expectRejected(JSON.stringify(defaultClientMetadata()), "invalid_request", 400, { "content-type": "application/json; charset=latin9" });
  const big = { ...defaultClientMetadata(), client_name: "x".repeat(20 * 1024) };
  const response = await expectRejected(big, "invalid_request", 413);
  assert.match(response.error_description, /16kb/);
  const empty = await fetch(`${as.config.issuer}/register`, { method: "POST" });
  await expectOAuthError(empty, 400, "invalid_request");
  assert.equal(empty.headers.get("cache-control"), "no-store");
});

test("A9: DCR is rate-limited per address — 429, Retry-After in seconds, JSON body", async () => {
  const limited = await startAuthorizationServer({ AS_DCR_RATE_LIMIT: "3" });
  try {
    for (let i = 0; i < 2; i++) await registerClient(limited.config);
    // a rejected registration counts too
    await expectOAuthError(await postRegister(limited.config, { redirect_uris: ["https://attacker.example/cb"] }), 400, "invalid_redirect_uri");
    const response = await postRegister(limited.config, defaultClientMetadata());
    assert.equal(response.headers.get("retry-after"), "20", "3 per minute: one more every 20 s");
    await expectOAuthError(response, 429, "too_many_requests");
    assert.equal(stateOf(limited.app).clients.size, 2);

    limited.clock.advance(19_000);
    await expectOAuthError(await postRegister(limited.config, defaultClientMetadata()), 429, "too_many_requests");
    limited.clock.advance(1_000);
    await registerClient(limited.config);
    // other endpoints are not limited
    assert.equal((await fetch(`${limited.config.issuer}/.well-known/oauth-authorization-server`)).status, 200);
  } finally {
    await limited.close();
  }
});

test("A9: a full client store evicts only a client not in use; while every client is in use it refuses with 429 + Retry-After", async () => {
  const small = await startAuthorizationServer({ AS_DCR_RATE_LIMIT: "100" }, { limits: { maxClients: 2 } });
  try {
    const first = await registerClient(small.config, { grant_types: ["authorization_code", "refresh_token"] });
    const second = await registerClient(small.config);
    // both were registered just now (recent use): the third is refused, and nothing is evicted
    const refused = await postRegister(small.config, defaultClientMetadata());
    const retryAfter = Number(refused.headers.get("retry-after"));
    assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= CLIENT_RECENT_USE_MS / 1000, `Retry-After ${retryAfter}`);
    await expectOAuthError(refused, 429, "too_many_requests");
    assert.equal(stateOf(small.app).clients.size, 2);

    // the first client gets a grant (a live refresh token); then both stop being "recent"
    await obtainTokens(small.config, { client: first });
    small.clock.advance(CLIENT_RECENT_USE_MS + 1_000);
    // now the idle one (second) makes room; the one with a live grant (first) is kept
    const third = await registerClient(small.config);
    const gone = await authorize(small.config, authorizationParams(small.config, second.client_id, pkcePair().code_challenge));
    assert.equal(gone.headers.get("location"), null);
    await expectOAuthError(gone, 400, "invalid_client");
    await obtainCode(small.config, { client_id: first.client_id });
    await obtainCode(small.config, { client_id: third.client_id });
  } finally {
    await small.close();
  }
});

test("A9: when the code store is full the oldest code is evicted", async () => {
  const small = await startAuthorizationServer({ AS_DCR_RATE_LIMIT: "100" }, { limits: { maxCodes: 2 } });
  try {
    const client = await registerClient(small.config);
    const codes = [];
    for (let i = 0; i < 3; i++) codes.push(await obtainCode(small.config, { client_id: client.client_id }));
    const [oldest, , newest] = codes;
    await expectOAuthError(
      await postToken(small.config, { grant_type: "authorization_code", client_id: client.client_id, code: oldest!.code, code_verifier: oldest!.code_verifier, redirect_uri: oldest!.redirect_uri }),
      400,
      "invalid_grant",
    );
    await exchangeCode(small.config, { client_id: client.client_id, code: newest!.code, code_verifier: newest!.code_verifier });
  } finally {
    await small.close();
  }
});

test("A9: when the refresh-token store is full the oldest token is evicted", async () => {
  const small = await startAuthorizationServer({ AS_DCR_RATE_LIMIT: "100" }, { limits: { maxRefreshTokens: 2 } });
  try {
    const client = await registerClient(small.config);
    const grants = [];
    for (let i = 0; i < 3; i++) grants.push(await obtainTokens(small.config, { client }));
    await expectOAuthError(
      await postToken(small.config, { grant_type: "refresh_token", client_id: client.client_id, refresh_token: grants[0]!.refresh_token }),
      400,
      "invalid_grant",
    );
    await refresh(small.config, { client_id: client.client_id, refresh_token: grants[2]!.refresh_token! });
    assert.ok(stateOf(small.app).refreshTokens.size <= 2);
  } finally {
    await small.close();
  }
});

test("B1: no input yields a 5xx, on any endpoint", async () => {
  const endpoints = ["/register", "/token", "/revoke", "/authorize", "/.well-known/oauth-authorization-server", "/nowhere"];
  const contentTypes = ["application/json", "application/x-www-form-urlencoded", "text/plain", "multipart/form-data", ""];
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...endpoints),
      fc.constantFrom("GET", "POST", "PUT", "DELETE"),
      fc.constantFrom(...contentTypes),
      fc.oneof(fc.string({ maxLength: 200 }), fc.json(), fc.constant("redirect_uris=x&redirect_uris=y&grant_type=%ZZ")),
      fc.string({ maxLength: 50 }),
      async (path, method, contentType, body, query) => {
        const url = `${as.config.issuer}${path}?${encodeURI(query)}`;
        const headers: Record<string, string> = contentType ? { "content-type": contentType } : {};
        const response = await fetch(url, { method, headers, body: method === "GET" ? undefined : body });
        const text = await response.text();
        assert.ok(response.status < 500, `${method} ${path} → ${response.status} ${text}`);
        if (response.status >= 400) assert.equal(typeof JSON.parse(text).error, "string");
      },
    ),
    { numRuns: 150 },
  );
});
