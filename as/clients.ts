/**
 * Who a client is (RFC 6749 §2), and how it proves it at `/token` and `/revoke` (§2.3, §3.2.1).
 *
 * Every client DCR registers is public (`token_endpoint_auth_method: "none"`, A3): it names itself
 * with `client_id` in the form and proves possession of the code with PKCE (OAuth 2.1 §2.1). A client
 * with a secret exists only when `AS_CLIENTS` configures one; its authentication is an extra
 * (as/extras/confidential-clients.ts), handed to the AS as `state.authenticateWithSecret`.
 */
import type { Request } from "express";
import { InvalidClient, InvalidRequest } from "./errors.ts";
import type { Params } from "./params.ts";
import { markClientInUse, type AsState, type ClientRecord } from "./state.ts";

/** The client named `client_id`: pre-registered first, then registered by DCR. */
export function findClient(state: AsState, client_id: string): ClientRecord | undefined {
  return state.preRegisteredClients.get(client_id) ?? state.clients.get(client_id);
}

/** The client of a `/token` or `/revoke` request, authenticated (RFC 6749 §3.2.1), or a spec-shaped error. */
export function authenticateClient(state: AsState, req: Request, params: Params): ClientRecord {
  const client = state.authenticateWithSecret?.(state, req, params) ?? publicClient(state, params);
  markClientInUse(state, client.client_id); // A9: a client in use is never evicted by a registration flood
  return client;
}

function publicClient(state: AsState, params: Params): ClientRecord {
  const client_id = params.get("client_id");
  if (!client_id) throw new InvalidRequest("client_id is required (RFC 6749 section 3.2.1)");
  const client = findClient(state, client_id);
  if (!client) throw new InvalidClient("unknown client_id"); // RFC 6749 §5.2
  // RFC 6749 §3.2.1: a confidential client must authenticate; naming itself is not enough.
  if (client.token_endpoint_auth_method !== "none") throw new InvalidClient("this client must authenticate: client_secret_basic or client_secret_post");
  return client;
}
