/**
 * Authorization-code and PKCE abuse (A4–A6).
 *
 * At /authorize the redirect target is trusted, so every refusal is redirected (`error` + `iss`, no code).
 * At /token each entry redeems a fresh code the wrong way, then checks what A5 demands afterwards:
 * - a failed redemption (wrong verifier, client, redirect_uri, resource) spends the code;
 * - a malformed request (a required parameter missing) or an unknown client is not a redemption and
 *   leaves the code redeemable;
 * - a replay is refused and revokes everything issued from the code (RFC 6749 §4.1.2).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { decodeJwt } from "jose";
import { authorizationParams, authorize, pkcePair, postToken } from "../../helpers/oauth.ts";
import {
  codeForm,
  expectCodeRedeemable,
  expectCodeSpent,
  expectRefreshDead,
  freshClient,
  freshCode,
  redeem,
  remember,
  rotate,
  type FreshCode,
  type FreshGrant,
} from "./as-fixtures.ts";
import { accepted, redirectedError, rejected, scenario, type Attack, type AuthorizeAttack, type Ctx } from "./as-types.ts";

const s256 = (verifier: string) => createHash("sha256").update(verifier).digest("base64url");

// ---- /authorize: the request is refused, redirected to the (trusted) client with error + iss ----

const authorizeError = (name: string, params: AuthorizeAttack["params"], error: string, cite: string): AuthorizeAttack => ({
  kind: "authorize",
  category: "authorization-code",
  name,
  cite,
  params,
  expect: redirectedError(error),
});

const authorizeAttacks: AuthorizeAttack[] = [
  authorizeError("PKCE: a missing code_challenge → invalid_request", { code_challenge: undefined }, "invalid_request", "A4, RFC 7636 §4.4.1, OAuth 2.1 §4.1.1"),
  authorizeError("PKCE: code_challenge_method=plain → invalid_request", { code_challenge_method: "plain" }, "invalid_request", "A4, OAuth 2.1 §7.5.2"),
  authorizeError("PKCE: a missing code_challenge_method (would mean plain) → invalid_request", { code_challenge_method: undefined }, "invalid_request", "A4, RFC 7636 §4.3"),
  authorizeError("PKCE: code_challenge_method=s256 (wrong case) → invalid_request", { code_challenge_method: "s256" }, "invalid_request", "A4, RFC 7636 §4.3"),
  authorizeError("PKCE: an unknown code_challenge_method → invalid_request", { code_challenge_method: "S512" }, "invalid_request", "A4"),
  authorizeError("PKCE: a 42-character challenge → invalid_request", { code_challenge: "a".repeat(42) }, "invalid_request", "RFC 7636 §4.2"),
  authorizeError("PKCE: a 128-character challenge (a plain verifier) → invalid_request", { code_challenge: "a".repeat(128) }, "invalid_request", "RFC 7636 §4.2"),
  authorizeError("PKCE: a challenge with '=' padding → invalid_request", { code_challenge: `${"a".repeat(43)}=` }, "invalid_request", "RFC 7636 §4.2"),
  authorizeError("PKCE: a base64 (not base64url) challenge → invalid_request", { code_challenge: `${"a".repeat(41)}+/` }, "invalid_request", "RFC 7636 §4.2"),
  authorizeError("response_type=token (the implicit grant) → unsupported_response_type", { response_type: "token" }, "unsupported_response_type", "A4, OAuth 2.1 §4.1.1"),
  authorizeError("response_type='code token' (hybrid) → unsupported_response_type", { response_type: "code token" }, "unsupported_response_type", "A4"),
  authorizeError("a missing response_type → invalid_request", { response_type: undefined }, "invalid_request", "A4, RFC 6749 §4.1.1"),
  authorizeError("a missing resource → invalid_target", { resource: undefined }, "invalid_target", "A4, RFC 8707 §2"),
  authorizeError("another server's resource → invalid_target", { resource: "https://attacker.example/mcp" }, "invalid_target", "A4, RFC 8707 §2"),
  authorizeError("the resource with a trailing slash → invalid_target", (ctx) => ({ resource: `${ctx.config.resource}/` }), "invalid_target", "A4, RFC 8707 §2"),
  authorizeError("the resource in upper case → invalid_target", (ctx) => ({ resource: ctx.config.resource.toUpperCase() }), "invalid_target", "A4, RFC 8707 §2"),
  authorizeError("the resource with a fragment → invalid_target", (ctx) => ({ resource: `${ctx.config.resource}#x` }), "invalid_target", "A4, RFC 8707 §2"),
  authorizeError("an unknown scope beside known ones → invalid_scope", { scope: "files:read files:*" }, "invalid_scope", "A4, RFC 6749 §3.3"),
  authorizeError("scope=openid (not in the catalog) → invalid_scope", { scope: "openid" }, "invalid_scope", "A4"),
  authorizeError("a whitespace-only scope → invalid_scope (not access_denied for an empty list)", { scope: " \t " }, "invalid_scope", "A4, RFC 6749 §3.3"),
  authorizeError("scope 'files:read' + TAB + 'files:write' → invalid_scope (only a single space separates)", { scope: "files:read\tfiles:write" }, "invalid_scope", "A10, RFC 6749 §3.3"),
  authorizeError("scope 'files:read' + NBSP + 'files:write' → invalid_scope (only a single space separates)", { scope: "files:read\u00a0files:write" }, "invalid_scope", "A10, RFC 6749 §3.3"),
  authorizeError("scope 'files:read' + U+FEFF + 'files:write' → invalid_scope (only a single space separates)", { scope: "files:read\ufefffiles:write" }, "invalid_scope", "A10, RFC 6749 §3.3"),
  authorizeError("scope 'files:read' + U+2028 + 'files:write' → invalid_scope (only a single space separates)", { scope: "files:read\u2028files:write" }, "invalid_scope", "A10, RFC 6749 §3.3"),
  authorizeError("scope 'files:read' + CR LF + 'files:write' → invalid_scope (only a single space separates)", { scope: "files:read\r\nfiles:write" }, "invalid_scope", "A10, RFC 6749 §3.3"),
  authorizeError("scope 'files:read' + a NUL + 'files:write' → invalid_scope (only a single space separates)", { scope: "files:read\u0000files:write" }, "invalid_scope", "A10, RFC 6749 §3.3"),
  authorizeError("scope 'files:read' + two spaces + 'files:write' → invalid_scope (only a single space separates)", { scope: "files:read  files:write" }, "invalid_scope", "A10, RFC 6749 §3.3"),
  authorizeError("scope 'files:read' + U+3000 (ideographic space) + 'files:write' → invalid_scope (only a single space separates)", { scope: "files:read\u3000files:write" }, "invalid_scope", "A10, RFC 6749 §3.3"),
  authorizeError("a leading space in scope (an empty token) → invalid_scope", { scope: " files:read" }, "invalid_scope", "A10, RFC 6749 §3.3"),
  authorizeError("a trailing space in scope (an empty token) → invalid_scope", { scope: "files:read " }, "invalid_scope", "A10, RFC 6749 §3.3"),
  authorizeError("a scope token with a backslash (outside %x5D-7E) → invalid_scope", { scope: "files:read\\" }, "invalid_scope", "A10, RFC 6749 §3.3"),
  authorizeError("a scope nothing of which policy grants (files:admin) → access_denied", { scope: "files:admin" }, "access_denied", "A4, S3"),
  {
    kind: "authorize",
    category: "authorization-code",
    control: true,
    name: "control: asking for files:admin among grantable scopes is partially granted, never admin",
    cite: "S3, RFC 6749 §3.3",
    params: { scope: "files:admin files:read" },
    expect: accepted(302),
    afterwards: (_ctx, location) => assert.ok(location.searchParams.get("code")),
  },
];

// ---- /token: redeeming a code the wrong way ----

/** A failed redemption: the code is refused now and spent for good (A5). */
const spendingAttack = (
  name: string,
  cite: string,
  error: string,
  tamper: (ctx: Ctx, c: FreshCode) => Promise<Record<string, string | undefined>> | Record<string, string | undefined>,
): Attack =>
  scenario<FreshCode>({
    category: "authorization-code",
    name,
    cite,
    arrange: (ctx) => freshCode(ctx),
    attack: async (ctx, c) => postToken(ctx.config, await tamper(ctx, c)),
    expect: rejected(400, error),
    afterwards: expectCodeSpent,
  });

