/**
 * Every error the AS answers with, in one place (node-oidc-provider style): each carries its HTTP status,
 * the registered `error` code and a human-readable `error_description`, and serializes to the JSON body
 * of RFC 6749 §5.2 / RFC 7591 §3.2.2 / RFC 7009 §2.2.1.
 */
import { restrictedText } from "../shared/error-text.ts";

export class OAuthError extends Error {
  override name = "OAuthError";

  /** RFC 6749 §5.2 / RFC 7591 §3.2.2: only %x20-21 / %x23-5B / %x5D-7E, whatever input it mentions. */
  readonly error_description: string;

  readonly status: number;
  readonly error: string;
  /** Extra response headers (e.g. `Retry-After`). */
  readonly headers: Record<string, string>;

  constructor(status: number, error: string, description: string, headers: Record<string, string> = {}) {
    super(`${error}: ${restrictedText(description)}`);
    this.status = status;
    this.error = error;
    this.headers = headers;
    this.error_description = restrictedText(description);
  }

  toJSON(): { error: string; error_description: string } {
    return { error: this.error, error_description: this.error_description };
  }
}

// ---- RFC 6749 §4.1.2.1 (authorization endpoint) and §5.2 (token endpoint) ----

export class InvalidRequest extends OAuthError {
  constructor(description: string, status = 400) {
    super(status, "invalid_request", description);
  }
}

/** RFC 6749 §5.2: client authentication failed (here: an unknown `client_id`). */
export class InvalidClient extends OAuthError {
  /**
   * RFC 6749 §5.2: 401 (with `WWW-Authenticate`) only when the client authenticated through the
   * `Authorization` header. Public clients here name themselves in the body, so it is 400.
   */
  constructor(description: string, status = 400) {
    super(status, "invalid_client", description);
  }
}

/**
 * RFC 6749 §5.2: a client that authenticated through the `Authorization` header (HTTP Basic) and failed
 * gets 401, with a challenge naming the scheme (RFC 7617 §2).
 */
export class InvalidClientCredentials extends OAuthError {
  constructor(issuer: string, description: string) {
    super(401, "invalid_client", description, { "WWW-Authenticate": `Basic realm="${issuer}"` });
  }
}

export class InvalidGrant extends OAuthError {
  constructor(description: string) {
    super(400, "invalid_grant", description);
  }
}

export class UnauthorizedClient extends OAuthError {
  constructor(description: string) {
    super(400, "unauthorized_client", description);
  }
}

export class UnsupportedGrantType extends OAuthError {
  constructor(description: string) {
    super(400, "unsupported_grant_type", description);
  }
}

export class UnsupportedResponseType extends OAuthError {
  constructor(description: string) {
    super(400, "unsupported_response_type", description);
  }
}

export class InvalidScope extends OAuthError {
  constructor(description: string) {
    super(400, "invalid_scope", description);
  }
}

/** RFC 6749 §4.1.2.1: the resource owner denied the request (the consent page's Deny, or S3's grantable scopes). */
export class AccessDenied extends OAuthError {
  constructor(description: string) {
    super(403, "access_denied", description);
  }
}

/**
 * RFC 6749 §4.1.2.1: the AS cannot handle the request now (overloaded) — redirected, since an HTTP 503
 * cannot reach the client through the user-agent. Here: too many consent pages for one client (A11).
 */
export class TemporarilyUnavailable extends OAuthError {
  constructor(description: string) {
    super(503, "temporarily_unavailable", description);
  }
}

/** RFC 8707 §2: the requested `resource` is missing, invalid or not one this AS issues tokens for. */
export class InvalidTarget extends OAuthError {
  constructor(description: string) {
    super(400, "invalid_target", description);
  }
}

// ---- RFC 7009 §2.2.1 (token revocation) ----

export class UnsupportedTokenType extends OAuthError {
  constructor(description: string) {
    super(400, "unsupported_token_type", description);
  }
}

// ---- RFC 7591 §3.2.2 (dynamic client registration) ----

export class InvalidRedirectUri extends OAuthError {
  constructor(description: string) {
    super(400, "invalid_redirect_uri", description);
  }
}

export class InvalidClientMetadata extends OAuthError {
  constructor(description: string) {
    super(400, "invalid_client_metadata", description);
  }
}

// ---- HTTP-level conditions, answered in the same JSON shape ----

/**
 * RFC 6585 §4. There is no registered OAuth error code for rate limiting; `too_many_requests` names the
 * HTTP condition, and `Retry-After` (RFC 9110 §10.2.3) says when to try again, in seconds.
 */
export class TooManyRequests extends OAuthError {
  constructor(retryAfterSeconds: number, reason = "too many client registrations from this host") {
    super(429, "too_many_requests", `${reason}; retry in ${retryAfterSeconds} s`, {
      "Retry-After": String(retryAfterSeconds),
    });
  }
}

export class NotFound extends OAuthError {
  constructor(description: string) {
    super(404, "not_found", description);
  }
}

export class MethodNotAllowed extends OAuthError {
  constructor(method: string, allow: string) {
    super(405, "invalid_request", `${method} is not allowed here; use ${allow}`, { Allow: allow });
  }
}

/** Never expected: the catch-all for a bug, so even then the answer is JSON and carries no internals. */
export class ServerError extends OAuthError {
  constructor() {
    super(500, "server_error", "the authorization server hit an unexpected condition");
  }
}
