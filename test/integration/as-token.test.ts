/**
 * `POST /token` rejections and the rules of A5/A6: single-use, short-lived codes (replay revokes what
 * was issued), refresh rotation with reuse detection, scope that can only narrow, resource binding,
 * client binding, strict form parsing — and `Cache-Control: no-store` on every answer.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { decodeJwt } from "jose";
import {
  exchangeCode,
  expectOAuthError,
  obtainCode,
  obtainTokens,
  postToken,
  refresh,
  registerClient,
  startAuthorizationServer,
  REDIRECT_URI,
  type TestAuthorizationServer,
} from "../helpers/oauth.ts";

let as: TestAuthorizationServer;

before(async () => {
  as = await startAuthorizationServer({ AS_DCR_RATE_LIMIT: "1000" });
});
after(() => as.close());

/** A6: errors are RFC 6749 §5.2 JSON, and not cacheable either. */
async function expectTokenError(response: Response, error: string, status = 400) {
  assert.equal(response.headers.get("cache-control"), "no-store");
  return expectOAuthError(response, status, error);
}

async function freshCode(scope?: string) {
  const client = await registerClient(as.config);
  return { client, ...(await obtainCode(as.config, { client_id: client.client_id, scope })) };
}

const codeForm = (c: { client: { client_id: string }; code: string; code_verifier: string }) => ({
  grant_type: "authorization_code",
  client_id: c.client.client_id,
  code: c.code,
  code_verifier: c.code_verifier,
  redirect_uri: REDIRECT_URI,
});

// ---- the request itself ----

test("only form-encoded bodies; malformed and oversized ones get JSON errors, no-store", async () => {
  const url = `${as.config.issuer}/token`;
  const json = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: '{"grant_type":"refresh_token"}' });
  await expectTokenError(json, "invalid_request");
  const text = await fetch(url, { method: "POST", headers: { "content-type": "text/plain" }, body: "grant_type=refresh_token" });
  await expectTokenError(text, "invalid_request");
  const big = new URLSearchParams({ grant_type: "refresh_token", refresh_token: "x".repeat(20 * 1024) });
  await expectTokenError(await fetch(url, { method: "POST", body: big }), "invalid_request", 413);
  const charset = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded; charset=koi8-r" },
    body: "grant_type=refresh_token",
  });
  await expectTokenError(charset, "invalid_request");
  await expectTokenError(await fetch(url, { method: "POST" }), "invalid_request"); // empty: client_id missing
  await expectTokenError(await fetch(url, { method: "GET" }), "invalid_request", 405);
});

test("a repeated parameter → invalid_request, before the client is even looked up (RFC 6749 §3.2)", async () => {
  const c = await freshCode();
  const body = await expectTokenError(
    await postToken(as.config, { ...codeForm(c), client_id: ["unknown-client", "unknown-client"] }),
    "invalid_request",
  );
  assert.match(body.error_description, /client_id/);
  await expectTokenError(await postToken(as.config, { ...codeForm(c), grant_type: ["authorization_code", "authorization_code"] }), "invalid_request");
  await expectTokenError(await postToken(as.config, { ...codeForm(c), code_verifier: [c.code_verifier, c.code_verifier] }), "invalid_request");
  await expectTokenError(await postToken(as.config, { ...codeForm(c), "scope[]": ["a", "b"] }), "invalid_request");
  // none of that spent the code
  assert.equal((await postToken(as.config, codeForm(c))).status, 200);
});

test("client_id: missing → invalid_request; unknown → 400 invalid_client", async () => {
  const c = await freshCode();
  await expectTokenError(await postToken(as.config, { ...codeForm(c), client_id: undefined }), "invalid_request");
  await expectTokenError(await postToken(as.config, { ...codeForm(c), client_id: "nobody" }), "invalid_client", 400);
});

test("grant_type: missing → invalid_request; unsupported → unsupported_grant_type", async () => {
  const c = await freshCode();
  await expectTokenError(await postToken(as.config, { ...codeForm(c), grant_type: undefined }), "invalid_request");
  for (const grant_type of ["password", "client_credentials", "urn:ietf:params:oauth:grant-type:device_code"]) {
    await expectTokenError(await postToken(as.config, { ...codeForm(c), grant_type }), "unsupported_grant_type");
  }
});

