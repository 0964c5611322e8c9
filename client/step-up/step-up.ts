/**
 * Scope step-up for an MCP client (SEP-2350, MCP 2026-07-28 "Step-Up Authorization Flow"), as a
 * fetch middleware you can lift into your own client: copy the whole `client/step-up/` folder. It
 * imports the MCP SDK (one type) and its own folder, nothing else: its error
 * (insufficient-scope-error.ts), a `WWW-Authenticate` parser (challenge.ts) and the scope-set helpers
 * (scope-set.ts). The AS side is yours to supply, as a `StepUpAuthorizer` (the demo's:
 * client/demo/authorizer.ts); the public API is index.ts.
 *
 * Give the v1 `StreamableHTTPClientTransport` no `authProvider` and this middleware as its `fetch`:
 * every 401/403 branch inside the transport is guarded by the provider, so the SDK's own 403 handling
 * — which *replaces* the requested scope with the challenged one and refreshes first — never runs.
 * This module decides *when* to authorize or refresh, and *what* to ask for; the authorizer knows *how*.
 *
 * On `403` + `WWW-Authenticate: Bearer error="insufficient_scope", scope="…"`:
 *   1. scope := requested ∪ granted ∪ challenged (order-preserving set union);
 *   2. strict superset of the held token's scope ⇒ fresh authorization, never a refresh (RFC 6749 §6:
 *      a refresh cannot widen scope); otherwise the normal path (refresh when possible);
 *   3. resend the original request with the new token;
 *   4. the AS granted less than the challenge needs, or nothing (`access_denied`) ⇒
 *      `InsufficientScopeError("declined")`; after every authorization (whatever started it) the
 *      declined scopes leave the requested set (requested := asked ∩ granted), so they are not asked
 *      for again — this module keeps the requested set, so any authorizer gets the rule;
 *   5. at most `maxStepUpAttempts` step-ups per (resource, operation), counted across requests, reset
 *      on success ⇒ `InsufficientScopeError("retry-limit")`;
 *   6. `onInsufficientScope: "throw"` ⇒ `InsufficientScopeError("throw-mode")` at once, no AS traffic.
 * On `401`: refresh when a refresh token is held and no widening is needed, else authorize (C3, C5).
 * All AS work is serialized behind one lock and skipped when the token changed while the request was
 * in flight (the transport's SSE GET can race a POST).
 *
 * Versus the SDK's v2 client package (`@modelcontextprotocol/client` 2.x, checked against 2.4.0): its
 * `StreamableHTTPClientTransport` already steps up — `onInsufficientScope: "reauthorize" | "throw"`,
 * the union by `computeScopeUnion`, no refresh when `isStrictScopeSuperset` says the union is wider,
 * and `maxStepUpRetries` (default 1) step-ups per request, then a plain HTTP 403 error. This module adds:
 *   - `InsufficientScopeError` with a `reason`: `declined` (the AS granted less: asking again cannot
 *     help, and the declined scope leaves the requested set) apart from `retry-limit` (the cap);
 *   - the cap per (resource, operation) across requests, reset on success — v2 leaves that to the host;
 *   - a 401 recovery that refreshes only when the union needs no widening, else authorizes the union;
 *   - one lock around all AS work, so racing requests cause one authorization, not several.
 * On the v1 SDK (this project's, 1.x) none of that exists: its 403 path replaces the scope.
 *
 * `withStepUp`'s third argument exists for teaching only (`pnpm demo --break RULE`, passed by
 * client/demo/connect.ts alone; index.ts does not export it): it breaks one rule on purpose. Each
 * broken line sits directly beside the correct line it overrides, marked BROKEN; read past them.
 */
import type { FetchLike } from "@modelcontextprotocol/sdk/shared/transport.js";
import { findBearerChallenge, type BearerChallenge } from "./challenge.ts";
import { operationOf, StepUpAttempts } from "./attempts.ts";
import { InsufficientScopeError, type InsufficientScopeReason } from "./insufficient-scope-error.ts";
import { computeScopeUnion, formatScope, isStrictScopeSuperset, parseScope } from "./scope-set.ts";

/** What the middleware needs from the component that talks to the authorization server. */
export interface StepUpAuthorizer {
  /** The access token to send, if one is held. */
  accessToken(): string | undefined;
  /** The held grant's scope (the token response's `scope`, or what was requested when it was omitted). */
  grantedScope(): string[];
  /** Whether a refresh token is held. */
  canRefresh(): boolean;
  /**
   * Fresh authorization-code flow for `scope` (new PKCE, new `state`, `iss` check); [] = its default.
   * Rejects with an error whose `error` is `"access_denied"` when the AS refused the whole request
   * (RFC 6749 §4.1.2.1). A client the AS no longer knows registers again first (once per call).
   */
  authorize(scope: string[], hint: { resourceMetadataUrl?: string }): Promise<void>;
  /**
   * Refresh grant without `scope` (same scope). False when only a new authorization can help: the AS
   * refused the refresh token (`invalid_grant`) or no longer knows the client (`invalid_client`).
   * A `scope` is passed only by the `refresh-to-widen` break, to show that the AS refuses it.
   */
  refresh(scope?: string[]): Promise<boolean>;
}

