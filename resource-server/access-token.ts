/**
 * R3 — is this a valid access token *for this resource*? RFC 9068 §4 validation of the AS's JWT access
 * tokens with `jose` against the AS's JWKS (remote, cached, refetched on an unknown `kid`), and a cache
 * of verified tokens that makes the gate cheap (P2 in BENCHMARKS.md) without skipping any check.
 */
import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from "jose";
import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import type { Config } from "../shared/config.ts";
import { parseScope } from "../shared/scopes.ts";

/** The token is not acceptable here: answered `401 invalid_token` with this description. */
export class InvalidTokenError extends Error {
  override name = "InvalidTokenError";
}

/** The AS's keys cannot be fetched: not the caller's fault, answered `503` (never `invalid_token`). */
export class KeysUnavailableError extends Error {
  override name = "KeysUnavailableError";
}

export type AccessTokenVerifier = (token: string) => Promise<AuthInfo>;

/** A token that passed every check, remembered until its `exp` (see `VerificationCache`). */
interface Verified {
  claims: { sub: string; client_id: string; scope: string | undefined; exp: number };
  /** The protected header, to ask the JWKS again which key it names. */
  header: Parameters<JWTVerifyGetKey>[0];
  /** The key the signature verified with. */
  key: unknown;
}

/**
 * Positive verification results by exact token string — a performance measure (P2 in BENCHMARKS.md:
 * an ES256 verification per request was most of the gate's cost). A result is reused only where a
 * full verification would give the same answer:
 * - the token is byte-for-byte the one verified (same header, claims and signature);
 * - it is before `exp`, checked on every use (the clock skew is left to a full verification);
 * - the JWKS still resolves its header to the very key object that verified it: a refetch (rotated or
 *   removed key, stale set) yields new key objects, so the token is verified in full again.
 * The other checks (alg, typ, iss, aud, required claims, nbf) depend only on the token and the
 * config. Failures are never cached. At most `capacity` entries; the oldest (and expired) go first.
 */
class VerificationCache {
  readonly #entries = new Map<string, Verified>();
  readonly capacity: number;
  private readonly now: () => number;
  constructor(capacity: number, now: () => number) {
    this.capacity = capacity;
    this.now = now;
  }

  #live = (entry: Verified) => entry.claims.exp * 1000 > this.now(); // RFC 7519 §4.1.4

