/**
 * `GET /authorize` — the authorization endpoint (RFC 6749 §4.1.1, A4), headless.
 *
 * Two kinds of failure, in this order:
 * 1. the redirect target cannot be trusted (client_id or redirect_uri missing, repeated, unknown or
 *    unregistered) → `400` JSON, never a redirect (RFC 6749 §4.1.2.1, RFC 9700 §4.1);
 * 2. anything else → redirect to the client with `error`, `state` and `iss` (RFC 6749 §4.1.2.1, RFC 9207).
 * Failures of kind 1 answer JSON (as/extras/ adds a readable page for a browser).
 * The demo user may be granted only `config.grantableScopes` (S3), at once — or, with the consent page
 * of as/extras/ (`AS_CONSENT=prompt`), once every check has passed, as the user chooses.
 */
import type { Request, Response } from "express";
import { nanoid } from "nanoid";
import { redact } from "../shared/log.ts";
import { formatScope, inCatalogOrder, SCOPE_CATALOG } from "../shared/scopes.ts";
import { findClient } from "./clients.ts";
import {
  AccessDenied,
  InvalidClient,
  InvalidRequest,
  InvalidScope,
  InvalidTarget,
  OAuthError,
  UnsupportedResponseType,
} from "./errors.ts";
import { queryParams, scopeParam, type Params } from "./params.ts";
import { isS256CodeChallenge } from "./pkce.ts";
import { CODE_TTL_MS, DEMO_USER, markClientInUse, type AsState, type ClientRecord } from "./state.ts";

/** Scope when the request names none (A4): the minimum for basic use. */
export const DEFAULT_SCOPE = ["files:read"];

/** A request that passed every check: what a code will be bound to, and what the user may grant. */
export interface AuthorizationRequest {
  client: ClientRecord;
  redirect_uri: string;
  /** `state` to echo back, unless it was absent or repeated. */
  state: string | undefined;
  code_challenge: string;
  resource: string;
  /** What the client asked for (validated), in its order. */
  requested: string[];
  /** requested ∩ what the demo user may be granted, in catalog order — never empty. */
  grantable: string[];
}

/** Where an authorization response goes. */
export type ResponseTarget = Pick<AuthorizationRequest, "redirect_uri" | "state">;

/** How `AS_CONSENT=prompt` asks the user (as/extras/consent.ts); it answers the response itself. */
export type ConsentPrompt = (req: Request, res: Response, request: AuthorizationRequest) => void;

/** A page for a person whose request cannot be redirected (as/extras/error-page.ts); false: answer JSON. */
export type InformResourceOwner = (req: Request, res: Response, error: OAuthError) => boolean;

/** RFC 6749 §3.1.2: keep the redirect URI's own query and add ours (never rebuild it through a parser). */
function redirectTo(redirect_uri: string, params: Record<string, string | undefined>): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== undefined) query.set(name, value);
  const separator = !redirect_uri.includes("?") ? "?" : /[?&]$/.test(redirect_uri) ? "" : "&";
  return `${redirect_uri}${separator}${query}`;
}

/** Step 1: who is asking, and where may the answer go? Throws (→ 400 JSON) when that is unclear. */
function trustedRedirect(state: AsState, params: Params): { client: ClientRecord; redirect_uri: string } {
  for (const name of ["client_id", "redirect_uri"]) {
    if (params.duplicated.includes(name)) throw new InvalidRequest(`${name} is repeated (RFC 6749 section 3.1); not redirecting`);
  }
  const client_id = params.get("client_id");
  if (!client_id) throw new InvalidRequest("client_id is required");
  const client = findClient(state, client_id);
  // RFC 6749 §4.1.2.1: never redirect for an unknown client. The §5.2 code `invalid_client` tells a
  // client whose registration the AS forgot (e.g. after a restart) to register again.
  if (!client) throw new InvalidClient("unknown client_id; not redirecting");
  // Required here even with one registered URI, so /token can always compare it exactly (A5).
  const redirect_uri = params.get("redirect_uri");
  if (!redirect_uri) throw new InvalidRequest("redirect_uri is required");
  // A4: exact string match (RFC 9700 §4.1.3); for 127.0.0.1 / [::1] any port (RFC 8252 §7.3)
  if (!client.redirect_uris.some((uri) => state.policy.redirectUriMatches(uri, redirect_uri))) {
    throw new InvalidRequest("redirect_uri is not registered for this client; not redirecting");
  }
  markClientInUse(state, client.client_id); // A9: a client in use is never evicted by a registration flood
  return { client, redirect_uri };
}

/** S3: what the demo user's policy grants of a request — the requested scopes she may grant (RFC 6749 §3.3: maybe fewer). */
export function grantScope(requested: readonly string[], grantable: readonly string[]): string[] {
  return inCatalogOrder(requested.filter((s) => grantable.includes(s)));
}