/** Teaching only (`pnpm demo --break RULE`; see the module comment): not part of the public API. */
export interface StepUpTeaching {
  /** The rule to break on purpose. */
  breakRule?: "replace-scope" | "refresh-to-widen" | "ignore-decline" | "no-retry-cap";
}

export interface StepUpOptions {
  /** The protected resource (the MCP endpoint), fixed at construction: half of the cap key. */
  resource: string;
  /** "reauthorize" (default) runs step-up; "throw" raises InsufficientScopeError at once. */
  onInsufficientScope?: "reauthorize" | "throw";
  /** C4.5: default 2. */
  maxStepUpAttempts?: number;
}

/** A mutex as a promise chain: one piece of authorization work at a time. */
function createLock() {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(work: () => Promise<T>): Promise<T> => {
    const run = tail.then(work, work);
    tail = run.catch(() => {});
    return run;
  };
}

function withBearer(init: RequestInit, token: string | undefined): RequestInit {
  const headers = new Headers(init.headers);
  if (token) headers.set("authorization", `Bearer ${token}`); // RFC 6750 §2.1
  else headers.delete("authorization");
  return { ...init, headers };
}

/** RFC 6749 §4.1.2.1 `access_denied`: the AS (or the user) refused the whole authorization request. */
const isAccessDenied = (error: unknown) => (error as { error?: unknown } | null)?.error === "access_denied";

/** The middleware: `(next) => fetch`, and the requested set it keeps. */
export interface StepUpMiddleware {
  (next: FetchLike): FetchLike;
  /** Every scope asked for so far and not declined (C4.1, C4.4). */
  requestedScope(): string[];
}

