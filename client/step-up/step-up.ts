/**
 * Scope step-up for an MCP client (SEP-2350; MCP 2026-07-28 Authorization, "Step-Up Authorization Flow")
 * as a fetch middleware to lift into your own client: copy the whole `client/step-up/` folder (it imports
 * the MCP SDK and its own modules; index.ts is the public API). You reach the authorization server
 * through a `StepUpAuthorizer` (the demo's: client/authorizer.ts); this decides *when* to authorize or
 * refresh and *what* to ask for. Give the v1 `StreamableHTTPClientTransport` no `authProvider` and this
 * as its `fetch`: the SDK's own 403 handling (replace the scope, refresh first) then never runs.
 *
 * On `403` + `WWW-Authenticate: Bearer error="insufficient_scope", scope="…"` (C4):
 *   C4.1  scope := requested ∪ granted ∪ challenged (order-preserving set union);
 *   C4.2  wider than the held token's scope ⇒ a new authorization, never a refresh (RFC 6749 §6: a
 *         refresh cannot widen scope); otherwise the normal path: refresh when a refresh token is held;
 *   C4.3  resend the original request with the new token;
 *   C4.4  declined scopes leave the requested set; a new grant without what the call needs ⇒ "declined";
 *   C4.5  at most `maxStepUpAttempts` step-ups per (resource, operation), across requests, reset on success;
 *   C4.6  `onInsufficientScope: "throw"` ⇒ "throw-mode" at once, no AS traffic.
 * On `401` (C5): refresh when a refresh token is held and nothing wider is needed, else authorize.
 * All AS work runs behind one lock and is skipped when the token changed while the request was in flight
 * (the transport's SSE GET races the first POST). docs/rules.md draws these decisions as one flowchart.
 */
import type { FetchLike } from "@modelcontextprotocol/sdk/shared/transport.js";
import { findBearerChallenge, type BearerChallenge } from "./challenge.ts";
import { InsufficientScopeError, type InsufficientScopeReason } from "./insufficient-scope-error.ts";
import { computeScopeUnion, formatScope, isStrictScopeSuperset, parseScope } from "./scope-set.ts";

/** Where an authorization comes from: the challenge's RFC 9728 `resource_metadata`, when it named one. */
export interface AuthorizationHint {
  resourceMetadataUrl?: string;
}

/** What the middleware needs from the component that talks to the authorization server. */
export interface StepUpAuthorizer {
  /** The access token to send, if one is held. */
  accessToken(): string | undefined;
  /** The held grant's scope (the token response's `scope`, or what was requested when it was omitted). */
  grantedScope(): string[];
  /** Whether a refresh token is held. */
  canRefresh(): boolean;
  /**
   * A new authorization-code flow for `scope` (new PKCE, new `state`, `iss` checked); [] = its default.
   * Rejects with an error whose `error` is `"access_denied"` when the AS refused the whole request
   * (RFC 6749 §4.1.2.1), the held grant unchanged.
   */
  authorize(scope: string[], hint: AuthorizationHint): Promise<void>;
  /** A refresh grant without `scope` (the same scope); false when only a new authorization can help. */
  refresh(): Promise<boolean>;
}

export interface StepUpOptions {
  /** The protected resource (the MCP endpoint), fixed at construction: half of the cap key. */
  resource: string;
  /** "reauthorize" (default) runs step-up; "throw" raises InsufficientScopeError at once (C4.6). */
  onInsufficientScope?: "reauthorize" | "throw";
  /** C4.5: default 2. */
  maxStepUpAttempts?: number;
}

/** The middleware, `(next) => fetch`, and the requested set it keeps. */
export interface StepUpMiddleware {
  (next: FetchLike): FetchLike;
  /** Every scope asked for and not declined (C4.1, C4.4). */
  requestedScope(): string[];
}

