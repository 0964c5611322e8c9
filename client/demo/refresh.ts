/**
 * The refresh-token grant (RFC 6749 §6), as the token request that goes out. Without `scope` (the
 * normal case) it is the SDK's primitive, with `resource` (RFC 8707); with a `scope` it is sent by hand,
 * which the primitive cannot do — only to show the AS refusing a wider one (D8, the refresh-to-widen
 * break). What a refused refresh means for the client is authorizer.ts's to decide.
 */
import { parseErrorResponse, refreshAuthorization } from "@modelcontextprotocol/sdk/client/auth.js";
import type { OAuthClientInformationMixed, OAuthTokens } from "@modelcontextprotocol/sdk/shared/auth.js";
import type { FetchLike } from "@modelcontextprotocol/sdk/shared/transport.js";
import { formatScope } from "../step-up/index.ts";
import type { Discovered } from "./discovery.ts";

export interface RefreshRequest {
  d: Discovered;
  clientInformation: OAuthClientInformationMixed;
  refreshToken: string;
  /** A pre-registered client's token-endpoint authentication (registration.ts); undefined for DCR. */
  addClientAuthentication?: (headers: Headers, params: URLSearchParams) => void;
  /** Requests to the AS (recorded, bounded). */
  fetchAt: FetchLike;
}

/** POST /token grant_type=refresh_token; rejects with the AS's OAuth error (RFC 6749 §5.2). */
export async function requestRefresh(request: RefreshRequest, scope?: string[]): Promise<OAuthTokens> {
  const { d, clientInformation, refreshToken, addClientAuthentication, fetchAt } = request;
  if (scope) return refreshAsking(request, scope);
  // No `scope` parameter: RFC 6749 §6, the new token has the scope of the original grant.
  return refreshAuthorization(d.issuer, {
    metadata: d.metadata,
    clientInformation,
    refreshToken,
    resource: d.resource,
    addClientAuthentication,
    fetchFn: fetchAt,
  });
}

/** A refresh that asks for `scope` (RFC 6749 §6: it may only narrow), which the SDK's primitive cannot send. */
async function refreshAsking(request: RefreshRequest, scope: string[]): Promise<OAuthTokens> {
  const { d, clientInformation, refreshToken, addClientAuthentication, fetchAt } = request;
  const body = new URLSearchParams({ grant_type: "refresh_token", refresh_token: refreshToken, scope: formatScope(scope), resource: d.resource });
  const headers = new Headers();
  if (addClientAuthentication) addClientAuthentication(headers, body);
  else body.set("client_id", clientInformation.client_id); // RFC 6749 §3.2.1: a public client names itself
  const response = await fetchAt(d.metadata.token_endpoint, { method: "POST", headers, body });
  if (!response.ok) throw await parseErrorResponse(response);
  return (await response.json()) as OAuthTokens;
}
