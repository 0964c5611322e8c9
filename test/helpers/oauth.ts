/**
 * Plain-fetch helpers that drive the real AS endpoints the way a client would (A2–A8): DCR, a
 * headless authorization request, code exchange, refresh and revocation. For integration tests across
 * the project — they speak only HTTP, so they test the AS as much as they use it. (The one exception,
 * `startAuthorizationServer`, builds an AS alone on port 0 for the AS's own tests.)
 *
 * The `post*` / `authorize` / `revoke` helpers return the raw `Response` (for rejection tests); the
 * others check the happy path with `node:assert/strict` and return the parsed JSON.
 */
import assert from "node:assert/strict";
import type { Express } from "express";
import { loadConfig, type Config } from "../../shared/config.ts";
import { closeServer, listenLoopback } from "../../shared/listen.ts";
import { createApp } from "../../as/app.ts";
import { authorizationParams as requestParams, pkcePair } from "../../scripts/bench/oauth.ts";
import { asExtras } from "../../as/extras/index.ts";
import { silentLogger, type Logger } from "../../shared/log.ts";
import type { Limits } from "../../as/state.ts";

/** The redirect URI the helpers register by default (a loopback IP literal, RFC 8252 §7.3). */
export const REDIRECT_URI = "http://127.0.0.1:8765/callback";

/** What a client sends to `POST /register` (RFC 7591 §2) — the defaults of C2. */
export interface ClientMetadata {
  redirect_uris: string[];
  application_type?: string;
  grant_types?: string[];
  response_types?: string[];
  token_endpoint_auth_method?: string;
  client_name?: string;
  [extension: string]: unknown;
}

/** The `201` body of `POST /register` (RFC 7591 §3.2.1). */
export interface RegisteredClient extends ClientMetadata {
  client_id: string;
  client_id_issued_at: number;
  application_type: string;
  grant_types: string[];
  response_types: string[];
  token_endpoint_auth_method: string;
}

/** A successful token response (RFC 6749 §5.1, as A6 shapes it) — the AS's own type. */
export type { TokenResponse } from "../../as/grants/issue.ts";
import type { TokenResponse } from "../../as/grants/issue.ts";

/** Parameters of the authorization request; `undefined` omits one, an array sends it repeatedly. */
export type AuthorizeParams = Record<string, string | string[] | undefined>;

export const defaultClientMetadata = (): ClientMetadata => ({
  redirect_uris: [REDIRECT_URI],
  application_type: "native",
  grant_types: ["authorization_code", "refresh_token"],
  response_types: ["code"],
  token_endpoint_auth_method: "none",
  client_name: "test client",
});

// ---- Dynamic Client Registration (RFC 7591) ----

