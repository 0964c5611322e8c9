/**
 * Refresh-token abuse (A6, A8).
 *
 * Rotation with reuse detection (OAuth 2.1 §4.3.1, RFC 9700 §4.14.2): a rotated token presented again
 * means the chain leaked, so the whole family dies — the newest token included. A refused refresh that
 * is not reuse (widening, wrong resource, wrong client) changes nothing: the token still works after.
 */
import assert from "node:assert/strict";
import { decodeJwt } from "jose";
import { postToken, revoke } from "../../helpers/oauth.ts";
import {
  expectRefreshDead,
  expectRefreshWorks,
  freshClient,
  freshCode,
  freshGrant,
  refreshForm,
  remember,
  rotate,
  type FreshCode,
  type FreshGrant,
} from "./as-fixtures.ts";
import { accepted, rejected, scenario, type Attack, type Ctx } from "./as-types.ts";

const REFRESH_TOKEN_LIFETIME_MS = 24 * 60 * 60_000;

interface Rotated {
  first: FreshGrant;
  second: FreshGrant;
  third: FreshGrant;
}

/** A grant rotated twice: first → second → third (the live one). */
async function rotatedTwice(ctx: Ctx): Promise<Rotated> {
  const first = await freshGrant(ctx);
  const second = await rotate(ctx, first);
  return { first, second, third: await rotate(ctx, second) };
}

/** A refused refresh that must not consume the token: it still rotates afterwards, with its scope. */
const refusedButIntact = (
  name: string,
  cite: string,
  status: number,
  error: string,
  tamper: (ctx: Ctx, g: FreshGrant) => Promise<Record<string, string>> | Record<string, string>,
  scope = "files:read",
): Attack =>
  scenario<FreshGrant>({
    category: "refresh-token",
    name,
    cite,
    arrange: (ctx) => freshGrant(ctx, { scope }),
    attack: async (ctx, g) => postToken(ctx.config, await tamper(ctx, g)),
    expect: rejected(status, error),
    afterwards: async (ctx, g) => {
      await expectRefreshWorks(ctx, g.client.client_id, g.refresh_token, scope);
    },
  });

