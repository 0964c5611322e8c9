/**
 * The AS's happy paths over real HTTP (A2, A3, A4, A6, A7, A8): metadata, JWKS, registration,
 * authorization, code exchange, refresh, revocation — tokens checked against the published JWKS.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createRemoteJWKSet, jwtVerify } from "jose";
import {
  authorize,
  authorizationParams,
  exchangeCode,
  expectOAuthError,
  obtainCode,
  obtainTokens,
  pkcePair,
  postToken,
  redirectParams,
  refresh,
  registerClient,
  revoke,
  startAuthorizationServer,
  REDIRECT_URI,
  type TestAuthorizationServer,
} from "../helpers/oauth.ts";

let as: TestAuthorizationServer;
const logLines: string[] = [];

before(async () => {
  as = await startAuthorizationServer(
    { AS_DCR_RATE_LIMIT: "1000" },
    { logger: { info: (line) => logLines.push(line), warn: (line) => logLines.push(line) } },
  );
});
after(() => as.close());

async function verifyAccessToken(access_token: string) {
  const jwks = createRemoteJWKSet(new URL(as.config.jwksUri));
  return jwtVerify(access_token, jwks, {
    algorithms: ["ES256"],
    typ: "at+jwt",
    issuer: as.config.issuer,
    audience: as.config.resource,
  });
}

test("A2: the RFC 8414 metadata document, exactly", async () => {
  const response = await fetch(`${as.config.issuer}/.well-known/oauth-authorization-server`);
  assert.equal(response.status, 200);
  const issuer = as.config.issuer;
  assert.deepEqual(await response.json(), {
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/token`,
    registration_endpoint: `${issuer}/register`,
    jwks_uri: `${issuer}/.well-known/jwks.json`,
    revocation_endpoint: `${issuer}/revoke`,
    scopes_supported: ["files:read", "files:write", "files:admin"],
    response_types_supported: ["code"],
    grant_types_supported: ["authorization_code", "refresh_token"],
    token_endpoint_auth_methods_supported: ["none"],
    revocation_endpoint_auth_methods_supported: ["none"],
    code_challenge_methods_supported: ["S256"],
    authorization_response_iss_parameter_supported: true,
  });
  assert.equal(issuer, `http://127.0.0.1:${as.config.asPort}`, "issuer equals the discovery base");
});

test("A7: the JWKS holds one public ES256 key", async () => {
  const response = await fetch(as.config.jwksUri);
  assert.equal(response.status, 200);
  const { keys } = (await response.json()) as { keys: Array<Record<string, unknown>> };
  assert.equal(keys.length, 1);
  const [key] = keys;
  assert.equal(key!.kty, "EC");
  assert.equal(key!.crv, "P-256");
  assert.equal(key!.alg, "ES256");
  assert.equal(key!.use, "sig");
  assert.equal(typeof key!.kid, "string");
  assert.equal(key!.d, undefined, "no private key material");
});

test("/healthz reports its pid and the loopback socket it listens on", async () => {
  const response = await fetch(`${as.config.issuer}/healthz`);
  assert.deepEqual(await response.json(), {
    status: "ok",
    service: "as",
    pid: process.pid, // the AS runs in this test's process
    listening: { address: "127.0.0.1", family: "IPv4", port: as.config.asPort },
  });
});

test("register → authorize → code exchange → refresh → revoke", async () => {
  // ---- 1. registration (RFC 7591) ----
  const registration = await fetch(`${as.config.issuer}/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      redirect_uris: [REDIRECT_URI],
      application_type: "native",
      grant_types: ["authorization_code", "refresh_token"],
      token_endpoint_auth_method: "none",
      client_name: "flow test",
      logo_uri: "https://example.com/ignored.png",
    }),
  });
  assert.equal(registration.status, 201);
  const client = (await registration.json()) as Record<string, unknown>;
  assert.equal(typeof client.client_id, "string");
  assert.ok(Math.abs((client.client_id_issued_at as number) - Date.now() / 1000) < 5);
  const { client_id, client_id_issued_at, ...metadata } = client;
  assert.deepEqual(metadata, {
    client_name: "flow test",
    redirect_uris: [REDIRECT_URI],
    application_type: "native",
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    token_endpoint_auth_method: "none",
  });

  // ---- 2. authorization request (RFC 6749 §4.1.1, RFC 7636, RFC 8707) ----
  const { code_verifier, code_challenge } = pkcePair();
  const authorization = await authorize(
    as.config,
    authorizationParams(as.config, client_id as string, code_challenge, { scope: "files:read", state: "xyz-state" }),
  );
  const callback = redirectParams(authorization);
  assert.equal(callback.get("state"), "xyz-state");
  assert.equal(callback.get("iss"), as.config.issuer, "RFC 9207");
  const code = callback.get("code");
  assert.ok(code);

  // ---- 3. code exchange ----
  const exchange = await postToken(as.config, {
    grant_type: "authorization_code",
    client_id: client_id as string,
    code,
    code_verifier,
    redirect_uri: REDIRECT_URI,
    resource: as.config.resource,
  });
  assert.equal(exchange.status, 200);
  assert.equal(exchange.headers.get("cache-control"), "no-store");
  const tokens = (await exchange.json()) as Record<string, unknown>;
  assert.deepEqual(Object.keys(tokens).sort(), ["access_token", "expires_in", "refresh_token", "scope", "token_type"]);
  assert.equal(tokens.token_type, "Bearer");
  assert.equal(tokens.expires_in, 300);
  assert.equal(tokens.scope, "files:read");

  const { payload, protectedHeader } = await verifyAccessToken(tokens.access_token as string);
  const jwks = (await (await fetch(as.config.jwksUri)).json()) as { keys: Array<{ kid: string }> };
  assert.deepEqual(protectedHeader, { alg: "ES256", typ: "at+jwt", kid: jwks.keys[0]!.kid });
  assert.equal(payload.iss, as.config.issuer);
  assert.equal(payload.sub, "demo-user");
  assert.equal(payload.aud, as.config.resource);
  assert.equal(payload.client_id, client_id);
  assert.equal(payload.scope, "files:read");
  assert.equal(payload.exp! - payload.iat!, 300);
  assert.equal(typeof payload.jti, "string");

  // ---- 4. refresh: rotation, same scope ----
  const refreshed = await refresh(as.config, {
    client_id: client_id as string,
    refresh_token: tokens.refresh_token as string,
    resource: as.config.resource,
  });
  assert.equal(refreshed.scope, "files:read");
  assert.ok(refreshed.refresh_token);
  assert.notEqual(refreshed.refresh_token, tokens.refresh_token, "a new refresh token on every use");
  const second = await verifyAccessToken(refreshed.access_token);
  assert.notEqual(second.payload.jti, payload.jti);
  assert.equal(second.payload.scope, "files:read");

  // ---- 5. revocation (RFC 7009) ----
  const revocation = await revoke(as.config, { client_id: client_id as string, token: refreshed.refresh_token!, token_type_hint: "refresh_token" });
  assert.equal(revocation.status, 200);
  await expectOAuthError(
    await postToken(as.config, { grant_type: "refresh_token", client_id: client_id as string, refresh_token: refreshed.refresh_token }),
    400,
    "invalid_grant",
  );
});

test("A8: revoking an access token → 400 unsupported_token_type, and nothing changes; unknown and foreign tokens → 200", async () => {
  const mine = await obtainTokens(as.config);
  const other = await obtainTokens(as.config);

  // another client's refresh token: 200 (RFC 7009 §2.2), but nothing is revoked
  assert.equal((await revoke(as.config, { client_id: other.client_id, token: mine.refresh_token! })).status, 200);
  await refresh(as.config, { client_id: mine.client_id, refresh_token: mine.refresh_token! }).then((t) => (mine.refresh_token = t.refresh_token));

  // unknown or invalid tokens: 200 (RFC 7009 §2.2)
  assert.equal((await revoke(as.config, { client_id: mine.client_id, token: "not-a-token" })).status, 200);
  const [header, payload] = mine.access_token.split(".");
  const forged = `${header}.${payload}.${"A".repeat(86)}`; // this AS's claims, not its signature
  assert.equal((await revoke(as.config, { client_id: mine.client_id, token: forged })).status, 200);

  // RFC 7009 §2.2.1: nothing could enforce access-token revocation (the RS verifies JWTs locally), so this
  // AS says it does not support that token type; the grant is untouched and the JWT still verifies.
  for (const token_type_hint of [undefined, "access_token", "refresh_token"]) {
    const response = await revoke(as.config, { client_id: mine.client_id, token: mine.access_token, token_type_hint });
    await expectOAuthError(response, 400, "unsupported_token_type");
    assert.equal(response.headers.get("cache-control"), "no-store");
  }
  await verifyAccessToken(mine.access_token);
  await refresh(as.config, { client_id: mine.client_id, refresh_token: mine.refresh_token! });
});

test("RFC 8414 §2: /revoke authenticates clients as /token does", async () => {
  const metadata = (await (await fetch(`${as.config.issuer}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
  assert.deepEqual(metadata.revocation_endpoint_auth_methods_supported, metadata.token_endpoint_auth_methods_supported);
});

test("S3: a request for more than policy allows is partially granted", async () => {
  const tokens = await obtainTokens(as.config, { scope: "files:read files:write files:admin" });
  assert.equal(tokens.scope, "files:read files:write");
  const { payload } = await verifyAccessToken(tokens.access_token);
  assert.equal(payload.scope, "files:read files:write");
  // granted in catalog order, whatever the request order
  assert.equal((await obtainTokens(as.config, { scope: "files:write files:read" })).scope, "files:read files:write");
});

test("S3: AS_GRANTABLE_SCOPES can make an admin user", async () => {
  const admin = await startAuthorizationServer({ AS_GRANTABLE_SCOPES: "files:read files:write files:admin" });
  try {
    assert.equal((await obtainTokens(admin.config, { scope: "files:admin files:read" })).scope, "files:read files:admin");
  } finally {
    await admin.close();
  }
});

test("A4: an omitted scope means files:read", async () => {
  const tokens = await obtainTokens(as.config);
  assert.equal(tokens.scope, "files:read");
});

test("A4: nothing grantable → redirected access_denied with state and iss", async () => {
  const client = await registerClient(as.config);
  const response = await authorize(
    as.config,
    authorizationParams(as.config, client.client_id, pkcePair().code_challenge, { scope: "files:admin", state: "s1" }),
  );
  const callback = redirectParams(response);
  assert.equal(callback.get("error"), "access_denied");
  assert.equal(callback.get("state"), "s1");
  assert.equal(callback.get("iss"), as.config.issuer);
  assert.equal(callback.get("code"), null);
});

test("A3: omitted grant_types means authorization_code only — and then no refresh token", async () => {
  const client = await registerClient(as.config, { grant_types: undefined });
  assert.deepEqual(client.grant_types, ["authorization_code"]);
  const tokens = await obtainTokens(as.config, { client });
  assert.equal(tokens.refresh_token, undefined);
  assert.equal(tokens.scope, "files:read");
  await expectOAuthError(
    await postToken(as.config, { grant_type: "refresh_token", client_id: client.client_id, refresh_token: "anything" }),
    400,
    "unauthorized_client",
  );
});

test("A3 defaults: application_type native, token_endpoint_auth_method none, response_types code", async () => {
  const client = await registerClient(as.config, {
    application_type: undefined,
    token_endpoint_auth_method: undefined,
    response_types: undefined,
    client_name: undefined,
  });
  assert.equal(client.application_type, "native");
  assert.equal(client.token_endpoint_auth_method, "none");
  assert.deepEqual(client.response_types, ["code"]);
  assert.equal("client_name" in client, false);
});

test("A4 / RFC 8252 §7.3: any port for a loopback IP redirect, and /token compares the exact one used", async () => {
  const registered = "http://127.0.0.1/callback";
  const used = "http://127.0.0.1:49152/callback";
  const client = await registerClient(as.config, { redirect_uris: [registered] });
  assert.deepEqual(client.redirect_uris, [registered], "stored exactly as submitted");

  const first = await obtainCode(as.config, { client_id: client.client_id, redirect_uri: used });
  assert.ok(first.location.href.startsWith(`${used}?`));
  // the registered form is not the redirect_uri of this request (A5 binding), and the code is now spent
  await expectOAuthError(
    await postToken(as.config, {
      grant_type: "authorization_code",
      client_id: client.client_id,
      code: first.code,
      code_verifier: first.code_verifier,
      redirect_uri: registered,
    }),
    400,
    "invalid_grant",
  );
  const second = await obtainCode(as.config, { client_id: client.client_id, redirect_uri: used });
  await exchangeCode(as.config, { client_id: client.client_id, code: second.code, code_verifier: second.code_verifier, redirect_uri: used });

  // [::1] too, and the registered port may differ from the one used
  const v6 = await registerClient(as.config, { redirect_uris: ["http://[::1]:8080/cb"] });
  const viaV6 = await obtainCode(as.config, { client_id: v6.client_id, redirect_uri: "http://[::1]:9090/cb" });
  assert.ok(viaV6.location.href.startsWith("http://[::1]:9090/cb?"));
});

test("a redirect URI's own query is kept, and ours appended (RFC 6749 §3.1.2)", async () => {
  const redirect_uri = "http://127.0.0.1:8765/cb?app=demo";
  const client = await registerClient(as.config, { redirect_uris: [redirect_uri] });
  const { location } = await obtainCode(as.config, { client_id: client.client_id, redirect_uri });
  assert.ok(location.href.startsWith(`${redirect_uri}&code=`), location.href);
  assert.equal(location.searchParams.get("app"), "demo");
});

test("log lines: one per registration, authorization and issuance — never a code, token or verifier", async () => {
  logLines.length = 0;
  const client = await registerClient(as.config);
  const { code, code_verifier } = await obtainCode(as.config, { client_id: client.client_id });
  const tokens = await exchangeCode(as.config, { client_id: client.client_id, code, code_verifier });
  const refreshed = await refresh(as.config, { client_id: client.client_id, refresh_token: tokens.refresh_token! });

  assert.equal(logLines.filter((l) => l.startsWith("registered ")).length, 1);
  assert.equal(logLines.filter((l) => l.startsWith("authorized ")).length, 1);
  assert.equal(logLines.filter((l) => l.startsWith("issued tokens ")).length, 2);
  const secrets = [code, code_verifier, tokens.access_token, tokens.refresh_token!, refreshed.access_token, refreshed.refresh_token!];
  for (const line of logLines) {
    for (const secret of secrets) assert.equal(line.includes(secret), false, `secret in log line: ${line}`);
  }
});

test("RFC 7009 rejections: token missing or repeated, unknown client, wrong content type", async () => {
  const t = await obtainTokens(as.config);
  const url = `${as.config.issuer}/revoke`;
  const form = (fields: Record<string, string | string[]>) => {
    const body = new URLSearchParams();
    for (const [k, v] of Object.entries(fields)) for (const x of [v].flat()) body.append(k, x);
    return fetch(url, { method: "POST", body });
  };
  await expectOAuthError(await form({ client_id: t.client_id }), 400, "invalid_request");
  await expectOAuthError(await form({ client_id: t.client_id, token: [t.refresh_token!, t.refresh_token!] }), 400, "invalid_request");
  await expectOAuthError(await form({ client_id: "nobody", token: t.refresh_token! }), 400, "invalid_client");
  const json = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ client_id: t.client_id, token: t.refresh_token }),
  });
  await expectOAuthError(json, 400, "invalid_request");
  // none of those revoked anything
  await refresh(as.config, { client_id: t.client_id, refresh_token: t.refresh_token! });
});
