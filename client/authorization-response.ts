/**
 * The authorization response (C1): where the user agent was redirected after `/authorize`, checked
 * before its `code` may be redeemed. Headless, the AS's `302` is never followed, only its `Location` is
 * read (`headlessUserAgent`); with `pnpm client --browser` a person's browser brings the same redirect
 * to a loopback listener (client/cli/browser-login.ts). Either way `checkAuthorizationRedirect` decides:
 *
 *   the registered `redirect_uri` (compared by parsing, so `/callbackevil` is not `/callback`)
 *   → `state` (RFC 6749 §10.12, CSRF) → `iss` (RFC 9207 §2.4, mix-up) → the AS's `error`, or the `code`.
 */
import type { FetchLike } from "@modelcontextprotocol/sdk/shared/transport.js";

export class AuthorizationResponseError extends Error {
  override name = "AuthorizationResponseError";
  /** The AS's `error` code, when the AS sent one (RFC 6749 §4.1.2.1). */
  readonly error?: string;
  readonly errorDescription?: string;

  constructor(message: string, error?: string, errorDescription?: string) {
    super(message);
    this.error = error;
    this.errorDescription = errorDescription;
  }
}

/** What the client recorded about the AS it sent the user to (RFC 9207). */
export interface IssuerExpectation {
  /** The `issuer` of the AS metadata (RFC 8414 §3.3 checked at discovery). */
  issuer: string;
  /** The metadata's `authorization_response_iss_parameter_supported`. */
  issParameterSupported: boolean;
}

/** RFC 9207 §3: what the AS metadata says about `iss` (the v1 SDK's metadata type lacks the field). */
export function issuerExpectation(metadata: { issuer: string }): IssuerExpectation {
  const supported = (metadata as { authorization_response_iss_parameter_supported?: unknown }).authorization_response_iss_parameter_supported;
  return { issuer: metadata.issuer, issParameterSupported: supported === true };
}

/**
 * RFC 9207 §2.4 — the `iss` table:
 *
 * | AS advertises support | `iss` in response | verdict                  |
 * |-----------------------|-------------------|--------------------------|
 * | yes                   | absent            | reject                   |
 * | yes / no              | ≠ recorded issuer | reject                   |
 * | yes / no              | = recorded issuer | accept                   |
 * | no                    | absent            | accept                   |
 *
 * Comparison is simple string comparison (RFC 3986 §6.2.1), no normalization.
 */
export function checkIssParameter(iss: string | null | undefined, expected: IssuerExpectation): void {
  if (iss === null || iss === undefined) {
    if (expected.issParameterSupported) {
      throw new AuthorizationResponseError(
        `RFC 9207 §2.4: ${expected.issuer} advertises authorization_response_iss_parameter_supported, but the response has no iss`,
      );
    }
    return;
  }
  if (iss !== expected.issuer) {
    throw new AuthorizationResponseError(
      `RFC 9207 §2.4: iss ${JSON.stringify(iss)} is not the issuer the request was sent to (${expected.issuer}) — possible mix-up attack`,
    );
  }
}

/** Is `location` the registered redirect URI (scheme, host, port and path exactly; no userinfo)? */
export function isRegisteredRedirect(location: URL, redirectUri: string): boolean {
  const registered = new URL(redirectUri);
  return (
    location.protocol === registered.protocol &&
    location.host === registered.host &&
    location.pathname === registered.pathname &&
    location.username === "" &&
    location.password === ""
  );
}

/** What the client expects of the authorization response it asked for. */
export interface AuthorizationExpectation {
  redirectUri: string;
  expectedState: string;
  issuer: IssuerExpectation;
}

/**
 * Opens the authorization URL and resolves with the URL the user agent was redirected to (its query is
 * the authorization response). The demo's is headless; `pnpm client --browser` passes a person's browser.
 */
export type UserAgent = (authorizationUrl: URL) => Promise<URL>;

