/**
 * `POST /revoke` — token revocation (RFC 7009, A8) by the client the token was issued to, which
 * authenticates as it does at `/token` (RFC 7009 §2.1).
 *
 * - a refresh token: its whole family is revoked (RFC 7009 §2.1: "SHOULD also invalidate all access
 *   tokens based on the same authorization grant");
 * - an access token: its `jti` is recorded as revoked. A JWT access token nonetheless stays valid at the
 *   RS until its `exp`: the RS verifies signatures locally and never asks the AS (demo shortcut).
 * Unknown, invalid, expired or foreign tokens get the same `200` (RFC 7009 §2.2) and change nothing.
 */
import type { Request, Response } from "express";
import { jwtVerify } from "jose";
import { authenticateClient } from "./clients.ts";
import { ACCESS_TOKEN_ALG, ACCESS_TOKEN_TYP } from "./keys.ts";
import { InvalidRequest } from "./errors.ts";
import { revokeFamily, type AsState } from "./state.ts";
import { strictForm } from "./token.ts";

async function revokeAccessToken(state: AsState, client_id: string, token: string): Promise<boolean> {
  try {
    const { payload } = await jwtVerify(token, state.key.publicKey, {
      algorithms: [ACCESS_TOKEN_ALG],
      typ: ACCESS_TOKEN_TYP,
      issuer: state.config.issuer,
      currentDate: new Date(state.now()),
    });
    if (payload.client_id !== client_id || typeof payload.jti !== "string" || typeof payload.exp !== "number") return false;
    state.revokedAccessTokens.set(payload.jti, true, payload.exp * 1000);
    return true;
  } catch {
    return false; // not one of ours, or already expired: nothing to revoke
  }
}

export function revokeHandler(state: AsState) {
  return async (req: Request, res: Response): Promise<void> => {
    const params = strictForm(req);
    const client = authenticateClient(state, req, params);
    const token = params.get("token");
    if (!token) throw new InvalidRequest("token is required (RFC 7009 §2.1)");

    // `token_type_hint` is only a hint (RFC 7009 §2.1): both kinds are looked up regardless.
    const refresh = state.refreshTokens.get(token);
    if (refresh) {
      // RFC 7009 §2.1: only the client the token was issued to may revoke it.
      if (refresh.client_id === client.client_id) {
        revokeFamily(state, refresh.family_id, "refresh token revoked by the client (RFC 7009)");
      }
    } else if (await revokeAccessToken(state, client.client_id, token)) {
      state.logger.info(`revoked an access token of client_id=${client.client_id}`);
    }
    res.status(200).end();
  };
}