/** The requested scope, validated, and what the demo user may be granted of it (S3, RFC 6749 §3.3). */
function scopeOf(state: AsState, requested: string | undefined): { requested: string[]; grantable: string[] } {
  // A10 / RFC 6749 §3.3: single-space-separated tokens, nothing else (scopeParam throws invalid_scope).
  const scopes = requested === undefined ? DEFAULT_SCOPE : scopeParam(requested);
  const unknown = scopes.filter((s) => !(SCOPE_CATALOG as readonly string[]).includes(s));
  if (unknown.length > 0) throw new InvalidScope(`unknown scope: ${unknown.join(" ")}`);
  const grantable = state.policy.grantScope(scopes, state.config.grantableScopes);
  if (grantable.length === 0) throw new AccessDenied(`the demo user may not grant ${formatScope(scopes)}`);
  return { requested: scopes, grantable };
}

/** The authorization response (RFC 6749 §4.1.2): a 302 to the client, with `state` and `iss` (RFC 9207 §2). */
export function respondToClient(res: Response, issuer: string, target: ResponseTarget, result: Record<string, string>): void {
  res.status(302).setHeader("Location", redirectTo(target.redirect_uri, { ...result, state: target.state, iss: issuer }));
  res.end();
}

/** An error of RFC 6749 §4.1.2.1, redirected to the client. */
export function redirectError(res: Response, issuer: string, target: ResponseTarget, error: OAuthError): void {
  respondToClient(res, issuer, target, { error: error.error, error_description: error.error_description });
}

/** A5: a random, single-use code, valid ≤ 60 s, bound to everything /token will check. */
export function issueCode(state: AsState, request: AuthorizationRequest, scope: string[]): string {
  const code = nanoid(32);
  state.codes.set(
    code,
    {
      client_id: request.client.client_id,
      redirect_uri: request.redirect_uri,
      code_challenge: request.code_challenge,
      scope,
      resource: request.resource,
      sub: DEMO_USER,
      expiresAt: state.now() + CODE_TTL_MS,
    },
    state.now() + CODE_TTL_MS,
  );
  // `requested` holds catalog names only (scopeOf refused any other), so it cannot inject a log line.
  state.logger.info(
    `authorized client_id=${request.client.client_id} sub=${DEMO_USER} requested="${formatScope(request.requested)}" scope="${formatScope(scope)}" code=${redact(code)}`,
  );
  return code;
}

export function authorizeHandler(state: AsState, { prompt, informResourceOwner }: { prompt?: ConsentPrompt; informResourceOwner?: InformResourceOwner } = {}) {
  return (req: Request, res: Response): void => {
    const params = queryParams(req);
    let trusted: { client: ClientRecord; redirect_uri: string };
    try {
      trusted = trustedRedirect(state, params);
    } catch (error) {
      // RFC 6749 §4.1.2.1: the AS "SHOULD inform the resource owner of the error" — a person reads a page.
      if (error instanceof OAuthError && informResourceOwner?.(req, res, error)) return;
      throw error;
    }
    const { client, redirect_uri } = trusted;

    // From here on the redirect URI is trusted: protocol errors go back to the client.
    const target = { redirect_uri, state: params.duplicated.includes("state") ? undefined : params.get("state") };

    try {
      // RFC 6749 §3.1: a parameter must not be included more than once.
      if (params.duplicated.length > 0) throw new InvalidRequest(`repeated parameter: ${params.duplicated.join(", ")}`);

      const response_type = params.get("response_type");
      if (!response_type) throw new InvalidRequest("response_type is required");
      if (response_type !== "code") throw new UnsupportedResponseType("only response_type code is supported");

      // RFC 7636 §4.4.1 / OAuth 2.1 §4.1.1: PKCE is required, S256 only (a missing method would mean "plain").
      const code_challenge = params.get("code_challenge");
      if (!code_challenge) throw new InvalidRequest("code_challenge is required (PKCE, RFC 7636)");
      if (params.get("code_challenge_method") !== "S256") throw new InvalidRequest("code_challenge_method must be S256");
      if (!isS256CodeChallenge(code_challenge)) throw new InvalidRequest("code_challenge must be 43 base64url characters (S256)");

      // RFC 8707 §2: the token is for exactly one resource, the RS's.
      const resource = params.get("resource");
      if (!resource) throw new InvalidTarget(`resource is required (RFC 8707): ${state.config.resource}`);
      if (resource !== state.config.resource) throw new InvalidTarget(`unknown resource; this AS issues tokens for ${state.config.resource}`);

      const request: AuthorizationRequest = { client, ...target, code_challenge, resource, ...scopeOf(state, params.get("scope")) };
      // A11: with a consent page the user decides, after every check above (as/extras/consent.ts answers the form).
      if (prompt) return prompt(req, res, request);
      respondToClient(res, state.config.issuer, target, { code: issueCode(state, request, request.grantable) });
    } catch (error) {
      if (!(error instanceof OAuthError)) throw error;
      state.logger.info(`authorization refused client_id=${client.client_id} error=${error.error}`);
      redirectError(res, state.config.issuer, target, error);
    }
  };
}
