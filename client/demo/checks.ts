/**
 * The story's verdicts (D1–D7; D8's are in hardening-checks.ts): each function asserts, from the
 * recorded exchanges and the tool results, that a step happened exactly as its rule says
 * (docs/rules.md), and returns a one-line detail for the checklist. A failed `assert` is a ✗ with the
 * assertion's message.
 */
import assert from "node:assert/strict";
import { decodeJwt } from "jose";
import { OAuthError } from "@modelcontextprotocol/sdk/server/auth/errors.js";
import { findBearerChallenge, InsufficientScopeError, parseScope, type InsufficientScopeReason } from "../step-up/index.ts";
import { actorOf, responseJson, type Evidence } from "./exchanges.ts";
import type { RecordedExchange } from "./recorder.ts";

/** What a `tools/call` returned, as far as the checks care. */
export interface ToolResult {
  [key: string]: unknown;
  isError?: unknown;
  content?: unknown;
}

export function textOf(result: ToolResult): string {
  const content = Array.isArray(result.content) ? result.content : [];
  return content.map((c: { type?: string; text?: string }) => (c.type === "text" ? c.text : "")).join("\n");
}

/** The tool succeeded and the RS says this client acted with exactly `scopes` (R7). */
function assertActedWith(result: ToolResult, clientId: string, scopes: string[], what: string): void {
  assert.notEqual(result.isError, true, `${what} failed: ${textOf(result)}`);
  const actor = actorOf(textOf(result));
  assert.ok(actor, `${what}: the result names no actor: ${textOf(result)}`);
  assert.equal(actor.clientId, clientId, `${what} ran as another client`);
  assert.deepEqual(actor.scopes, scopes, `${what} ran with [${actor.scopes.join(" ")}]`);
}

const indexOf = (ev: Evidence, e: RecordedExchange | undefined) => (e ? ev.exchanges.indexOf(e) : -1);

function assertInOrder(ev: Evidence, steps: Array<[string, RecordedExchange | undefined]>): void {
  for (let i = 1; i < steps.length; i++) {
    const [before, a] = steps[i - 1]!;
    const [after, b] = steps[i]!;
    assert.ok(indexOf(ev, a) < indexOf(ev, b), `${before} must come before ${after}`);
  }
}

function assertStepUpError(error: unknown, reason: InsufficientScopeReason): asserts error is InsufficientScopeError {
  assert.ok(error instanceof InsufficientScopeError, `expected InsufficientScopeError (${reason}), got ${String(error)}`);
  assert.equal(error.reason, reason, `expected InsufficientScopeError (${reason}), got reason ${error.reason}`);
}

function challengeOf(e: RecordedExchange | undefined) {
  return findBearerChallenge(e?.response.wwwAuthenticate);
}

