/**
 * Protocol abuse (A3, A4, A6, A8, A9, B1): repeated, unknown and array-syntax parameters, malformed and
 * oversized bodies, compression bombs, wrong content types and methods, non-string JSON values.
 *
 * Decisions, read from the code:
 * - Unknown parameters and unknown client metadata are ignored (RFC 6749 §3.1, RFC 7591 §2) and never
 *   echoed or reflected.
 * - A repeated parameter is `invalid_request` everywhere (RFC 6749 §3.1/§3.2) — `resource` included, even
 *   though RFC 8707 allows several: this AS issues tokens for exactly one resource (A6). At /authorize a
 *   repeated `client_id` or `redirect_uri` makes the target untrusted (400 JSON), any other is redirected.
 * - Forms are parsed with `extended: false`: `a[]` and `a[b]` are plain (unknown) names, so `client_id[]`
 *   does not supply `client_id`; a name sent twice is refused as repeated.
 * - `null` in DCR metadata is a value of the wrong type, not "omitted" (fixed in as/register.ts).
 * - An oversized request line is refused by Node's HTTP parser (`431`, before the app): not JSON, but
 *   never a 5xx and never a hang.
 */
import assert from "node:assert/strict";
import { brotliCompressSync, deflateSync, gzipSync } from "node:zlib";
import { stateOf } from "../../../as/app.ts";
import { defaultClientMetadata, pkcePair, postToken, revoke, type AuthorizeParams } from "../../helpers/oauth.ts";
import { codeForm, expectCodeRedeemable, expectCodeSpent, expectRefreshWorks, freshCode, freshGrant, type FreshCode, type FreshGrant } from "./as-fixtures.ts";
import { accepted, redirectedError, rejected, scenario, type Attack, type AuthorizeAttack, type Ctx, type RegisterAttack } from "./as-types.ts";

const JSON_TYPE = { "content-type": "application/json" };
const FORM_TYPE = { "content-type": "application/x-www-form-urlencoded" };
const metadata = () => defaultClientMetadata();
const metadataJson = () => JSON.stringify(metadata());
/** A body that decompresses to about 1 MB but travels as about 1 KB (A9: the limit applies after inflating). */
const bomb = (prefix: string) => gzipSync(Buffer.from(prefix + "x".repeat(1_000_000)));

/** What an accepted registration must show: the AS's own client_id and exactly the A3 fields. */
const REGISTERED_FIELDS = [
  "application_type",
  "client_id",
  "client_id_issued_at",
  "client_name",
  "grant_types",
  "redirect_uris",
  "response_types",
  "token_endpoint_auth_method",
];

function expectOnlyKnownFields(registered: Record<string, unknown>): void {
  assert.deepEqual(Object.keys(registered).sort(), REGISTERED_FIELDS, "nothing unknown is echoed (RFC 7591 §3.2.1)");
  assert.equal(registered.token_endpoint_auth_method, "none");
}

function expectPrototypeClean(): void {
  for (const name of ["redirect_uris", "token_endpoint_auth_method", "polluted", "isAdmin"]) {
    assert.equal((Object.prototype as Record<string, unknown>)[name], undefined, `Object.prototype.${name} untouched`);
  }
}

// ---- POST /register ----

const registerRaw = (name: string, raw: string | Uint8Array, headers: Record<string, string>, status: number, error: string, cite: string): RegisterAttack => ({
  kind: "register",
  category: "protocol",
  name,
  cite,
  body: { raw, headers },
  expect: rejected(status, error),
});

const registerBadValue = (field: string, value: unknown, what: string, cite = "A3, RFC 7591 §2"): RegisterAttack => ({
  kind: "register",
  category: "protocol",
  name: `DCR refuses ${field} as ${what}`,
  cite,
  body: { json: { ...metadata(), [field]: value } },
  expect: rejected(400, "invalid_client_metadata"),
});