/**
 * The headless user agent: GET the authorization URL with `redirect: "manual"` and read the `302`'s
 * `Location` — the demo AS consents at once. Anything else is an error that says why: a login or consent
 * page (a person must answer it), or the AS's JSON error when it must not redirect (RFC 6749 §4.1.2.1:
 * an unknown `client_id` is `invalid_client`, which tells a client the AS forgot it to register again).
 */
export function headlessUserAgent(fetchFn: FetchLike): UserAgent {
  return async (authorizationUrl) => {
    const response = await fetchFn(authorizationUrl, { method: "GET", redirect: "manual" });
    const bodyText = response.status === 302 ? undefined : await textStart(response).catch(() => undefined);
    await response.body?.cancel().catch(() => {});
    if (response.status === 200 && /^\s*<(!doctype html|html)/i.test(bodyText ?? "")) {
      throw new AuthorizationResponseError(
        "the authorization endpoint answered with a web page (login or consent), not a 302 redirect: " +
          "a person must authorize — run again with --browser",
      );
    }
    if (response.status !== 302) {
      const { error, error_description } = jsonError(bodyText);
      const body = bodyText ? `: ${bodyText.slice(0, 300)}` : "";
      throw new AuthorizationResponseError(`authorization endpoint answered ${response.status}, not a 302 redirect${body}`, error, error_description);
    }
    const location = response.headers.get("location");
    if (!location) throw new AuthorizationResponseError("authorization endpoint sent a 302 without Location");
    if (!URL.canParse(location, authorizationUrl)) throw new AuthorizationResponseError("authorization endpoint sent an unparseable Location");
    return new URL(location, authorizationUrl);
  };
}

/** C1: the redirect that carries the authorization response, however it arrived — one set of checks. */
export function checkAuthorizationRedirect(target: URL, response: AuthorizationExpectation): { code: string } {
  if (!isRegisteredRedirect(target, response.redirectUri)) {
    throw new AuthorizationResponseError(
      `redirected to ${target.origin}${target.pathname}, which is not the registered redirect_uri ${response.redirectUri}`,
    );
  }
  const params = target.searchParams;
  for (const name of ["code", "state", "iss", "error"]) {
    if (params.getAll(name).length > 1) throw new AuthorizationResponseError(`authorization response repeats ${name}`);
  }
  if (params.get("state") !== response.expectedState) {
    throw new AuthorizationResponseError("RFC 6749 §10.12: state does not match the one this client sent (CSRF)");
  }
  checkIssParameter(params.get("iss"), response.issuer);
  const error = params.get("error");
  if (error) {
    const description = params.get("error_description") ?? undefined;
    throw new AuthorizationResponseError(
      `authorization refused: ${error}${description ? ` (${description})` : ""}`,
      error,
      description,
    );
  }
  const code = params.get("code");
  if (!code) throw new AuthorizationResponseError("authorization response carries neither code nor error");
  return { code };
}

/** The first 16 KB of a body, never more: an AS's error page or JSON error, not whatever it streams. */
async function textStart(response: Response, limit = 16 * 1024): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return "";
  const chunks: Uint8Array[] = [];
  for (let size = 0; size < limit; ) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.length;
  }
  await reader.cancel().catch(() => {});
  return new TextDecoder().decode(Buffer.concat(chunks).subarray(0, limit));
}

/** `{error, error_description}` of an OAuth-style JSON error body (RFC 6749 §5.2 shape), if that is what it is. */
function jsonError(bodyText: string | undefined): { error?: string; error_description?: string } {
  try {
    const body: unknown = JSON.parse(bodyText ?? "");
    if (!body || typeof body !== "object") return {};
    const { error, error_description } = body as Record<string, unknown>;
    return {
      error: typeof error === "string" ? error : undefined,
      error_description: typeof error_description === "string" ? error_description : undefined,
    };
  } catch {
    return {};
  }
}
