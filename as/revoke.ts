/**
 * `POST /revoke` — token revocation (RFC 7009, A8) by the client the token was issued to, which
 * authenticates as it does at `/token` (RFC 7009 §2.1).
 *
 * - a refresh token: its whole family is revoked (RFC 7009 §2.1: "SHOULD also invalidate all access
 *   tokens based on the same authorization grant" — here only the refresh tokens, see below);
 * - an access token of this AS: `400 unsupported_token_type` (RFC 7009 §2.2.1). This AS cannot revoke
 *   one, because nothing could enforce it: the RS verifies JWT access tokens locally and never asks the
 *   AS, so an access token stays valid until its `exp` (demo shortcut) — and the client is told so.
 * Unknown, invalid, expired or foreign tokens get `200` (RFC 7009 §2.2) and change nothing.
 */
import type { Request, Response } from "express";
import { authenticateClient } from "./clients.ts";
import { InvalidRequest, UnsupportedTokenType } from "./errors.ts";
import { isOwnAccessToken } from "./keys.ts";
import { strictForm } from "./params.ts";
import { revokeFamily, type AsState } from "./state.ts";

export function revokeHandler(state: AsState) {
  return async (req: Request, res: Response): Promise<void> => {
    const params = strictForm(req);
    const client = authenticateClient(state, req, params);
    const token = params.get("token");
    if (!token) throw new InvalidRequest("token is required (RFC 7009 section 2.1)");

    // `token_type_hint` is only a hint (RFC 7009 §2.1): the token itself says what it is.
    const refresh = state.refreshTokens.get(token);
    if (refresh) {
      // RFC 7009 §2.1: only the client the token was issued to may revoke it.
      if (refresh.client_id === client.client_id) {
        revokeFamily(state, refresh.family_id, "refresh token revoked by the client (RFC 7009)");
      }
    } else if (await isOwnAccessToken(state.key, state.config.issuer, token, state.now())) {
      // RFC 7009 §2.2.1: a token type the server cannot revoke is answered 400 unsupported_token_type.
      throw new UnsupportedTokenType("this authorization server cannot revoke access tokens; they stay valid until exp");
    }
    res.status(200).end();
  };
}
