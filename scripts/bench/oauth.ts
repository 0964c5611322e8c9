/**
 * The AS traffic the throughput benchmarks need, as plain HTTP requests a client would send (A3–A6):
 * register a public client (RFC 7591), build authorization requests with PKCE S256 (RFC 7636) and
 * `resource` (RFC 8707), read the code from the `302`, and build token requests (RFC 6749 §4.1.3, §6).
 * The requests are `LoadRequest`s, so the load generator can send thousands of them.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Config } from "../../shared/config.ts";
import type { LoadRequest, LoadResponse } from "./load.ts";

/** RFC 8252 §7.3 loopback redirect; nothing listens on it: the code is read from `Location`. */
export const REDIRECT_URI = "http://127.0.0.1:8977/callback";

const FORM = { "content-type": "application/x-www-form-urlencoded" };

/** POST /register for a public native client with refresh tokens (C2's metadata); returns `client_id`. */
export async function registerClient(config: Config, client_name = "bench client"): Promise<string> {
  const response = await fetch(`${config.issuer}/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      client_name,
      redirect_uris: [REDIRECT_URI],
      application_type: "native",
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    }),
    signal: AbortSignal.timeout(10_000),
  });
  const body = (await response.json()) as { client_id?: string };
  if (response.status !== 201 || !body.client_id) throw new Error(`registration failed: ${response.status} ${JSON.stringify(body)}`);
  return body.client_id;
}

export interface PendingCode {
  client_id: string;
  code_verifier: string;
  /** Filled in from the `302`. */
  code?: string;
}

/** A fresh PKCE pair: 43 characters of the unreserved set (RFC 7636 §4.1) and its S256 challenge (§4.2). */
export function pkcePair(): { code_verifier: string; code_challenge: string } {
  const code_verifier = randomBytes(32).toString("base64url");
  return { code_verifier, code_challenge: createHash("sha256").update(code_verifier).digest("base64url") };
}

/** The parameters of a complete, valid authorization request (RFC 6749 §4.1.1, PKCE S256, RFC 8707 `resource`). */
export function authorizationParams(config: Config, client_id: string, code_challenge: string, redirect_uri = REDIRECT_URI): Record<string, string> {
  return {
    response_type: "code",
    client_id,
    redirect_uri,
    code_challenge,
    code_challenge_method: "S256",
    resource: config.resource,
    state: randomBytes(8).toString("base64url"),
  };
}

/** A GET /authorize for `client_id` with a fresh PKCE pair; the verifier is kept in `pending`. */
export function authorizationRequest(config: Config, client_id: string, scope: string): { request: LoadRequest; pending: PendingCode } {
  const { code_verifier, code_challenge } = pkcePair();
  const query = new URLSearchParams({ ...authorizationParams(config, client_id, code_challenge), scope });
  return { request: { method: "GET", path: `/authorize?${query}` }, pending: { client_id, code_verifier } };
}

/** The `code` of a successful authorization response (`302` to our redirect URI), else undefined. */
export function codeFrom(response: LoadResponse): string | undefined {
  const location = response.headers.location;
  if (response.status !== 302 || !location?.startsWith(`${REDIRECT_URI}?`)) return undefined;
  return new URL(location).searchParams.get("code") ?? undefined;
}

/** POST /token, grant_type=authorization_code (RFC 6749 §4.1.3 + PKCE + RFC 8707 `resource`). */
export function codeExchangeRequest(config: Config, { client_id, code, code_verifier }: Required<PendingCode>): LoadRequest {
  const body = new URLSearchParams({
    grant_type: "authorization_code",
    client_id,
    code,
    code_verifier,
    redirect_uri: REDIRECT_URI,
    resource: config.resource,
  });
  return { method: "POST", path: "/token", headers: FORM, body: body.toString() };
}

/** POST /token, grant_type=refresh_token (RFC 6749 §6), same scope. */
export function refreshRequest(config: Config, client_id: string, refresh_token: string): LoadRequest {
  const body = new URLSearchParams({ grant_type: "refresh_token", client_id, refresh_token, resource: config.resource });
  return { method: "POST", path: "/token", headers: FORM, body: body.toString() };
}

export interface TokenResponse {
  access_token: string;
  refresh_token?: string;
  scope: string;
}

/** A 200 token response with an access token (and, when `needRefresh`, a refresh token), else undefined. */
export function tokensFrom(response: LoadResponse, needRefresh: boolean): TokenResponse | undefined {
  if (response.status !== 200) return undefined;
  try {
    const body = JSON.parse(response.body) as Partial<TokenResponse>;
    if (typeof body.access_token !== "string" || (needRefresh && typeof body.refresh_token !== "string")) return undefined;
    return body as TokenResponse;
  } catch {
    return undefined;
  }
}

/** Register → authorize → token, one client, over fetch: the tokens a P2 worker calls the RS with. */
export async function obtainTokens(config: Config, scope: string): Promise<TokenResponse & { client_id: string }> {
  const client_id = await registerClient(config);
  const { request, pending } = authorizationRequest(config, client_id, scope);
  const authorization = await fetch(`${config.issuer}${request.path}`, { redirect: "manual", signal: AbortSignal.timeout(10_000) });
  const code = codeFrom({
    status: authorization.status,
    headers: { location: authorization.headers.get("location") ?? undefined },
    body: "",
  });
  if (!code) throw new Error(`authorization failed: ${authorization.status} ${await authorization.text()}`);
  const exchange = codeExchangeRequest(config, { ...pending, code });
  const response = await fetch(`${config.issuer}${exchange.path}`, {
    method: "POST",
    headers: FORM,
    body: exchange.body,
    signal: AbortSignal.timeout(10_000),
  });
  const tokens = tokensFrom({ status: response.status, headers: {}, body: await response.text() }, false);
  if (!tokens) throw new Error(`code exchange failed: ${response.status}`);
  return { ...tokens, client_id };
}