/** `(next) => fetch` with 401 recovery and SEP-2350 step-up; see the module comment for the rules. */
export function withStepUp(authorizer: StepUpAuthorizer, options: StepUpOptions, teaching: StepUpTeaching = {}): StepUpMiddleware {
  const attempts = new StepUpAttempts(options.maxStepUpAttempts ?? 2);
  const lock = createLock();
  const broken = teaching.breakRule;
  let requested: string[] = [];
  // A backstop, not a rule: the longest sequence the rules allow is one 401 recovery, `max` step-ups
  // and the 403 that meets the cap (max + 2 rounds), plus one round that finds the token already
  // replaced by another request's step-up. Past that a server is misbehaving: the caller gets its answer.
  let maxRounds = attempts.max + 3;
  if (broken === "no-retry-cap") maxRounds = Infinity; // BROKEN (pnpm demo --break no-retry-cap): no backstop either; the demo's safety stop ends the loop

  /** C4.5: the cap counts per (resource, operation). */
  const capKey = (operation: string) => `${options.resource} ${operation}`;

  const insufficientScope = (reason: InsufficientScopeReason, challenge: BearerChallenge, operation: string, cause?: unknown) => {
    const details = {
      reason,
      operation,
      requiredScope: formatScope(parseScope(challenge.scope)),
      grantedScope: formatScope(authorizer.grantedScope()),
      attempts: attempts.count(capKey(operation)),
      resourceMetadataUrl: challenge.resourceMetadata,
      errorDescription: challenge.errorDescription,
    };
    return new InsufficientScopeError(details, cause === undefined ? undefined : { cause });
  };

  /**
   * Every authorization goes through here (a 403 step-up, a 401, the first connect). C4.4:
   * requested := asked ∩ granted afterwards, also when the AS refused it all (`access_denied`, the
   * held grant unchanged). An empty `scope` lets the authorizer choose (C3): then requested := granted.
   */
  async function authorize(scope: string[], hint: { resourceMetadataUrl?: string }): Promise<void> {
    const keepGranted = () => {
      const granted = authorizer.grantedScope();
      requested = scope.length > 0 ? scope.filter((s) => granted.includes(s)) : granted; // C4.4: a declined scope is not asked for again
      if (broken === "ignore-decline") requested = computeScopeUnion(requested, scope, []); // BROKEN (pnpm demo --break ignore-decline): the declined scope stays
    };
    try {
      await authorizer.authorize(scope, hint);
    } catch (error) {
      if (isAccessDenied(error)) keepGranted();
      throw error;
    }
    keepGranted();
  }

  /**
   * 401 (C3, C5): the token was missing, expired or revoked. Returns true when it ran a recovery,
   * false when another request had already replaced the token (then just resend with the new one).
   */
  async function recover(sentToken: string | undefined, challenge: BearerChallenge | undefined): Promise<boolean> {
    if (authorizer.accessToken() !== sentToken) return false;
    const held = authorizer.grantedScope();
    const scope = computeScopeUnion(requested, held, challenge?.scope);
    // RFC 6749 §6: a refresh keeps the scope, so it only helps when nothing wider is needed.
    if (authorizer.canRefresh() && !isStrictScopeSuperset(scope, held) && (await authorizer.refresh())) return true;
    await authorize(scope, { resourceMetadataUrl: challenge?.resourceMetadata });
    return true;
  }

  /** 403 insufficient_scope (C4). Throws InsufficientScopeError when step-up cannot help. */
  async function stepUp(sentToken: string | undefined, challenge: BearerChallenge, operation: string) {
    if (authorizer.accessToken() !== sentToken) return; // a step-up ran meanwhile: retry with its token
    let withinCap = attempts.tryBegin(capKey(operation)); // C4.5: at most `max` step-ups per (resource, operation)
    if (broken === "no-retry-cap") withinCap = true; // BROKEN (pnpm demo --break no-retry-cap): counted, then ignored
    if (!withinCap) throw insufficientScope("retry-limit", challenge, operation);
    const challenged = parseScope(challenge.scope);
    const held = authorizer.grantedScope();
    let scope = computeScopeUnion(requested, held, challenged); // C4.1: requested ∪ granted ∪ challenged
    const widening = isStrictScopeSuperset(scope, held); // C4.2: the held token lacks something asked for
    if (broken === "replace-scope") scope = challenged; // BROKEN (pnpm demo --break replace-scope): the challenged scope alone (the v1 SDK's choice)
    // RFC 6749 §3.3 partial grant: asking again cannot help (and `authorize` dropped it from `requested`).
    const stopIfDeclined = () => {
      const granted = authorizer.grantedScope();
      if (challenged.some((s) => !granted.includes(s))) throw insufficientScope("declined", challenge, operation);
    };
    if (widening && broken === "refresh-to-widen") {
      await authorizer.refresh(scope); // BROKEN (pnpm demo --break refresh-to-widen): widen by refresh, instead of the authorization below
      return stopIfDeclined();
    }
    const hint = { resourceMetadataUrl: challenge.resourceMetadata };
    try {
      if (widening || !authorizer.canRefresh()) await authorize(scope, hint); // RFC 6749 §6: a refresh cannot widen scope
      else if (!(await authorizer.refresh())) await authorize(scope, hint); // the refresh token is dead: only a new grant helps
    } catch (error) {
      if (!isAccessDenied(error)) throw error;
      throw insufficientScope("declined", challenge, operation, error); // the AS granted none of it
    }
    stopIfDeclined();
  }

  const middleware = (next: FetchLike): FetchLike => async (url, init = {}) => {
    const operation = operationOf(init);
    // The transport sends string bodies; anything else cannot be sent twice.
    const replayable = init.body === undefined || init.body === null || typeof init.body === "string";
    let ranRecovery = false; // this request has run a 401 recovery itself: a second 401 is the caller's
    for (let round = 0; ; round++) {
      const sentToken = authorizer.accessToken();
      const response = await next(url, withBearer(init, sentToken));

      // ---- 1. neither 401 nor 403: the caller's answer (a success resets the cap, C4.5) ----
      if (response.status !== 401 && response.status !== 403) {
        if (response.ok) attempts.reset(capKey(operation));
        return response;
      }
      const challenge = findBearerChallenge(response.headers.get("www-authenticate"));
      if (!replayable || round >= maxRounds) return response;

      // ---- 2. 401: no usable token → refresh, or authorize (C3, C5) ----
      if (response.status === 401) {
        if (ranRecovery) return response; // a fresh token was refused too
        await response.body?.cancel();
        ranRecovery = await lock(() => recover(sentToken, challenge));
        continue;
      }

      // ---- 3. 403 insufficient_scope: step-up (C4) ----
      if (challenge?.error !== "insufficient_scope") return response; // another 403 is not ours to fix
      await response.body?.cancel();
      if (options.onInsufficientScope === "throw") throw insufficientScope("throw-mode", challenge, operation); // C4.6
      await lock(() => stepUp(sentToken, challenge, operation));
    }
  };
  return Object.assign(middleware, { requestedScope: () => [...requested] });
}
