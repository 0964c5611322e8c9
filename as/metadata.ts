/**
 * RFC 8414 authorization server metadata (A2) and the JWK Set (RFC 7517) it points to.
 */
import type { Config } from "../shared/config.ts";
import { SCOPE_CATALOG } from "../shared/scopes.ts";

export const METADATA_PATH = "/.well-known/oauth-authorization-server";

type AuthMethod = "none" | "client_secret_basic" | "client_secret_post";

export interface AuthorizationServerMetadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  registration_endpoint: string;
  jwks_uri: string;
  revocation_endpoint: string;
  scopes_supported: string[];
  response_types_supported: ["code"];
  grant_types_supported: ["authorization_code", "refresh_token"];
  token_endpoint_auth_methods_supported: AuthMethod[];
  revocation_endpoint_auth_methods_supported: AuthMethod[];
  code_challenge_methods_supported: ["S256"];
  authorization_response_iss_parameter_supported: true;
}

/** `clientSecrets`: confidential clients exist (as/extras/, `AS_CLIENTS`). */
export function authorizationServerMetadata(config: Config, { clientSecrets = false } = {}): AuthorizationServerMetadata {
  // RFC 8414 §3.3: `issuer` is byte-equal to the URL the metadata was discovered from (minus the well-known part).
  const { issuer } = config;
  // DCR clients are public: PKCE instead of a client secret (OAuth 2.1 §2.1). Pre-registered clients
  // (AS_CLIENTS) authenticate with their secret, RFC 6749 §2.3.1 (Basic required, post allowed).
  const authMethods: AuthMethod[] = clientSecrets ? ["none", "client_secret_basic", "client_secret_post"] : ["none"];
  return {
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/token`,
    registration_endpoint: `${issuer}/register`,
    jwks_uri: config.jwksUri,
    revocation_endpoint: `${issuer}/revoke`,
    scopes_supported: [...SCOPE_CATALOG],
    response_types_supported: ["code"],
    grant_types_supported: ["authorization_code", "refresh_token"],
    token_endpoint_auth_methods_supported: authMethods,
    // RFC 8414 §2: /revoke authenticates clients exactly as /token does (RFC 7009 §2.1).
    revocation_endpoint_auth_methods_supported: authMethods,
    code_challenge_methods_supported: ["S256"],
    // RFC 9207 §3: every authorization response carries `iss`.
    authorization_response_iss_parameter_supported: true,
  };
}
