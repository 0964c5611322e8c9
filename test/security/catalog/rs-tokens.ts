/**
 * Token abuse at `/mcp` (R3, R4, R6; B1): forged, altered, expired, misdirected and mis-sent
 * bearer tokens. Every forged token claims the victim's identity and every scope and tries to write
 * the marker file on the victim's session (rs-types.ts), so a defence that failed open would show.
 *
 * Decisions recorded here:
 * - `aud` must be exactly this resource: the string, or an array of that one string. An array that also
 *   names another audience is REJECTED, although RFC 9068 §4 only asks that `aud` "contains" the
 *   resource (jose's `audience` check): this AS issues single-audience tokens only (RFC 8707 §2), so a
 *   multi-audience token is not one of its tokens for this RS. Matching is exact string comparison:
 *   the same URL with a trailing slash is another resource (RFC 8707 §2, R3).
 * - `typ` is compared as a media type (RFC 9068 §2.1: "at+jwt" or "application/at+jwt"; RFC 7515
 *   §4.1.9 / RFC 2045: case-insensitive), so `application/at+jwt` and `AT+JWT` are accepted.
 * - `iat` in the future is accepted: validity is bounded by `exp` and `nbf` (checked with 5 s of
 *   skew); RFC 7519 §4.1.6 sets no check on `iat`, and RFC 9068 §4 only requires its presence.
 * - The `Bearer` scheme is case-insensitive (RFC 9110 §11.1, RFC 6750 §2.1 via RFC 7235): `bearer` and
 *   `BEARER` are accepted; `1*SP` allows several spaces, but a tab is not SP.
 */
import { exportSPKI, generateKeyPair, exportJWK, importJWK, SignJWT } from "jose";
import { randomUUID } from "node:crypto";
import { unsignedToken } from "../../helpers/rs-mcp.ts";
import {
  accepted,
  bearer,
  FORGED_SCOPE,
  invalidToken,
  missing,
  sessionNotFound,
  VICTIM,
  type AttackKit,
  type Expectation,
  type RsAttack,
} from "./rs-types.ts";

const now = () => Math.floor(Date.now() / 1000);