// ---- authorization_code (A5) ----

test("missing code, code_verifier or redirect_uri → invalid_request", async () => {
  const c = await freshCode();
  for (const name of ["code", "code_verifier", "redirect_uri"] as const) {
    await expectTokenError(await postToken(as.config, { ...codeForm(c), [name]: undefined }), "invalid_request");
  }
  await expectTokenError(await postToken(as.config, { ...codeForm(c), code: "no-such-code" }), "invalid_grant");
});

test("every binding is checked, and a failed redemption spends the code", async () => {
  const other = await registerClient(as.config);
  const cases: Array<[string, (c: Awaited<ReturnType<typeof freshCode>>) => Record<string, string>, string]> = [
    ["wrong code_verifier", (c) => ({ ...codeForm(c), code_verifier: "x".repeat(43) }), "invalid_grant"],
    ["malformed code_verifier", (c) => ({ ...codeForm(c), code_verifier: "short" }), "invalid_grant"],
    ["challenge sent as verifier", (c) => ({ ...codeForm(c), code_verifier: c.location.searchParams.get("code")! }), "invalid_grant"],
    ["another client", (c) => ({ ...codeForm(c), client_id: other.client_id }), "invalid_grant"],
    ["another redirect_uri", (c) => ({ ...codeForm(c), redirect_uri: "http://127.0.0.1:8765/other" }), "invalid_grant"],
    ["port variant of the redirect_uri", (c) => ({ ...codeForm(c), redirect_uri: "http://127.0.0.1:9999/callback" }), "invalid_grant"],
    ["another resource", (c) => ({ ...codeForm(c), resource: "http://127.0.0.1:3000/other" }), "invalid_target"],
  ];
  for (const [label, form, error] of cases) {
    const c = await freshCode();
    const body = await expectTokenError(await postToken(as.config, form(c)), error);
    assert.ok(body.error_description, label);
    // the right request afterwards is refused: the code is spent (A5)
    await expectTokenError(await postToken(as.config, codeForm(c)), "invalid_grant");
  }
});

test("resource may be repeated on the code exchange when it matches", async () => {
  const c = await freshCode();
  const tokens = await exchangeCode(as.config, { client_id: c.client.client_id, code: c.code, code_verifier: c.code_verifier, resource: as.config.resource });
  assert.equal(decodeJwt(tokens.access_token).aud, as.config.resource);
});

test("code replay → invalid_grant, and the tokens issued from that code are revoked (RFC 6749 §4.1.2)", async () => {
  const c = await freshCode();
  const tokens = await exchangeCode(as.config, { client_id: c.client.client_id, code: c.code, code_verifier: c.code_verifier });
  const refreshed = await refresh(as.config, { client_id: c.client.client_id, refresh_token: tokens.refresh_token! });

  const replay = await expectTokenError(await postToken(as.config, codeForm(c)), "invalid_grant");
  assert.match(replay.error_description, /already used/);

  // the whole family is dead: the current refresh token (its JWT access tokens stay valid until exp, A8)
  await expectTokenError(
    await postToken(as.config, { grant_type: "refresh_token", client_id: c.client.client_id, refresh_token: refreshed.refresh_token }),
    "invalid_grant",
  );
});

test("A5: a code expires after 60 s (injected clock)", async () => {
  const fresh = await freshCode();
  as.clock.advance(59_000);
  assert.equal((await postToken(as.config, codeForm(fresh))).status, 200, "still valid at 59 s");

  const stale = await freshCode();
  as.clock.advance(60_000);
  const body = await expectTokenError(await postToken(as.config, codeForm(stale)), "invalid_grant");
  assert.match(body.error_description, /expired/);
});

// ---- refresh_token (A6) ----

const refreshForm = (client_id: string, refresh_token: string | undefined, extra: Record<string, string> = {}) => ({
  grant_type: "refresh_token",
  client_id,
  refresh_token,
  ...extra,
});

