/**
 * `POST /register` — Dynamic Client Registration (RFC 7591), hardened (A3).
 *
 * Public clients only, loopback redirect URIs only. Fields this AS does not know (logo_uri, scope,
 * software_statement, …) are ignored and not echoed: the response lists exactly what was registered
 * (RFC 7591 §3.2.1), so a client can see what the AS will hold it to.
 */
import type { Request, Response } from "express";
import { nanoid } from "nanoid";
import { InvalidClientMetadata, InvalidRedirectUri, InvalidRequest, TooManyRequests } from "./errors.ts";
import { hasBody } from "./params.ts";
import { validateRedirectUri } from "./redirect-uri.ts";
import { markClientInUse, type AsState, type ClientRecord, type PublicClientRecord } from "./state.ts";

export const MAX_REDIRECT_URIS = 10;
export const MAX_CLIENT_NAME_LENGTH = 200;

const GRANT_TYPES = ["authorization_code", "refresh_token"] as const;

/** A3 defaults apply to omitted fields only (not to `null`, which then fails the field's type check). */
function orDefault(value: unknown, fallback: unknown): unknown {
  return value === undefined ? fallback : value;
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === "string");
}

/** RFC 7591 §2: `redirect_uris`, an array of 1 to `MAX_REDIRECT_URIS` strings (their policy: `checkRedirectUris`). */
function redirectUris(value: unknown): string[] {
  if (value === undefined) throw new InvalidRedirectUri("redirect_uris is required (RFC 7591 section 2)");
  if (!Array.isArray(value)) throw new InvalidClientMetadata("redirect_uris must be an array of strings");
  if (value.length === 0) throw new InvalidRedirectUri("redirect_uris must contain at least one redirect URI");
  if (value.length > MAX_REDIRECT_URIS) throw new InvalidClientMetadata(`at most ${MAX_REDIRECT_URIS} redirect_uris are accepted`);
  const i = value.findIndex((uri) => typeof uri !== "string");
  if (i !== -1) throw new InvalidRedirectUri(`redirect_uris[${i}] is not a string`);
  return value as string[];
}

/** A3 / RFC 8252 §7.3: every entry an absolute, loopback, fragment-free http(s) URI — judged on the raw string. */
function checkRedirectUris(redirect_uris: string[], validate = validateRedirectUri): void {
  for (const [i, uri] of redirect_uris.entries()) {
    const verdict = validate(uri);
    if (!verdict.ok) throw new InvalidRedirectUri(`redirect_uris[${i}] ${verdict.reason}`);
  }
}

/** Validate client metadata and apply the defaults of A3; throws a spec-shaped error on the first problem. */
export function clientMetadata(body: Record<string, unknown>): ClientMetadata {
  const metadata = metadataFields(body);
  checkRedirectUris(metadata.redirect_uris);
  return metadata;
}

type ClientMetadata = Omit<PublicClientRecord, "client_id" | "client_id_issued_at">;

/** Every A3 rule but the redirect-URI policy. */
function metadataFields(body: Record<string, unknown>): ClientMetadata {
  const redirect_uris = redirectUris(body.redirect_uris);

  // SEP-837 / OIDC Registration §2: `native` unless the client says otherwise. Only an omitted field takes
  // the default: `null` is a value of the wrong type (RFC 7591 §2), refused like any other.
  const application_type = orDefault(body.application_type, "native");
  if (application_type !== "native" && application_type !== "web") {
    throw new InvalidClientMetadata("application_type must be native or web");
  }
  // OIDC Registration §2: web clients must not use http: redirect URIs (they are for native apps).
  if (application_type === "web" && redirect_uris.some((uri) => uri.startsWith("http:"))) {
    throw new InvalidClientMetadata("application_type web requires https: redirect URIs");
  }

  // RFC 7591 §2: omitted grant_types means ["authorization_code"] — such a client gets no refresh token.
  const grant_types = orDefault(body.grant_types, ["authorization_code"]);
  if (!isStringArray(grant_types) || grant_types.length === 0) {
    throw new InvalidClientMetadata("grant_types must be a non-empty array of strings");
  }
  const unsupported = grant_types.find((g) => !(GRANT_TYPES as readonly string[]).includes(g));
  if (unsupported !== undefined) {
    throw new InvalidClientMetadata(`grant_type ${unsupported.slice(0, 100)} is not supported (only ${GRANT_TYPES.join(", ")})`);
  }
  // RFC 7591 §2.1: the "code" response type needs the authorization_code grant.
  if (!grant_types.includes("authorization_code")) {
    throw new InvalidClientMetadata("grant_types must include authorization_code");
  }

  const response_types = orDefault(body.response_types, ["code"]);
  if (!isStringArray(response_types) || response_types.length === 0 || response_types.some((r) => r !== "code")) {
    throw new InvalidClientMetadata("response_types must be [code]");
  }

  // Public clients only (OAuth 2.1 §2.1): omitted means "none" here, and nothing else is accepted.
  const token_endpoint_auth_method = orDefault(body.token_endpoint_auth_method, "none");
  if (token_endpoint_auth_method !== "none") {
    throw new InvalidClientMetadata("token_endpoint_auth_method must be none: this AS registers public clients only");
  }

  const client_name = body.client_name;
  if (client_name !== undefined && (typeof client_name !== "string" || client_name.length > MAX_CLIENT_NAME_LENGTH)) {
    throw new InvalidClientMetadata(`client_name must be a string of at most ${MAX_CLIENT_NAME_LENGTH} characters`);
  }

  return {
    ...(client_name !== undefined ? { client_name } : {}),
    redirect_uris,
    application_type,
    grant_types: [...new Set(grant_types)] as ClientRecord["grant_types"],
    response_types: ["code"],
    token_endpoint_auth_method: "none",
  };
}

/** RFC 9110 §10.2.3 `Retry-After`: whole seconds until the first client in use stops being so. */
function secondsUntilRoom(state: AsState): number {
  const now = state.now();
  const first = Math.min(...[...state.clientsInUse.values()].filter((until) => until > now));
  return Number.isFinite(first) ? Math.max(1, Math.ceil((first - now) / 1000)) : 1;
}

export function registerHandler(state: AsState) {
  return (req: Request, res: Response): void => {
    // RFC 7591 §3.1: the registration request is a JSON document.
    if (!req.is("application/json")) {
      throw new InvalidRequest(hasBody(req) ? "content type must be application/json" : "the request body must be a JSON object");
    }
    const body: unknown = req.body;
    if (body === null || typeof body !== "object" || Array.isArray(body)) {
      throw new InvalidClientMetadata("the request body must be a JSON object of client metadata");
    }

    const metadata = metadataFields(body as Record<string, unknown>);
    checkRedirectUris(metadata.redirect_uris, state.policy.validateRedirectUri); // A3 / RFC 8252 §7.3: loopback only
    const client: PublicClientRecord = {
      client_id: nanoid(),
      client_id_issued_at: Math.floor(state.now() / 1000),
      ...metadata,
    };
    // A9: a full store evicts only clients not in use; when every client is in use, refuse instead.
    if (!state.clients.set(client.client_id, client)) {
      throw new TooManyRequests(secondsUntilRoom(state), "the client store is full of clients in use, and none of them is evicted");
    }
    markClientInUse(state, client.client_id);
    state.logger.info(
      `registered client_id=${client.client_id} redirect_uris=${client.redirect_uris.join(",")} grant_types=${client.grant_types.join(",")}`,
    );
    // RFC 7591 §3.2.1: 201 with the client_id and every registered field.
    res.status(201).json(client); // no-store, as every /register answer (app.ts)
  };
}
