/**
 * `POST /token` — the token endpoint (RFC 6749 §3.2, A6). A public client identifies itself with
 * `client_id` in the form and proves possession with PKCE (OAuth 2.1 §2.1, §4.1.3); a pre-registered
 * confidential client also authenticates with its secret (`clients.ts`).
 *
 * Order of checks: form encoding → repeated parameters (RFC 6749 §3.2, before anything else) → client →
 * grant type → the grant's own checks (`grants/`). Every response, errors included, is `no-store` (`app.ts`).
 */
import type { Request, Response } from "express";
import { authenticateClient } from "./clients.ts";
import { InvalidRequest, UnauthorizedClient, UnsupportedGrantType } from "./errors.ts";
import { authorizationCodeGrant } from "./grants/authorization-code.ts";
import type { TokenResponse } from "./grants/issue.ts";
import { refreshTokenGrant } from "./grants/refresh-token.ts";
import { strictForm } from "./params.ts";
import type { AsState } from "./state.ts";

export function tokenHandler(state: AsState) {
  return async (req: Request, res: Response): Promise<void> => {
    const params = strictForm(req);
    const client = authenticateClient(state, req, params);

    const grant_type = params.get("grant_type");
    let tokens: TokenResponse;
    switch (grant_type) {
      case undefined:
        throw new InvalidRequest("grant_type is required");
      case "authorization_code":
        tokens = await authorizationCodeGrant(state, client, params);
        break;
      case "refresh_token":
        // RFC 7591 §2: the client registered the grant types it may use.
        if (!client.grant_types.includes("refresh_token")) {
          throw new UnauthorizedClient("this client did not register the refresh_token grant");
        }
        tokens = await refreshTokenGrant(state, client, params);
        break;
      default:
        throw new UnsupportedGrantType("grant_type must be authorization_code or refresh_token");
    }

    state.logger.info(
      `issued tokens grant_type=${grant_type} client_id=${client.client_id} scope="${tokens.scope}"` +
        ` refresh_token=${tokens.refresh_token ? "yes" : "no"} expires_in=${tokens.expires_in}`,
    );
    res.status(200).json(tokens);
  };
}
