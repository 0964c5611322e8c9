/**
 * Minting a token response (RFC 6749 §5.1) — shared by both grants.
 *
 * The bookkeeping (refresh token stored in the family) happens synchronously before the signature is
 * awaited, so a concurrent replay that revokes the family also revokes the refresh token being issued.
 * The access token is not recorded: a JWT stays valid at the RS until its `exp` (A8).
 */
import { nanoid } from "nanoid";
import { formatScope } from "../../shared/scopes.ts";
import { signAccessToken } from "../keys.ts";
import { markClientInUse, REFRESH_TOKEN_TTL_MS, type AsState, type ClientRecord, type TokenFamily } from "../state.ts";

export interface TokenResponse {
  access_token: string;
  token_type: "Bearer";
  expires_in: number;
  /** Always present: what was actually granted (RFC 6749 §3.3, §5.1). */
  scope: string;
  refresh_token?: string;
}

export async function issueTokens(
  state: AsState,
  client: ClientRecord,
  family_id: string,
  family: TokenFamily,
  scope: string[],
): Promise<TokenResponse> {
  const { config } = state;
  const now = state.now();
  const iat = Math.floor(now / 1000);
  const exp = iat + config.accessTokenTtl;
  const jti = nanoid();

  // RFC 6749 §6 / OAuth 2.1 §4.3.1: a refresh token only for clients registered for the refresh_token grant.
  let refresh_token: string | undefined;
  let familyRetainUntil = exp * 1000;
  if (client.grant_types.includes("refresh_token")) {
    refresh_token = nanoid(32);
    const expiresAt = now + REFRESH_TOKEN_TTL_MS;
    state.refreshTokens.set(refresh_token, { family_id, client_id: client.client_id, expiresAt, rotated: false }, expiresAt);
    familyRetainUntil = Math.max(familyRetainUntil, expiresAt);
    markClientInUse(state, client.client_id, expiresAt); // A9: a live grant keeps its client registered
  }
  state.families.retain(family_id, familyRetainUntil);

  // RFC 9068 §2.2: iss, sub, aud (= the RFC 8707 resource), client_id, scope, iat, exp, jti.
  const access_token = await signAccessToken(state.key, {
    iss: config.issuer,
    sub: family.sub,
    aud: family.resource,
    client_id: client.client_id,
    scope: formatScope(scope),
    iat,
    exp,
    jti,
  });

  return {
    access_token,
    token_type: "Bearer",
    expires_in: config.accessTokenTtl,
    scope: formatScope(scope),
    ...(refresh_token !== undefined ? { refresh_token } : {}),
  };
}
