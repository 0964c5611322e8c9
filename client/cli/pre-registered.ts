/**
 * A pre-registered client (C7, `--client-id ID [--issuer URL] [--client-secret SECRET]`): no Dynamic
 * Client Registration; the client authenticates at the token endpoint with the method the AS metadata
 * offers — only at the AS named by `--issuer` (required with a secret): client/authorizer.ts's discovery
 * refuses a resource that sends it anywhere else.
 *
 *   with a secret:    client_secret_basic if offered, else client_secret_post (RFC 6749 §2.3.1)
 *   without a secret: none — a public client, PKCE proves possession of the code (OAuth 2.1 §2.1)
 *
 * The SDK's own selection prefers what a DCR response said and sends Basic credentials without the
 * form-urlencoding RFC 6749 §2.3.1 requires (a secret with `+`, `%` or `:` would arrive altered), so this
 * module chooses and applies the method itself, through the primitives' `addClientAuthentication` hook.
 */
import type { AuthorizationServerMetadata } from "@modelcontextprotocol/sdk/shared/auth.js";
import type { RegisteredClient } from "../authorizer.ts";

export type TokenEndpointAuthMethod = "client_secret_basic" | "client_secret_post" | "none";

export interface PreRegisteredClient {
  client_id: string;
  /** Absent for a pre-registered public client. Never logged, never recorded whole (recorder.ts). */
  client_secret?: string;
  /** The issuer identifier of the AS the client is registered with (`--issuer`); set whenever a secret is. */
  issuer?: string;
}

export class ClientAuthenticationError extends Error {
  override name = "ClientAuthenticationError";
}

/** The token endpoint auth method for `client`, from the AS's `token_endpoint_auth_methods_supported`. */
export function chooseTokenEndpointAuthMethod(
  metadata: Pick<AuthorizationServerMetadata, "issuer" | "token_endpoint_auth_methods_supported">,
  client: PreRegisteredClient,
): TokenEndpointAuthMethod {
  if (client.client_secret === undefined) return "none";
  // RFC 8414 §2: an omitted token_endpoint_auth_methods_supported means client_secret_basic.
  const supported = metadata.token_endpoint_auth_methods_supported ?? ["client_secret_basic"];
  if (supported.includes("client_secret_basic")) return "client_secret_basic";
  if (supported.includes("client_secret_post")) return "client_secret_post";
  throw new ClientAuthenticationError(
    `${metadata.issuer} accepts neither client_secret_basic nor client_secret_post at its token endpoint ` +
      `(token_endpoint_auth_methods_supported: ${supported.join(" ") || "none listed"}), so --client-secret cannot be used`,
  );
}

/** RFC 6749 §2.3.1 + Appendix B: id and secret are form-urlencoded before they are joined for Basic. */
const formEncode = (value: string) => new URLSearchParams({ v: value }).toString().slice(2);

/** The SDK's `addClientAuthentication` hook for one method: sets the header or the form fields. */
export function clientAuthentication(method: TokenEndpointAuthMethod, client: PreRegisteredClient) {
  return (headers: Headers, params: URLSearchParams): void => {
    switch (method) {
      case "client_secret_basic": {
        const credentials = `${formEncode(client.client_id)}:${formEncode(client.client_secret ?? "")}`;
        headers.set("authorization", `Basic ${Buffer.from(credentials, "utf8").toString("base64")}`); // RFC 7617 §2
        return;
      }
      case "client_secret_post":
        params.set("client_id", client.client_id);
        params.set("client_secret", client.client_secret ?? "");
        return;
      case "none":
        params.set("client_id", client.client_id); // RFC 6749 §3.2.1: a public client names itself
        return;
    }
  };
}

/** The Authorizer's `registeredClient` for `--client-id`/`--client-secret`. */
export function preRegisteredClient(client: PreRegisteredClient): RegisteredClient {
  return {
    client_id: client.client_id,
    issuer: client.issuer,
    tokenEndpointAuthentication: (metadata) => clientAuthentication(chooseTokenEndpointAuthMethod(metadata, client), client),
  };
}