test("missing or unknown refresh_token", async () => {
  const t = await obtainTokens(as.config);
  await expectTokenError(await postToken(as.config, refreshForm(t.client_id, undefined)), "invalid_request");
  await expectTokenError(await postToken(as.config, refreshForm(t.client_id, "no-such-token")), "invalid_grant");
});

test("reuse of a rotated refresh token → invalid_grant, and the whole family is revoked, newest included", async () => {
  const t = await obtainTokens(as.config);
  const second = await refresh(as.config, { client_id: t.client_id, refresh_token: t.refresh_token! });
  const third = await refresh(as.config, { client_id: t.client_id, refresh_token: second.refresh_token! });

  const reuse = await expectTokenError(await postToken(as.config, refreshForm(t.client_id, t.refresh_token)), "invalid_grant");
  assert.match(reuse.error_description, /already used/);
  await expectTokenError(await postToken(as.config, refreshForm(t.client_id, third.refresh_token)), "invalid_grant");
  await expectTokenError(await postToken(as.config, refreshForm(t.client_id, second.refresh_token)), "invalid_grant");
});

test("RFC 6749 §6: a refresh cannot widen scope — invalid_scope, and the refused token still works", async () => {
  const t = await obtainTokens(as.config, { scope: "files:read" });
  const widen = await expectTokenError(
    await postToken(as.config, refreshForm(t.client_id, t.refresh_token, { scope: "files:read files:write" })),
    "invalid_scope",
  );
  assert.match(widen.error_description, /files:write/);
  await expectTokenError(await postToken(as.config, refreshForm(t.client_id, t.refresh_token, { scope: "files:admin" })), "invalid_scope");
  await expectTokenError(await postToken(as.config, refreshForm(t.client_id, t.refresh_token, { scope: "bogus" })), "invalid_scope");

  const after = await refresh(as.config, { client_id: t.client_id, refresh_token: t.refresh_token! });
  assert.equal(after.scope, "files:read");
});

test("RFC 6749 §6: a refresh may narrow; omitted scope means the original grant", async () => {
  const t = await obtainTokens(as.config, { scope: "files:read files:write" });
  const narrow = await refresh(as.config, { client_id: t.client_id, refresh_token: t.refresh_token!, scope: "files:read" });
  assert.equal(narrow.scope, "files:read");
  assert.equal(decodeJwt(narrow.access_token).scope, "files:read");
  const back = await refresh(as.config, { client_id: t.client_id, refresh_token: narrow.refresh_token! });
  assert.equal(back.scope, "files:read files:write");
  // what was originally granted may be asked for again explicitly
  const again = await refresh(as.config, { client_id: t.client_id, refresh_token: back.refresh_token!, scope: "files:write files:read" });
  assert.equal(again.scope, "files:read files:write");
});

test("RFC 8707: a refresh with another resource → invalid_target, and the token still works", async () => {
  const t = await obtainTokens(as.config);
  await expectTokenError(
    await postToken(as.config, refreshForm(t.client_id, t.refresh_token, { resource: "https://attacker.example/mcp" })),
    "invalid_target",
  );
  const ok = await refresh(as.config, { client_id: t.client_id, refresh_token: t.refresh_token!, resource: as.config.resource });
  assert.equal(decodeJwt(ok.access_token).aud, as.config.resource);
});

test("a refresh token is bound to its client; another client's attempt does not spend it", async () => {
  const t = await obtainTokens(as.config);
  const thief = await registerClient(as.config);
  await expectTokenError(await postToken(as.config, refreshForm(thief.client_id, t.refresh_token)), "invalid_grant");
  await refresh(as.config, { client_id: t.client_id, refresh_token: t.refresh_token! });
});

test("A6: every successful response carries scope, token_type, expires_in — and no-store", async () => {
  const c = await freshCode();
  const response = await postToken(as.config, codeForm(c));
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("cache-control"), "no-store");
  assert.equal(response.headers.get("pragma"), "no-cache");
  const body = (await response.json()) as Record<string, unknown>;
  assert.equal(body.token_type, "Bearer");
  assert.equal(body.expires_in, as.config.accessTokenTtl);
  assert.equal(body.scope, "files:read");
  const claims = decodeJwt(body.access_token as string);
  assert.equal(claims.exp! - claims.iat!, as.config.accessTokenTtl);
});