// ---- D1 ----
export function verifyConnect(ev: Evidence, resource: string, issuer: string, accessToken: string | undefined): string {
  const first = ev.exchanges[0];
  assert.ok(first && first.request.rpcMethod === "initialize", "the first request is the MCP initialize POST");
  assert.equal(first.request.authorization, undefined, "the first request carries no token");
  assert.equal(first.status, 401);
  const challenge = challengeOf(first);
  assert.ok(challenge?.resourceMetadata, "RFC 9728 §5.1: the 401 names resource_metadata");
  assert.equal(challenge.error, undefined, "RFC 6750 §3.1: no error code when no token was sent");
  assert.equal(challenge.scope, "files:read");
  const prm = ev.exchanges.find((e) => e.method === "GET" && e.url === challenge.resourceMetadata);
  assert.equal(prm?.status, 200, "the PRM is fetched from the challenge's resource_metadata");
  assert.equal(responseJson(prm).resource, resource);
  const asMetadata = ev.toAs().find((e) => e.path.startsWith("/.well-known/oauth-authorization-server"));
  assert.equal(asMetadata?.status, 200, "RFC 8414 metadata is fetched from the issuer");
  const [registration, ...moreRegistrations] = ev.registrations();
  assert.equal(moreRegistrations.length, 0, "one registration");
  assert.equal(registration?.status, 201);
  const metadata = registration.request.json as Record<string, unknown>;
  assert.match(String((metadata.redirect_uris as string[])[0]), /^http:\/\/127\.0\.0\.1:\d+\/callback$/);
  assert.equal((metadata.redirect_uris as string[]).length, 1);
  assert.equal(metadata.application_type, "native");
  assert.deepEqual(metadata.grant_types, ["authorization_code", "refresh_token"]);
  assert.equal(metadata.token_endpoint_auth_method, "none");
  const [authorization, ...moreAuthorizations] = ev.authorizations();
  assert.equal(moreAuthorizations.length, 0, "one authorization");
  assert.ok(authorization, "an authorization request");
  const q = authorization.query;
  assert.equal(q.scope, "files:read", "C3: the first authorization asks for the 401's scope");
  assert.equal(q.resource, resource, "RFC 8707: resource on the authorization request");
  assert.equal(q.code_challenge_method, "S256");
  assert.ok(q.code_challenge && q.state, "PKCE code_challenge and state are sent");
  assert.equal(authorization.status, 302);
  const callback = authorization.response.locationQuery ?? {};
  assert.ok(callback.code && callback.state, "the 302 carries code and state");
  assert.equal(callback.iss, issuer, "RFC 9207: the 302 carries iss = the issuer");
  const [token, ...moreTokens] = ev.tokenRequests();
  assert.equal(moreTokens.length, 0, "one token request");
  assert.equal(token?.request.form?.grant_type, "authorization_code");
  assert.equal(token.request.form?.resource, resource, "RFC 8707: resource on the code exchange");
  assert.ok(token.request.form?.code_verifier, "PKCE code_verifier is sent");
  assert.equal(token.status, 200);
  const response = responseJson(token);
  assert.equal(response.scope, "files:read");
  assert.ok(response.refresh_token, "a refresh token is issued");
  assert.ok(accessToken, "the client holds an access token");
  const aud = decodeJwt(accessToken).aud;
  assert.ok(aud === resource || (Array.isArray(aud) && aud.includes(resource)), `aud is ${String(aud)}`);
  const retried = ev.mcpPosts({ method: "initialize" }).find((e) => e.status === 200);
  assert.ok(retried?.request.authorization, "initialize is resent with the token");
  assertInOrder(ev, [
    ["401", first], ["PRM", prm], ["AS metadata", asMetadata], ["DCR", registration],
    ["authorize", authorization], ["token", token], ["retried initialize", retried],
  ]);
  return `401 scope="files:read" → PRM → AS metadata → DCR (loopback redirect) → authorize scope="files:read" S256 → 302 code+state+iss → token scope="files:read", aud=${resource}, + refresh_token`;
}

// ---- D2 ----
export function verifyFirstCall(ev: Evidence, result: ToolResult, clientId: string): string {
  const posts = ev.mcpPosts({ tool: "list-files" });
  assert.equal(posts.length, 1, "one list-files request");
  assert.equal(posts[0]!.status, 200);
  assert.ok(posts[0]!.request.authorization, "sent with the token");
  assert.equal(ev.toAs().length, 0, "no AS traffic");
  assertActedWith(result, clientId, ["files:read"], "list-files");
  return `list-files → 200, read by ${clientId} [files:read]`;
}

// ---- D3 ----
export function verifyStepUp(ev: Evidence, written: ToolResult, listed: ToolResult, clientId: string): string {
  // The union's consequence first: scopes are independent, so a token that lost files:read cannot list.
  const lost = ev.mcpPosts({ tool: "list-files" }).find((e) => e.status === 403);
  assert.equal(lost, undefined, `list-files after the step-up → 403 scope="${challengeOf(lost)?.scope}": the token lost files:read`);
  const [refused, retried, ...more] = ev.mcpPosts({ tool: "write-file" });
  assert.equal(more.length, 0, "write-file is sent twice: refused, then retried");
  assert.equal(refused?.status, 403);
  const challenge = challengeOf(refused);
  assert.equal(challenge?.error, "insufficient_scope");
  assert.equal(challenge?.scope, "files:write");
  assert.equal(ev.tokenRequests("refresh_token").length, 0, "RFC 6749 §6: no refresh request during a widening step-up");
  const [authorization, ...moreAuthorizations] = ev.authorizations();
  assert.equal(moreAuthorizations.length, 0, "exactly one fresh authorization");
  // The v1 SDK would have asked for the challenged scope alone: this is the union.
  assert.equal(authorization?.query.scope, "files:read files:write", "C4.1: the union, not the challenged scope alone");
  assert.equal(authorization.status, 302);
  const [exchange] = ev.tokenRequests("authorization_code");
  assert.equal(responseJson(exchange).scope, "files:read files:write");
  assert.equal(retried?.status, 200);
  assert.notEqual(retried.request.authorization, refused.request.authorization, "retried with the new token");
  assert.equal(retried.request.mcpSessionId, refused.request.mcpSessionId, "R6: the same MCP session continues");
  assertInOrder(ev, [["403", refused], ["authorize", authorization], ["token", exchange], ["retry", retried]]);
  assertActedWith(written, clientId, ["files:read", "files:write"], "write-file");
  assertActedWith(listed, clientId, ["files:read", "files:write"], "list-files after step-up");
  return `403 scope="files:write" → no refresh → authorize scope="files:read files:write" → retry 200 [files:read files:write]; list-files still works`;
}

