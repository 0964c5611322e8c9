/**
 * R3/R4 — who is calling? Every `/mcp` request must carry `Authorization: Bearer <jwt>` (RFC 6750 §2.1),
 * a JWT access token (RFC 9068) that the AS signed with ES256, verified by `access-token.ts` against the AS's
 * JWKS. The verified result goes on `req.auth` in the SDK's `AuthInfo` shape, which the transport hands
 * to tool handlers as `extra.authInfo` on every request — so a stepped-up token is seen at once (R7).
 *
 * The SDK's `requireBearerAuth` is not used: it answers a *missing* token with `error="invalid_token"`
 * (RFC 6750 §3.1 says no error code then) and knows nothing of per-tool scopes (R5).
 */
import type { IncomingMessage } from "node:http";
import type { RequestHandler, Request } from "express";
import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import type { Config } from "../shared/config.ts";
import type { Logger } from "../shared/log.ts";
import { InvalidTokenError, KeysUnavailableError, type AccessTokenVerifier } from "./access-token.ts";
import { invalidTokenChallenge, missingTokenChallenge } from "./challenge.ts";
import { JsonRpcCode, sendJsonRpcError } from "./errors.ts";

/** A request after `bearerAuth`: `auth` is set iff the token verified. */
export type AuthenticatedRequest = Request & { auth?: AuthInfo };

/** Who acts: the user (`sub`) through which client (`client_id`) — what an MCP session is bound to (R6). */
export interface Principal {
  sub: string;
  clientId: string;
}

export function principalOf(auth: AuthInfo | undefined): Principal {
  // `bearerAuth` runs first on every /mcp route: a request without a verified token never gets here.
  if (!auth) throw new Error("no verified access token on the request (bearerAuth must run first)");
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