/** The claims a good token for the victim carries (as `mintToken` builds them), with `FORGED_SCOPE`. */
function goodClaims(kit: AttackKit): Record<string, unknown> {
  return {
    iss: kit.config.issuer,
    sub: VICTIM.sub,
    aud: kit.config.resource,
    client_id: VICTIM.client_id,
    scope: FORGED_SCOPE,
    iat: now(),
    exp: now() + 300,
    jti: randomUUID(),
  };
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

/** A token signed by a key the RS has never seen, with the given header fields. */
async function foreignToken(kit: AttackKit, header: Record<string, unknown>): Promise<string> {
  const { privateKey } = await generateKeyPair("ES256");
  return new SignJWT(goodClaims(kit))
    .setProtectedHeader({ alg: "ES256", typ: "at+jwt", ...header } as { alg: string })
    .sign(privateKey);
}

/** RFC 8725 §2.1 key confusion: HS256 keyed with the public key the RS trusts. */
async function hmacWithPublicKey(kit: AttackKit, form: "jwk" | "pem"): Promise<string> {
  const jwk = kit.key.publicJwk;
  const secret =
    form === "jwk"
      ? new TextEncoder().encode(JSON.stringify(jwk))
      : new TextEncoder().encode(await exportSPKI((await importJWK(jwk as Parameters<typeof importJWK>[0], "ES256", { extractable: true })) as CryptoKey));
  return new SignJWT(goodClaims(kit)).setProtectedHeader({ alg: "HS256", typ: "at+jwt", kid: kit.key.kid }).sign(secret);
}

/** R5: the default attack (write-file) with a token that lacks files:write → the gate's 403. */
const insufficientForWrite = (): Expectation => ({
  status: 403,
  challenge: { kind: "insufficient_scope", scope: "files:write", description: /^write-file requires files:write$/ },
  body: { rpcError: { code: -32000, id: 1 } },
});

const TOKEN = "token: signature and algorithm";
const KEYS = "token: keys and kid";
const TIME = "token: lifetime";
const AUDIENCE = "token: audience and issuer";
const TYPE = "token: typ and claims";
const SENT = "token: how it is sent";
const SESSION = "token: another principal's session";

export const TOKEN_ATTACKS: readonly RsAttack[] = [
  // ---- signature and algorithm (RFC 8725 §2.1, §3.1; R3: ES256 only) ----
  {
    id: "sig.alg-none",
    category: TOKEN,
    title: "alg: none, empty signature",
    cite: "RFC 8725 §3.1, RFC 7519 §6; R3",
    request: (kit) => ({ headers: bearer(unsignedToken(kit.config, { ...VICTIM, scope: FORGED_SCOPE })) }),
    expect: invalidToken(/ES256/),
  },
  {
    id: "sig.alg-none-mixed-case",
    category: TOKEN,
    title: 'alg: "None" (case games)',
    cite: "RFC 8725 §3.1",
    request: (kit) => {
      const token = unsignedToken(kit.config, { ...VICTIM, scope: FORGED_SCOPE });
      return { headers: bearer(`${b64url({ alg: "None", typ: "at+jwt" })}.${token.split(".")[1]}.`) };
    },
    expect: invalidToken(/ES256/),
  },
  {
    id: "sig.alg-none-kept-signature",
    category: TOKEN,
    title: "alg: none in the header, a real ES256 signature kept",
    cite: "RFC 8725 §3.1",
    request: async (kit) => {
      const [, payload, signature] = (await kit.forge()).split(".");
      return { headers: bearer(`${b64url({ alg: "none", typ: "at+jwt", kid: kit.key.kid })}.${payload}.${signature}`) };
    },
    expect: invalidToken(/ES256/),
  },
  {
    id: "sig.hs256-public-jwk",
    category: TOKEN,
    title: "HS256 with the trusted public key (its JWK JSON) as the HMAC secret",
    cite: "RFC 8725 §2.1 / §3.1 (key confusion); R3",
    request: async (kit) => ({ headers: bearer(await hmacWithPublicKey(kit, "jwk")) }),
    expect: invalidToken(/ES256/),
  },
  {
    id: "sig.hs256-public-pem",
    category: TOKEN,
    title: "HS256 with the trusted public key (SPKI PEM) as the HMAC secret",
    cite: "RFC 8725 §2.1 / §3.1 (key confusion); R3",
    request: async (kit) => ({ headers: bearer(await hmacWithPublicKey(kit, "pem")) }),
    expect: invalidToken(/ES256/),
  },
  {
    id: "sig.es384-header",
    category: TOKEN,
    title: "another asymmetric alg (ES384) under the trusted kid",
    cite: "RFC 8725 §3.1: one allowed algorithm",
    request: async (kit) => {
      const { privateKey } = await generateKeyPair("ES384");
      return { headers: bearer(await new SignJWT(goodClaims(kit)).setProtectedHeader({ alg: "ES384", typ: "at+jwt", kid: kit.key.kid }).sign(privateKey)) };
    },
    expect: invalidToken(/ES256/),
  },
  {
    id: "sig.payload-tampered",
    category: TOKEN,
    title: "a genuine files:read token whose payload was edited to every scope",
    cite: "RFC 7515 §5.2; R3",
    request: async (kit) => {
      const [header, payload, signature] = (await kit.forge({ claims: { scope: "files:read" } })).split(".");
      const widened = { ...JSON.parse(Buffer.from(payload!, "base64url").toString()), scope: FORGED_SCOPE };
      return { headers: bearer(`${header}.${b64url(widened)}.${signature}`) };
    },
    expect: invalidToken(/signature/),
  },
  {
    id: "sig.signature-stripped",
    category: TOKEN,
    title: "a genuine token with its signature removed",
    cite: "RFC 7515 §5.2",
    request: async (kit) => {
      const [header, payload] = (await kit.forge()).split(".");
      return { headers: bearer(`${header}.${payload}.`) };
    },
    expect: invalidToken(/signature|not a valid JWT/),
  },
  {
    id: "sig.crit-header",
    category: TOKEN,
    title: "an unknown critical header parameter (crit)",
    cite: "RFC 7515 §4.1.11: an unknown crit extension must be rejected",
    request: async (kit) => {
      // jose refuses to *sign* an unrecognised crit too, unless told the extension is understood.
      const token = await new SignJWT(goodClaims(kit))
        .setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid: kit.key.kid, crit: ["x-demo"], "x-demo": true } as { alg: string })
        .sign(kit.key.privateKey, { crit: { "x-demo": true } });
      return { headers: bearer(token) };
    },
    expect: invalidToken(/not a valid JWT/),
  },
  {
    id: "sig.not-a-jwt",
    category: TOKEN,
    title: "an opaque string that is not a JWT",
    cite: "R3, RFC 6750 §3.1 invalid_token",
    request: () => ({ headers: bearer("not-a-jwt-just-an-opaque-string-of-sorts") }),
    expect: invalidToken(/not a valid JWT/),
  },
  {
    id: "sig.jwe-shaped",
    category: TOKEN,
    title: "a five-part (JWE-shaped) token",
    cite: "RFC 9068 §2.1: a signed JWT; R3",
    request: () => ({ headers: bearer("eyJhbGciOiJSU0EtT0FFUCJ9.a2V5.aXY.Y2lwaGVydGV4dA.dGFn") }),
    expect: invalidToken(/not a valid JWT/),
  },
  {
    id: "sig.oversized-token",
    category: TOKEN,
    title: "a 12 KB token (within Node's header limit)",
    cite: "B1: no crash, a clear 4xx",
    request: () => ({ headers: bearer(`eyJhbGciOiJFUzI1NiJ9.${"A".repeat(12_000)}.sig`) }),
    expect: invalidToken(/signature invalid/), // refused at the signature, before the payload is decoded
  },

  // ---- keys and kid (R3: keys from the AS's JWKS only) ----
  {
    id: "keys.unknown-kid",
    category: KEYS,
    title: "signed by a foreign key under an unknown kid",
    cite: "R3: JWKS only, refetched on unknown kid",
    request: async (kit) => ({ headers: bearer(await foreignToken(kit, { kid: `unknown-${randomUUID()}` })) }),
    expect: invalidToken(/unknown key/),
  },
  {
    id: "keys.right-kid-wrong-key",
    category: KEYS,
    title: "signed by a foreign key under the trusted kid",
    cite: "R3, RFC 7515 §5.2",
    request: async (kit) => ({ headers: bearer(await foreignToken(kit, { kid: kit.key.kid })) }),
    expect: invalidToken(/signature/),
  },
  {
    id: "keys.no-kid-foreign-key",
    category: KEYS,
    title: "signed by a foreign key, no kid at all",
    cite: "R3",
    request: async (kit) => ({ headers: bearer(await foreignToken(kit, {})) }),
    expect: invalidToken(/signature/),
  },
  {
    id: "keys.embedded-jwk",
    category: KEYS,
    title: "the attacker's own public key embedded in the header (jwk)",
    cite: "RFC 8725 §3.10: never trust a key the token brings",
    request: async (kit) => {
      const { privateKey, publicKey } = await generateKeyPair("ES256");
      const jwk = await exportJWK(publicKey);
      const token = await new SignJWT(goodClaims(kit)).setProtectedHeader({ alg: "ES256", typ: "at+jwt", jwk }).sign(privateKey);
      return { headers: bearer(token) };
    },
    expect: invalidToken(/signature/),
  },
  {
    id: "keys.jku-to-attacker",
    category: KEYS,
    title: "jku and x5u pointing at an attacker's key set (never fetched)",
    cite: "RFC 8725 §3.10; R3: keys come from the configured jwks_uri only",
    request: async (kit) => ({ headers: bearer(await foreignToken(kit, { kid: `jku-${randomUUID()}`, jku: kit.trap.url, x5u: kit.trap.url })) }),
    expect: invalidToken(/unknown key/),
    // the harness asserts that the trap URL saw no request
  },
  {
    id: "keys.kid-path-traversal",
    category: KEYS,
    title: "a kid that looks like a path (../../dev/null)",
    cite: "RFC 8725 §3.10",
    request: async (kit) => ({ headers: bearer(await foreignToken(kit, { kid: "../../../../dev/null" })) }),
    expect: invalidToken(/unknown key/),
  },

  // ---- lifetime (R3: exp/nbf with small skew) ----
  {
    id: "time.expired",
    category: TIME,
    title: "expired a minute ago (beyond the 5 s skew)",
    cite: "RFC 7519 §4.1.4; R3",
    request: async (kit) => ({ headers: bearer(await kit.forge({ claims: { iat: now() - 400, exp: now() - 60 } })) }),
    expect: invalidToken(/expired/),
  },
  {
    id: "time.not-yet-valid",
    category: TIME,
    title: "nbf two minutes in the future (beyond the skew)",
    cite: "RFC 7519 §4.1.5; R3",
    request: async (kit) => ({ headers: bearer(await kit.forge({ claims: { nbf: now() + 120 } })) }),
    expect: invalidToken(/not yet valid/),
  },
  {
    id: "time.no-exp",
    category: TIME,
    title: "no exp (a token that never expires)",
    cite: "RFC 9068 §2.2: exp is required",
    request: async (kit) => ({ headers: bearer(await kit.forge({ omit: ["exp"] })) }),
    expect: invalidToken(/exp missing/),
  },
  {
    id: "time.exp-as-string",
    category: TIME,
    title: 'exp as a string ("9999999999")',
    cite: "RFC 7519 §4.1.4: NumericDate",
    request: async (kit) => ({ headers: bearer(await kit.forge({ claims: { exp: "9999999999" } })) }),
    expect: invalidToken(/exp invalid/),
  },
  {
    id: "time.iat-in-future-accepted",
    category: TIME,
    title: "iat an hour in the future, exp and nbf fine → accepted (see the decision above)",
    cite: "RFC 7519 §4.1.6, RFC 9068 §4",
    request: async (kit) => ({ headers: bearer(await kit.forge({ claims: { iat: now() + 3600 } })) }),
    expect: accepted(),
  },

  // ---- audience and issuer (R3, RFC 8707, RFC 9068 §4) ----
  {
    id: "aud.other-resource",
    category: AUDIENCE,
    title: "aud is another resource on loopback",
    cite: "RFC 8707 §2, RFC 9068 §4; R3",
    request: async (kit) => ({ headers: bearer(await kit.forge({ claims: { aud: "http://127.0.0.1:1/mcp" } })) }),
    expect: invalidToken(/audience/),
  },
  {
    id: "aud.trailing-slash",
    category: AUDIENCE,
    title: "aud is this resource with a trailing slash",
    cite: "R3: the exact string is the audience; RFC 8707 §2",
    request: async (kit) => ({ headers: bearer(await kit.forge({ claims: { aud: `${kit.config.resource}/` } })) }),
    expect: invalidToken(/audience/),
  },
  {
    id: "aud.uppercase-scheme",
    category: AUDIENCE,
    title: "aud is this resource with the scheme upper-cased (HTTP://…)",
    cite: "RFC 7519 §4.1.3: case-sensitive strings",
    request: async (kit) => ({ headers: bearer(await kit.forge({ claims: { aud: kit.config.resource.replace("http:", "HTTP:") } })) }),
    expect: invalidToken(/audience/),
  },
  {
    id: "aud.issuer",
    category: AUDIENCE,
    title: "aud is the authorization server itself",
    cite: "RFC 8707 §2",
    request: async (kit) => ({ headers: bearer(await kit.forge({ claims: { aud: kit.config.issuer } })) }),
    expect: invalidToken(/audience/),
  },
  {
    id: "aud.missing",
    category: AUDIENCE,
    title: "no aud",
    cite: "RFC 9068 §2.2: aud is required",
    request: async (kit) => ({ headers: bearer(await kit.forge({ omit: ["aud"] })) }),
    expect: invalidToken(/audience/),
  },
  {
    id: "aud.array-with-trailing-slash",
    category: AUDIENCE,
    title: "aud is an array of this resource with a trailing slash and another resource",
    cite: "RFC 9068 §4: must contain an identifier the RS expects for itself",
    request: async (kit) => ({ headers: bearer(await kit.forge({ claims: { aud: [`${kit.config.resource}/`, "http://127.0.0.1:1/mcp"] } })) }),
    expect: invalidToken(/audience/),
  },
  {
    id: "aud.array-with-another-audience",
    category: AUDIENCE,
    title: "aud is an array holding another audience and this resource (see the decision above)",
    cite: "R3: aud = exactly the resource; RFC 8707 §2",
    request: async (kit) => ({ headers: bearer(await kit.forge({ claims: { aud: ["https://attacker.example/api", kit.config.resource] } })) }),
    expect: invalidToken(/audience is not exactly/),
  },
  {
    id: "aud.array-resource-then-another",
    category: AUDIENCE,
    title: "aud is an array holding this resource first, then another audience",
    cite: "R3: aud = exactly the resource",
    request: async (kit) => ({ headers: bearer(await kit.forge({ claims: { aud: [kit.config.resource, "http://127.0.0.1:1/mcp"] } })) }),
    expect: invalidToken(/audience is not exactly/),
  },
  {
    id: "aud.array-resource-twice",
    category: AUDIENCE,
    title: "aud is an array naming this resource twice",
    cite: "R3: aud = exactly the resource (a one-element array at most)",
    request: async (kit) => ({ headers: bearer(await kit.forge({ claims: { aud: [kit.config.resource, kit.config.resource] } })) }),
    expect: invalidToken(/audience is not exactly/),
  },
  {
    id: "aud.one-element-array-accepted",
    category: AUDIENCE,
    title: "aud is a one-element array of exactly this resource → accepted",
    cite: "RFC 7519 §4.1.3: aud may be a string or an array",
    request: async (kit) => ({ headers: bearer(await kit.forge({ claims: { aud: [kit.config.resource] } })) }),
    expect: accepted(),
  },
  {
    id: "iss.other",
    category: AUDIENCE,
    title: "iss is another authorization server",
    cite: "RFC 9068 §4; R3",
    request: async (kit) => ({ headers: bearer(await kit.forge({ claims: { iss: "http://127.0.0.1:1" } })) }),
    expect: invalidToken(/issuer/),
  },
  {
    id: "iss.trailing-slash",
    category: AUDIENCE,
    title: "iss is the issuer with a trailing slash",
    cite: "RFC 8414 §3.3: identical issuer strings",
    request: async (kit) => ({ headers: bearer(await kit.forge({ claims: { iss: `${kit.config.issuer}/` } })) }),
    expect: invalidToken(/issuer/),
  },
  {
    id: "iss.missing",
    category: AUDIENCE,
    title: "no iss",
    cite: "RFC 9068 §2.2: iss is required",
    request: async (kit) => ({ headers: bearer(await kit.forge({ omit: ["iss"] })) }),
    expect: invalidToken(/issuer/),
  },

  // ---- typ and required claims (RFC 9068 §2, §4) ----
  {
    id: "typ.jwt",
    category: TYPE,
    title: 'typ "JWT" (an ID token or other JWT posing as an access token)',
    cite: "RFC 9068 §4, RFC 8725 §3.11",
    request: async (kit) => ({ headers: bearer(await kit.forge({ header: { typ: "JWT" } })) }),
    expect: invalidToken(/typ/),
  },
  {
    id: "typ.missing",
    category: TYPE,
    title: "no typ",
    cite: "RFC 9068 §4",
    request: async (kit) => ({ headers: bearer(await kit.forge({ header: { typ: undefined } })) }),
    expect: invalidToken(/typ/),
  },
  {
    id: "typ.application-at-jwt-accepted",
    category: TYPE,
    title: 'typ "application/at+jwt" → accepted',
    cite: 'RFC 9068 §4: "at+jwt" or "application/at+jwt"',
    request: async (kit) => ({ headers: bearer(await kit.forge({ header: { typ: "application/at+jwt" } })) }),
    expect: accepted(),
  },
  {
    id: "typ.uppercase-accepted",
    category: TYPE,
    title: 'typ "AT+JWT" → accepted (media types are case-insensitive)',
    cite: "RFC 7515 §4.1.9, RFC 2045 §5.1",
    request: async (kit) => ({ headers: bearer(await kit.forge({ header: { typ: "AT+JWT" } })) }),
    expect: accepted(),
  },
  {
    id: "claims.no-sub",
    category: TYPE,
    title: "no sub",
    cite: "RFC 9068 §2.2; R6 binds sessions to sub + client_id",
    request: async (kit) => ({ headers: bearer(await kit.forge({ omit: ["sub"] })) }),
    expect: invalidToken(/sub/),
  },
  {
    id: "claims.empty-sub",
    category: TYPE,
    title: 'sub is ""',
    cite: "R6",
    request: async (kit) => ({ headers: bearer(await kit.forge({ claims: { sub: "" } })) }),
    expect: invalidToken(/sub/),
  },
  {
    id: "claims.no-client-id",
    category: TYPE,
    title: "no client_id",
    cite: "RFC 9068 §2.2; R6",
    request: async (kit) => ({ headers: bearer(await kit.forge({ omit: ["client_id"] })) }),
    expect: invalidToken(/client_id/),
  },
  {
    id: "claims.client-id-number",
    category: TYPE,
    title: "client_id is a number",
    cite: "RFC 9068 §2.2",
    request: async (kit) => ({ headers: bearer(await kit.forge({ claims: { client_id: 42 } })) }),
    expect: invalidToken(/client_id/),
  },
  {
    id: "claims.scope-array",
    category: TYPE,
    title: "scope is a JSON array instead of a space-delimited string",
    cite: "RFC 9068 §2.2.3",
    request: async (kit) => ({ headers: bearer(await kit.forge({ claims: { scope: ["files:admin"] } })) }),
    expect: invalidToken(/scope/),
  },
  {
    id: "claims.scope-constructor",
    category: TYPE,
    title: 'scope is "constructor" (an Object.prototype member): an ordinary unknown scope, no 5xx',
    cite: "R9: every lookup keyed by input is an own-property lookup",
    request: async (kit) => ({ headers: bearer(await kit.forge({ claims: { scope: "constructor" } })) }),
    expect: insufficientForWrite(),
  },
  {
    id: "claims.scope-proto",
    category: TYPE,
    title: 'scope is "__proto__" (an Object.prototype member): an ordinary unknown scope, no 5xx',
    cite: "R9: every lookup keyed by input is an own-property lookup",
    request: async (kit) => ({ headers: bearer(await kit.forge({ claims: { scope: "__proto__" } })) }),
    expect: insufficientForWrite(),
  },
  {
    id: "claims.scope-toString",
    category: TYPE,
    title: 'scope is "toString" (an Object.prototype member): an ordinary unknown scope, no 5xx',
    cite: "R9: every lookup keyed by input is an own-property lookup",
    request: async (kit) => ({ headers: bearer(await kit.forge({ claims: { scope: "toString" } })) }),
    expect: insufficientForWrite(),
  },
  {
    id: "claims.scope-hasOwnProperty",
    category: TYPE,
    title: 'scope is "hasOwnProperty" (an Object.prototype member): an ordinary unknown scope, no 5xx',
    cite: "R9: every lookup keyed by input is an own-property lookup",
    request: async (kit) => ({ headers: bearer(await kit.forge({ claims: { scope: "hasOwnProperty" } })) }),
    expect: insufficientForWrite(),
  },
  {
    id: "claims.no-jti",
    category: TYPE,
    title: "no jti",
    cite: "RFC 9068 §2.2: jti is required",
    request: async (kit) => ({ headers: bearer(await kit.forge({ omit: ["jti"] })) }),
    expect: invalidToken(/jti missing/),
  },
  {
    id: "claims.no-iat",
    category: TYPE,
    title: "no iat",
    cite: "RFC 9068 §2.2: iat is required",
    request: async (kit) => ({ headers: bearer(await kit.forge({ omit: ["iat"] })) }),
    expect: invalidToken(/iat missing/),
  },

  // ---- how the token is sent (RFC 6750 §2; R3, R4) ----
  {
    id: "sent.no-authorization",
    category: SENT,
    title: "no Authorization header (control)",
    cite: "R4, RFC 6750 §3.1: no error code",
    request: () => ({}),
    expect: missing(),
  },
  {
    id: "sent.query-string-only",
    category: SENT,
    title: "a good all-scope token in the query string only (?access_token=)",
    cite: "R3: ignored; RFC 6750 §2.3 not supported (bearer_methods_supported: header)",
    request: async (kit) => ({ query: `?access_token=${await kit.forge()}` }),
    expect: missing(),
  },
  {
    id: "sent.json-body-only",
    category: SENT,
    title: "a good all-scope token in the JSON body only",
    cite: "R3: header only",
    request: async (kit) => ({ body: { ...kit.writeMarker(), access_token: await kit.forge() } }),
    expect: missing(),
  },
  {
    id: "sent.form-body-only",
    category: SENT,
    title: "a good all-scope token in a form body only (RFC 6750 §2.2)",
    cite: "R3: header only",
    request: async (kit) => ({
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `access_token=${await kit.forge()}`,
    }),
    expect: missing(),
  },
  {
    id: "sent.query-token-not-preferred",
    category: SENT,
    title: "a files:read header token plus an all-scope token in the query: the query is ignored",
    cite: "R3; R5",
    request: async (kit) => ({
      headers: bearer(await kit.forge({ claims: { scope: "files:read" } })),
      query: `?access_token=${await kit.forge()}`,
    }),
    expect: {
      status: 403,
      challenge: { kind: "insufficient_scope", scope: "files:write", description: /^write-file requires files:write$/ },
      body: { rpcError: { code: -32000, id: 1 } },
    },
  },
  {
    id: "sent.basic-scheme",
    category: SENT,
    title: "Authorization: Basic … (another scheme counts as missing)",
    cite: "R4",
    request: () => ({ headers: { authorization: `Basic ${Buffer.from("demo-user:secret").toString("base64")}` } }),
    expect: missing(),
  },
  {
    id: "sent.bearer-empty",
    category: SENT,
    title: '"Bearer" with no token',
    cite: "R4: empty Bearer → invalid_token",
    request: () => ({ headers: { authorization: "Bearer" } }),
    expect: invalidToken(/exactly: Bearer <token>/),
  },
  {
    id: "sent.bearer-whitespace",
    category: SENT,
    title: '"Bearer" followed by spaces only',
    cite: "R4",
    request: () => ({ headers: { authorization: "Bearer     " } }),
    expect: invalidToken(/exactly: Bearer <token>/),
  },
  {
    id: "sent.bearer-two-tokens",
    category: SENT,
    title: '"Bearer <good> <good>" (two tokens)',
    cite: "RFC 6750 §2.1: exactly one b64token",
    request: async (kit) => {
      const token = await kit.forge();
      return { headers: { authorization: `Bearer ${token} ${token}` } };
    },
    expect: invalidToken(/exactly: Bearer <token>/),
  },
  {
    id: "sent.bearer-comma-list",
    category: SENT,
    title: '"Bearer <good>, Basic …" (two credentials in one header)',
    cite: "RFC 9110 §11.6.2: one credentials per Authorization",
    request: async (kit) => ({ headers: { authorization: `Bearer ${await kit.forge()}, Basic Zm9vOmJhcg==` } }),
    expect: invalidToken(/exactly: Bearer <token>/),
  },
  {
    id: "sent.bearer-tab",
    category: SENT,
    title: '"Bearer<TAB><good>" (a tab is not SP)',
    cite: 'RFC 6750 §2.1: "Bearer" 1*SP b64token',
    request: async (kit) => ({ headers: { authorization: `Bearer\t${await kit.forge()}` } }),
    expect: invalidToken(/exactly: Bearer <token>/),
  },
  {
    id: "sent.two-authorization-headers",
    category: SENT,
    title: "two Authorization headers, the good token first",
    cite: "RFC 9110 §5.3: Authorization is a singleton; ambiguity is refused",
    request: async (kit) => ({ headers: { authorization: [`Bearer ${await kit.forge()}`, "Bearer garbage"] } }),
    expect: invalidToken(/more than one Authorization header/),
  },
  {
    id: "sent.two-authorization-headers-reversed",
    category: SENT,
    title: "two Authorization headers, the good token second",
    cite: "RFC 9110 §5.3",
    request: async (kit) => ({ headers: { authorization: ["Bearer garbage", `Bearer ${await kit.forge()}`] } }),
    expect: invalidToken(/more than one Authorization header/),
  },
  {
    id: "sent.lowercase-bearer-accepted",
    category: SENT,
    title: '"bearer <good>" → accepted (the scheme is case-insensitive)',
    cite: "RFC 9110 §11.1, RFC 6750 §2.1",
    request: async (kit) => ({ headers: { authorization: `bearer ${await kit.forge()}` } }),
    expect: accepted(),
  },
  {
    id: "sent.uppercase-bearer-accepted",
    category: SENT,
    title: '"BEARER <good>" → accepted',
    cite: "RFC 9110 §11.1",
    request: async (kit) => ({ headers: { authorization: `BEARER ${await kit.forge()}` } }),
    expect: accepted(),
  },
  {
    id: "sent.two-spaces-accepted",
    category: SENT,
    title: '"Bearer  <good>" (two SP) → accepted',
    cite: 'RFC 6750 §2.1: "Bearer" 1*SP b64token',
    request: async (kit) => ({ headers: { authorization: `Bearer  ${await kit.forge()}` } }),
    expect: accepted(),
  },

  // ---- a valid token of another principal on the victim's session (R6: 404, never 401/403) ----
  {
    id: "session.other-client-post",
    category: SESSION,
    title: "POST write-file with another client's valid all-scope token",
    cite: "R6",
    request: async (kit) => ({ headers: bearer(await kit.forge({ claims: { client_id: "intruder-client" } })) }),
    expect: sessionNotFound(),
  },
  {
    id: "session.other-user-post",
    category: SESSION,
    title: "POST write-file with the same client_id but another user (sub)",
    cite: "R6: the principal is sub + client_id",
    request: async (kit) => ({ headers: bearer(await kit.forge({ claims: { sub: "intruder-user" } })) }),
    expect: sessionNotFound(),
  },
  {
    id: "session.other-client-under-scoped-post",
    category: SESSION,
    title: "POST write-file with another client's files:read token (404 before the scope gate, no step-up hint)",
    cite: "R6: checked before the scope gate",
    request: async (kit) => ({ headers: bearer(await kit.forge({ claims: { client_id: "intruder-client", scope: "files:read" } })) }),
    expect: sessionNotFound(),
  },
  {
    id: "session.other-client-get",
    category: SESSION,
    title: "GET (the SSE stream) with another client's valid token",
    cite: "R6",
    request: async (kit) => ({ method: "GET", headers: { ...bearer(await kit.forge({ claims: { client_id: "intruder-client" } })), accept: "text/event-stream" } }),
    expect: sessionNotFound(),
  },
  {
    id: "session.other-client-delete",
    category: SESSION,
    title: "DELETE (end the session) with another client's valid token: the session survives",
    cite: "R6",
    request: async (kit) => ({ method: "DELETE", headers: bearer(await kit.forge({ claims: { client_id: "intruder-client" } })) }),
    expect: sessionNotFound(),
  },
];
