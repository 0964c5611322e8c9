/**
 * What the AS remembers, all in bounded in-memory stores (A9), and the one operation that spans them:
 * revoking a token family.
 *
 * A "family" is everything issued from one authorization code: the refresh tokens of its rotation chain
 * and the access tokens minted along the way. Code replay (A5), refresh-token reuse (A6) and revocation
 * of a refresh token (A8) each revoke a whole family.
 */
import type { Config } from "../shared/config.ts";
import type { Logger } from "../shared/log.ts";
import { preRegisteredClients } from "./clients.ts";
import type { SigningKey } from "./keys.ts";
import { BoundedStore } from "./store.ts";

/** The demo's only resource owner (S3); consent is automatic. */
export const DEMO_USER = "demo-user";

/** RFC 7591 §3.2.1: the registered metadata, as echoed to the client. */
export interface ClientRecord {
  client_id: string;
  client_id_issued_at: number;
  client_name?: string;
  /** Stored exactly as submitted (A3). */
  redirect_uris: string[];
  application_type: "native" | "web";
  grant_types: Array<"authorization_code" | "refresh_token">;
  response_types: ["code"];
  /** `none` for DCR clients; `client_secret_basic` for pre-registered ones (which may also use `client_secret_post`). */
  token_endpoint_auth_method: "none" | "client_secret_basic";
  /** SHA-256 of a pre-registered client's secret (never the secret itself); absent for public clients. */
  client_secret_sha256?: Buffer;
}

/** A client registered by DCR (A3): public, no secret — the only kind the bounded store (and its file) holds. */
export type PublicClientRecord = ClientRecord & { token_endpoint_auth_method: "none"; client_secret_sha256?: undefined };

/** A5: a code and everything it is bound to. */
export interface CodeRecord {
  client_id: string;
  /** The exact `redirect_uri` of the authorization request — `/token` compares against it. */
  redirect_uri: string;
  code_challenge: string;
  scope: string[];
  resource: string;
  sub: string;
  expiresAt: number;
  /** Set on the first redemption attempt, successful or not (A5: a code is single use). */
  redeemed: boolean;
  /** The family issued from this code, if its redemption succeeded. */
  family_id?: string;
}

export interface RefreshTokenRecord {
  family_id: string;
  client_id: string;
  expiresAt: number;
  /** Set once the token has been exchanged: presenting it again is reuse (A6). */
  rotated: boolean;
}

export interface TokenFamily {
  client_id: string;
  sub: string;
  /** RFC 6749 §6: the scope originally granted — a refresh may narrow it, never widen it. */
  scope: string[];
  resource: string;
  revoked: boolean;
  /** Access tokens minted in this family and not yet expired (`exp` in seconds). */
  accessTokens: Array<{ jti: string; exp: number }>;
}

export interface Limits {
  maxClients: number;
  maxCodes: number;
  maxRefreshTokens: number;
}

export const DEFAULT_LIMITS: Limits = { maxClients: 1000, maxCodes: 1000, maxRefreshTokens: 10_000 };

/** A5: codes live at most 60 s. */
export const CODE_TTL_MS = 60_000;
/** How long a redeemed code is remembered, so a replay is recognised (and its family revoked). */
export const REDEEMED_CODE_RETENTION_MS = 10 * 60_000;
/** Refresh tokens: each rotation issues a fresh one valid this long (no rule sets it; a demo day). */
export const REFRESH_TOKEN_TTL_MS = 24 * 60 * 60_000;

export interface AsState {
  config: Config;
  logger: Logger;
  now: () => number;
  key: SigningKey;
  clients: BoundedStore<PublicClientRecord>;
  /** Confidential clients from `AS_CLIENTS`, outside the bounded DCR store (never evicted). */
  preRegisteredClients: ReadonlyMap<string, ClientRecord>;
  codes: BoundedStore<CodeRecord>;
  refreshTokens: BoundedStore<RefreshTokenRecord>;
  families: BoundedStore<TokenFamily>;
  /** A8: `jti`s of revoked access tokens, kept until the token's own `exp`. */
  revokedAccessTokens: BoundedStore<true>;
}

export function createState(config: Config, key: SigningKey, logger: Logger, now: () => number, limits: Limits): AsState {
  return {
    config,
    logger,
    now,
    key,
    clients: new BoundedStore({ capacity: limits.maxClients, now }),
    preRegisteredClients: preRegisteredClients(config),
    codes: new BoundedStore({ capacity: limits.maxCodes, now }),
    refreshTokens: new BoundedStore({ capacity: limits.maxRefreshTokens, now }),
    // One family per redeemed code, at most one per live refresh token or code.
    families: new BoundedStore({ capacity: limits.maxRefreshTokens, now }),
    revokedAccessTokens: new BoundedStore({ capacity: limits.maxRefreshTokens, now }),
  };
}

/**
 * Revoke a family: its refresh tokens stop working (they are looked up through the family), and its
 * live access tokens are recorded as revoked. A JWT access token still verifies at the RS until `exp`
 * (A8) — the RS does not introspect.
 */
export function revokeFamily(state: AsState, family_id: string, reason: string): void {
  const family = state.families.get(family_id);
  if (!family || family.revoked) return;
  family.revoked = true;
  for (const { jti, exp } of family.accessTokens) state.revokedAccessTokens.set(jti, true, exp * 1000);
  state.logger.warn(`revoked token family of client_id=${family.client_id}: ${reason}`);
}
