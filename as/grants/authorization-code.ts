/**
 * `grant_type=authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.6, A5/A6).
 *
 * The code is consumed by the first redemption attempt that names it with a `code_verifier`, whatever
 * its outcome; a second attempt is a replay: refused, and everything issued from the code is revoked
 * (RFC 6749 §4.1.2).
 */
import { nanoid } from "nanoid";
import { InvalidGrant, InvalidRequest, InvalidTarget } from "../errors.ts";
import type { Params } from "../params.ts";
import {
  REDEEMED_CODE_RETENTION_MS,
  revokeFamily,
  type AsState,
  type ClientRecord,
  type RedeemedCode,
  type TokenFamily,
} from "../state.ts";
import { issueTokens, type TokenResponse } from "./issue.ts";

export async function authorizationCodeGrant(state: AsState, client: ClientRecord, params: Params): Promise<TokenResponse> {
  const code = params.get("code");
  const code_verifier = params.get("code_verifier");
  const redirect_uri = params.get("redirect_uri");
  const resource = params.get("resource");
  if (!code) throw new InvalidRequest("code is required");
  if (!redirect_uri) throw new InvalidRequest("redirect_uri is required (it was sent in the authorization request)");

  const redeemed = state.redeemedCodes.get(code);
  if (redeemed) {
    // RFC 6749 §4.1.2: a code used twice is denied, and the tokens issued from it are revoked.
    if (redeemed.family_id) revokeFamily(state, redeemed.family_id, "authorization code replayed");
    throw new InvalidGrant("authorization code was already used; the tokens issued from it are revoked");
  }
  const record = state.codes.get(code);
  if (!record) throw new InvalidGrant("unknown or expired authorization code");
  // RFC 7636 §4.6: the code was issued for a code_challenge; only its code_verifier redeems it (pkce.ts).
  const pkce = state.policy.verifyCodeVerifier(code_verifier, record.code_challenge);
  if (pkce === "missing") throw new InvalidRequest("code_verifier is required (PKCE, RFC 7636 section 4.6)");

  // A5: single use — from here on the code is spent, even if this redemption fails. Its record moves
  // to a store that only `/token` writes, so no flood of `/authorize` can erase it (A9).
  state.codes.delete(code);
  const spent: RedeemedCode = { expiresAt: record.expiresAt };
  state.redeemedCodes.set(code, spent, state.now() + REDEEMED_CODE_RETENTION_MS);

  if (record.expiresAt <= state.now()) throw new InvalidGrant("authorization code expired");
  // RFC 6749 §4.1.3: issued to this client, for this exact redirect_uri.
  if (record.client_id !== client.client_id) throw new InvalidGrant("authorization code was issued to another client");
  if (record.redirect_uri !== redirect_uri) throw new InvalidGrant("redirect_uri does not match the authorization request");
  if (pkce === "mismatch") throw new InvalidGrant("code_verifier does not match the code_challenge (RFC 7636 section 4.6)");
  // RFC 8707 §2.2: `resource` may be repeated at the token endpoint, but must be the one authorized.
  if (resource !== undefined && resource !== record.resource) throw new InvalidTarget("resource does not match the authorization request");

  const family_id = nanoid();
  const family: TokenFamily = {
    client_id: client.client_id,
    sub: record.sub,
    scope: record.scope,
    resource: record.resource,
    revoked: false,
  };
  state.families.set(family_id, family);
  spent.family_id = family_id;
  return issueTokens(state, client, family_id, family, record.scope);
}