// ---- D4 ----
export function verifyRefresh(ev: Evidence, listed: ToolResult, replay: unknown, resource: string, clientId: string): string {
  const [unauthenticated, retried, ...more] = ev.mcpPosts({ tool: "list-files" });
  assert.equal(more.length, 0, `list-files is sent twice (the 401, then the retry), not ${2 + more.length} times`);
  assert.equal(unauthenticated?.request.authorization, undefined, "the call goes out without the dropped token");
  assert.equal(unauthenticated.status, 401, `the call without a token → 401, not ${unauthenticated.status}`);
  const [refresh, replayed, ...moreRefreshes] = ev.tokenRequests("refresh_token");
  assert.equal(moreRefreshes.length, 0, "one refresh and one replay");
  assert.equal(refresh?.status, 200, `the refresh → 200, not ${refresh?.status ?? "no refresh"}`);
  assert.equal(refresh.request.form?.scope, undefined, "RFC 6749 §6: the refresh asks for no scope (same scope)");
  assert.equal(refresh.request.form?.resource, resource, "RFC 8707: resource on the refresh");
  const refreshed = responseJson(refresh).scope;
  assert.equal(refreshed, "files:read files:write", `C5: the stepped-up scope survives the refresh (it came back "${String(refreshed)}")`);
  assert.equal(ev.authorizations().length, 0, "no authorization");
  assert.equal(retried?.status, 200, `the retried list-files → 200, not ${retried?.status ?? "never sent"}`);
  assertActedWith(listed, clientId, ["files:read", "files:write"], "list-files after refresh");
  assert.equal(replayed?.request.form?.refresh_token, refresh.request.form?.refresh_token, "the replay sends the old refresh token");
  assert.equal(replayed.status, 400, `the replayed refresh token → 400, not ${replayed.status}`);
  assert.equal(responseJson(replayed).error, "invalid_grant", "RFC 6749 §5.2: the replayed refresh token → invalid_grant");
  assert.ok(replay instanceof OAuthError && replay.errorCode === "invalid_grant", `replay gave ${String(replay)}`);
  return `401 → refresh (no scope param) → 200 scope="files:read files:write" → retry 200; replaying the old refresh token → invalid_grant`;
}

// ---- D5 ----
export function verifyDeclined(ev: Evidence, error: unknown, listed: ToolResult, requestedAfter: string[], clientId: string): string {
  assertStepUpError(error, "declined");
  assert.equal(error.requiredScope, "files:admin", `the error's requiredScope is "files:admin", not "${error.requiredScope}"`);
  assert.equal(error.grantedScope, "files:read files:write", `the error's grantedScope is "files:read files:write", not "${error.grantedScope}"`);
  assert.equal(error.attempts, 1, `one step-up attempt, not ${error.attempts}`);
  const deletes = ev.mcpPosts({ tool: "delete-file" });
  assert.equal(deletes.length, 1, "the declined call is not retried");
  assert.equal(challengeOf(deletes[0])?.scope, "files:admin", "the 403 challenges for files:admin");
  const [authorization, ...more] = ev.authorizations();
  assert.equal(more.length, 0, "exactly one authorization");
  const asked = authorization?.query.scope;
  assert.equal(asked, "files:read files:write files:admin", `C4.1: the authorization asks for the union, not "${asked}"`);
  const grantedNow = responseJson(ev.tokenRequests("authorization_code")[0]).scope;
  assert.equal(grantedNow, "files:read files:write", `RFC 6749 §3.3: a partial grant of "files:read files:write", not "${String(grantedNow)}"`);
  assert.equal(ev.tokenRequests("refresh_token").length, 0, "RFC 6749 §6: no refresh (it cannot widen)");
  assert.deepEqual(requestedAfter, ["files:read", "files:write"], "C4.4: requested := granted");
  assertActedWith(listed, clientId, ["files:read", "files:write"], "list-files after the decline");
  return `403 scope="files:admin" → authorize scope="files:read files:write files:admin" → granted "files:read files:write" → InsufficientScopeError(declined), no retry; list-files still works`;
}

