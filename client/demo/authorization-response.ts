/**
 * Reading the authorization response (C1). Headless, the AS's `302` is never followed, only its
 * `Location` is read; with `--browser` (C7), the browser brings the same redirect to the loopback
 * listener (browser-login.ts). Either way it is checked here before the `code` may be redeemed.
 *
 * Checks, in order: a `302` (headless only) · to the registered `redirect_uri` (compared by parsing, so
 * `/callbackevil` is not `/callback`) · `state` (RFC 6749 §10.12, CSRF) · `iss` (RFC 9207 §2.4,
 * mix-up) · then the AS's `error`, or the `code`.
 */

export class AuthorizationResponseError extends Error {
  override name = "AuthorizationResponseError";
  constructor(
    message: string,
    /** The AS's `error` code, when the AS sent one (RFC 6749 §4.1.2.1). */
    readonly error?: string,
    readonly errorDescription?: string,
  ) {
    super(message);
  }
}

/** What the client recorded about the AS it sent the user to (RFC 9207). */
export interface IssuerExpectation {
  /** The `issuer` of the AS metadata (RFC 8414 §3.3 checked at discovery). */
  issuer: string;
  /** The metadata's `authorization_response_iss_parameter_supported`. */
  issParameterSupported: boolean;
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

export interface AuthorizationResponse extends AuthorizationExpectation {
  status: number;
  /** The response's `Location` header. */
  location: string | null;
  /** The authorization URL the client fetched (a relative `Location` resolves against it). */
  authorizationUrl: URL;
  /** For the message when the AS answered without redirecting (e.g. its JSON error). */
  bodyText?: string;
}

/** Validate a headless authorization response; returns the `code` or throws AuthorizationResponseError. */
export function readAuthorizationResponse(response: AuthorizationResponse): { code: string } {
  if (response.status === 200 && /^\s*<(!doctype html|html)/i.test(response.bodyText ?? "")) {
    // A login or consent page: a person has to answer it (C7).
    throw new AuthorizationResponseError(
      "the authorization endpoint answered with a web page (login or consent), not a 302 redirect: " +
        "a person must authorize — run again with --browser",
    );
  }
  if (response.status !== 302) {
    // RFC 6749 §4.1.2.1: with an unknown client_id or redirect_uri the AS must not redirect; this one
    // answers with a JSON error body (A4), whose `error` says what to do — `invalid_client`: register again.
    const { error, error_description } = jsonError(response.bodyText);
    const body = response.bodyText ? `: ${response.bodyText.slice(0, 300)}` : "";
    throw new AuthorizationResponseError(
      `authorization endpoint answered ${response.status}, not a 302 redirect${body}`,
      error,
      error_description,
    );
  }
  if (!response.location) throw new AuthorizationResponseError("authorization endpoint sent a 302 without Location");
  let target: URL;
  try {
    target = new URL(response.location, response.authorizationUrl);
  } catch {
    throw new AuthorizationResponseError("authorization endpoint sent an unparseable Location");
  }
  return checkAuthorizationRedirect(target, response);
}

/**
 * The redirect that carries the authorization response, wherever it was read — a headless `Location`
 * or the request a browser made to the loopback redirect URI (browser-login.ts): one set of checks.
 */
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
