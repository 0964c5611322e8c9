/**
 * Building blocks for the scenario entries: a fresh code or grant per entry (nothing shared, so one
 * entry's revocation can never make another pass), and the after-the-fact checks — "the code is spent",
 * "the refresh token still works", "the family is revoked".
 */
import assert from "node:assert/strict";
import {
  expectOAuthError,
  obtainCode,
  obtainTokens,
  postToken,
  registerClient,
  type ClientMetadata,
  type RegisteredClient,
  type TokenResponse,
} from "../../helpers/oauth.ts";
import type { Ctx } from "./as-types.ts";

export interface FreshCode {
  client: RegisteredClient;
  code: string;
  code_verifier: string;
  redirect_uri: string;
}

export interface FreshGrant extends TokenResponse {
  client: RegisteredClient;
  refresh_token: string;
}

/** A newly registered client (its own, so cross-entry state never leaks). */
export async function freshClient(ctx: Ctx, overrides: Partial<ClientMetadata> = {}): Promise<RegisteredClient> {
  return registerClient(ctx.config, overrides);
}

/** Register → authorize: an unredeemed code. */
export async function freshCode(ctx: Ctx, { scope, client }: { scope?: string; client?: RegisteredClient } = {}): Promise<FreshCode> {
  const owner = client ?? (await freshClient(ctx));
  const { code, code_verifier, redirect_uri } = await obtainCode(ctx.config, { client_id: owner.client_id, scope });
  ctx.secrets.add(code).add(code_verifier);
  return { client: owner, code, code_verifier, redirect_uri };
}

/** Register → authorize → token: a live grant with a refresh token. */
export async function freshGrant(ctx: Ctx, { scope, client }: { scope?: string; client?: RegisteredClient } = {}): Promise<FreshGrant> {
  const tokens = await obtainTokens(ctx.config, { scope, client });
  assert.ok(tokens.refresh_token, "the grant carries a refresh token");
  remember(ctx, tokens);
  return { ...tokens, refresh_token: tokens.refresh_token, client: tokens.client };
}

/** Record issued tokens as secrets (no log line may contain them). */
export function remember(ctx: Ctx, tokens: Partial<TokenResponse>): void {
  if (tokens.access_token) ctx.secrets.add(tokens.access_token);
  if (tokens.refresh_token) ctx.secrets.add(tokens.refresh_token);
}

/** The valid code-exchange form for `c` (RFC 6749 §4.1.3 + RFC 7636 §4.6 + RFC 8707). */
export function codeForm(ctx: Ctx, c: FreshCode): Record<string, string> {
  return {
    grant_type: "authorization_code",
    client_id: c.client.client_id,
    code: c.code,
    code_verifier: c.code_verifier,
    redirect_uri: c.redirect_uri,
    resource: ctx.config.resource,
  };
}

export function refreshForm(client_id: string, refresh_token: string, extra: Record<string, string> = {}): Record<string, string> {
  return { grant_type: "refresh_token", client_id, refresh_token, ...extra };
}

/** A5: the code can no longer be redeemed, not even by the right request. */
export async function expectCodeSpent(ctx: Ctx, c: FreshCode): Promise<void> {
  await expectOAuthError(await postToken(ctx.config, codeForm(ctx, c)), 400, "invalid_grant");
}

/** The refused request changed nothing: the right request still redeems the code. */
export async function expectCodeRedeemable(ctx: Ctx, c: FreshCode): Promise<TokenResponse> {
  const response = await postToken(ctx.config, codeForm(ctx, c));
  const body = (await response.json()) as TokenResponse;
  assert.equal(response.status, 200, `the code should still be redeemable: ${JSON.stringify(body)}`);
  remember(ctx, body);
  return body;
}

/** The refused request changed nothing: the refresh token still rotates (and returns its successor). */
export async function expectRefreshWorks(ctx: Ctx, client_id: string, refresh_token: string, scope?: string): Promise<TokenResponse> {
  const response = await postToken(ctx.config, refreshForm(client_id, refresh_token));
  const body = (await response.json()) as TokenResponse;
  assert.equal(response.status, 200, `the refresh token should still work: ${JSON.stringify(body)}`);
  if (scope !== undefined) assert.equal(body.scope, scope, "and its scope is unchanged");
  remember(ctx, body);
  return body;
}

/** The refresh token is dead (revoked, rotated away, expired or unknown). */
export async function expectRefreshDead(ctx: Ctx, client_id: string, refresh_token: string): Promise<void> {
  await expectOAuthError(await postToken(ctx.config, refreshForm(client_id, refresh_token)), 400, "invalid_grant");
}

/** Redeem a code (asserting success). */
export async function redeem(ctx: Ctx, c: FreshCode): Promise<FreshGrant> {
  const tokens = await expectCodeRedeemable(ctx, c);
  assert.ok(tokens.refresh_token);
  return { ...tokens, refresh_token: tokens.refresh_token, client: c.client };
}

/** Rotate a refresh token once (asserting success). */
export async function rotate(ctx: Ctx, grant: FreshGrant): Promise<FreshGrant> {
  const next = await expectRefreshWorks(ctx, grant.client.client_id, grant.refresh_token);
  assert.ok(next.refresh_token);
  return { ...next, refresh_token: next.refresh_token, client: grant.client };
}