/**
 * D5 when the AS's policy grants `files:admin` (`AS_GRANTABLE_SCOPES` names it): nothing is declined,
 * so the same step-up succeeds — still exactly one authorization for the union, then the resent call.
 */
export function verifyAdminGranted(ev: Evidence, deleted: ToolResult, listed: ToolResult, requestedAfter: string[], clientId: string): string {
  const union = ["files:read", "files:write", "files:admin"];
  const [refused, resent, ...more] = ev.mcpPosts({ tool: "delete-file" });
  assert.equal(more.length, 0, "delete-file is sent twice: the 403, then the retry");
  assert.equal(refused?.status, 403);
  assert.equal(challengeOf(refused)?.scope, "files:admin");
  const [authorization, ...moreAuthorizations] = ev.authorizations();
  assert.equal(moreAuthorizations.length, 0, "exactly one authorization");
  assert.equal(authorization?.query.scope, union.join(" "));
  const granted = parseScope(responseJson(ev.tokenRequests("authorization_code")[0]).scope as string | undefined);
  assert.ok(granted.includes("files:admin"), `the step-up succeeded only because the AS granted files:admin (granted: ${granted.join(" ")})`);
  assert.equal(resent?.status, 200);
  assertActedWith(deleted, clientId, union, "delete-file after the step-up");
  assert.deepEqual(requestedAfter, union, "nothing was declined: the requested set keeps all three");
  assertActedWith(listed, clientId, union, "list-files after the step-up");
  return (
    `not declined: the AS's policy grants files:admin (AS_GRANTABLE_SCOPES), so the step-up for ` +
    `"${union.join(" ")}" got it all (1 authorization) and delete-file ran; the declined path needs the default policy`
  );
}

// ---- D6 ----
export function verifyRetryLimit(ev: Evidence, error: unknown): string {
  assertStepUpError(error, "retry-limit");
  assert.equal(error.attempts, 2);
  const posts = ev.mcpPosts({ tool: "broken-challenge" });
  assert.equal(posts.length, 3, "3 POSTs of the call");
  assert.ok(posts.every((p) => p.status === 403), `every POST is refused: ${posts.map((p) => p.status).join(", ")}`);
  const refreshes = ev.tokenRequests("refresh_token");
  assert.equal(refreshes.length, 2, "exactly 2 refreshes");
  assert.ok(refreshes.every((r) => r.status === 200), `every refresh succeeds: ${refreshes.map((r) => r.status).join(", ")}`);
  assert.equal(ev.authorizations().length, 0, "0 authorizations: nothing needed widening");
  return `3 × 403 scope="files:read", 2 refreshes, 0 authorizations → InsufficientScopeError(retry-limit, attempts 2)`;
}

// ---- D7 ----
export function verifyThrowMode(ev: Evidence, error: unknown): string {
  assertStepUpError(error, "throw-mode");
  assert.equal(error.requiredScope, "files:write");
  assert.equal(error.grantedScope, "files:read");
  const posts = ev.mcpPosts({ tool: "write-file" });
  assert.equal(posts.length, 1);
  assert.equal(posts[0]!.status, 403);
  assert.equal(ev.toAs().length, 0, "zero requests to the AS");
  return `write-file → 403 → InsufficientScopeError(throw-mode, requiredScope "files:write"), 0 requests to the AS`;
}
