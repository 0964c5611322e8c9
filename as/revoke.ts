/**
 * `POST /revoke` — token revocation (RFC 7009, A8) by the client the token was issued to, which
 * authenticates as it does at `/token` (RFC 7009 §2.1).
 *
 * - a refresh token: its whole family is revoked (RFC 7009 §2.1: "SHOULD also invalidate all access
 *   tokens based on the same authorization grant" — here only the refresh tokens, see below);
 * - an access token: answered `200` and nothing changes. RFC 7009 §2 makes access-token revocation a
 *   SHOULD; this AS does not support it, because nothing could enforce it: the RS verifies JWT access
 *   tokens locally and never asks the AS, so an access token stays valid until its `exp` (demo shortcut).
 * Unknown, invalid, expired or foreign tokens get the same `200` (RFC 7009 §2.2) and change nothing.
 */
import type { Request, Response } from "express";
import { authenticateClient } from "./clients.ts";
import { InvalidRequest } from "./errors.ts";
import { markClientInUse, revokeFamily, type AsState } from "./state.ts";
import { strictForm } from "./token.ts";

export function revokeHandler(state: AsState) {
  return (req: Request, res: Response): void => {
    const params = strictForm(req);
    const client = authenticateClient(state, req, params);
    markClientInUse(state, client.client_id); // A9: a client in use is never evicted by a registration flood
    const token = params.get("token");
    if (!token) throw new InvalidRequest("token is required (RFC 7009 §2.1)");

    // `token_type_hint` is only a hint (RFC 7009 §2.1): whatever it says, only refresh tokens are revoked.
    const refresh = state.refreshTokens.get(token);
    if (refresh) {
      // RFC 7009 §2.1: only the client the token was issued to may revoke it.
      if (refresh.client_id === client.client_id) {
        revokeFamily(state, refresh.family_id, "refresh token revoked by the client (RFC 7009)");
      }
    }
    res.status(200).end();
  };
}
