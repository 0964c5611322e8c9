/**
 * R3/R4 — who is calling? Every `/mcp` request must carry `Authorization: Bearer <jwt>` (RFC 6750 §2.1),
 * a JWT access token (RFC 9068) that the AS signed with ES256, checked with `jose` against the AS's
 * JWKS. The verified result goes on `req.auth` in the SDK's `AuthInfo` shape, which the transport hands
 * to tool handlers as `extra.authInfo` on every request — so a stepped-up token is seen at once (R7).
 *
 * The SDK's `requireBearerAuth` is not used: it answers a *missing* token with `error="invalid_token"`
 * (RFC 6750 §3.1 says no error code then) and knows no scope hierarchy (SPEC §4.1).
 */
import type { IncomingMessage } from "node:http";
import type { RequestHandler, Request } from "express";
import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from "jose";
import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import type { Config } from "../shared/config.ts";
import type { Logger } from "../shared/log.ts";
import { parseScope } from "../shared/scopes.ts";
import { invalidTokenChallenge, missingTokenChallenge } from "./challenge.ts";
import { JsonRpcCode, sendJsonRpcError } from "./errors.ts";

/** A request after `bearerAuth`: `auth` is set iff the token verified. */
export type AuthenticatedRequest = Request & { auth?: AuthInfo };

/** Who acts: the user (`sub`) through which client (`client_id`) — what an MCP session is bound to (R6). */
export interface Principal {
  sub: string;
  clientId: string;
}

/** The principal of a request served with the auth gate switched off (benchmark only). */
export const ANONYMOUS: Principal = { sub: "anonymous", clientId: "anonymous" };

export function principalOf(auth: AuthInfo | undefined): Principal {
  if (!auth) return ANONYMOUS;
  return { sub: String(auth.extra?.sub), clientId: auth.clientId };
}

/** RFC 6750 §2.1: `credentials = "Bearer" 1*SP b64token`. */
const BEARER_CREDENTIALS = /^ +([A-Za-z0-9\-._~+/]+=*)$/;

export type Credentials =
  | { kind: "missing" }
  | { kind: "ill-formed"; description: string }
  | { kind: "bearer"; token: string };

/** Read the bearer token from the Authorization header only (a query-string token is ignored, R3). */
export function readBearerCredentials(req: IncomingMessage): Credentials {
  // Node keeps the first of two Authorization headers and silently drops the second, so count them
  // on the raw list: two credentials are ambiguous, and ambiguity is never resolved in the caller's favour.
  let headers = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i]!.toLowerCase() === "authorization") headers++;
  }
  const value = req.headers.authorization ?? "";
  if (headers === 0 || value.trim() === "") return { kind: "missing" };
  if (headers > 1) return { kind: "ill-formed", description: "more than one Authorization header" };

  const scheme = /^\S*/.exec(value)![0];
  // R4: another scheme (Basic, Digest, …) is not a bearer token at all: it counts as missing.
  if (scheme.toLowerCase() !== "bearer") return { kind: "missing" }; // RFC 9110 §11.1: case-insensitive
  const match = BEARER_CREDENTIALS.exec(value.slice(scheme.length));
  if (!match) return { kind: "ill-formed", description: "Authorization header must be exactly: Bearer <token>" };
  return { kind: "bearer", token: match[1]! };
}

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
  constructor(
    readonly capacity: number,
    private readonly now: () => number,
  ) {}

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
  const jwks = keys ?? createRemoteJWKSet(new URL(config.jwksUri), { timeoutDuration: 2_000, cooldownDuration: 1_000 });
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
    const key = await Promise.resolve(jwks(hit.header, { protected: header, payload, signature })).catch(() => undefined);
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

/**
 * The gate's first half (R3/R4): authenticate, or answer 401 with the challenge that tells the client
 * where the PRM is and which scope to ask for. Scopes are checked later, per operation (R5).
 */
export function bearerAuth(config: Config, verify: AccessTokenVerifier, logger: Logger): RequestHandler {
  const unauthorized = (res: Parameters<RequestHandler>[1], challenge: string, description: string, error?: string) =>
    sendJsonRpcError(res, 401, JsonRpcCode.ServerError, `Unauthorized: ${description}`, {
      headers: { "WWW-Authenticate": challenge },
      data: error ? { error, error_description: description } : undefined,
    });

  return async (req, res, next) => {
    const credentials = readBearerCredentials(req);
    if (credentials.kind === "missing") {
      logger.info(`401 ${req.method} ${req.path}: no bearer token`);
      return unauthorized(res, missingTokenChallenge(config.resourceMetadataUrl), "a bearer token is required");
    }
    if (credentials.kind === "ill-formed") {
      logger.info(`401 ${req.method} ${req.path}: invalid_token (${credentials.description})`);
      const challenge = invalidTokenChallenge(config.resourceMetadataUrl, credentials.description);
      return unauthorized(res, challenge, credentials.description, "invalid_token");
    }
    try {
      (req as AuthenticatedRequest).auth = await verify(credentials.token);
    } catch (error) {
      if (error instanceof KeysUnavailableError) {
        logger.warn(`503 ${req.method} ${req.path}: ${error.message}`);
        return sendJsonRpcError(res, 503, JsonRpcCode.ServerError, `Service Unavailable: ${error.message}`, {
          headers: { "Retry-After": "5" },
        });
      }
      const description = error instanceof InvalidTokenError ? error.message : "access token rejected";
      logger.info(`401 ${req.method} ${req.path}: invalid_token (${description})`);
      return unauthorized(res, invalidTokenChallenge(config.resourceMetadataUrl, description), description, "invalid_token");
    }
    next();
  };
}
