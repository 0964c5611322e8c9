/**
 * The story: scope step-up, end to end, as a test — each step acts on the running servers, then asserts
 * (`node:assert/strict`) on exactly what went over the wire and what the tools answered. The exit code of
 * `pnpm client` / `pnpm demo` is its verdict; the narration, the checklist, `--json` and the transcript
 * are all made from the same records.
 *
 * What runs where: this client, in its own process (client/main.ts); the authorization server
 * (as/server.ts) and the MCP server (resource-server/server.ts) already running on loopback — `pnpm
 * demo` starts both on free ports, `pnpm dev` on 3001 and 3000. Every request goes through one recorder
 * (recorder.ts), told here to refuse anything but loopback.
 *
 * Flow: the steps D1–D8 of `STEPS` below, one `// ---- Dn ----` block each; D9 is the checklist.
 *
 * Each step's checks are written against the state the step starts from, so any step can follow D1
 * directly: `only` (`--only D3`) runs D1 and that step, `pause` (`--step`) waits between steps.
 *
 * Demo-only: plain http on loopback; the AS consents at once, so the "browser" is one fetch with
 * `redirect: "manual"`; one user (`demo-user`) who may be granted files:read and files:write, never
 * files:admin. With `broken` (`pnpm demo --break RULE`, composed by client/cli/breaks.ts) the client
 * breaks one rule on purpose: the checks it makes fail are marked "broken on purpose", and the verdict is
 * whether its consequence was seen.
 */
import assert, { AssertionError } from "node:assert/strict";
import { decodeJwt } from "jose";
import { refreshAuthorization, startAuthorization } from "@modelcontextprotocol/sdk/client/auth.js";
import { OAuthError } from "@modelcontextprotocol/sdk/server/auth/errors.js";
import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import { brokenByText, type BreakRuleInfo } from "../shared/break-rules.ts";
import { redact } from "../shared/log.ts";
import { isLoopbackUrl } from "../shared/loopback.ts";
import { reportOk, type BreakVerdict, type CheckResult, type StepId } from "../shared/report.ts";
import { satisfiesScope } from "../shared/scopes.ts";
import { terminalText } from "../shared/terminal-text.ts";
import { AuthorizationResponseError, headlessUserAgent, type UserAgent } from "./authorization-response.ts";
import { Authorizer, refreshAsking } from "./authorizer.ts";
import { createMcpClient, DEFAULT_AUTH_TIMEOUT_MS, type ConnectOptions, type McpClientHandle } from "./connect.ts";
import { connectionErrorCode, ExchangeRecorder, FetchTimeoutError, withTimeout, type RecordedExchange } from "./recorder.ts";
import { findBearerChallenge, formatScope, InsufficientScopeError, parseScope, type InsufficientScopeReason } from "./step-up/index.ts";
import { actorOf, describeOutcome, describeRequest, describeTokenClaims, responseJson, Wire, type Parties } from "./wire.ts";

export interface StoryStep {
  id: string;
  title: string;
  /** The one-line citation the narration prints (the same sources as docs/rules.md and the README). */
  citation: string;
}

export const STEPS = [
  { id: "D1", title: "connect: 401 → discovery → DCR → authorize → token", citation: "RFC 9728 §5.1: the 401 points to the resource's metadata, which names the AS (RFC 8414); DCR per RFC 7591; PKCE S256 (RFC 7636); resource per RFC 8707; iss per RFC 9207" },
  { id: "D2", title: "list-files with files:read", citation: "RFC 6750 §2.1: the access token travels in the Authorization header" },
  { id: "D3", title: "write-file → step-up", citation: "RFC 6749 §6: a refresh cannot widen scope, so step-up re-authorizes with requested ∪ granted ∪ challenged (SEP-2350)" },
  { id: "D4", title: "plain refresh after a 401", citation: "RFC 6749 §6: a refresh keeps the scope; RFC 9700 §4.14.2: a rotated refresh token cannot be replayed" },
  { id: "D5", title: "delete-file needs files:admin", citation: "RFC 6749 §3.3: the AS may grant less than asked; when it does, asking again cannot help, so the client stops" },
  { id: "D6", title: "broken-challenge → retry cap", citation: 'MCP 2026-07-28 Authorization, "Step-Up Authorization Flow": clients limit step-up retries — 2 per operation, never a loop' },
  { id: "D7", title: "throw mode", citation: 'SEP-2350 onInsufficientScope: "throw": surface the 403 to the caller, no AS traffic' },
  { id: "D8", title: "hardening, live", citation: "RFC 7591 §3.2.2: a non-loopback redirect_uri is refused at registration; RFC 6749 §4.1.2.1: never redirect to an unregistered one, matched exactly (RFC 9700 §4.1.3); RFC 6749 §6: no widening refresh; RFC 7636 §4.6: no token for a code without its code_verifier" },
] as const satisfies readonly (StoryStep & { id: StepId })[];