/** `POST /register` with any body; a non-string body is sent as JSON. */
export function postRegister(config: Config, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${config.issuer}/register`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** Register a client (C2's metadata unless overridden); asserts `201`. */
export async function registerClient(config: Config, overrides: Partial<ClientMetadata> = {}): Promise<RegisteredClient> {
  const response = await postRegister(config, { ...defaultClientMetadata(), ...overrides });
  const body = (await response.json()) as RegisteredClient;
  assert.equal(response.status, 201, `registration failed: ${JSON.stringify(body)}`);
  return body;
}

export { pkcePair };

// ---- Authorization request (RFC 6749 §4.1.1), followed headlessly ----

/** The authorization URL for exactly these parameters. */
export function authorizationUrl(config: Config, params: AuthorizeParams): URL {
  const url = new URL(`${config.issuer}/authorize`);
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) url.searchParams.append(name, v);
  }
  return url;
}

/** `GET /authorize` with exactly these parameters; the raw response (`redirect: "manual"`). */
export function authorize(config: Config, params: AuthorizeParams): Promise<Response> {
  return fetch(authorizationUrl(config, params), { redirect: "manual" });
}

/** A complete, valid authorization request for `client_id` (override or omit any parameter). */
export function authorizationParams(config: Config, client_id: string, code_challenge: string, overrides: AuthorizeParams = {}): AuthorizeParams {
  return { ...requestParams(config, client_id, code_challenge, REDIRECT_URI), ...overrides };
}

export interface AuthorizationCode {
  code: string;
  code_verifier: string;
  redirect_uri: string;
  /** The parsed `Location` of the `302` (holds `code`, `state`, `iss`). */
  location: URL;
}

/** Run the authorization request and return the code; asserts a `302` to the redirect URI with a code. */
export async function obtainCode(
  config: Config,
  { client_id, scope, redirect_uri = REDIRECT_URI, params = {} }: {
    client_id: string;
    scope?: string;
    redirect_uri?: string;
    params?: AuthorizeParams;
  },
): Promise<AuthorizationCode> {
  const { code_verifier, code_challenge } = pkcePair();
  const response = await authorize(
    config,
    authorizationParams(config, client_id, code_challenge, { scope, redirect_uri, ...params }),
  );
  assert.equal(response.status, 302, `authorization failed: ${response.status} ${await response.text()}`);
  const location = new URL(response.headers.get("location") ?? "");
  const code = location.searchParams.get("code");
  assert.ok(code, `no code in ${location.href}`);
  return { code, code_verifier, redirect_uri, location };
}

// ---- Token endpoint (RFC 6749 §3.2, §4.1.3, §6) ----

/** `POST /token` with a form body (entries with `undefined` are omitted, arrays are repeated). */
export function postToken(config: Config, form: AuthorizeParams): Promise<Response> {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(form)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) body.append(name, v);
  }
  return fetch(`${config.issuer}/token`, { method: "POST", body }); // fetch sets the form content type
}

async function expectTokens(response: Response): Promise<TokenResponse> {
  const body = (await response.json()) as TokenResponse;
  assert.equal(response.status, 200, `token request failed: ${JSON.stringify(body)}`);
  return body;
}

/** Redeem a code (`resource` defaults to the RS's); asserts `200`. */
export async function exchangeCode(
  config: Config,
  { client_id, code, code_verifier, redirect_uri = REDIRECT_URI, resource = config.resource }: {
    client_id: string;
    code: string;
    code_verifier: string;
    redirect_uri?: string;
    resource?: string;
  },
): Promise<TokenResponse> {
  return expectTokens(
    await postToken(config, { grant_type: "authorization_code", client_id, code, code_verifier, redirect_uri, resource }),
  );
}

/** Register (unless `client` is given) → authorize → token. Asserts every step succeeded. */
export async function obtainTokens(
  config: Config,
  { scope, client }: { scope?: string; client?: RegisteredClient } = {},
): Promise<TokenResponse & { client_id: string; client: RegisteredClient }> {
  const registered = client ?? (await registerClient(config));
  const { code, code_verifier, redirect_uri } = await obtainCode(config, { client_id: registered.client_id, scope });
  const tokens = await exchangeCode(config, { client_id: registered.client_id, code, code_verifier, redirect_uri });
  return { ...tokens, client_id: registered.client_id, client: registered };
}

/** Refresh (RFC 6749 §6); asserts `200`. Use `postToken` directly to test a refusal. */
export async function refresh(
  config: Config,
  { client_id, refresh_token, scope, resource }: { client_id: string; refresh_token: string; scope?: string; resource?: string },
): Promise<TokenResponse> {
  return expectTokens(await postToken(config, { grant_type: "refresh_token", client_id, refresh_token, scope, resource }));
}

// ---- Revocation (RFC 7009) ----

export function revoke(
  config: Config,
  { client_id, token, token_type_hint }: { client_id: string; token: string; token_type_hint?: string },
): Promise<Response> {
  const body = new URLSearchParams({ client_id, token });
  if (token_type_hint) body.set("token_type_hint", token_type_hint);
  return fetch(`${config.issuer}/revoke`, { method: "POST", body });
}

// ---- An AS alone, on a free loopback port ----

export interface TestAuthorizationServer {
  config: Config;
  app: Express;
  /** The AS's clock: real time plus whatever `advance` added. */
  clock: { now(): number; advance(ms: number): void };
  close(): Promise<void>;
}

/**
 * Start only the AS, in-process on port 0 (bound first, so the issuer carries the real port), with the
 * extras its configuration asks for, as `as/server.ts` does. The resource is derived from `RS_PORT` as
 * usual; nothing is listening there, and nothing needs to be.
 */
export async function startAuthorizationServer(
  env: Record<string, string> = {},
  options: { limits?: Partial<Limits>; logger?: Logger } = {},
): Promise<TestAuthorizationServer> {
  const { server, address } = await listenLoopback(0);
  const config = loadConfig({ RS_PORT: "3000", ...env, AS_PORT: String(address.port) });
  let offset = 0;
  const clock = { now: () => Date.now() + offset, advance: (ms: number) => void (offset += ms) };
  const app = await createApp(config, { now: clock.now, ...options, extras: asExtras(config, options.logger ?? silentLogger) });
  server.on("request", app);
  return { config, app, clock, close: () => closeServer(server) };
}

// ---- Assertions on responses ----

/** Assert a spec-shaped JSON error (`{error, error_description}`) with this status and code; returns the body. */
export async function expectOAuthError(
  response: Response,
  status: number,
  error: string,
): Promise<{ error: string; error_description: string }> {
  const text = await response.text();
  assert.equal(response.status, status, `expected ${status} ${error}, got ${response.status} ${text}`);
  assert.match(response.headers.get("content-type") ?? "", /^application\/json/);
  const body = JSON.parse(text) as { error: string; error_description: string };
  assert.equal(body.error, error, text);
  assert.equal(typeof body.error_description, "string");
  assert.ok(body.error_description.length > 0);
  return body;
}

/** The query of an authorization response's `Location` (asserting it is a `302` to `redirect_uri`). */
export function redirectParams(response: Response, redirect_uri = REDIRECT_URI): URLSearchParams {
  assert.equal(response.status, 302, `expected a redirect, got ${response.status}`);
  const location = response.headers.get("location") ?? "";
  assert.ok(location.startsWith(`${redirect_uri}?`), `redirected to ${location}, not ${redirect_uri}`);
  return new URL(location).searchParams;
}