/** The operation a request performs: `tools/call:<name>`, else the JSON-RPC method(s), else the HTTP method. */
export function operationOf(init: RequestInit | undefined): string {
  const describe = (m: unknown): string | undefined => {
    if (!m || typeof m !== "object" || typeof (m as { method?: unknown }).method !== "string") return undefined;
    const { method, params } = m as { method: string; params?: { name?: unknown } };
    return method === "tools/call" && typeof params?.name === "string" ? `tools/call:${params.name}` : method;
  };
  if (typeof init?.body === "string") {
    try {
      const parsed: unknown = JSON.parse(init.body);
      const operations = (Array.isArray(parsed) ? parsed : [parsed]).map(describe).filter(Boolean);
      if (operations.length > 0) return operations.join(",");
    } catch {
      // not JSON-RPC: the HTTP method names it
    }
  }
  return init?.method ?? "GET";
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

/** C4.5: step-ups per (resource, operation) unless `maxStepUpAttempts` says otherwise. */
export const DEFAULT_MAX_STEP_UP_ATTEMPTS = 2;

/** `(next) => fetch` with 401 recovery and SEP-2350 step-up; the rules are in the module comment. */
export function withStepUp(authorizer: StepUpAuthorizer, options: StepUpOptions): StepUpMiddleware {
  const maxAttempts = options.maxStepUpAttempts ?? DEFAULT_MAX_STEP_UP_ATTEMPTS;
  const attempts = new Map<string, number>(); // C4.5: step-ups per (resource, operation) since it last succeeded
  const lock = createLock();
  let requested: string[] = [];
  // A backstop, not a rule: the longest sequence the rules allow is one 401 recovery, `max` step-ups and
  // the 403 that meets the cap, plus one round that finds the token already replaced by another request.
  const maxRounds = maxAttempts + 3;

  const insufficientScope = (reason: InsufficientScopeReason, challenge: BearerChallenge, operation: string, cause?: unknown) =>
    new InsufficientScopeError(
      {
        reason,
        operation,
        requiredScope: formatScope(parseScope(challenge.scope)),
        grantedScope: formatScope(authorizer.grantedScope()),
        attempts: attempts.get(`${options.resource} ${operation}`) ?? 0,
        resourceMetadataUrl: challenge.resourceMetadata,
        errorDescription: challenge.errorDescription,
      },
      cause === undefined ? undefined : { cause },
    );

  /**
   * Every authorization goes through here — the first connect, a 401, a step-up. Resolves with the AS's
   * refusal when it refused the whole request (`access_denied`), the held grant unchanged.
   */
  async function authorize(scope: string[], hint: AuthorizationHint): Promise<{ denial?: unknown }> {
    let denial: unknown;
    try {
      await authorizer.authorize(scope, hint);
    } catch (error) {
      if (!isAccessDenied(error)) throw error;
      denial = error;
    }
    const granted = authorizer.grantedScope();
    requested = scope.length > 0 ? scope.filter((s) => granted.includes(s)) : granted; // C4.4: a declined scope is not asked for again
    return { denial };
  }

  /** 401 (C5): the token was missing, expired or revoked. False when another request already replaced it. */
  async function recover(sentToken: string | undefined, challenge: BearerChallenge | undefined): Promise<boolean> {
    if (authorizer.accessToken() !== sentToken) return false;
    const held = authorizer.grantedScope();
    const scope = computeScopeUnion(requested, held, challenge?.scope);
    // RFC 6749 §6: a refresh keeps the scope, so it only helps when nothing wider is needed.
    if (authorizer.canRefresh() && !isStrictScopeSuperset(scope, held) && (await authorizer.refresh())) return true;
    const { denial } = await authorize(scope, { resourceMetadataUrl: challenge?.resourceMetadata });
    if (denial) throw denial;
    return true;
  }

  /** 403 insufficient_scope (C4). Throws InsufficientScopeError when step-up cannot help. */
  async function stepUp(sentToken: string | undefined, challenge: BearerChallenge, operation: string): Promise<void> {
    if (authorizer.accessToken() !== sentToken) return; // a step-up ran meanwhile: retry with its token
    const key = `${options.resource} ${operation}`;
    const done = attempts.get(key) ?? 0;
    if (done >= maxAttempts) throw insufficientScope("retry-limit", challenge, operation); // C4.5
    attempts.set(key, done + 1);

    const challenged = parseScope(challenge.scope);
    const held = authorizer.grantedScope();
    const scope = computeScopeUnion(requested, held, challenged); // C4.1: requested ∪ granted ∪ challenged
    // C4.2: a wider scope needs a new grant (RFC 6749 §6: a refresh cannot widen it); else the normal path, a refresh.
    const refreshed = !isStrictScopeSuperset(scope, held) && authorizer.canRefresh() && (await authorizer.refresh());
    const { denial } = refreshed ? {} : await authorize(scope, { resourceMetadataUrl: challenge.resourceMetadata });
    // C4.4: the new grant lacks what this call needs (partial, narrowed, or access_denied): asking again cannot help.
    const granted = authorizer.grantedScope();
    if (denial || challenged.some((s) => !granted.includes(s))) throw insufficientScope("declined", challenge, operation, denial);
  }

  const middleware = (next: FetchLike): FetchLike => async (url, init = {}) => {
    const operation = operationOf(init);
    // The transport sends string bodies; anything else cannot be sent twice.
    const replayable = init.body === undefined || init.body === null || typeof init.body === "string";
    let recovered = false; // this request has run a 401 recovery itself: a second 401 is the caller's
    for (let round = 0; ; round++) {
      const sentToken = authorizer.accessToken();
      const response = await next(url, withBearer(init, sentToken));

      // ---- neither 401 nor 403: the caller's answer; a success resets the cap (C4.5) ----
      if (response.status !== 401 && response.status !== 403) {
        if (response.ok) attempts.delete(`${options.resource} ${operation}`);
        return response;
      }
      const challenge = findBearerChallenge(response.headers.get("www-authenticate"));
      // ---- throw mode: a 403 insufficient_scope is the caller's, at once, with no AS traffic (C4.6) ----
      if (response.status === 403 && challenge?.error === "insufficient_scope" && options.onInsufficientScope === "throw") {
        await response.body?.cancel();
        throw insufficientScope("throw-mode", challenge, operation);
      }
      if (!replayable || round >= maxRounds) return response;

      // ---- 401: no usable token → refresh, or authorize (C5) ----
      if (response.status === 401) {
        if (recovered) return response; // a fresh token was refused too
        await response.body?.cancel();
        recovered = await lock(() => recover(sentToken, challenge));
        continue;
      }

      // ---- 403 insufficient_scope: step-up (C4), then resend (C4.3) ----
      if (challenge?.error !== "insufficient_scope") return response; // another 403 is not ours to fix
      await response.body?.cancel();
      await lock(() => stepUp(sentToken, challenge, operation));
    }
  };
  return Object.assign(middleware, { requestedScope: () => [...requested] });
}
