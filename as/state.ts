/**
 * What the AS remembers, all in bounded in-memory stores (A9), and the one operation that spans them:
 * revoking a token family.
 *
 * A "family" is everything issued from one authorization code: the refresh tokens of its rotation chain.
 * Code replay (A5), refresh-token reuse (A6) and revocation of a refresh token (A8) each revoke a whole
 * family. Access tokens are not recorded: they are JWTs the RS verifies on its own, so a revoked
 * family's access tokens stay valid until their `exp` (A8) — nothing here pretends otherwise.
 */
import type { Request } from "express";
import type { Config } from "../shared/config.ts";
import type { Logger } from "../shared/log.ts";
import type { SigningKey } from "./keys.ts";
import type { Params } from "./params.ts";
import type { PkceVerdict } from "./pkce.ts";
import type { RedirectUriVerdict } from "./redirect-uri.ts";
import { BoundedStore } from "./store.ts";

/** The demo's only resource owner (S3); it consents automatically, or on the consent page with AS_CONSENT=prompt (A11). */
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
}

/**
 * A5: what is left of a code once a redemption was attempted (successful or not: a code is single use),
 * kept in its own store so that a flood of `/authorize` cannot erase it (A9).
 */
export interface RedeemedCode {
  /** When the code itself would have expired: until then a replay must be recognised. */
  expiresAt: number;
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
}

export interface Limits {
  maxClients: number;
  maxCodes: number;
  maxRefreshTokens: number;
  /** Records of redeemed codes (only `/token` adds them, at most one per code issued). */
  maxRedeemedCodes: number;
}

export const DEFAULT_LIMITS: Limits = { maxClients: 1000, maxCodes: 1000, maxRefreshTokens: 10_000, maxRedeemedCodes: 10_000 };

/** A5: codes live at most 60 s. */
export const CODE_TTL_MS = 60_000;
/** How long a redeemed code is remembered, so a replay is recognised (and its family revoked). */
export const REDEEMED_CODE_RETENTION_MS = 10 * 60_000;
/** A9: a client counts as in use this long after its registration or its last request (and while it holds a grant). */
export const CLIENT_RECENT_USE_MS = 10 * 60_000;
/** Refresh tokens: each rotation issues a fresh one valid this long (no rule sets it; a demo day). */
export const REFRESH_TOKEN_TTL_MS = 24 * 60 * 60_000;

/**
 * The rules the AS judges requests by, chosen once where the app is built (as/app.ts): the correct ones
 * below, or — only under `pnpm demo --break lenient-redirect|no-pkce|scope-hierarchy` — a broken variant (as/breaks.ts).
 */
export interface AsPolicy {
  /** A3: may this redirect URI be registered? (`validateRedirectUri`, redirect-uri.ts) */
  validateRedirectUri(raw: string): RedirectUriVerdict;
  /** A4: is the requested `redirect_uri` one the client registered? (`redirectUriMatches`, redirect-uri.ts) */
  redirectUriMatches(registered: string, requested: string): boolean;
  /** A6, RFC 7636 §4.6: does the `code_verifier` prove the code is the caller's? (`checkCodeVerifier`, pkce.ts) */
  verifyCodeVerifier(code_verifier: string | undefined, code_challenge: string): PkceVerdict;
  /** S3: what the user's policy grants of a request (`grantScope`, authorize.ts). */
  grantScope(requested: readonly string[], grantable: readonly string[]): string[];
  /** A6, RFC 6749 §6: what a refresh's `scope` asks beyond the grant, and what it keeps (`narrowScope`, grants/refresh-token.ts). */
  narrowScope(requested: readonly string[], granted: readonly string[]): { beyond: string[]; scope: string[] };
}

export interface AsState {
  config: Config;
  logger: Logger;
  now: () => number;
  key: SigningKey;
  policy: AsPolicy;
  clients: BoundedStore<PublicClientRecord>;
  /** Confidential clients from `AS_CLIENTS` (as/extras/), outside the bounded DCR store (never evicted). */
  preRegisteredClients: ReadonlyMap<string, ClientRecord>;
  /** A13 (as/extras/confidential-clients.ts): the client a request authenticates as with a secret, if it presents one. */
  authenticateWithSecret?: (state: AsState, req: Request, params: Params) => ClientRecord | undefined;
  /** Pending codes: issued, not yet presented. */
  codes: BoundedStore<CodeRecord>;
  /** Codes presented once (A5): a second presentation is a replay. */
  redeemedCodes: BoundedStore<RedeemedCode>;
  /** A9: until when each client counts as in use (a live grant or recent use): never evicted before. */
  clientsInUse: Map<string, number>;
  refreshTokens: BoundedStore<RefreshTokenRecord>;
  families: BoundedStore<TokenFamily>;
}

export interface StateOptions {
  config: Config;
  key: SigningKey;
  logger: Logger;
  now: () => number;
  limits: Limits;
  policy: AsPolicy;
  preRegisteredClients?: ReadonlyMap<string, ClientRecord>;
  authenticateWithSecret?: AsState["authenticateWithSecret"];
}

export function createState({ config, key, logger, now, limits, policy, preRegisteredClients, authenticateWithSecret }: StateOptions): AsState {
  const state: AsState = {
    config,
    logger,
    now,
    key,
    policy,
    authenticateWithSecret,
    // A9: a registration flood must not evict a client in use — a full store refuses instead (register.ts).
    clients: new BoundedStore({
      capacity: limits.maxClients,
      now,
      keep: (_client, client_id) => clientInUseUntil(state, client_id) > now(),
      onEvict: (_client, client_id) => state.clientsInUse.delete(client_id),
    }),
    preRegisteredClients: preRegisteredClients ?? new Map(),
    codes: new BoundedStore({ capacity: limits.maxCodes, now }),
    redeemedCodes: new BoundedStore({
      capacity: limits.maxRedeemedCodes,
      now,
      // A5 fails closed: a record forced out while its code could still be replayed takes its family
      // with it, so a replay that is no longer recognisable has nothing left to use.
      onEvict: (record) => {
        if (record.family_id && record.expiresAt > now()) revokeFamily(state, record.family_id, "redeemed-code record evicted early");
      },
    }),
    clientsInUse: new Map(),
    refreshTokens: new BoundedStore({ capacity: limits.maxRefreshTokens, now }),
    // One family per redeemed code, at most one per live refresh token or code.
    families: new BoundedStore({ capacity: limits.maxRefreshTokens, now }),
  };
  return state;
}

/**
 * Revoke a family: its refresh tokens stop working (they are looked up through the family). Its JWT
 * access tokens still verify at the RS until `exp` (A8) — the RS does not introspect.
 */
export function revokeFamily(state: AsState, family_id: string, reason: string): void {
  const family = state.families.get(family_id);
  if (!family || family.revoked) return;
  family.revoked = true;
  state.logger.warn(`revoked token family of client_id=${family.client_id}: ${reason}`);
}

/** Until when (ms) `client_id` counts as in use; 0 when it never was. */
function clientInUseUntil(state: AsState, client_id: string): number {
  return state.clientsInUse.get(client_id) ?? 0;
}

/** A9: the client was just used (or holds a grant) — keep it at least `CLIENT_RECENT_USE_MS`, or `until`. */
export function markClientInUse(state: AsState, client_id: string, until = state.now() + CLIENT_RECENT_USE_MS): void {
  if (state.clients.has(client_id)) state.clientsInUse.set(client_id, Math.max(clientInUseUntil(state, client_id), until));
}