  get(token: string): Verified | undefined {
    const entry = this.#entries.get(token);
    if (entry && this.#live(entry)) return entry;
    this.#entries.delete(token);
    return undefined;
  }

  set(token: string, entry: Verified): void {
    if (!this.#live(entry)) return; // accepted within the clock skew only: never reused
    this.#entries.delete(token);
    this.#entries.set(token, entry);
    for (const [oldest, first] of this.#entries) {
      if (this.#entries.size <= this.capacity && this.#live(first)) break;
      this.#entries.delete(oldest);
    }
  }
}

export interface VerifierOptions {
  /** Verified tokens remembered at once (default 1000; 0 turns the cache off). */
  cacheSize?: number;
  /** The clock, in ms since the epoch, for the cache and jose's time checks alike (tests). */
  now?: () => number;
}

/** RFC 9068 §4 validation of a JWT access token, for this resource only. */
export function createAccessTokenVerifier(config: Config, keys?: JWTVerifyGetKey, options: VerifierOptions = {}): AccessTokenVerifier {
  // Cached; an unknown `kid` triggers a refetch, at most once a second (the cooldown), so a restarted
  // AS's new key is picked up at once while a flood of made-up `kid`s costs one loopback fetch a second.
  // The copy is also refetched once it is `jwksCacheMaxAgeMs` old, so a key the AS no longer publishes
  // (rotated, or lost in a restart) stops validating tokens within that time even if no new `kid` comes.
  const jwks =
    keys ??
    createRemoteJWKSet(new URL(config.jwksUri), {
      timeoutDuration: 2_000,
      cooldownDuration: 1_000,
      cacheMaxAge: config.jwksCacheMaxAgeMs,
    });
  const now = options.now ?? Date.now;
  const cacheSize = options.cacheSize ?? 1000;
  const cache = cacheSize > 0 ? new VerificationCache(cacheSize, now) : undefined;
  const resource = config.resource;

  const authInfo = (token: string, { sub, client_id, scope, exp }: Verified["claims"]): AuthInfo => ({
    token,
    clientId: client_id,
    scopes: parseScope(scope), // RFC 9068 §2.2.3: space-delimited, like RFC 6749 §3.3
    expiresAt: exp,
    resource: new URL(resource),
    extra: { sub },
  });

  /** The cached result, if the JWKS still names the key that verified it (see `VerificationCache`). */
  const cached = async (token: string): Promise<AuthInfo | undefined> => {
    const hit = cache?.get(token);
    if (!hit) return undefined;
    // The compact token as jose hands it to a key resolver (RFC 7515 §7.1: header.payload.signature).
    const [header, payload, signature] = token.split(".") as [string, string, string];
    const key = await Promise.resolve(jwks(hit.header, { protected: header, payload, signature })).catch((error: unknown) => {
      // The keys could not be fetched: a full verification would wait for the same fetch again.
      const refused = classifyJoseError(error, config);
      if (refused instanceof KeysUnavailableError) throw refused;
      return undefined;
    });
    return key === hit.key ? authInfo(token, hit.claims) : undefined;
  };

  return async (token) => {
    const hit = await cached(token);
    if (hit) return hit;

    let key: unknown;
    const recordKey: JWTVerifyGetKey = async (header, input) => (key = await jwks(header, input));
    let payload, protectedHeader;
    try {
      ({ payload, protectedHeader } = await jwtVerify(token, recordKey, {
        algorithms: ["ES256"], // R3/A7: never `none`, never HS256 with the public key as the secret
        typ: "at+jwt", // RFC 9068 §4: an ID token or other JWT must not pass as an access token
        issuer: config.issuer,
        audience: config.resource, // RFC 8707: exact string, `…/mcp/` is another resource
        clockTolerance: 5, // seconds of skew for `exp` / `nbf` / `iat`
        currentDate: options.now ? new Date(now()) : undefined,
        requiredClaims: ["exp", "iat", "sub", "client_id", "jti"], // RFC 9068 §2.2
      }));
    } catch (error) {
      throw classifyJoseError(error, config);
    }
    const { sub, client_id, scope, exp } = payload;
    // RFC 9068 §4 / RFC 8707: jose accepts an `aud` array that merely *contains* the resource; the AS
    // issues single-audience tokens, so the audience must be exactly the resource (one-element array at most).
    if (Array.isArray(payload.aud) && payload.aud.length !== 1) {
      throw new InvalidTokenError(`access token audience is not exactly ${config.resource}`);
    }
    if (typeof sub !== "string" || sub === "") throw new InvalidTokenError("access token has no sub");
    if (typeof client_id !== "string" || client_id === "") throw new InvalidTokenError("access token has no client_id");
    if (scope !== undefined && typeof scope !== "string") throw new InvalidTokenError("access token scope is not a string");
    const claims = { sub, client_id, scope, exp: exp! }; // `exp` is a required claim, checked above
    if (key !== undefined) cache?.set(token, { claims, header: protectedHeader, key });
    return authInfo(token, claims);
  };
}

/** Turn jose's error into what the caller may learn. Messages never quote the token. */
function classifyJoseError(error: unknown, config: Config): Error {
  if (error instanceof errors.JWTExpired) return new InvalidTokenError("access token expired");
  if (error instanceof errors.JWTClaimValidationFailed) {
    const claim = error.claim;
    if (claim === "aud") return new InvalidTokenError(`access token audience is not ${config.resource}`);
    if (claim === "iss") return new InvalidTokenError(`access token issuer is not ${config.issuer}`);
    if (claim === "typ") return new InvalidTokenError("access token typ must be at+jwt");
    if (claim === "nbf") return new InvalidTokenError("access token not yet valid");
    return new InvalidTokenError(`access token claim ${claim} ${error.reason === "missing" ? "missing" : "invalid"}`);
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return new InvalidTokenError("access token must be signed with ES256");
  if (error instanceof errors.JWKSNoMatchingKey) return new InvalidTokenError("access token signed with an unknown key");
  if (error instanceof errors.JWSSignatureVerificationFailed) return new InvalidTokenError("access token signature invalid");
  // Fetching the JWKS failed (AS down, timeout, not a JWKS): the token may be fine.
  if (
    error instanceof errors.JWKSTimeout ||
    error instanceof errors.JWKSInvalid ||
    (error instanceof errors.JOSEError && error.code === "ERR_JOSE_GENERIC" && /JSON Web Key Set/.test(error.message)) ||
    (error instanceof TypeError && error.message === "fetch failed")
  ) {
    return new KeysUnavailableError("cannot fetch the authorization server's keys");
  }
  // Anything else jose refuses (not a JWS, bad base64, bad JSON, crit header, …): fail closed.
  return new InvalidTokenError("access token is not a valid JWT");
}
