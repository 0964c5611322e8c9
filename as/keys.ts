/**
 * The AS's signing key and its access tokens (A7).
 *
 * One ES256 key pair, generated at start-up with jose and never written anywhere (demo: tokens die with
 * the process). The public half is published at `jwks_uri` (RFC 8414 §2) for the RS to verify with.
 */
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from "jose";

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

export async function generateSigningKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(ACCESS_TOKEN_ALG);
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