/** A malformed request is not a redemption: refused, and the code still works afterwards. */
const harmlessAttack = (
  name: string,
  cite: string,
  status: number,
  error: string,
  tamper: (ctx: Ctx, c: FreshCode) => Record<string, string | string[] | undefined>,
): Attack =>
  scenario<FreshCode>({
    category: "authorization-code",
    name,
    cite,
    arrange: (ctx) => freshCode(ctx),
    attack: (ctx, c) => postToken(ctx.config, tamper(ctx, c)),
    expect: rejected(status, error),
    afterwards: async (ctx, c) => void (await expectCodeRedeemable(ctx, c)),
  });

interface Replay {
  code: FreshCode;
  first: FreshGrant;
  latest?: FreshGrant;
}

const tokenAttacks: Attack[] = [
  spendingAttack("PKCE: a wrong code_verifier → invalid_grant, and the code is spent", "A5, RFC 7636 §4.6", "invalid_grant", (ctx, c) => ({
    ...codeForm(ctx, c),
    code_verifier: pkcePair().code_verifier,
  })),
  spendingAttack("PKCE: the code_challenge sent as the verifier (a plain downgrade) → invalid_grant", "A5, RFC 7636 §4.6", "invalid_grant", (ctx, c) => ({
    ...codeForm(ctx, c),
    code_verifier: s256(c.code_verifier),
  })),
  spendingAttack("PKCE: the verifier with one character changed → invalid_grant", "A5, RFC 7636 §4.6", "invalid_grant", (ctx, c) => ({
    ...codeForm(ctx, c),
    code_verifier: (c.code_verifier[0] === "A" ? "B" : "A") + c.code_verifier.slice(1),
  })),
  spendingAttack("PKCE: a 200-character verifier → invalid_grant", "RFC 7636 §4.1", "invalid_grant", (ctx, c) => ({
    ...codeForm(ctx, c),
    code_verifier: "a".repeat(200),
  })),
  scenario<FreshCode & { short: string }>({
    category: "authorization-code",
    name: "PKCE: a too-short verifier is refused even though it hashes to the challenge (RFC 7636 §4.1)",
    cite: "A5, RFC 7636 §4.1",
    arrange: async (ctx) => {
      // The attacker controls both halves: a 3-character "verifier" and its honest S256 challenge.
      const client = await freshClient(ctx);
      const short = "abc";
      const response = await authorize(ctx.config, authorizationParams(ctx.config, client.client_id, s256(short)));
      assert.equal(response.status, 302);
      const code = new URL(response.headers.get("location")!).searchParams.get("code");
      assert.ok(code, "a well-formed S256 challenge is accepted at /authorize");
      ctx.secrets.add(code);
      return { client, code, code_verifier: short, redirect_uri: client.redirect_uris[0]!, short };
    },
    attack: (ctx, c) => postToken(ctx.config, codeForm(ctx, c)),
    expect: rejected(400, "invalid_grant"),
    afterwards: expectCodeSpent,
  }),
  spendingAttack("a code redeemed by another client → invalid_grant, and spent for its owner too", "A5, RFC 6749 §4.1.3", "invalid_grant", async (ctx, c) => ({
    ...codeForm(ctx, c),
    client_id: (await freshClient(ctx)).client_id,
  })),
  spendingAttack(
    "a changed redirect_uri port at /token (allowed at /authorize, exact here) → invalid_grant",
    "A5, RFC 6749 §4.1.3",
    "invalid_grant",
    (ctx, c) => ({ ...codeForm(ctx, c), redirect_uri: "http://127.0.0.1:9999/callback" }),
  ),
  spendingAttack("a changed redirect_uri path at /token → invalid_grant", "A5, RFC 6749 §4.1.3", "invalid_grant", (ctx, c) => ({
    ...codeForm(ctx, c),
    redirect_uri: "http://127.0.0.1:8765/callback/",
  })),
  spendingAttack("a foreign redirect_uri at /token → invalid_grant", "A5, RFC 6749 §4.1.3", "invalid_grant", (ctx, c) => ({
    ...codeForm(ctx, c),
    redirect_uri: "https://attacker.example/callback",
  })),
  spendingAttack("a changed resource at /token → invalid_target, and the code is spent", "A5, RFC 8707 §2.2", "invalid_target", (ctx, c) => ({
    ...codeForm(ctx, c),
    resource: "https://attacker.example/mcp",
  })),
  spendingAttack("the resource with a trailing slash at /token → invalid_target", "A5, RFC 8707 §2.2", "invalid_target", (ctx, c) => ({
    ...codeForm(ctx, c),
    resource: `${ctx.config.resource}/`,
  })),
  harmlessAttack("a missing code_verifier → invalid_request; the code is not spent", "A5, RFC 7636 §4.6", 400, "invalid_request", (ctx, c) => ({
    ...codeForm(ctx, c),
    code_verifier: undefined,
  })),
  harmlessAttack("a missing redirect_uri → invalid_request; the code is not spent", "A5, RFC 6749 §4.1.3", 400, "invalid_request", (ctx, c) => ({
    ...codeForm(ctx, c),
    redirect_uri: undefined,
  })),
  harmlessAttack("an unknown client_id with a real code → 400 invalid_client; the code is not spent", "RFC 6749 §5.2", 400, "invalid_client", (ctx, c) => ({
    ...codeForm(ctx, c),
    client_id: "no-such-client",
  })),
  harmlessAttack("grant_type=password with a real code → unsupported_grant_type; the code is not spent", "A6, OAuth 2.1 §10", 400, "unsupported_grant_type", (ctx, c) => ({
    ...codeForm(ctx, c),
    grant_type: "password",
  })),
  harmlessAttack("the code presented as a refresh token → invalid_grant; the code is not spent", "A6", 400, "invalid_grant", (_ctx, c) => ({
    grant_type: "refresh_token",
    client_id: c.client.client_id,
    refresh_token: c.code,
  })),
  scenario<FreshCode>({
    category: "authorization-code",
    name: "an unknown (guessed) code → invalid_grant",
    cite: "A5",
    arrange: (ctx) => freshCode(ctx),
    attack: (ctx, c) => postToken(ctx.config, { ...codeForm(ctx, c), code: `${c.code.slice(0, -1)}${c.code.endsWith("A") ? "B" : "A"}` }),
    expect: rejected(400, "invalid_grant"),
    afterwards: async (ctx, c) => void (await expectCodeRedeemable(ctx, c)),
  }),
  scenario<FreshCode>({
    category: "authorization-code",
    name: "a code redeemed after 61 s (injected clock) → invalid_grant",
    cite: "A5 (≤ 60 s)",
    arrange: async (ctx) => {
      const c = await freshCode(ctx);
      ctx.as.clock.advance(61_000);
      return c;
    },
    attack: (ctx, c) => postToken(ctx.config, codeForm(ctx, c)),
    expect: rejected(400, "invalid_grant"),
    afterwards: expectCodeSpent,
  }),
  scenario<FreshCode>({
    category: "authorization-code",
    name: "a code redeemed at exactly 60 s → invalid_grant (the lifetime is a strict upper bound)",
    cite: "A5 (≤ 60 s)",
    arrange: async (ctx) => {
      const c = await freshCode(ctx);
      ctx.as.clock.advance(60_000);
      return c;
    },
    attack: (ctx, c) => postToken(ctx.config, codeForm(ctx, c)),
    expect: rejected(400, "invalid_grant"),
    afterwards: expectCodeSpent,
  }),
  scenario<FreshCode>({
    category: "authorization-code",
    control: true,
    name: "control: scope sent with the code exchange cannot widen the grant (ignored; the code's scope wins)",
    cite: "A5, RFC 6749 §4.1.3",
    arrange: (ctx) => freshCode(ctx, { scope: "files:read" }),
    attack: (ctx, c) => postToken(ctx.config, { ...codeForm(ctx, c), scope: "files:read files:write files:admin" }),
    expect: accepted(200),
    afterwards: async (ctx, c, body) => {
      const { scope, access_token } = body as { scope: string; access_token: string };
      assert.equal(scope, "files:read");
      assert.equal(decodeJwt(access_token).scope, "files:read");
      remember(ctx, body as { access_token: string });
    },
  }),
  scenario<Replay>({
    category: "authorization-code",
    name: "code replay → invalid_grant, and the refresh token from the first redemption is dead",
    cite: "A5, RFC 6749 §4.1.2, RFC 9700 §4.5",
    arrange: async (ctx) => {
      const code = await freshCode(ctx);
      return { code, first: await redeem(ctx, code) };
    },
    attack: (ctx, r) => postToken(ctx.config, codeForm(ctx, r.code)),
    expect: rejected(400, "invalid_grant"),
    afterwards: async (ctx, r) => {
      await expectRefreshDead(ctx, r.first.client.client_id, r.first.refresh_token);
    },
  }),
  scenario<Replay>({
    category: "authorization-code",
    name: "code replay after two rotations → the newest refresh token of the family is dead too",
    cite: "A5, RFC 6749 §4.1.2",
    arrange: async (ctx) => {
      const code = await freshCode(ctx);
      const first = await redeem(ctx, code);
      return { code, first, latest: await rotate(ctx, await rotate(ctx, first)) };
    },
    attack: (ctx, r) => postToken(ctx.config, codeForm(ctx, r.code)),
    expect: rejected(400, "invalid_grant"),
    afterwards: async (ctx, r) => {
      await expectRefreshDead(ctx, r.latest!.client.client_id, r.latest!.refresh_token);
    },
  }),
  scenario<Replay>({
    category: "authorization-code",
    name: "code replay by another client → invalid_grant, and the owner's family is revoked (the code leaked)",
    cite: "A5, RFC 6749 §4.1.2",
    arrange: async (ctx) => {
      const code = await freshCode(ctx);
      return { code, first: await redeem(ctx, code) };
    },
    attack: async (ctx, r) => postToken(ctx.config, { ...codeForm(ctx, r.code), client_id: (await freshClient(ctx)).client_id }),
    expect: rejected(400, "invalid_grant"),
    afterwards: async (ctx, r) => {
      await expectRefreshDead(ctx, r.first.client.client_id, r.first.refresh_token);
    },
  }),
  scenario<FreshCode & { winner?: Record<string, unknown> }>({
    category: "authorization-code",
    name: "two concurrent redemptions of one code → one is refused, and the winner's grant is revoked",
    cite: "A5, RFC 6749 §4.1.2",
    arrange: (ctx) => freshCode(ctx),
    attack: async (ctx, c) => {
      const responses = await Promise.all([postToken(ctx.config, codeForm(ctx, c)), postToken(ctx.config, codeForm(ctx, c))]);
      const winners = responses.filter((r) => r.status === 200);
      assert.equal(winners.length, 1, `exactly one redemption wins, got ${responses.map((r) => r.status).join(", ")}`);
      c.winner = (await winners[0]!.json()) as Record<string, unknown>;
      remember(ctx, c.winner);
      return responses.find((r) => r.status !== 200)!;
    },
    expect: rejected(400, "invalid_grant"),
    afterwards: async (ctx, c) => {
      await expectRefreshDead(ctx, c.client.client_id, c.winner!.refresh_token as string);
      assert.equal(decodeJwt(c.winner!.access_token as string).client_id, c.client.client_id);
    },
  }),
];

export const AUTHORIZATION_CODE_ATTACKS: Attack[] = [...authorizeAttacks, ...tokenAttacks];
