/**
 * Discovery (C3's first half): from the MCP endpoint to its authorization server.
 *
 *   RFC 9728 protected resource metadata (at the RS) → `authorization_servers[0]`
 *   → RFC 8414 authorization server metadata (at the AS), checked
 *
 * Two SDK primitives rather than `discoverOAuthServerInfo`, so each request goes out with a fetch
 * that names the right server when nothing answers (unreachable.ts), and a missing PRM is an
 * error rather than the SDK's silent fallback to "the MCP server is its own AS".
 */
import {
  discoverAuthorizationServerMetadata,
  discoverOAuthProtectedResourceMetadata,
  selectResourceURL,
  type OAuthClientProvider,
} from "@modelcontextprotocol/sdk/client/auth.js";
import type { AuthorizationServerMetadata, OAuthProtectedResourceMetadata } from "@modelcontextprotocol/sdk/shared/auth.js";
import type { FetchLike } from "@modelcontextprotocol/sdk/shared/transport.js";
import { reachingAuthorizationServer } from "./unreachable.ts";

/** What discovery established, fixed for the life of the client. */
export interface Discovered {
  issuer: string;
  metadata: AuthorizationServerMetadata;
  /** The PRM's `resource`, sent unchanged (`URL.href` would add a trailing `/`). */
  resource: string;
  resourceMetadataUrl?: string;
  scopesSupported: string[];
}

export interface DiscoveryResult {
  resourceMetadata: OAuthProtectedResourceMetadata;
  authorizationServerUrl: string;
  metadata: AuthorizationServerMetadata;
}

/** PRM → AS metadata for the MCP endpoint `serverUrl`; `resourceMetadataUrl` comes from a challenge (RFC 9728 §5.1). */
export async function discoverAuthorizationServer(
  serverUrl: string,
  provider: OAuthClientProvider,
  fetchFn: FetchLike,
  resourceMetadataUrl?: string,
): Promise<DiscoveryResult> {
  let resourceMetadata: OAuthProtectedResourceMetadata;
  try {
    resourceMetadata = await discoverOAuthProtectedResourceMetadata(serverUrl, { resourceMetadataUrl }, fetchFn);
  } catch (error) {
    throw new Error(`${serverUrl} publishes no RFC 9728 protected resource metadata`, { cause: error });
  }
  // RFC 9728 §3.3 / §7.3: the metadata must be about the resource we talk to (the SDK's check).
  await selectResourceURL(serverUrl, provider, resourceMetadata);
  const authorizationServerUrl = resourceMetadata.authorization_servers?.[0];
  if (!authorizationServerUrl) {
    throw new Error(`the RFC 9728 metadata of ${resourceMetadata.resource} names no authorization_servers`);
  }
  const metadata = await discoverAuthorizationServerMetadata(authorizationServerUrl, {
    fetchFn: reachingAuthorizationServer(fetchFn, authorizationServerUrl),
  });
  if (!metadata) throw new Error(`no RFC 8414 metadata at ${authorizationServerUrl}`);
  // RFC 8414 §3.3: the issuer must be identical to the URL the metadata was discovered from.
  if (metadata.issuer !== authorizationServerUrl) {
    throw new Error(`RFC 8414 §3.3: issuer ${metadata.issuer} is not ${authorizationServerUrl}`);
  }
  // OAuth 2.1 §7.5.2 / MCP: no advertised S256 means no PKCE — refuse to proceed.
  if (!metadata.code_challenge_methods_supported?.includes("S256")) {
    throw new Error(`${metadata.issuer} does not advertise PKCE S256 (code_challenge_methods_supported)`);
  }
  return { resourceMetadata, authorizationServerUrl, metadata };
}