export interface StoryOptions {
  /** The MCP endpoint of the running RS, e.g. http://127.0.0.1:3000/mcp. */
  serverUrl: string;
  /** Receives each narration line (one per step, one per exchange, one per verdict). */
  narrate?: (line: string) => void;
  style?: Style;
  /** Deadline of each request to the AS, and of each tool call. Default 10 s each. */
  authTimeoutMs?: number;
  callTimeoutMs?: number;
  /** `pnpm demo --break RULE`: this run's client breaks one rule on purpose (client/cli/breaks.ts). */
  broken?: BrokenStory;
  /** `--only Dn`: run D1 and this step; the others are reported "not run". */
  only?: StepId;
  /** `--step`: called after each step that ran, before the next (or the verdict); resolves to go on. */
  pause?: (next: string) => Promise<void>;
  /** `--verbose`: narrate the claims of every access token issued (never the token). */
  showTokenClaims?: boolean;
}

export interface StoryRun {
  ok: boolean;
  checks: CheckResult[];
  durationMs: number;
  steps: readonly StoryStep[];
  exchanges: RecordedExchange[];
  parties: Parties;
  /** A break run's verdict, and its evidence line by line (`break.observed` joins them). */
  break?: BreakVerdict;
  breakLines?: string[];
}

/** How the narration is styled on a terminal (client/cli/terminal.ts): ✓ ok, ✗ fail, a 4xx warn, ⚠ broken on purpose. */
export type Style = Record<"bold" | "dim" | "ok" | "fail" | "warn" | "broken", (text: string) => string>;
const identity = (text: string) => text;
export const plainStyle: Style = { bold: identity, dim: identity, ok: identity, fail: identity, warn: identity, broken: identity };

/** A `--break` run: the client composed wrong, outside the rule it breaks, and how the consequence is read. */
export interface BrokenStory {
  info: BreakRuleInfo;
  /** The checks the broken rule makes fail: the checklist marks them "broken on purpose". */
  affects: readonly string[];
  /** The story's client: a wrong Authorizer, an option, a user agent, or another wiring (a fetch beneath the middleware, the SDK's own). */
  client: {
    Authorizer?: typeof Authorizer;
    maxStepUpAttempts?: number;
    userAgent?: (userAgent: UserAgent) => UserAgent;
    connect?: (options: ConnectOptions & { recorder: ExchangeRecorder }) => McpClientHandle;
  };
  /** Sees each request before it is sent (a reason refuses it) and each exchange after: the demo's safety stop. */
  watch?: { refuse(init?: RequestInit): string | undefined; saw(exchange: RecordedExchange): void };
  /** The servers' scope semantics when the break changes them: what "asked for what covers the union" means. */
  satisfies?: typeof satisfiesScope;
  /** More of the story, after D8, where one run of it is not enough to show the cost. */
  exhibit?: (call: (tool: string, args?: Record<string, unknown>) => Promise<unknown>) => Promise<void>;
  /** What the exchanges show, line by line, and whether the prediction came true. */
  report(view: { exchanges: RecordedExchange[]; parties: Parties; checks: CheckResult[]; errors: Record<string, unknown> }): BreakVerdict & { lines: string[] };
}

/** D1 could not reach a server at all (nothing answered, or not in time): exit 2, not a failed check. */
export class ServerUnreachableError extends Error {
  override name = "ServerUnreachableError";
  readonly exchanges: RecordedExchange[];
  constructor(cause: unknown, exchanges: RecordedExchange[]) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.exchanges = exchanges;
  }
}

type ToolResult = { [key: string]: unknown; isError?: unknown; content?: unknown };
const textOf = (result: ToolResult) =>
  (Array.isArray(result.content) ? result.content : []).map((c: { type?: string; text?: string }) => (c.type === "text" ? c.text : "")).join("\n");


function assertStepUpError(error: unknown, reason: InsufficientScopeReason): asserts error is InsufficientScopeError {
  assert.ok(error instanceof InsufficientScopeError, `expected InsufficientScopeError (${reason}), got ${String(error)}`);
  assert.equal(error.reason, reason, `expected InsufficientScopeError (${reason}), got reason ${error.reason}`);
}

/** Each exchange before the next: `[["401", a], ["PRM", b], …]`. */
function assertInOrder(wire: Wire, steps: Array<[string, RecordedExchange | undefined]>): void {
  const at = (e: RecordedExchange | undefined) => (e ? wire.exchanges.indexOf(e) : -1);
  for (let i = 1; i < steps.length; i++) assert.ok(at(steps[i - 1]![1]) < at(steps[i]![1]), `${steps[i - 1]![0]} must come before ${steps[i]![0]}`);
}

const challengeOf = (e: RecordedExchange | undefined) => findBearerChallenge(e?.response.wwwAuthenticate);
const failure = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error);

