/**
 * A13 — confidential clients registered by configuration (`AS_CLIENTS`), for clients that cannot use
 * DCR (the conformance suite's `auth/pre-registration`, `pnpm client --client-id`). Each has a secret and
 * authenticates at `/token` and `/revoke` with it (RFC 6749 §2.3.1): `client_secret_basic` (HTTP Basic,
 * id and secret form-urlencoded first) or `client_secret_post` (both in the form). They live apart from
 * the DCR store, so no registration flood can evict them, and they obey the same loopback redirect-URI
 * policy as DCR clients (A3). Only a SHA-256 digest of each secret is kept, compared in constant time.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { Request } from "express";
import { ConfigError, type Config } from "../../shared/config.ts";
import { findClient } from "../clients.ts";
import { InvalidClient, InvalidClientCredentials, InvalidRequest } from "../errors.ts";
import type { Params } from "../params.ts";
import { validateRedirectUri } from "../redirect-uri.ts";
import type { AsState, ClientRecord } from "../state.ts";

const sha256 = (text: string): Buffer => createHash("sha256").update(text, "utf8").digest();

/** The clients of `AS_CLIENTS`; a redirect URI the DCR policy would refuse stops the AS from starting. */
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
      client_secret_sha256: sha256(client_secret), // the secret itself is never stored, echoed or logged
    });
  }
  return clients;
}

/** RFC 6749 §2.3.1 / RFC 7617 §2: `Basic base64(urlencode(id) ":" urlencode(secret))`. */
function basicCredentials(issuer: string, header: string | undefined): { client_id: string; client_secret: string } | undefined {
  if (header === undefined) return undefined;
  const match = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(header);
  if (!match) throw new InvalidClientCredentials(issuer, "the Authorization header must use the Basic scheme (RFC 7617)");
  const decoded = Buffer.from(match[1]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon <= 0) throw new InvalidClientCredentials(issuer, "Basic credentials must be client_id:client_secret");
  const formDecode = (part: string) => decodeURIComponent(part.replace(/\+/g, " "));
  try {
    return { client_id: formDecode(decoded.slice(0, colon)), client_secret: formDecode(decoded.slice(colon + 1)) };
  } catch {
    throw new InvalidClientCredentials(issuer, "Basic credentials are not form-urlencoded (RFC 6749 section 2.3.1)");
  }
}

/**
 * The client a request authenticates as with a secret, or `undefined` when it presents none — then it
 * is a public client naming itself (as/clients.ts). RFC 6749 §2.3: one method per request. A public
 * client's `client_secret` in the form is ignored, as ever (OAuth 2.1 §2.1).
 */
export function authenticateWithSecret(state: AsState, req: Request, params: Params): ClientRecord | undefined {
  const { issuer } = state.config;
  const basic = basicCredentials(issuer, req.headers.authorization);
  const formId = params.get("client_id");
  const formSecret = params.get("client_secret");
  if (basic) {
    if (formSecret !== undefined) throw new InvalidRequest("use one client authentication method, not Basic and client_secret (RFC 6749 section 2.3)");
    if (formId !== undefined && formId !== basic.client_id) throw new InvalidRequest("client_id differs from the Basic credentials");
  }
  const client_id = basic?.client_id ?? formId;
  const client = client_id === undefined ? undefined : findClient(state, client_id);
  const secret = basic?.client_secret ?? (client?.token_endpoint_auth_method === "none" ? undefined : formSecret);
  if (secret === undefined) return undefined;
  const expected = client?.client_secret_sha256;
  // Digests of equal length: the response time does not tell how much of a guess was right.
  if (!client || !expected || !timingSafeEqual(sha256(secret), expected)) {
    const description = "client authentication failed (unknown client, or wrong secret)";
    throw basic ? new InvalidClientCredentials(issuer, description) : new InvalidClient(description);
  }
  return client;
}
