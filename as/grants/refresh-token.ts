/**
 * `grant_type=refresh_token` (RFC 6749 §6, A6), with rotation and reuse detection (OAuth 2.1 §4.3.1,
 * RFC 9700 §4.14.2): every refresh returns a new refresh token and retires the old one; presenting a
 * retired one means the chain has leaked, so the whole family is revoked — the newest token included.
 *
 * A refused refresh (widened scope, wrong resource, wrong client) does not consume the token.
 */
import { formatScope } from "../../shared/scopes.ts";
import { InvalidGrant, InvalidRequest, InvalidScope, InvalidTarget } from "../errors.ts";
import { scopeParam, type Params } from "../params.ts";
import { revokeFamily, type AsState, type ClientRecord } from "../state.ts";
import { issueTokens, type TokenResponse } from "./issue.ts";

/** RFC 6749 §6: a refresh's `scope` may only narrow the grant — what it asks beyond it, and what it keeps. */
export function narrowScope(requested: readonly string[], granted: readonly string[]): { beyond: string[]; scope: string[] } {
  return { beyond: requested.filter((s) => !granted.includes(s)), scope: granted.filter((s) => requested.includes(s)) };
}

export async function refreshTokenGrant(state: AsState, client: ClientRecord, params: Params): Promise<TokenResponse> {
  const refresh_token = params.get("refresh_token");
  const scope = params.get("scope");
  const resource = params.get("resource");
  if (!refresh_token) throw new InvalidRequest("refresh_token is required");

  const record = state.refreshTokens.get(refresh_token);
  if (!record || record.expiresAt <= state.now()) throw new InvalidGrant("unknown or expired refresh token");
  const family = state.families.get(record.family_id);
  if (!family || family.revoked) throw new InvalidGrant("refresh token was revoked");

  if (record.rotated) {
    // RFC 9700 §4.14.2 (D4): reuse of a rotated refresh token revokes the whole family.
    revokeFamily(state, record.family_id, "rotated refresh token reused");
    throw new InvalidGrant("refresh token was already used; every token of this grant is now revoked");
  }
  // RFC 6749 §6: the refresh token is bound to the client it was issued to.
  if (record.client_id !== client.client_id) throw new InvalidGrant("refresh token was issued to another client");

  // RFC 6749 §6: the scope may only narrow; omitted means the scope originally granted.
  let granted = family.scope;
  if (scope !== undefined) {
    const requested = scopeParam(scope); // A10 / RFC 6749 §3.3: invalid_scope unless single-space separated
    const { beyond, scope: narrowed } = state.policy.narrowScope(requested, family.scope);
    if (beyond.length > 0) {
      throw new InvalidScope(
        `a refresh cannot widen scope (RFC 6749 section 6): ${formatScope(beyond)} not in the original grant: ${formatScope(family.scope)}`,
      );
    }
    granted = narrowed;
  }
  // RFC 8707 §2.2: optional on refresh, but when sent it must be the grant's resource.
  if (resource !== undefined && resource !== family.resource) throw new InvalidTarget("resource does not match the original grant");

  // Rotation: the presented token is retired now; a second use of it is reuse.
  record.rotated = true;
  return issueTokens(state, client, record.family_id, family, granted);
}