export async function runStory(options: StoryOptions): Promise<StoryRun> {
  const { serverUrl } = options;
  const narrate = options.narrate ?? (() => {});
  const style = options.style ?? plainStyle;
  const callTimeoutMs = options.callTimeoutMs ?? 10_000;
  const { broken } = options;
  const variant = broken?.client ?? {};
  // The servers' scope semantics, which "the union" is judged by: independent (S1), or the hierarchy the
  // servers of `--break scope-hierarchy` were started with (their /healthz says so, client/main.ts).
  const satisfies = broken?.satisfies ?? satisfiesScope;
  /** Two scopes that allow the same (S1: the same set) — what "asked for the union" means on the servers' side. */
  const sameScope = (a: string | string[] | undefined, b: string[]) => satisfies(a, b) && satisfies(b, a);
  /** R7: the tool succeeded, and the RS says this client acted with `scopes` (or what allows the same). */
  const assertActedWith = (result: ToolResult, clientId: string, scopes: string[], what: string) => {
    assert.notEqual(result.isError, true, `${what} failed: ${textOf(result)}`);
    const actor = actorOf(textOf(result));
    assert.ok(actor, `${what}: the result names no actor: ${textOf(result)}`);
    assert.equal(actor.clientId, clientId, `${what} ran as another client`);
    assert.ok(sameScope(actor.scopes, scopes), `${what} ran with [${actor.scopes.join(" ")}], not [${scopes.join(" ")}]`);
  };

  // ---- set-up: one recorder for every request, loopback only; the story's clients ----
  const recorder = new ExchangeRecorder({
    refuse: (url, init) => (isLoopbackUrl(url) ? broken?.watch?.refuse(init) : "the story talks to loopback servers only"),
    onExchange: (e) => {
      broken?.watch?.saw(e);
      const outcome = describeOutcome(e); // a 4xx status stands out: the server refused
      const status = e.status !== undefined && e.status >= 400 && e.status < 500 ? outcome.replace(/^\d+/, style.warn) : outcome;
      narrate(style.dim(`     ${e.origin === new URL(serverUrl).origin ? "RS" : "AS"} ${describeRequest(e, parties())} → ${status}`));
      if (options.showTokenClaims && e.response.tokenClaims) narrate(style.dim(`        ${describeTokenClaims(e.response.tokenClaims)}`));
    },
  });
  const authFetch = withTimeout(recorder.fetch, options.authTimeoutMs ?? DEFAULT_AUTH_TIMEOUT_MS);
  // The story's client under a break: its Authorizer, its user agent, what sits beneath its middleware (breaks.ts).
  const Variant = variant.Authorizer ?? Authorizer;
  const brokenAuthorizer = (fetch: typeof authFetch, clientName?: string, userAgent: UserAgent = headlessUserAgent(fetch)) =>
    new Variant({ serverUrl, fetch, clientName, userAgent: variant.userAgent?.(userAgent) ?? userAgent });
  const newClient = (extra: { onInsufficientScope?: "throw"; clientName?: string; broken?: boolean } = {}) => {
    const connectOptions = { serverUrl, recorder, authTimeoutMs: options.authTimeoutMs, requestTimeoutMs: callTimeoutMs, ...extra };
    if (!extra.broken) return createMcpClient(connectOptions);
    const authorizer = (fetch: typeof authFetch) => brokenAuthorizer(fetch, extra.clientName);
    if (variant.connect) return variant.connect(connectOptions);
    return createMcpClient({ ...connectOptions, authorizer, maxStepUpAttempts: variant.maxStepUpAttempts });
  };
  let main: McpClientHandle | undefined; // the story's client, D1 on
  let second: McpClientHandle | undefined; // D7's throw-mode client
  const call = (handle: McpClientHandle | undefined, name: string, args: Record<string, unknown> = {}) => {
    if (!handle) throw new Error("no connected client (an earlier step failed)");
    return handle.client.callTool({ name, arguments: args }, undefined, { timeout: callTimeoutMs });
  };
  const parties = (): Parties => {
    const discovery = main?.authorizer.discovery;
    const metadata = discovery?.metadata;
    return { serverUrl, issuer: discovery?.issuer, authorizationEndpoint: metadata?.authorization_endpoint, tokenEndpoint: metadata?.token_endpoint, registrationEndpoint: metadata?.registration_endpoint };
  };

  // ---- the runner: one step at a time, its exchanges, its verdict ----
  const results: CheckResult[] = [];
  const errors: Record<string, unknown> = {};
  let mark = 0;
  let pausedMs = 0;
  /** The exchanges of the current step so far. */
  const recorded = () => new Wire(recorder.since(mark), parties());
  async function step(id: StepId, run: () => Promise<string | { title: string; detail: string }>): Promise<void> {
    const info = STEPS.find((s) => s.id === id)!;
    if (options.only && id !== "D1" && id !== options.only) {
      results.push({ id, title: info.title, ok: false, detail: `not run (--only ${options.only})`, ms: 0, skipped: true });
      return;
    }
    recorder.step = id;
    narrate(`${style.bold(`${id} ${info.title}`)} — ${info.citation}`);
    if (id !== "D1" && !results.find((r) => r.id === "D1")?.ok) {
      results.push({ id, title: info.title, ok: false, detail: "skipped (D1 failed)", ms: 0 });
      return narrate("   – skipped (D1 failed)");
    }
    mark = recorder.mark();
    const t0 = performance.now();
    let outcome: { ok: boolean; title: string; detail: string };
    try {
      const done = await run();
      outcome = { ok: true, ...(typeof done === "string" ? { title: info.title, detail: done } : done) };
    } catch (error) {
      if (id === "D1" && (connectionErrorCode(error) || isTimeout(error))) throw new ServerUnreachableError(error, recorder.since(mark));
      errors[id] = error;
      outcome = { ok: false, title: info.title, detail: errorText(error) };
    }
    const ms = Math.round(performance.now() - t0);
    const onPurpose = !outcome.ok && broken?.affects.includes(id) === true;
    const detail = terminalText(onPurpose ? `broken on purpose: ${outcome.detail}` : outcome.detail); // B4: it quotes servers
    results.push({ id, title: outcome.title, ok: outcome.ok, detail, ms, ...(onPurpose ? { brokenOnPurpose: true as const } : {}) });
    narrate(`   ${outcome.ok ? style.ok("✓") : onPurpose ? style.broken("⚠") : style.fail("✗")} ${onPurpose ? style.broken(detail) : detail} ${style.dim(`(${ms} ms)`)}`);
    const next = STEPS.slice(STEPS.indexOf(info) + 1).find((s) => !options.only || s.id === options.only);
    const waited = performance.now();
    await options.pause?.(next ? `${next.id} ${next.title}` : "the checklist");
    pausedMs += performance.now() - waited; // the run's duration is the story's, not the presenter's
  }

  const started = performance.now();
  if (broken) {
    const { info } = broken;
    narrate(style.broken(`BREAK ${info.rule} — this run breaks ${info.breaks}, on purpose (${brokenByText(info)})`));
    narrate(`   prediction: ${info.predicted}`);
  }
  try {
    // ---- D1. connect: 401 → PRM → AS metadata → DCR → authorize → token ----
    await step("D1", async () => {
      main = newClient({ broken: true });
      await main.connect(); // initialize meets the 401, and the whole authorization on the way
      const wire = recorded();
      const { issuer } = main.authorizer.discovery!;
      const first = wire.exchanges[0];
      assert.ok(first && first.request.rpcMethod === "initialize", "the first request is the MCP initialize POST");
      assert.equal(first.request.authorization, undefined, "the first request carries no token");
      assert.equal(first.status, 401);
      const challenge = challengeOf(first);
      assert.ok(challenge?.resourceMetadata, "RFC 9728 §5.1: the 401 names resource_metadata");
      assert.equal(challenge.error, undefined, "RFC 6750 §3.1: no error code when no token was sent");
      assert.equal(challenge.scope, "files:read");
      const prm = wire.exchanges.find((e) => e.method === "GET" && e.url === challenge.resourceMetadata);
      assert.equal(prm?.status, 200, "the PRM is fetched from the challenge's resource_metadata");
      assert.equal(responseJson(prm).resource, serverUrl);
      const asMetadata = wire.toAs().find((e) => e.path.startsWith("/.well-known/oauth-authorization-server"));
      assert.equal(asMetadata?.status, 200, "RFC 8414 metadata is fetched from the issuer");
      const [registration, ...moreRegistrations] = wire.registrations();
      assert.equal(moreRegistrations.length, 0, "one registration");
      assert.equal(registration?.status, 201);
      const metadata = registration.request.json as { redirect_uris: string[]; [field: string]: unknown };
      assert.equal(metadata.redirect_uris.length, 1);
      assert.match(String(metadata.redirect_uris[0]), /^http:\/\/127\.0\.0\.1:\d+\/callback$/, "C2: a loopback redirect URI");
      assert.equal(metadata.application_type, "native");
      assert.deepEqual(metadata.grant_types, ["authorization_code", "refresh_token"]);
      assert.equal(metadata.token_endpoint_auth_method, "none");
      const [authorization, ...moreAuthorizations] = wire.authorizations();
      assert.equal(moreAuthorizations.length, 0, "one authorization");
      assert.ok(authorization, "an authorization request");
      assert.equal(authorization.query.scope, "files:read", "C3: the first authorization asks for the 401's scope");
      assert.equal(authorization.query.resource, serverUrl, "RFC 8707: resource on the authorization request");
      assert.equal(authorization.query.code_challenge_method, "S256");
      assert.ok(authorization.query.code_challenge && authorization.query.state, "PKCE code_challenge and state are sent");
      assert.equal(authorization.status, 302);
      const callback = authorization.response.locationQuery ?? {};
      assert.ok(callback.code && callback.state, "the 302 carries code and state");
      assert.equal(callback.iss, issuer, "RFC 9207: the 302 carries iss = the issuer");
      const [token, ...moreTokens] = wire.tokenRequests();
      assert.equal(moreTokens.length, 0, "one token request");
      assert.equal(token?.request.form?.grant_type, "authorization_code");
      assert.equal(token.request.form?.resource, serverUrl, "RFC 8707: resource on the code exchange");
      assert.ok(token.request.form?.code_verifier, "PKCE code_verifier is sent");
      assert.equal(token.status, 200);
      assert.equal(responseJson(token).scope, "files:read");
      assert.ok(responseJson(token).refresh_token, "a refresh token is issued");
      const accessToken = main.authorizer.tokens?.access_token;
      assert.ok(accessToken, "the client holds an access token");
      assert.equal(decodeJwt(accessToken).aud, serverUrl, "RFC 8707: aud is the resource");
      const retried = wire.mcpPosts({ method: "initialize" }).find((e) => e.status === 200);
      assert.ok(retried?.request.authorization, "initialize is resent with the token");
      assertInOrder(wire, [["401", first], ["PRM", prm], ["AS metadata", asMetadata], ["DCR", registration], ["authorize", authorization], ["token", token], ["retried initialize", retried]]);
      return `401 scope="files:read" → PRM → AS metadata → DCR (loopback redirect) → authorize scope="files:read" S256 → 302 code+state+iss → token scope="files:read", aud=${serverUrl}, + refresh_token`;
    });
    const clientId = () => main?.authorizer.client?.client_id ?? "";

    // ---- D2. list-files with files:read ----
    await step("D2", async () => {
      const listed = await call(main, "list-files");
      const wire = recorded();
      const posts = wire.mcpPosts({ tool: "list-files" });
      assert.equal(posts.length, 1, "one list-files request");
      assert.equal(posts[0]!.status, 200);
      assert.ok(posts[0]!.request.authorization, "sent with the token");
      assert.equal(wire.toAs().length, 0, "no AS traffic");
      assertActedWith(listed, clientId(), ["files:read"], "list-files");
      return `list-files → 200, read by ${clientId()} [files:read]`;
    });

    // ---- D3. write-file → 403 → step-up with the union, no refresh → retry; nothing lost ----
    await step("D3", async () => {
      const union = [...main!.authorizer.grantedScope(), "files:write"];
      const written = await call(main, "write-file", { name: "step-up.txt", content: "written after a step-up\n" });
      const listed = await call(main, "list-files");
      const wire = recorded();
      // The union's consequence first: scopes are independent, so a token that lost files:read cannot list.
      const lost = wire.mcpPosts({ tool: "list-files" }).find((e) => e.status === 403);
      assert.equal(lost, undefined, `list-files after the step-up → 403 scope="${challengeOf(lost)?.scope}": the token lost files:read`);
      const [refused, retried, ...more] = wire.mcpPosts({ tool: "write-file" });
      assert.equal(more.length, 0, "write-file is sent twice: refused, then retried");
      assert.equal(refused?.status, 403);
      assert.equal(challengeOf(refused)?.error, "insufficient_scope");
      assert.equal(challengeOf(refused)?.scope, "files:write");
      assert.equal(wire.tokenRequests("refresh_token").length, 0, "RFC 6749 §6: no refresh request during a widening step-up");
      const [authorization, ...moreAuthorizations] = wire.authorizations();
      assert.equal(moreAuthorizations.length, 0, "exactly one fresh authorization");
      // The v1 SDK would ask for the challenged scope alone: this is the union (C4.1), as the servers count scope.
      assert.ok(sameScope(authorization?.query.scope, union), `C4.1: the union "${formatScope(union)}", not "${authorization?.query.scope}"`);
      assert.equal(authorization!.status, 302);
      const [exchange] = wire.tokenRequests("authorization_code");
      assert.ok(exchange, "the authorization's code is redeemed");
      const grant = parseScope(responseJson(exchange).scope as string | undefined);
      assert.ok(sameScope(grant, union), `the grant is the union, not "${formatScope(grant)}"`);
      assert.equal(retried?.status, 200);
      assert.notEqual(retried.request.authorization, refused.request.authorization, "retried with the new token");
      assert.equal(retried.request.mcpSessionId, refused.request.mcpSessionId, "R6: the same MCP session continues");
      assertInOrder(wire, [["403", refused], ["authorize", authorization], ["token", exchange], ["retry", retried]]);
      assertActedWith(written, clientId(), grant, "write-file");
      assertActedWith(listed, clientId(), grant, "list-files after step-up");
      return `403 scope="files:write" → no refresh → authorize scope="${authorization!.query.scope}" → retry 200 [${formatScope(grant)}]; list-files still works`;
    });

    // ---- D4. drop the access token → 401 → refresh, same scope; the old refresh token replayed, the family revoked ----
    await step("D4", async () => {
      const { authorizer } = main!;
      const held = formatScope(authorizer.grantedScope());
      const oldRefreshToken = authorizer.tokens?.refresh_token;
      authorizer.forgetAccessToken();
      const listed = await call(main, "list-files");
      // Someone replays the old refresh token: RFC 9700 §4.14.2, the AS sees it reused and revokes the family.
      const { issuer, metadata, resource } = authorizer.discovery!;
      const replay = await failure(
        refreshAuthorization(issuer, { metadata, clientInformation: authorizer.client!, refreshToken: oldRefreshToken ?? "", resource, fetchFn: authFetch }),
      );
      // The whole family, the newest refresh token included: the one the client holds is refused now too.
      const newestRefreshToken = authorizer.tokens?.refresh_token;
      const refreshedAfterReplay = await authorizer.refresh();
      const wire = recorded();
      const [unauthenticated, retried, ...more] = wire.mcpPosts({ tool: "list-files" });
      assert.equal(more.length, 0, `list-files is sent twice (the 401, then the retry), not ${2 + more.length} times`);
      assert.equal(unauthenticated?.request.authorization, undefined, "the call goes out without the dropped token");
      assert.equal(unauthenticated.status, 401, `the call without a token → 401, not ${unauthenticated.status}`);
      const [refresh, replayed, newest, ...moreRefreshes] = wire.tokenRequests("refresh_token");
      assert.equal(moreRefreshes.length, 0, "one refresh, one replay, one refresh with the newest token");
      assert.equal(refresh?.status, 200, `the refresh → 200, not ${refresh?.status ?? "no refresh"}`);
      assert.equal(refresh.request.form?.scope, undefined, "RFC 6749 §6: the refresh asks for no scope (same scope)");
      assert.equal(refresh.request.form?.resource, serverUrl, "RFC 8707: resource on the refresh");
      const refreshed = responseJson(refresh).scope;
      assert.ok(sameScope(refreshed as string | undefined, parseScope(held)), `C5: the refresh keeps the scope held, "${held}" (it came back "${String(refreshed)}")`);
      assert.equal(wire.authorizations().length, 0, "no authorization");
      assert.equal(retried?.status, 200, `the retried list-files → 200, not ${retried?.status ?? "never sent"}`);
      assertActedWith(listed, clientId(), parseScope(held), "list-files after refresh");
      assert.equal(replayed?.request.form?.refresh_token, refresh.request.form?.refresh_token, "the replay sends the old refresh token");
      assert.equal(replayed.status, 400, `the replayed refresh token → 400, not ${replayed.status}`);
      assert.equal(responseJson(replayed).error, "invalid_grant", "RFC 6749 §5.2: the replayed refresh token → invalid_grant");
      assert.ok(replay instanceof OAuthError && replay.errorCode === "invalid_grant", `replay gave ${String(replay)}`);
      assert.equal(newest?.request.form?.refresh_token, redact(newestRefreshToken), "the client then refreshes with its newest refresh token");
      assert.equal(responseJson(newest).error, "invalid_grant", "RFC 9700 §4.14.2: the replay revoked the whole family, the newest refresh token included");
      assert.equal(refreshedAfterReplay, false, "the client holds no usable refresh token after the replay");
      return `401 → refresh (no scope param) → 200 scope="${held}" → retry 200; replaying the old refresh token → invalid_grant, and the AS revoked the whole family: the client's newest refresh token → invalid_grant too`;
    });

    // ---- D5. delete-file needs files:admin, which the policy never grants → declined, not retried ----
    await step("D5", async () => {
      const held = main!.authorizer.grantedScope();
      const union = [...held, "files:admin"];
      const deleted = await call(main, "delete-file", { name: "notes.txt" }).then((value) => ({ value }), (error: unknown) => ({ error }));
      const listed = await call(main, "list-files");
      const wire = recorded();
      const requested = main!.stepUp?.requestedScope();
      const [authorization, ...moreAuthorizations] = wire.authorizations();
      assert.equal(moreAuthorizations.length, 0, "exactly one authorization");
      assert.ok(sameScope(authorization?.query.scope, union), `C4.1: the authorization asks for the union "${formatScope(union)}", not "${authorization?.query.scope}"`);
      assert.equal(wire.tokenRequests("refresh_token").length, 0, "RFC 6749 §6: no refresh (it cannot widen)");
      const [exchange] = wire.tokenRequests("authorization_code");
      assert.ok(exchange, `the authorization's code is redeemed (the AS answered ${authorization!.response.locationQuery?.error ?? authorization!.status})`);
      const grantedNow = parseScope(responseJson(exchange).scope as string | undefined);
      const deletes = wire.mcpPosts({ tool: "delete-file" });
      assert.equal(challengeOf(deletes[0])?.scope, "files:admin", "the 403 challenges for files:admin");
      if ("value" in deleted) {
        // AS_GRANTABLE_SCOPES names files:admin: nothing is declined, and the same step-up succeeds.
        assert.ok(grantedNow.includes("files:admin"), `the step-up succeeded only because the AS granted files:admin (granted: ${formatScope(grantedNow)})`);
        assert.equal(deletes.length, 2, "delete-file is sent twice: the 403, then the retry");
        assertActedWith(deleted.value, clientId(), union, "delete-file after the step-up");
        assert.ok(sameScope(requested, union), "nothing was declined: the requested set keeps all of it");
        assertActedWith(listed, clientId(), union, "list-files after the step-up");
        const detail = `not declined: the AS's policy grants files:admin (AS_GRANTABLE_SCOPES), so the step-up for "${formatScope(union)}" got it all (1 authorization) and delete-file ran; the declined path needs the default policy`;
        return { title: "delete-file → granted (the policy grants files:admin)", detail };
      }
      const { error } = deleted;
      assertStepUpError(error, "declined");
      assert.equal(error.requiredScope, "files:admin", `the error's requiredScope is "files:admin", not "${error.requiredScope}"`);
      assert.equal(error.grantedScope, formatScope(held), `the error's grantedScope is "${formatScope(held)}", not "${error.grantedScope}"`);
      assert.equal(error.attempts, 1, `one step-up attempt, not ${error.attempts}`);
      assert.equal(deletes.length, 1, "the declined call is not retried");
      assert.ok(sameScope(grantedNow, held), `RFC 6749 §3.3: a partial grant of "${formatScope(held)}", not "${formatScope(grantedNow)}"`);
      assert.ok(sameScope(requested, held), `C4.4: requested := granted, not [${requested?.join(" ")}]`);
      assertActedWith(listed, clientId(), held, "list-files after the decline");
      return { title: "delete-file → declined", detail: `403 scope="files:admin" → authorize scope="${authorization!.query.scope}" → granted "${formatScope(held)}" → InsufficientScopeError(declined), no retry; list-files still works` };
    });

    // ---- D6. broken-challenge: nothing to widen → refresh, 403, refresh, 403 → the cap ----
    await step("D6", async () => {
      const error = await failure(call(main, "broken-challenge"));
      const wire = recorded();
      assertStepUpError(error, "retry-limit");
      assert.equal(error.attempts, 2);
      const posts = wire.mcpPosts({ tool: "broken-challenge" });
      assert.equal(posts.length, 3, "3 POSTs of the call");
      assert.ok(posts.every((p) => p.status === 403), `every POST is refused: ${posts.map((p) => p.status).join(", ")}`);
      const refreshes = wire.tokenRequests("refresh_token");
      assert.equal(refreshes.length, 2, "exactly 2 refreshes");
      assert.ok(refreshes.every((r) => r.status === 200), `every refresh succeeds: ${refreshes.map((r) => r.status).join(", ")}`);
      assert.equal(wire.authorizations().length, 0, "0 authorizations: nothing needed widening");
      return `3 × 403 scope="files:read", 2 refreshes, 0 authorizations → InsufficientScopeError(retry-limit, attempts 2)`;
    });

    // ---- D7. a second client in throw mode: the 403 comes back as an error, no AS traffic ----
    await step("D7", async () => {
      second = newClient({ onInsufficientScope: "throw", clientName: "scoped-tools headless client (throw mode)" });
      await second.connect();
      mark = recorder.mark(); // the call alone, after its connect
      const error = await failure(call(second, "write-file", { name: "never.txt", content: "-" }));
      const wire = recorded();
      assertStepUpError(error, "throw-mode");
      assert.equal(error.requiredScope, "files:write");
      assert.equal(error.grantedScope, "files:read");
      const posts = wire.mcpPosts({ tool: "write-file" });
      assert.equal(posts.length, 1);
      assert.equal(posts[0]!.status, 403);
      assert.equal(wire.toAs().length, 0, "zero requests to the AS");
      return `write-file → 403 → InsufficientScopeError(throw-mode, requiredScope "files:write"), 0 requests to the AS`;
    });

    // ---- D8. hardening, live: attacker redirects, a widening refresh, a code without its verifier, forged responses, loopback ----
    await step("D8", async () => {
      const { authorizer } = main!;
      const { issuer, metadata, resource } = authorizer.discovery!;
      const send = async (url: string | URL, init: RequestInit = {}) => (await authFetch(url, init)).body?.cancel();
      await send(metadata.registration_endpoint!, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ ...authorizer.clientMetadata, redirect_uris: ["https://attacker.example/cb"] }),
      });
      // Otherwise valid authorization requests (PKCE S256, state, resource) whose redirect_uri was never registered.
      const authorizationRequest = (redirectUrl: string, state = "d8") =>
        startAuthorization(issuer, { metadata, clientInformation: authorizer.client!, redirectUrl, scope: "files:read", state, resource });
      /** The code of an authorization this client never started (its own PKCE pair, thrown away). */
      const codeOfAnotherFlow = async (state: string) => {
        const authorized = await authFetch((await authorizationRequest(authorizer.redirectUri, state)).authorizationUrl, { redirect: "manual" });
        await authorized.body?.cancel();
        const code = new URL(authorized.headers.get("location") ?? "", issuer).searchParams.get("code");
        if (!code) throw new Error(`/authorize with the registered redirect_uri gave no code (${authorized.status})`);
        return code;
      };
      const unregistered = [`${new URL(authorizer.redirectUri).origin}/callbackevil`, "https://attacker.example/cb"];
      for (const redirectUrl of unregistered) await send((await authorizationRequest(redirectUrl)).authorizationUrl, { redirect: "manual" });
      // RFC 6749 §6: a refresh for more than the grant — why D3 does not refresh (D7's client holds files:read).
      const narrow = (second ?? main)!.authorizer;
      await failure(refreshAsking(narrow, ["files:read", "files:write"], authFetch));
      // An intercepted code, redeemed without its code_verifier: PKCE makes it worthless (RFC 7636 §1).
      const form = { grant_type: "authorization_code", code: await codeOfAnotherFlow("d8"), redirect_uri: authorizer.redirectUri, client_id: clientId(), resource };
      await send(metadata.token_endpoint, { method: "POST", body: new URLSearchParams(form) });
      // Forged authorization responses reach this client's redirect handling while it authorizes: another
      // flow's code with a state it never sent (login CSRF, code injection: RFC 6749 §10.12, RFC 9700 §4.7),
      // then the right state with another issuer's iss (mix-up, RFC 9207 §2.4). Refused before any token request.
      const forgedCode = await codeOfAnotherFlow("attacker");
      const forging = (query: (sent: URLSearchParams) => Record<string, string>): UserAgent => async (authorizationUrl) => {
        const callback = new URL(authorizer.redirectUri);
        for (const [name, value] of Object.entries(query(authorizationUrl.searchParams))) callback.searchParams.set(name, value);
        return callback;
      };
      const victim = (userAgent: UserAgent) => Object.assign(brokenAuthorizer(authFetch, undefined, userAgent), { client: authorizer.client, discovery: authorizer.discovery });
      const wrongState = await failure(victim(forging(() => ({ code: forgedCode, state: "forged", iss: issuer }))).authorize(["files:read"]));
      const wrongIss = await failure(victim(forging((sent) => ({ code: forgedCode, state: sent.get("state")!, iss: "https://attacker.example" }))).authorize(["files:read"]));
      for (const base of [issuer, new URL(serverUrl).origin]) await send(`${base}/healthz`);

      const wire = recorded();
      const [attacker, ...moreRegistrations] = wire.registrations();
      assert.equal(moreRegistrations.length, 0, "one registration attempt");
      assert.equal(attacker?.status, 400, "DCR with https://attacker.example/cb is refused");
      assert.equal(responseJson(attacker).error, "invalid_redirect_uri");
      const refusedAuthorizations = wire.authorizations().filter((a) => a.query.redirect_uri !== authorizer.redirectUri);
      assert.deepEqual(refusedAuthorizations.map((a) => a.query.redirect_uri), unregistered, "one authorization request per unregistered redirect_uri, and no other");
      for (const a of refusedAuthorizations) {
        assert.equal(a.status, 400, `unregistered redirect_uri ${a.query.redirect_uri} → 400`);
        assert.equal(a.response.location, undefined, "…and no Location: the target is not trusted");
      }
      const [widening, ...moreRefreshes] = wire.tokenRequests("refresh_token");
      assert.equal(moreRefreshes.length, 0, "one widening refresh");
      assert.ok(widening && parseScope(widening.request.form?.scope).includes("files:write"), "a refresh asking for files:write");
      assert.equal(widening.status, 400);
      assert.equal(responseJson(widening).error, "invalid_scope", "RFC 6749 §6: a refresh cannot widen scope");
      const redeemed = wire.tokenRequests("authorization_code");
      const [intercepted, ...moreCodes] = redeemed.filter((r) => r.request.form?.code_verifier === undefined);
      assert.equal(moreCodes.length, 0, "one code redeemed without its verifier");
      assert.ok(intercepted, "the code is redeemed without a code_verifier");
      assert.equal(intercepted.status, 400, "RFC 7636 §4.6: a code without its code_verifier yields no token");
      assert.equal(responseJson(intercepted).access_token, undefined);
      const forgedRedemptions = redeemed.filter((r) => r.request.form?.code === redact(forgedCode));
      const [forged] = forgedRedemptions;
      assert.equal(forged, undefined, `C1: a forged response (another flow's code, a wrong state) is refused before any token request — it was redeemed: POST /token → ${forged?.status} ${forged ? String(responseJson(forged).error) : ""}`);
      assert.ok(wrongState instanceof AuthorizationResponseError && /state/.test(wrongState.message), `RFC 6749 §10.12: a wrong state is refused, not ${String(wrongState)}`);
      assert.ok(wrongIss instanceof AuthorizationResponseError && /RFC 9207/.test(wrongIss.message), `RFC 9207 §2.4: a wrong iss is refused, not ${String(wrongIss)}`);
      for (const base of [issuer, new URL(serverUrl).origin]) {
        const health = wire.exchanges.find((e) => e.path === "/healthz" && e.origin === new URL(base).origin);
        assert.equal(health?.status, 200, `${base}/healthz answers`);
        const listening = responseJson(health).listening as { address?: string; port?: number } | undefined;
        assert.equal(listening?.address, "127.0.0.1", `${base} listens on 127.0.0.1 only`);
        assert.equal(String(listening.port), new URL(base).port);
      }
      const elsewhere = recorder.exchanges.filter((e) => new URL(e.origin).hostname !== "127.0.0.1");
      assert.equal(elsewhere.length, 0, `traffic left loopback: ${elsewhere.map((e) => e.origin).join(", ")}`);
      return `DCR attacker.example → 400 invalid_redirect_uri; unregistered redirect → 400, no Location; widening refresh → invalid_scope; a code without its code_verifier → 400 ${String(responseJson(intercepted).error)}; a forged response (another flow's code, wrong state) and a wrong iss → refused before any token request; AS and RS listen on 127.0.0.1; all ${recorder.exchanges.length} requests stayed on loopback`;
    });

    if (broken?.exhibit && main) {
      recorder.step = "break";
      narrate(style.bold(`BREAK ${broken.info.rule}: one story is not enough to show the cost — more calls`));
      await broken.exhibit((tool, args) => call(main, tool, args));
    }
  } finally {
    recorder.step = "end";
    await Promise.all([main?.close(), second?.close()]);
  }

  // ---- D9. the verdict ----
  const durationMs = Math.round(performance.now() - started - pausedMs);
  const run: StoryRun = { ok: reportOk(results), checks: results, durationMs, steps: STEPS, exchanges: recorder.exchanges, parties: parties() };
  if (broken) {
    const { lines, ...report } = broken.report({ exchanges: run.exchanges, parties: run.parties, checks: results, errors });
    narrate(style.bold(`BREAK ${report.rule} — what the exchanges show:`));
    for (const line of lines) narrate(`   ${line}`);
    narrate(`   ${report.demonstrated ? style.ok("demonstrated") : style.fail("NOT demonstrated")}: ${report.predicted}`);
    run.break = report;
    run.breakLines = lines;
    run.ok = reportOk(results, report);
  }
  return run;
}

/** No answer in time: the SDK's request timeout, or the deadline of one request to the AS. */
function isTimeout(error: unknown): boolean {
  return error instanceof FetchTimeoutError || (error instanceof McpError && error.code === ErrorCode.RequestTimeout);
}

/** One line. A failed check's AssertionError keeps its message only, not the diff Node appends to it. */
function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error instanceof AssertionError) return error.message.split("\n")[0]!.trim();
  const cause = (error as { cause?: unknown }).cause;
  const text = cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
  return text.trim().replace(/\s*\n+\s*/g, " — ");
}