export const REFRESH_TOKEN_ATTACKS: Attack[] = [
  // ---- reuse after rotation ----
  scenario<Rotated>({
    category: "refresh-token",
    name: "reuse of a rotated refresh token → invalid_grant, and the family dies, newest token included",
    cite: "A6, OAuth 2.1 §4.3.1, RFC 9700 §4.14.2",
    arrange: rotatedTwice,
    attack: (ctx, r) => postToken(ctx.config, refreshForm(r.first.client.client_id, r.first.refresh_token)),
    expect: rejected(400, "invalid_grant"),
    afterwards: async (ctx, r) => {
      await expectRefreshDead(ctx, r.third.client.client_id, r.third.refresh_token);
    },
  }),
  scenario<Rotated>({
    category: "refresh-token",
    name: "reuse of the middle token of a chain → the family dies too",
    cite: "A6, RFC 9700 §4.14.2",
    arrange: rotatedTwice,
    attack: (ctx, r) => postToken(ctx.config, refreshForm(r.second.client.client_id, r.second.refresh_token)),
    expect: rejected(400, "invalid_grant"),
    afterwards: async (ctx, r) => {
      await expectRefreshDead(ctx, r.third.client.client_id, r.third.refresh_token);
    },
  }),
  scenario<Rotated>({
    category: "refresh-token",
    name: "reuse of a rotated token by another client → invalid_grant, and the owner's family dies (leak detected)",
    cite: "A6, RFC 9700 §4.14.2",
    arrange: rotatedTwice,
    attack: async (ctx, r) => postToken(ctx.config, refreshForm((await freshClient(ctx)).client_id, r.first.refresh_token)),
    expect: rejected(400, "invalid_grant"),
    afterwards: async (ctx, r) => {
      await expectRefreshDead(ctx, r.third.client.client_id, r.third.refresh_token);
    },
  }),
  scenario<FreshGrant & { winner?: Record<string, unknown> }>({
    category: "refresh-token",
    name: "two concurrent refreshes with one token → one is refused as reuse, and the winner's new token is dead",
    cite: "A6, RFC 9700 §4.14.2",
    arrange: (ctx) => freshGrant(ctx),
    attack: async (ctx, g) => {
      const form = refreshForm(g.client.client_id, g.refresh_token);
      const responses = await Promise.all([postToken(ctx.config, form), postToken(ctx.config, form)]);
      const winners = responses.filter((r) => r.status === 200);
      assert.equal(winners.length, 1, `exactly one refresh wins, got ${responses.map((r) => r.status).join(", ")}`);
      g.winner = (await winners[0]!.json()) as Record<string, unknown>;
      remember(ctx, g.winner);
      return responses.find((r) => r.status !== 200)!;
    },
    expect: rejected(400, "invalid_grant"),
    afterwards: async (ctx, g) => {
      await expectRefreshDead(ctx, g.client.client_id, g.winner!.refresh_token as string);
    },
  }),
  // ---- widening (RFC 6749 §6) ----
  refusedButIntact(
    "widening files:read → files:read files:write → invalid_scope, and the token still works",
    "A6, RFC 6749 §6",
    400,
    "invalid_scope",
    (_ctx, g) => refreshForm(g.client.client_id, g.refresh_token, { scope: "files:read files:write" }),
  ),
  refusedButIntact(
    "widening to a scope the user may never have (files:admin) → invalid_scope, token intact",
    "A6, RFC 6749 §6, S3",
    400,
    "invalid_scope",
    (_ctx, g) => refreshForm(g.client.client_id, g.refresh_token, { scope: "files:admin" }),
    "files:read files:write",
  ),
  refusedButIntact(
    "widening by swapping (files:write for a files:read grant) → invalid_scope, token intact",
    "A6, RFC 6749 §6",
    400,
    "invalid_scope",
    (_ctx, g) => refreshForm(g.client.client_id, g.refresh_token, { scope: "files:write" }),
  ),
  refusedButIntact(
    "narrowing with scope 'files:read' + TAB + 'files:write' on refresh → invalid_scope, token intact",
    "A10, RFC 6749 §3.3",
    400,
    "invalid_scope",
    (_ctx, g) => refreshForm(g.client.client_id, g.refresh_token, { scope: "files:read\tfiles:write" }),
    "files:read files:write",
  ),
  refusedButIntact(
    "narrowing with scope 'files:read' + NBSP + 'files:write' on refresh → invalid_scope, token intact",
    "A10, RFC 6749 §3.3",
    400,
    "invalid_scope",
    (_ctx, g) => refreshForm(g.client.client_id, g.refresh_token, { scope: "files:read\u00a0files:write" }),
    "files:read files:write",
  ),
  refusedButIntact(
    "narrowing with scope 'files:read' + U+FEFF + 'files:write' on refresh → invalid_scope, token intact",
    "A10, RFC 6749 §3.3",
    400,
    "invalid_scope",
    (_ctx, g) => refreshForm(g.client.client_id, g.refresh_token, { scope: "files:read\ufefffiles:write" }),
    "files:read files:write",
  ),
  refusedButIntact(
    "narrowing with scope 'files:read' + U+2028 + 'files:write' on refresh → invalid_scope, token intact",
    "A10, RFC 6749 §3.3",
    400,
    "invalid_scope",
    (_ctx, g) => refreshForm(g.client.client_id, g.refresh_token, { scope: "files:read\u2028files:write" }),
    "files:read files:write",
  ),
  refusedButIntact(
    "narrowing with scope 'files:read' + CR LF + 'files:write' on refresh → invalid_scope, token intact",
    "A10, RFC 6749 §3.3",
    400,
    "invalid_scope",
    (_ctx, g) => refreshForm(g.client.client_id, g.refresh_token, { scope: "files:read\r\nfiles:write" }),
    "files:read files:write",
  ),
  refusedButIntact(
    "narrowing with scope 'files:read' + two spaces + 'files:write' on refresh → invalid_scope, token intact",
    "A10, RFC 6749 §3.3",
    400,
    "invalid_scope",
    (_ctx, g) => refreshForm(g.client.client_id, g.refresh_token, { scope: "files:read  files:write" }),
    "files:read files:write",
  ),
  refusedButIntact(
    "an unknown scope on refresh → invalid_scope, token intact",
    "A6, RFC 6749 §6",
    400,
    "invalid_scope",
    (_ctx, g) => refreshForm(g.client.client_id, g.refresh_token, { scope: "files:read openid" }),
  ),
  refusedButIntact(
    "a whitespace-only scope on refresh → invalid_scope, token intact",
    "A6, RFC 6749 §3.3",
    400,
    "invalid_scope",
    (_ctx, g) => refreshForm(g.client.client_id, g.refresh_token, { scope: " \t " }),
  ),
  // ---- binding: client, resource ----
  refusedButIntact(
    "another client's live refresh token → invalid_grant, and it still works for its owner",
    "A6, RFC 6749 §6",
    400,
    "invalid_grant",
    async (ctx, g) => refreshForm((await freshClient(ctx)).client_id, g.refresh_token),
  ),
  refusedButIntact(
    "another client's token presented by a client without the refresh_token grant → unauthorized_client, token intact",
    "A3, RFC 7591 §2",
    400,
    "unauthorized_client",
    (ctx, g) => refreshForm(ctx.clients.noRefresh.client_id, g.refresh_token),
  ),
  refusedButIntact(
    "an unknown client_id with a real refresh token → 400 invalid_client, token intact",
    "RFC 6749 §5.2",
    400,
    "invalid_client",
    (_ctx, g) => refreshForm("no-such-client", g.refresh_token),
  ),
  refusedButIntact(
    "a refresh for another resource → invalid_target, token intact",
    "A6, RFC 8707 §2.2",
    400,
    "invalid_target",
    (_ctx, g) => refreshForm(g.client.client_id, g.refresh_token, { resource: "https://attacker.example/mcp" }),
  ),
  refusedButIntact(
    "a refresh for the resource with a trailing slash → invalid_target, token intact",
    "A6, RFC 8707 §2.2",
    400,
    "invalid_target",
    (ctx, g) => refreshForm(g.client.client_id, g.refresh_token, { resource: `${ctx.config.resource}/` }),
  ),
  // ---- dead tokens ----
  scenario<FreshGrant>({
    category: "refresh-token",
    name: "a refresh token revoked by its client (RFC 7009) → invalid_grant",
    cite: "A8, RFC 7009 §2.1",
    arrange: async (ctx) => {
      const g = await freshGrant(ctx);
      const response = await revoke(ctx.config, { client_id: g.client.client_id, token: g.refresh_token });
      assert.equal(response.status, 200);
      return g;
    },
    attack: (ctx, g) => postToken(ctx.config, refreshForm(g.client.client_id, g.refresh_token)),
    expect: rejected(400, "invalid_grant"),
    // the revocation holds: the token stays dead (its JWT access token stays valid until `exp`, A8)
    afterwards: (ctx, g) => expectRefreshDead(ctx, g.client.client_id, g.refresh_token),
  }),
  scenario<FreshGrant>({
    category: "refresh-token",
    control: true,
    name: "control: another client's /revoke of my refresh token → 200 (RFC 7009 §2.2), and it changes nothing",
    cite: "A8, RFC 7009 §2.1",
    arrange: (ctx) => freshGrant(ctx),
    attack: (ctx, g) => revoke(ctx.config, { client_id: ctx.clients.other.client_id, token: g.refresh_token }),
    expect: accepted(200),
    afterwards: async (ctx, g) => {
      await expectRefreshWorks(ctx, g.client.client_id, g.refresh_token);
    },
  }),
  scenario<FreshGrant>({
    category: "refresh-token",
    name: "another client's /revoke of my access token → 400 unsupported_token_type, and it changes nothing",
    cite: "A8, RFC 7009 §2.2.1",
    arrange: (ctx) => freshGrant(ctx),
    attack: (ctx, g) => revoke(ctx.config, { client_id: ctx.clients.other.client_id, token: g.access_token }),
    expect: rejected(400, "unsupported_token_type"),
    afterwards: async (ctx, g) => {
      await expectRefreshWorks(ctx, g.client.client_id, g.refresh_token);
    },
  }),
  scenario<FreshGrant>({
    category: "refresh-token",
    name: "a refresh token past its lifetime (injected clock) → invalid_grant",
    cite: "A6",
    arrange: async (ctx) => {
      const g = await freshGrant(ctx);
      ctx.as.clock.advance(REFRESH_TOKEN_LIFETIME_MS + 1_000);
      return g;
    },
    attack: (ctx, g) => postToken(ctx.config, refreshForm(g.client.client_id, g.refresh_token)),
    expect: rejected(400, "invalid_grant"),
    afterwards: async (ctx, g) => expectRefreshDead(ctx, g.client.client_id, g.refresh_token),
  }),
  // ---- token confusion ----
  refusedButIntact(
    "an access token presented as a refresh token → invalid_grant, the real one intact",
    "A6",
    400,
    "invalid_grant",
    (_ctx, g) => refreshForm(g.client.client_id, g.access_token),
  ),
  scenario<{ grant: FreshGrant; code: FreshCode }>({
    category: "refresh-token",
    name: "a refresh token presented as an authorization code → invalid_grant, the refresh token intact",
    cite: "A5, A6",
    arrange: async (ctx) => {
      const grant = await freshGrant(ctx);
      return { grant, code: await freshCode(ctx, { client: grant.client }) };
    },
    attack: (ctx, f) =>
      postToken(ctx.config, {
        grant_type: "authorization_code",
        client_id: f.grant.client.client_id,
        code: f.grant.refresh_token,
        code_verifier: f.code.code_verifier,
        redirect_uri: f.code.redirect_uri,
      }),
    expect: rejected(400, "invalid_grant"),
    afterwards: async (ctx, f) => {
      const next = await expectRefreshWorks(ctx, f.grant.client.client_id, f.grant.refresh_token);
      assert.equal(decodeJwt(next.access_token).client_id, f.grant.client.client_id);
    },
  }),
];