const registrationAttacks: RegisterAttack[] = [
  registerRaw("DCR: malformed JSON → invalid_request", "{not json", JSON_TYPE, 400, "invalid_request", "A3, B1"),
  registerRaw("DCR: truncated JSON → invalid_request", metadataJson().slice(0, 40), JSON_TYPE, 400, "invalid_request", "A3, B1"),
  registerRaw("DCR: a JSON string body → invalid_request", '"http://127.0.0.1/cb"', JSON_TYPE, 400, "invalid_request", "RFC 7591 §3.1"),
  registerRaw("DCR: a JSON null body → invalid_request", "null", JSON_TYPE, 400, "invalid_request", "RFC 7591 §3.1"),
  registerRaw("DCR: a JSON array body → invalid_client_metadata", `[${metadataJson()}]`, JSON_TYPE, 400, "invalid_client_metadata", "RFC 7591 §3.1"),
  registerRaw("DCR: JSON sent as text/plain → invalid_request", metadataJson(), { "content-type": "text/plain" }, 400, "invalid_request", "RFC 7591 §3.1"),
  registerRaw("DCR: a form-encoded body → invalid_request", "redirect_uris=http%3A%2F%2F127.0.0.1%2Fcb", FORM_TYPE, 400, "invalid_request", "RFC 7591 §3.1"),
  registerRaw("DCR: a multipart body → invalid_request", "--b\r\nContent-Disposition: form-data; name=\"redirect_uris\"\r\n\r\nhttp://127.0.0.1/cb\r\n--b--\r\n", { "content-type": "multipart/form-data; boundary=b" }, 400, "invalid_request", "RFC 7591 §3.1"),
  registerRaw("DCR: a JSON body without any content type → invalid_request", new TextEncoder().encode(metadataJson()), {}, 400, "invalid_request", "RFC 7591 §3.1"),
  registerRaw("DCR: an unsupported charset (latin9) → invalid_request", metadataJson(), { "content-type": "application/json; charset=latin9" }, 400, "invalid_request", "B1"),
  registerRaw("DCR: a 20 KB body → 413 invalid_request", JSON.stringify({ ...metadata(), client_name: "x".repeat(20 * 1024) }), JSON_TYPE, 413, "invalid_request", "A9"),
  registerRaw("DCR: a gzip bomb (1 KB → 1 MB) → 413 invalid_request", bomb('{"client_name":"'), { ...JSON_TYPE, "content-encoding": "gzip" }, 413, "invalid_request", "A9"),
  registerRaw("DCR: a corrupt gzip body → 400 invalid_request, not a 500", "definitely not gzip", { ...JSON_TYPE, "content-encoding": "gzip" }, 400, "invalid_request", "B1"),
  registerRaw("DCR: a truncated deflate body → 400 invalid_request, not a 500", deflateSync(metadataJson()).subarray(0, 8), { ...JSON_TYPE, "content-encoding": "deflate" }, 400, "invalid_request", "B1"),
  registerRaw("DCR: a corrupt brotli body → 400 invalid_request, not a 500", "garbage", { ...JSON_TYPE, "content-encoding": "br" }, 400, "invalid_request", "B1"),
  registerRaw("DCR: an unknown content encoding → invalid_request", metadataJson(), { ...JSON_TYPE, "content-encoding": "x-snappy" }, 400, "invalid_request", "B1"),
  registerRaw(
    "DCR: 2,000 levels of nested arrays in redirect_uris → invalid_redirect_uri",
    `{"redirect_uris":${"[".repeat(2000)}${"]".repeat(2000)}}`,
    JSON_TYPE,
    400,
    "invalid_redirect_uri",
    "A3, B1",
  ),
  // non-string (and null) values in metadata fields
  registerBadValue("application_type", null, "null (not the default)"),
  registerBadValue("application_type", 1, "a number"),
  registerBadValue("application_type", ["native"], "an array"),
  registerBadValue("grant_types", null, "null (not the default)"),
  registerBadValue("grant_types", "authorization_code", "a bare string"),
  registerBadValue("grant_types", [1], "an array of numbers"),
  registerBadValue("grant_types", { 0: "authorization_code" }, "an object"),
  registerBadValue("response_types", null, "null (not the default)"),
  registerBadValue("response_types", "code", "a bare string"),
  registerBadValue("token_endpoint_auth_method", null, "null (not the default)"),
  registerBadValue("token_endpoint_auth_method", ["none"], "an array"),
  registerBadValue("token_endpoint_auth_method", false, "a boolean"),
  registerBadValue("client_name", null, "null"),
  registerBadValue("client_name", 5, "a number"),
  registerBadValue("client_name", { text: "x" }, "an object"),
  {
    kind: "register",
    category: "protocol",
    name: "DCR: a __proto__ key cannot supply redirect_uris (no prototype pollution) → invalid_redirect_uri",
    cite: "A3, B1",
    body: { raw: '{"__proto__":{"redirect_uris":["http://127.0.0.1/cb"],"polluted":true}}', headers: JSON_TYPE },
    expect: rejected(400, "invalid_redirect_uri"),
    afterwards: expectPrototypeClean,
  },
  {
    kind: "register",
    category: "protocol",
    name: "DCR: a __proto__ key cannot change the auth method of a valid registration",
    cite: "A3, B1",
    body: { raw: JSON.stringify(metadata()).replace(/^\{/, '{"__proto__":{"token_endpoint_auth_method":"client_secret_basic","isAdmin":true},'), headers: JSON_TYPE },
    expect: accepted(201),
    afterwards: (_ctx, registered) => {
      expectOnlyKnownFields(registered);
      expectPrototypeClean();
    },
  },
  {
    kind: "register",
    category: "protocol",
    name: "DCR: a duplicated JSON key — loopback first, foreign last — is judged on what is kept → invalid_redirect_uri",
    cite: "A3, RFC 8259 §4",
    body: { raw: '{"redirect_uris":["http://127.0.0.1/cb"],"redirect_uris":["https://attacker.example/cb"]}', headers: JSON_TYPE },
    expect: rejected(400, "invalid_redirect_uri"),
  },
  {
    kind: "register",
    category: "protocol",
    control: true,
    name: "control: a duplicated JSON key — foreign first, loopback last — registers only the loopback URI",
    cite: "A3, RFC 8259 §4",
    body: { raw: '{"redirect_uris":["https://attacker.example/cb"],"redirect_uris":["http://127.0.0.1/cb"]}', headers: JSON_TYPE },
    expect: accepted(201),
    afterwards: (_ctx, registered) => assert.deepEqual(registered.redirect_uris, ["http://127.0.0.1/cb"]),
  },
  {
    kind: "register",
    category: "protocol",
    name: "DCR: a client_id chosen by the registrant is ignored — the AS assigns its own",
    cite: "RFC 7591 §3.2.1",
    body: { json: { ...metadata(), client_id: "chosen-by-attacker", client_secret: "s3cret", client_id_issued_at: 1, registration_access_token: "x" } },
    expect: accepted(201),
    afterwards: async (ctx, registered) => {
      expectOnlyKnownFields(registered);
      assert.notEqual(registered.client_id, "chosen-by-attacker");
      assert.notEqual(registered.client_id_issued_at, 1);
      assert.equal(stateOf(ctx.as.app).clients.get("chosen-by-attacker"), undefined);
    },
  },
  {
    kind: "register",
    category: "protocol",
    name: "DCR: registering with an existing client's client_id does not overwrite that client",
    cite: "RFC 7591 §3.2.1",
    body: (ctx) => ({ json: { ...metadata(), redirect_uris: ["http://127.0.0.1:1/takeover"], client_id: ctx.clients.ip.client_id } }),
    expect: accepted(201),
    afterwards: async (ctx, registered) => {
      const victim = ctx.clients.ip;
      assert.notEqual(registered.client_id, victim.client_id);
      assert.deepEqual(stateOf(ctx.as.app).clients.get(victim.client_id)?.redirect_uris, victim.redirect_uris);
    },
  },
  {
    kind: "register",
    category: "protocol",
    name: "DCR: unknown metadata (javascript: logo_uri, jwks_uri, scope, software_statement) is ignored and not echoed",
    cite: "RFC 7591 §2",
    body: {
      json: {
        ...metadata(),
        logo_uri: "javascript:alert(1)",
        jwks_uri: "https://attacker.example/jwks",
        scope: "files:admin",
        software_statement: "eyJhbGciOiJub25lIn0.e30.",
        contacts: ["attacker@example.com"],
      },
    },
    expect: accepted(201),
    afterwards: (_ctx, registered) => expectOnlyKnownFields(registered),
  },
];

// ---- GET /authorize ----

/** A repeated parameter that decides the redirect target: 400 JSON, no Location (A4). */
const repeatedTarget = (name: string, params: AuthorizeAttack["params"], rawQuery?: AuthorizeAttack["rawQuery"]): AuthorizeAttack => ({
  kind: "authorize",
  category: "protocol",
  name,
  cite: "A4, RFC 6749 §3.1",
  params,
  ...(rawQuery ? { rawQuery } : {}),
  expect: rejected(400, "invalid_request"),
});

const repeatedRedirected = (name: string, params: AuthorizeParams): AuthorizeAttack => ({
  kind: "authorize",
  category: "protocol",
  name: `/authorize: a repeated ${name} → redirected invalid_request`,
  cite: "A4, RFC 6749 §3.1",
  params,
  expect: redirectedError("invalid_request"),
});

const authorizationAttacks: AuthorizeAttack[] = [
  repeatedTarget("/authorize: client_id repeated with the same value → 400 JSON, no redirect", (ctx) => ({
    client_id: [ctx.clients.ip.client_id, ctx.clients.ip.client_id],
  })),
  repeatedTarget("/authorize: client_id repeated, the other copy unknown → 400 JSON, no redirect", (ctx) => ({
    client_id: [ctx.clients.ip.client_id, "no-such-client"],
  })),
  repeatedTarget("/authorize: client_id repeated, one copy empty → 400 JSON, no redirect", (ctx) => ({ client_id: ["", ctx.clients.ip.client_id] })),
  repeatedTarget(
    "/authorize: client_id repeated under a percent-encoded name (client%5Fid) → 400 JSON, no redirect",
    {},
    (query, ctx) => `${query}&client%5Fid=${ctx.clients.other.client_id}`,
  ),
  repeatedTarget("/authorize: redirect_uri repeated with the same value → 400 JSON, no redirect", {
    redirect_uri: ["http://127.0.0.1:8765/callback", "http://127.0.0.1:8765/callback"],
  }),
  repeatedTarget("/authorize: redirect_uri repeated, registered then foreign → 400 JSON, no redirect", {
    redirect_uri: ["http://127.0.0.1:8765/callback", "https://attacker.example/cb"],
  }),
  repeatedTarget("/authorize: redirect_uri repeated, foreign then registered → 400 JSON, no redirect", {
    redirect_uri: ["https://attacker.example/cb", "http://127.0.0.1:8765/callback"],
  }),
  repeatedTarget("/authorize: client_id[] (array syntax) does not supply client_id → 400 JSON, no redirect", { client_id: undefined }, (query, ctx) =>
    `${query}&client_id%5B%5D=${ctx.clients.ip.client_id}`,
  ),
  repeatedTarget("/authorize: redirect_uri[] (array syntax) does not supply redirect_uri → 400 JSON, no redirect", { redirect_uri: undefined }, (query) =>
    `${query}&redirect_uri%5B%5D=${encodeURIComponent("http://127.0.0.1:8765/callback")}`,
  ),
  repeatedRedirected("state", { state: ["s1", "s2"] }),
  repeatedRedirected("response_type", { response_type: ["code", "code"] }),
  repeatedRedirected("code_challenge", { code_challenge: [pkcePair().code_challenge, pkcePair().code_challenge] }),
  repeatedRedirected("code_challenge_method", { code_challenge_method: ["S256", "plain"] }),
  repeatedRedirected("scope", { scope: ["files:read", "files:write"] }),
  {
    kind: "authorize",
    category: "protocol",
    name: "/authorize: a repeated resource → redirected invalid_request (one resource per token)",
    cite: "A4, A6, RFC 8707 §2",
    params: (ctx) => ({ resource: [ctx.config.resource, ctx.config.resource] }),
    expect: redirectedError("invalid_request"),
  },
  {
    kind: "authorize",
    category: "protocol",
    name: "/authorize: 400 repeated unknown parameters → redirected invalid_request, Location no larger than the request",
    cite: "A4, RFC 6749 §3.1, B1",
    params: {},
    rawQuery: (query) => `${query}&${Array.from({ length: 400 }, (_, i) => `p${i}=a&p${i}=b`).join("&")}`,
    expect: redirectedError("invalid_request"),
    afterwards: (_ctx, location) => assert.ok(location.href.length < 8_000, `Location is ${location.href.length} characters`),
  },
  {
    kind: "authorize",
    category: "protocol",
    name: "/authorize: CR/LF in scope cannot inject a header → redirected invalid_scope, description sanitised",
    cite: "A4, RFC 6749 §4.1.2.1",
    params: { scope: "files:read\r\nSet-Cookie: session=attacker" },
    expect: redirectedError("invalid_scope"),
    afterwards: (_ctx, location) => assert.doesNotMatch(location.searchParams.get("error_description") ?? "", /[\r\n]/),
  },
  {
    kind: "authorize",
    category: "protocol",
    control: true,
    name: "control: CR/LF in state is echoed percent-encoded, never as a header break",
    cite: "A4, RFC 6749 §4.1.2",
    params: { state: "s\r\nSet-Cookie: session=attacker" },
    expect: accepted(302),
    afterwards: (ctx, location) => {
      assert.equal(location.searchParams.get("state"), "s\r\nSet-Cookie: session=attacker");
      ctx.secrets.add(location.searchParams.get("code")!);
    },
  },
  {
    kind: "authorize",
    category: "protocol",
    name: "/authorize: scope[]=files:admin is an unknown parameter — ignored, the default scope is granted",
    cite: "A4, RFC 6749 §3.1",
    params: { scope: undefined },
    rawQuery: (query) => `${query}&scope%5B%5D=files%3Aadmin`,
    expect: accepted(302),
    afterwards: (ctx, location) => {
      const code = location.searchParams.get("code")!;
      ctx.secrets.add(code);
      assert.deepEqual(stateOf(ctx.as.app).codes.get(code)?.scope, ["files:read"]);
    },
  },
  {
    kind: "authorize",
    category: "protocol",
    name: "/authorize: unknown parameters (prompt, nonce, request, request_uri, claims) are ignored and not reflected",
    cite: "A4, RFC 6749 §3.1",
    params: {
      prompt: "none",
      nonce: "n-0S6_WzA2Mj",
      request: "eyJhbGciOiJub25lIn0.eyJyZWRpcmVjdF91cmkiOiJodHRwczovL2F0dGFja2VyLmV4YW1wbGUifQ.",
      request_uri: "https://attacker.example/request.jwt",
      claims: '{"id_token":{"acr":null}}',
    },
    expect: accepted(302),
    afterwards: (ctx, location) => {
      ctx.secrets.add(location.searchParams.get("code")!);
      assert.deepEqual([...location.searchParams.keys()].sort(), ["code", "iss", "state"]);
      assert.equal(location.origin, "http://127.0.0.1:8765", "request / request_uri did not move the redirect");
    },
  },
  {
    kind: "authorize",
    category: "protocol",
    name: "/authorize: 500 distinct unknown parameters are ignored",
    cite: "A4, RFC 6749 §3.1",
    params: {},
    rawQuery: (query) => `${query}&${Array.from({ length: 500 }, (_, i) => `x${i}=${i}`).join("&")}`,
    expect: accepted(302),
    afterwards: (ctx, location) => void ctx.secrets.add(location.searchParams.get("code")!),
  },
  {
    kind: "authorize",
    category: "protocol",
    name: "/authorize: a 20 KB query is refused by the HTTP parser (431), never a 5xx",
    cite: "B1, A9",
    params: { state: "s".repeat(20 * 1024) },
    expect: { outcome: "refused-by-http", status: 431 },
  },
];

// ---- POST /token, /revoke and methods ----

/** A malformed token request: refused, and the code is not spent (it was never a redemption). */
const tokenRequestAttack = (
  name: string,
  cite: string,
  status: number,
  error: string,
  send: (ctx: Ctx, c: FreshCode) => Promise<Response>,
): Attack =>
  scenario<FreshCode>({
    category: "protocol",
    name,
    cite,
    arrange: (ctx) => freshCode(ctx),
    attack: send,
    expect: rejected(status, error),
    afterwards: async (ctx, c) => void (await expectCodeRedeemable(ctx, c)),
  });

const rawPost = (ctx: Ctx, path: string, body: string | Uint8Array | FormData | URLSearchParams, headers: Record<string, string> = {}) =>
  fetch(`${ctx.config.issuer}${path}`, { method: "POST", headers, body: body instanceof Uint8Array ? new Uint8Array(body) : body });

const formOf = (ctx: Ctx, c: FreshCode) => new URLSearchParams(codeForm(ctx, c)).toString();

const tokenAttacks: Attack[] = [
  tokenRequestAttack("/token: a JSON body → invalid_request; the code is not spent", "A6, RFC 6749 §3.2", 400, "invalid_request", (ctx, c) =>
    rawPost(ctx, "/token", JSON.stringify(codeForm(ctx, c)), JSON_TYPE),
  ),
  tokenRequestAttack("/token: a form sent as text/plain → invalid_request; the code is not spent", "A6, RFC 6749 §3.2", 400, "invalid_request", (ctx, c) =>
    rawPost(ctx, "/token", formOf(ctx, c), { "content-type": "text/plain" }),
  ),
  tokenRequestAttack("/token: multipart/form-data → invalid_request; the code is not spent", "A6, RFC 6749 §3.2", 400, "invalid_request", (ctx, c) => {
    const form = new FormData();
    for (const [name, value] of Object.entries(codeForm(ctx, c))) form.append(name, value);
    return rawPost(ctx, "/token", form);
  }),
  tokenRequestAttack("/token: a form without any content type → invalid_request; the code is not spent", "A6, RFC 6749 §3.2", 400, "invalid_request", (ctx, c) =>
    rawPost(ctx, "/token", new TextEncoder().encode(formOf(ctx, c))),
  ),
  tokenRequestAttack("/token: an unsupported charset (utf-16) → invalid_request; the code is not spent", "A6, B1", 400, "invalid_request", (ctx, c) =>
    rawPost(ctx, "/token", formOf(ctx, c), { "content-type": "application/x-www-form-urlencoded; charset=utf-16" }),
  ),
  ...(["client_id", "grant_type", "code", "code_verifier", "redirect_uri", "resource"] as const).map((name) =>
    tokenRequestAttack(`/token: ${name} repeated with the same value → invalid_request; the code is not spent`, "A6, RFC 6749 §3.2", 400, "invalid_request", (ctx, c) => {
      const form = codeForm(ctx, c);
      return postToken(ctx.config, { ...form, [name]: [form[name]!, form[name]!] });
    }),
  ),
  tokenRequestAttack("/token: code_verifier[] (array syntax) does not supply code_verifier → invalid_request; not spent", "A6, RFC 6749 §3.2", 400, "invalid_request", (ctx, c) => {
    const { code_verifier, ...form } = codeForm(ctx, c);
    return postToken(ctx.config, { ...form, "code_verifier[]": code_verifier });
  }),
  tokenRequestAttack("/token: a repeated array-syntax field (a[]=1&a[]=2) → invalid_request; not spent", "A6, RFC 6749 §3.2", 400, "invalid_request", (ctx, c) =>
    postToken(ctx.config, { ...codeForm(ctx, c), "a[]": ["1", "2"] }),
  ),
  tokenRequestAttack("/token: 101 form parameters → 413 invalid_request; not spent", "A9", 413, "invalid_request", (ctx, c) => {
    const form: Record<string, string> = { ...codeForm(ctx, c) };
    for (let i = 0; i < 101; i++) form[`x${i}`] = "1";
    return postToken(ctx.config, form);
  }),
  tokenRequestAttack("/token: a 20 KB body → 413 invalid_request; not spent", "A9", 413, "invalid_request", (ctx, c) =>
    postToken(ctx.config, { ...codeForm(ctx, c), padding: "p".repeat(20 * 1024) }),
  ),
  tokenRequestAttack("/token: a gzip bomb (1 KB → 1 MB) → 413 invalid_request; not spent", "A9", 413, "invalid_request", (ctx, c) =>
    rawPost(ctx, "/token", bomb(`${formOf(ctx, c)}&padding=`), { ...FORM_TYPE, "content-encoding": "gzip" }),
  ),
  tokenRequestAttack("/token: a corrupt gzip body → 400 invalid_request, not a 500; not spent", "B1", 400, "invalid_request", (ctx) =>
    rawPost(ctx, "/token", "definitely not gzip", { ...FORM_TYPE, "content-encoding": "gzip" }),
  ),
  tokenRequestAttack("/token: a corrupt brotli body → 400 invalid_request, not a 500; not spent", "B1", 400, "invalid_request", (ctx, c) =>
    rawPost(ctx, "/token", brotliCompressSync(formOf(ctx, c)).subarray(0, 5), { ...FORM_TYPE, "content-encoding": "br" }),
  ),
  tokenRequestAttack("/token: a malformed percent-encoding in the code → invalid_grant; the real code is not spent", "A6, B1", 400, "invalid_grant", (ctx, c) =>
    rawPost(ctx, "/token", formOf(ctx, c).replace(/code=[^&]*/, "code=%ZZ%"), FORM_TYPE),
  ),
  scenario<FreshCode>({
    category: "protocol",
    name: "/token: a NUL byte in the code_verifier → invalid_grant (a failed redemption: the code is spent)",
    cite: "A5, RFC 7636 §4.1",
    arrange: (ctx) => freshCode(ctx),
    attack: (ctx, c) => postToken(ctx.config, { ...codeForm(ctx, c), code_verifier: `${c.code_verifier}\u0000` }),
    expect: rejected(400, "invalid_grant"),
    afterwards: expectCodeSpent,
  }),
  scenario<FreshCode>({
    category: "protocol",
    control: true,
    name: "control: /token ignores unknown parameters, nested-syntax names and a client_secret",
    cite: "A6, RFC 6749 §3.2",
    arrange: (ctx) => freshCode(ctx),
    attack: (ctx, c) => postToken(ctx.config, { ...codeForm(ctx, c), "a[b][c]": "1", client_secret: "guess", foo: "bar" }),
    expect: accepted(200),
    afterwards: async (ctx, c, body) => {
      assert.equal((body as { scope: string }).scope, "files:read");
      ctx.secrets.add((body as { access_token: string }).access_token);
      await expectCodeSpent(ctx, c);
    },
  }),
  scenario<FreshGrant>({
    category: "protocol",
    name: "/revoke: a JSON body → invalid_request; the refresh token still works",
    cite: "A8, RFC 7009 §2.1",
    arrange: (ctx) => freshGrant(ctx),
    attack: (ctx, g) => rawPost(ctx, "/revoke", JSON.stringify({ client_id: g.client.client_id, token: g.refresh_token }), JSON_TYPE),
    expect: rejected(400, "invalid_request"),
    afterwards: async (ctx, g) => void (await expectRefreshWorks(ctx, g.client.client_id, g.refresh_token)),
  }),
  scenario<FreshGrant>({
    category: "protocol",
    name: "/revoke: token repeated → invalid_request; the refresh token still works",
    cite: "A8, RFC 6749 §3.2",
    arrange: (ctx) => freshGrant(ctx),
    attack: (ctx, g) =>
      rawPost(ctx, "/revoke", new URLSearchParams([["client_id", g.client.client_id], ["token", g.refresh_token], ["token", g.refresh_token]])),
    expect: rejected(400, "invalid_request"),
    afterwards: async (ctx, g) => void (await expectRefreshWorks(ctx, g.client.client_id, g.refresh_token)),
  }),
  scenario<FreshGrant>({
    category: "protocol",
    name: "/revoke: an unknown client_id → 400 invalid_client; the refresh token still works",
    cite: "A8, RFC 7009 §2.2.1",
    arrange: (ctx) => freshGrant(ctx),
    attack: (ctx, g) => revoke(ctx.config, { client_id: "no-such-client", token: g.refresh_token }),
    expect: rejected(400, "invalid_client"),
    afterwards: async (ctx, g) => void (await expectRefreshWorks(ctx, g.client.client_id, g.refresh_token)),
  }),
  ...(
    [
      ["GET", "/token"],
      ["PUT", "/token"],
      ["GET", "/register"],
      ["DELETE", "/register"],
      ["POST", "/authorize"],
      ["GET", "/revoke"],
    ] as const
  ).map(([method, path]) =>
    scenario<null>({
      category: "protocol",
      name: `${method} ${path} → 405 invalid_request with Allow`,
      cite: "B1, RFC 9110 §15.5.6",
      arrange: async () => null,
      attack: (ctx) => fetch(`${ctx.config.issuer}${path}`, { method }),
      expect: rejected(405, "invalid_request"),
      afterwards: async () => {},
    }),
  ),
  scenario<null>({
    category: "protocol",
    name: "an unknown path → 404 JSON, the path not echoed beyond 100 characters",
    cite: "B1",
    arrange: async () => null,
    attack: (ctx) => fetch(`${ctx.config.issuer}/${"z".repeat(3000)}`),
    expect: rejected(404, "not_found"),
    afterwards: async (_ctx, _f, body) => assert.ok((body as { error_description: string }).error_description.length < 200),
  }),
];

// ---- Origin (R10, MCP Streamable HTTP): a present, foreign Origin → 403 before any endpoint runs ----

const FOREIGN_ORIGINS = ["http://evil.example", "null", "http://127.0.0.1.evil.example", "http://evil.example@127.0.0.1"];

const originAttacks: Attack[] = [
  ...FOREIGN_ORIGINS.map(
    (origin): RegisterAttack => ({
      kind: "register",
      category: "protocol",
      name: `DCR from Origin: ${origin} → 403, nothing registered`,
      cite: "R10; MCP Streamable HTTP (Origin)",
      body: { raw: JSON.stringify(metadata()), headers: { ...JSON_TYPE, origin } },
      expect: rejected(403, "invalid_request"),
    }),
  ),
  ...FOREIGN_ORIGINS.map((origin) =>
    scenario<FreshCode>({
      category: "protocol",
      name: `/token from Origin: ${origin} with a valid code → 403, and the code is not consumed`,
      cite: "R10; MCP Streamable HTTP (Origin)",
      arrange: (ctx) => freshCode(ctx),
      attack: (ctx, c) =>
        fetch(`${ctx.config.issuer}/token`, { method: "POST", headers: { origin }, body: new URLSearchParams(codeForm(ctx, c)) }),
      expect: rejected(403, "invalid_request"),
      afterwards: async (ctx, c) => void (await expectCodeRedeemable(ctx, c)),
    }),
  ),
  scenario<FreshGrant>({
    category: "protocol",
    name: "/revoke from a foreign Origin → 403, and the refresh token still works",
    cite: "R10; MCP Streamable HTTP (Origin)",
    arrange: (ctx) => freshGrant(ctx),
    attack: (ctx, g) =>
      fetch(`${ctx.config.issuer}/revoke`, {
        method: "POST",
        headers: { origin: "http://evil.example" },
        body: new URLSearchParams({ client_id: g.client.client_id, token: g.refresh_token }),
      }),
    expect: rejected(403, "invalid_request"),
    afterwards: async (ctx, g) => void (await expectRefreshWorks(ctx, g.client.client_id, g.refresh_token)),
  }),
];

export const PROTOCOL_ATTACKS: Attack[] = [...registrationAttacks, ...authorizationAttacks, ...tokenAttacks, ...originAttacks];
