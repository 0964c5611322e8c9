/**
 * The AS's signing key and its access tokens (A7).
 *
 * One ES256 key pair, generated at start-up with jose. It is kept only in memory (tokens die with the
 * process) unless a state directory is configured (A12, `state-file.ts`), which keeps its private JWK so
 * tokens signed before a restart still verify. The public half is published at `jwks_uri` (RFC 8414 §2)
 * for the RS to verify with.
 */
import {
  calculateJwkThumbprint,
  CompactSign,
  compactVerify,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
  SignJWT,
  type CryptoKey,
  type JWK,
} from "jose";

export const ACCESS_TOKEN_ALG = "ES256";
/** RFC 9068 §2.1: the `typ` header of a JWT access token. */
export const ACCESS_TOKEN_TYP = "at+jwt";

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** The public JWK, with `kid`, `alg` and `use`, as published in the JWKS. */
  publicJwk: JWK;
}

/** A new key pair; `extractable` lets the private key be exported, which only the state file needs. */
export async function generateSigningKey({ extractable = false } = {}): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(ACCESS_TOKEN_ALG, { extractable });
  return signingKey(privateKey, publicKey);
}

/** The key pair of a private EC JWK (`d`, `x`, `y`) — as kept in the state file (A12). Throws if it is not one. */
export async function importSigningKey({ kty, crv, x, y, d }: JWK): Promise<SigningKey> {
  const privateKey = await importJWK({ kty, crv, x, y, d }, ACCESS_TOKEN_ALG, { extractable: true });
  const publicKey = await importJWK({ kty, crv, x, y }, ACCESS_TOKEN_ALG);
  if (!("type" in privateKey) || !("type" in publicKey)) throw new TypeError("not an EC key pair");
  // The public half (x, y) must belong to the private scalar d: sign, then verify with the public half.
  const probe = await new CompactSign(new TextEncoder().encode("probe")).setProtectedHeader({ alg: ACCESS_TOKEN_ALG }).sign(privateKey);
  await compactVerify(probe, publicKey);
  return signingKey(privateKey, publicKey);
}

async function signingKey(privateKey: CryptoKey, publicKey: CryptoKey): Promise<SigningKey> {
  const jwk = await exportJWK(publicKey);
  // RFC 7638 thumbprint as `kid`: stable for the key, and says nothing else.
  const kid = await calculateJwkThumbprint(jwk);
  return { kid, privateKey, publicKey, publicJwk: { ...jwk, kid, alg: ACCESS_TOKEN_ALG, use: "sig" } };
}

/** RFC 7517 §5: the JWK Set document served at `jwks_uri`. */
export function jwks(key: SigningKey): { keys: JWK[] } {
  return { keys: [key.publicJwk] };
}

/** The claims of an RFC 9068 access token (§2.2); times are seconds since the epoch. */
export interface AccessTokenClaims {
  iss: string;
  sub: string;
  /** The resource (RFC 8707) — the RS checks it is its own. */
  aud: string;
  client_id: string;
  scope: string;
  iat: number;
  exp: number;
  jti: string;
}

/** RFC 9068 §2.1: signed JWT, header `typ: at+jwt`, `alg` and the `kid` the RS looks up in the JWKS. */
export function signAccessToken(key: SigningKey, claims: AccessTokenClaims): Promise<string> {
  const { iss, sub, aud, client_id, scope, iat, exp, jti } = claims;
  return new SignJWT({ client_id, scope })
    .setProtectedHeader({ alg: ACCESS_TOKEN_ALG, typ: ACCESS_TOKEN_TYP, kid: key.kid })
    .setIssuer(iss)
    .setSubject(sub)
    .setAudience(aud)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .setJti(jti)
    .sign(key.privateKey);
}

/** True when `token` is a live access token this AS signed: its key, its `iss`, `typ: at+jwt` (RFC 9068 §4). */
export async function isOwnAccessToken(key: SigningKey, issuer: string, token: string, now: number): Promise<boolean> {
  try {
    await jwtVerify(token, key.publicKey, { issuer, typ: ACCESS_TOKEN_TYP, algorithms: [ACCESS_TOKEN_ALG], currentDate: new Date(now) });
    return true;
  } catch {
    return false;
  }
}
