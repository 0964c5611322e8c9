/**
 * Every rejection of `GET /authorize` (A4): untrustworthy redirect targets get a 400 JSON and no
 * `Location`; every other protocol error is redirected with `error`, `state` and `iss`.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import {
  authorize,
  authorizationParams,
  expectOAuthError,
  pkcePair,
  redirectParams,
  registerClient,
  startAuthorizationServer,
  REDIRECT_URI,
  type AuthorizeParams,
  type RegisteredClient,
  type TestAuthorizationServer,
} from "../helpers/oauth.ts";

let as: TestAuthorizationServer;
let client: RegisteredClient;
let localhostClient: RegisteredClient;

before(async () => {
  as = await startAuthorizationServer({ AS_DCR_RATE_LIMIT: "1000" });
  client = await registerClient(as.config);
  localhostClient = await registerClient(as.config, { redirect_uris: ["http://localhost:3000/cb"] });
});
after(() => as.close());

const params = (overrides: AuthorizeParams = {}) =>
  authorizationParams(as.config, client.client_id, pkcePair().code_challenge, { state: "st-1", ...overrides });

/** A4: answered with 400 JSON, never a redirect. */
async function expectNoRedirect(query: AuthorizeParams, error = "invalid_request") {
  const response = await authorize(as.config, query);
  assert.equal(response.headers.get("location"), null, "no Location header");
  return expectOAuthError(response, 400, error);
}

/** A4 / RFC 6749 §4.1.2.1: redirected to the client with error, state and iss — and no code. */
async function expectRedirectedError(query: AuthorizeParams, error: string, state: string | null = "st-1") {
  const callback = redirectParams(await authorize(as.config, query));
  assert.equal(callback.get("error"), error);
  assert.ok(callback.get("error_description"));
  assert.equal(callback.get("state"), state);
  assert.equal(callback.get("iss"), as.config.issuer, "RFC 9207: iss on error responses too");
  assert.equal(callback.get("code"), null);
  return callback;
}

test("sanity: the baseline request succeeds", async () => {
  const callback = redirectParams(await authorize(as.config, params()));
  assert.ok(callback.get("code"));
  assert.equal(callback.get("state"), "st-1");
});

test("unknown or missing client_id → 400 JSON, no redirect", async () => {
  // invalid_client (RFC 6749 §5.2's code) tells a client whose registration was forgotten to register again.
  await expectNoRedirect(params({ client_id: "no-such-client" }), "invalid_client");
  await expectNoRedirect(params({ client_id: undefined }));
  await expectNoRedirect(params({ client_id: "" }));
});

test("a redirect_uri not registered for the client → 400 JSON, no redirect", async () => {
  for (const redirect_uri of [
    "https://attacker.example/cb",
    "http://127.0.0.1:8765/callback/",
    "http://127.0.0.1:8765/callbackevil",
    "http://127.0.0.1:8765/Callback",
    "http://127.0.0.1:8765/callback?x=1",
    "http://127.0.0.1:8765/callback#frag",
    "https://127.0.0.1:8765/callback",
    "http://localhost:8765/callback",
    "http://[::1]:8765/callback",
    "http://127.0.0.1:8765@attacker.example/callback",
    "http://127.0.0.1:0/callback",
    "HTTP://127.0.0.1:8765/callback",
  ]) {
    await expectNoRedirect(params({ redirect_uri }));
  }
  await expectNoRedirect(params({ redirect_uri: undefined }));
  // another client's redirect URI is not this client's
  await expectNoRedirect(params({ redirect_uri: "http://localhost:3000/cb" }));
});

test("localhost is matched exactly, port included (only IP literals get any port)", async () => {
  const base = { client_id: localhostClient.client_id, redirect_uri: "http://localhost:3000/cb" };
  redirectParams(await authorize(as.config, params(base)), "http://localhost:3000/cb");
  await expectNoRedirect(params({ ...base, redirect_uri: "http://localhost:3001/cb" }));
});

test("a repeated client_id or redirect_uri → 400 JSON, even when every copy is valid", async () => {
  await expectNoRedirect(params({ client_id: [client.client_id, client.client_id] }));
  await expectNoRedirect(params({ redirect_uri: [REDIRECT_URI, REDIRECT_URI] }));
  await expectNoRedirect(params({ redirect_uri: [REDIRECT_URI, "https://attacker.example/cb"] }));
});

test("any other repeated parameter → redirected invalid_request (RFC 6749 §3.1)", async () => {
  await expectRedirectedError(params({ scope: ["files:read", "files:read"] }), "invalid_request");
  await expectRedirectedError(params({ response_type: ["code", "code"] }), "invalid_request");
  await expectRedirectedError(params({ code_challenge_method: ["S256", "S256"] }), "invalid_request");
  await expectRedirectedError(params({ resource: [as.config.resource, as.config.resource] }), "invalid_request");
  // with state itself repeated, there is no single state to return
  await expectRedirectedError(params({ state: ["a", "b"] }), "invalid_request", null);
});

test("response_type: missing → invalid_request; anything but code → unsupported_response_type", async () => {
  await expectRedirectedError(params({ response_type: undefined }), "invalid_request");
  await expectRedirectedError(params({ response_type: "token" }), "unsupported_response_type");
  await expectRedirectedError(params({ response_type: "code id_token" }), "unsupported_response_type");
});

test("PKCE: code_challenge required, S256 only, well-formed", async () => {
  await expectRedirectedError(params({ code_challenge: undefined }), "invalid_request");
  await expectRedirectedError(params({ code_challenge_method: "plain" }), "invalid_request");
  await expectRedirectedError(params({ code_challenge_method: "s256" }), "invalid_request");
  await expectRedirectedError(params({ code_challenge_method: undefined }), "invalid_request"); // would mean plain
  await expectRedirectedError(params({ code_challenge: "too-short" }), "invalid_request");
  await expectRedirectedError(params({ code_challenge: `${"a".repeat(42)}=` }), "invalid_request");
});

test("RFC 8707: resource missing or not the RS's → invalid_target", async () => {
  await expectRedirectedError(params({ resource: undefined }), "invalid_target");
  await expectRedirectedError(params({ resource: `${as.config.resource}/` }), "invalid_target");
  await expectRedirectedError(params({ resource: "http://127.0.0.1:3000" }), "invalid_target");
  await expectRedirectedError(params({ resource: "https://attacker.example/mcp" }), "invalid_target");
});

test("scope: an unknown scope → invalid_scope, even beside known ones", async () => {
  await expectRedirectedError(params({ scope: "files:delete" }), "invalid_scope");
  await expectRedirectedError(params({ scope: "files:read openid" }), "invalid_scope");
  await expectRedirectedError(params({ scope: 'files:read "quoted"' }), "invalid_scope");
});

test("the state is echoed unchanged; without one, none is returned", async () => {
  const odd = "a b&c=d/é";
  const withState = redirectParams(await authorize(as.config, params({ state: odd, scope: "bogus" })));
  assert.equal(withState.get("state"), odd);
  const withoutState = redirectParams(await authorize(as.config, params({ state: undefined, scope: "bogus" })));
  assert.equal(withoutState.has("state"), false);
  assert.equal(withoutState.get("iss"), as.config.issuer);
});

test("only GET is allowed; unknown paths are JSON 404s", async () => {
  const post = await fetch(`${as.config.issuer}/authorize`, { method: "POST" });
  assert.equal(post.headers.get("allow"), "GET");
  await expectOAuthError(post, 405, "invalid_request");
  await expectOAuthError(await fetch(`${as.config.issuer}/authorise`), 404, "not_found");
});
