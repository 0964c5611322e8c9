/**
 * Pre-registered confidential clients (`AS_CLIENTS`): the same loopback redirect rules as DCR, and client
 * authentication at `/token` and `/revoke` with `client_secret_basic` or `client_secret_post`
 * (RFC 6749 §2.3.1). A failed authentication is refused before the grant is looked at, so it spends
 * nothing. Public DCR clients are unchanged.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { asExtras } from "../../as/extras/index.ts";
import { silentLogger } from "../../shared/log.ts";
import { loadConfig, ConfigError } from "../../shared/config.ts";
import {
  defaultClientMetadata,
  expectOAuthError,
  obtainCode,
  postRegister,
  registerClient,
  startAuthorizationServer,
  type TestAuthorizationServer,
} from "../helpers/oauth.ts";

const CLIENT_ID = "cli-tool";
// A secret that needs form-urlencoding inside Basic (RFC 6749 §2.3.1): a colon, a percent, a plus, a space.
const SECRET = "s3cret:with%odd+chars and space";
const REDIRECT = "http://127.0.0.1:43210/callback"; // registered without a port: any loopback port matches

const AS_CLIENTS = JSON.stringify([
  { client_id: CLIENT_ID, client_secret: SECRET, redirect_uris: ["http://127.0.0.1/callback"], client_name: "CLI" },
]);

let as: TestAuthorizationServer;
before(async () => {
  as = await startAuthorizationServer({ AS_CLIENTS, AS_DCR_RATE_LIMIT: "1000" }, { limits: { maxClients: 2 } });
});
after(() => as.close());

const formEncode = (s: string) => new URLSearchParams({ s }).toString().slice(2);
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${formEncode(id)}:${formEncode(secret)}`).toString("base64")}`;

function post(path: "/token" | "/revoke", form: Record<string, string>, authorization?: string): Promise<Response> {
  return fetch(`${as.config.issuer}${path}`, {
    method: "POST",
    headers: authorization === undefined ? {} : { authorization },
    body: new URLSearchParams(form),
  });
}

async function codeForm() {
  const { code, code_verifier } = await obtainCode(as.config, { client_id: CLIENT_ID, redirect_uri: REDIRECT, scope: "files:read files:write" });
  return { grant_type: "authorization_code", code, code_verifier, redirect_uri: REDIRECT, resource: as.config.resource };
}

test("metadata lists the secret methods only when pre-registered clients exist", async () => {
  const withClients = await (await fetch(`${as.config.issuer}/.well-known/oauth-authorization-server`)).json();
  assert.deepEqual(withClients.token_endpoint_auth_methods_supported, ["none", "client_secret_basic", "client_secret_post"]);
  assert.deepEqual(withClients.revocation_endpoint_auth_methods_supported, ["none", "client_secret_basic", "client_secret_post"]);
  const plain = await startAuthorizationServer();
  try {
    const metadata = await (await fetch(`${plain.config.issuer}/.well-known/oauth-authorization-server`)).json();
    assert.deepEqual(metadata.token_endpoint_auth_methods_supported, ["none"]);
  } finally {
    await plain.close();
  }
});

test("client_secret_basic: code → tokens; refresh with client_secret_post; revoke with Basic", async () => {
  const response = await post("/token", await codeForm(), basic(CLIENT_ID, SECRET));
  const tokens = await response.json();
  assert.equal(response.status, 200, JSON.stringify(tokens));
  assert.equal(tokens.scope, "files:read files:write");
  assert.ok(tokens.refresh_token);

  const refreshed = await post("/token", { grant_type: "refresh_token", refresh_token: tokens.refresh_token, client_id: CLIENT_ID, client_secret: SECRET });
  const rotated = await refreshed.json();
  assert.equal(refreshed.status, 200, JSON.stringify(rotated));

  assert.equal((await post("/revoke", { token: rotated.refresh_token }, basic(CLIENT_ID, SECRET))).status, 200);
  const afterRevoke = await post("/token", { grant_type: "refresh_token", refresh_token: rotated.refresh_token }, basic(CLIENT_ID, SECRET));
  await expectOAuthError(afterRevoke, 400, "invalid_grant");
});

test("a wrong secret is refused (Basic → 401 + challenge; post → 400) and spends nothing: the code still works", async () => {
  const form = await codeForm();
  const viaBasic = await post("/token", form, basic(CLIENT_ID, "wrong-secret-wrong-secret"));
  assert.match(viaBasic.headers.get("www-authenticate") ?? "", /^Basic realm="/);
  await expectOAuthError(viaBasic, 401, "invalid_client");
  await expectOAuthError(await post("/token", { ...form, client_id: CLIENT_ID, client_secret: SECRET.slice(0, -1) }), 400, "invalid_client");
  await expectOAuthError(await post("/token", form, basic("no-such-client", SECRET)), 401, "invalid_client");

  const ok = await post("/token", { ...form, client_id: CLIENT_ID, client_secret: SECRET });
  assert.equal(ok.status, 200, await ok.text());
});

test("a confidential client must authenticate; one method per request; malformed Basic → 401", async () => {
  const form = await codeForm();
  await expectOAuthError(await post("/token", { ...form, client_id: CLIENT_ID }), 400, "invalid_client");
  await expectOAuthError(await post("/token", { ...form, client_secret: SECRET }, basic(CLIENT_ID, SECRET)), 400, "invalid_request");
  await expectOAuthError(await post("/token", { ...form, client_id: "someone-else" }, basic(CLIENT_ID, SECRET)), 400, "invalid_request");
  for (const header of ["Bearer abc", "Basic !!!", `Basic ${Buffer.from("no-colon").toString("base64")}`, `Basic ${Buffer.from("%E0%A4%A:x").toString("base64")}`]) {
    await expectOAuthError(await post("/token", form, header), 401, "invalid_client");
  }
  await expectOAuthError(await post("/revoke", { token: "x", client_id: CLIENT_ID }), 400, "invalid_client");
});

test("public DCR clients are unchanged (a form client_secret is ignored, Basic is refused); DCR floods never evict a pre-registered client", async () => {
  const dcr = await registerClient(as.config);
  const { code, code_verifier, redirect_uri } = await obtainCode(as.config, { client_id: dcr.client_id });
  const form = { grant_type: "authorization_code", code, code_verifier, redirect_uri };
  await expectOAuthError(await post("/token", form, basic(dcr.client_id, "x".repeat(20))), 401, "invalid_client");
  assert.equal((await post("/token", { ...form, client_id: dcr.client_id, client_secret: "x".repeat(20) })).status, 200);

  // the DCR store holds 2, all in use: a flood is refused (A9) — and never touches a pre-registered client
  const flood = await Promise.all(Array.from({ length: 3 }, () => postRegister(as.config, defaultClientMetadata())));
  const statuses = flood.map((r) => r.status);
  assert.ok(statuses.every((status) => status === 201 || status === 429) && statuses.includes(429), statuses.join(", "));
  assert.equal((await post("/token", await codeForm(), basic(CLIENT_ID, SECRET))).status, 200);
});

test("/authorize applies the loopback redirect rules to a pre-registered client too", async () => {
  const url = new URL(`${as.config.issuer}/authorize`);
  url.search = new URLSearchParams({ client_id: CLIENT_ID, redirect_uri: "http://127.0.0.1:43210/other", response_type: "code" }).toString();
  await expectOAuthError(await fetch(url, { redirect: "manual" }), 400, "invalid_request");
});

test("AS_CLIENTS: bad JSON, short secrets, non-loopback redirects and duplicate ids stop the AS from starting", async () => {
  const entry = { client_id: "a", client_secret: "x".repeat(16), redirect_uris: ["http://127.0.0.1/cb"] };
  for (const value of ["not json", "{}", JSON.stringify([{ ...entry, client_secret: "short" }]), JSON.stringify([{ ...entry, redirect_uris: [] }])]) {
    assert.throws(() => loadConfig({ AS_CLIENTS: value }), ConfigError, value);
  }
  for (const clients of [[{ ...entry, redirect_uris: ["https://attacker.example/cb"] }], [entry, entry]]) {
    assert.throws(() => asExtras(loadConfig({ AS_CLIENTS: JSON.stringify(clients) }), silentLogger), ConfigError);
  }
});
