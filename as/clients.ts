/**
 * Who a client is, and how it proves it (RFC 6749 §2.3, §3.2.1).
 *
 * Two kinds of client:
 * - public clients registered by DCR (`token_endpoint_auth_method: "none"`): they name themselves with
 *   `client_id` in the form and prove possession of the code with PKCE (OAuth 2.1 §2.1);
 * - confidential clients pre-registered by configuration (`AS_CLIENTS`), which authenticate with their
 *   secret: `client_secret_basic` (RFC 6749 §2.3.1: HTTP Basic, id and secret form-urlencoded first) or
 *   `client_secret_post` (both in the form). They live apart from the DCR store, so no registration
 *   flood can evict them, and they obey the same loopback redirect-URI policy as DCR clients (A3).
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { Request } from "express";
import { ConfigError, type Config } from "../shared/config.ts";
import { InvalidClient, InvalidRequest, OAuthError } from "./errors.ts";
import type { Params } from "./params.ts";
import { validateRedirectUri } from "./redirect-uri.ts";
import { markClientInUse, type AsState, type ClientRecord } from "./state.ts";

const sha256 = (text: string): Buffer => createHash("sha256").update(text, "utf8").digest();

/** Build the pre-registered clients of `AS_CLIENTS`; a URI the DCR policy would refuse stops the AS from starting. */
export function preRegisteredClients(config: Config): ReadonlyMap<string, ClientRecord> {
  const clients = new Map<string, ClientRecord>();
  for (const [i, { client_id, client_secret, redirect_uris, client_name }] of config.preRegisteredClients.entries()) {
    if (clients.has(client_id)) throw new ConfigError(`AS_CLIENTS[${i}]: client_id ${JSON.stringify(client_id)} appears twice`);
    for (const uri of redirect_uris) {
      const verdict = validateRedirectUri(uri);
      // RFC 8252 §7.3, as at DCR (A3): loopback redirect URIs only.
      if (!verdict.ok) throw new ConfigError(`AS_CLIENTS[${i}]: redirect URI ${JSON.stringify(uri)} ${verdict.reason}`);
    }
    clients.set(client_id, {
      client_id,
      client_id_issued_at: 0,
      ...(client_name !== undefined ? { client_name } : {}),
      redirect_uris,
      application_type: "native",
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_basic",
      // Only a digest is kept: the secret itself is never stored, echoed or logged.
      client_secret_sha256: sha256(client_secret),
    });
  }
  return clients;
}

/** The client named `client_id`: pre-registered first, then registered by DCR. */
export function findClient(state: AsState, client_id: string): ClientRecord | undefined {
  return state.preRegisteredClients.get(client_id) ?? state.clients.get(client_id);
}

/** RFC 6749 §5.2: a failed `Authorization: Basic` gets 401 and a challenge naming the scheme (RFC 7617 §2). */
function basicFailure(state: AsState, description: string): OAuthError {
  return new OAuthError(401, "invalid_client", description, { "WWW-Authenticate": `Basic realm="${state.config.issuer}"` });
}

/** RFC 6749 §2.3.1 / RFC 7617 §2: `Basic base64(urlencode(id) ":" urlencode(secret))`. */
function basicCredentials(state: AsState, header: string | undefined): { client_id: string; client_secret: string } | undefined {
  if (header === undefined) return undefined;
  const match = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(header);
  if (!match) throw basicFailure(state, "the Authorization header must use the Basic scheme (RFC 7617)");
  const decoded = Buffer.from(match[1]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon <= 0) throw basicFailure(state, "Basic credentials must be client_id:client_secret");
  const formDecode = (part: string) => decodeURIComponent(part.replace(/\+/g, " "));
  try {
    return { client_id: formDecode(decoded.slice(0, colon)), client_secret: formDecode(decoded.slice(colon + 1)) };
  } catch {
    throw basicFailure(state, "Basic credentials are not form-urlencoded (RFC 6749 §2.3.1)");
  }
}

/**
 * Authenticate the client of a `/token` or `/revoke` request. RFC 6749 §2.3: one method per request;
 * §3.2.1: a confidential client must authenticate. The secret is compared in constant time (digests of
 * equal length), so response timing does not reveal how much of a guess was right.
 */
export function authenticateClient(state: AsState, req: Request, params: Params): ClientRecord {
  const client = authenticate(state, req, params);
  markClientInUse(state, client.client_id); // A9: a client in use is never evicted by a registration flood
  return client;
}

function authenticate(state: AsState, req: Request, params: Params): ClientRecord {
  const basic = basicCredentials(state, req.headers.authorization);
  const formId = params.get("client_id");
  const formSecret = params.get("client_secret");

  if (basic) {
    if (formSecret !== undefined) throw new InvalidRequest("use one client authentication method, not Basic and client_secret (RFC 6749 §2.3)");
    if (formId !== undefined && formId !== basic.client_id) throw new InvalidRequest("client_id differs from the Basic credentials");
  } else if (!formId) {
    throw new InvalidRequest("client_id is required (RFC 6749 §3.2.1)");
  }
  const client_id = basic?.client_id ?? formId!;
  const client = findClient(state, client_id);
  // A public client has no secret to check: a `client_secret` in its form is ignored, as ever (OAuth 2.1 §2.1).
  const secret = basic?.client_secret ?? (client && !client.client_secret_sha256 ? undefined : formSecret);

  if (secret === undefined) {
    // RFC 6749 §5.2: client authentication failed — unknown client.
    if (!client) throw new InvalidClient("unknown client_id");
    if (client.client_secret_sha256) throw new InvalidClient("this client must authenticate: client_secret_basic or client_secret_post");
    return client;
  }
  const expected = client?.client_secret_sha256;
  if (!client || !expected || !timingSafeEqual(sha256(secret), expected)) {
    const description = "client authentication failed (unknown client, or wrong secret)";
    throw basic ? basicFailure(state, description) : new InvalidClient(description);
  }
  return client;
}
