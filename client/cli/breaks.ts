/**
 * `pnpm demo --break RULE`: the story's client with one rule broken on purpose, and how the consequence
 * is read back from what went over the wire. Each broken client is composed here, outside the rule it
 * breaks, from the public contract — a wrong `Authorizer`, an option of `withStepUp`, a fetch beneath
 * the middleware, a user agent, or (stock-sdk) the SDK's own wiring — so client/step-up/ and
 * client/authorizer.ts are the same in every run. The servers' rules are broken by servers started with
 * `AS_BREAK` / `RS_BREAK` (as/breaks.ts, resource-server/breaks.ts). docs/breaks.md shows each as a diff.
 *
 * Verdicts come from the recorded exchanges and the error each step ended with, never from printed text.
 */
import { UnauthorizedError, type OAuthClientProvider, type OAuthDiscoveryState } from "@modelcontextprotocol/sdk/client/auth.js";
import { StreamableHTTPClientTransport, StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { OAuthClientInformationMixed, OAuthTokens } from "@modelcontextprotocol/sdk/shared/auth.js";
import type { FetchLike } from "@modelcontextprotocol/sdk/shared/transport.js";
import { breakRuleInfo, type BreakRule } from "../../shared/break-rules.ts";
import type { CheckResult } from "../../shared/report.ts";
import { satisfiesScopeHierarchically, withIncludedScopes } from "../../shared/scope-hierarchy.ts";
import { terminalText } from "../../shared/terminal-text.ts";
import { checkAuthorizationRedirect, headlessUserAgent, issuerExpectation, type UserAgent } from "../authorization-response.ts";
import { Authorizer, refreshAsking } from "../authorizer.ts";
import { DEFAULT_AUTH_TIMEOUT_MS, sessionHandle, type ConnectOptions, type McpClientHandle } from "../connect.ts";
import { namingTheAuthorizationServer, withTimeout, type ExchangeRecorder, type RecordedExchange } from "../recorder.ts";
import { computeScopeUnion, findBearerChallenge, formatScope, InsufficientScopeError, operationOf, withStepUp, type AuthorizationHint } from "../step-up/index.ts";
import type { BrokenStory } from "../story.ts";
import { responseJson, Wire, type Parties } from "../wire.ts";

// ---- the broken clients ----

/** replace-scope (C4.1 broken): asks only for what the token lacks — the challenged scope — not the union. */
class AsksForTheChallengeAlone extends Authorizer {
  override authorize(scope: string[], hint: AuthorizationHint): Promise<void> {
    return super.authorize(scope.filter((s) => !this.grantedScope().includes(s)), hint);
  }
}

/**
 * scope-hierarchy: replace-scope's client, written for an API whose scopes nest — it reads its grant the
 * way the servers of that run do (files:write includes files:read), so a 401 needs no re-authorization.
 */
class ReplacesScopeUnderAHierarchy extends AsksForTheChallengeAlone {
  override grantedScope(): string[] {
    return withIncludedScopes(super.grantedScope());
  }
}

/** refresh-to-widen (C4.2 broken): once it holds a refresh token, it widens by refreshing with the wider `scope`. */
class WidensByRefresh extends Authorizer {
  override async authorize(scope: string[], hint: AuthorizationHint): Promise<void> {
    if (!this.canRefresh()) return super.authorize(scope, hint);
    await refreshAsking(this, scope, this.options.fetch); // the AS answers invalid_scope (RFC 6749 §6)
  }
}

/** ignore-decline (C4.4 broken): keeps a list of everything it ever asked for, declined or not, and asks for it again. */
class KeepsAskingForTheDeclined extends Authorizer {
  private everAsked: string[] = [];
  override async authorize(scope: string[], hint: AuthorizationHint): Promise<void> {
    this.everAsked = computeScopeUnion(this.everAsked, scope, []);
    await super.authorize(this.everAsked, hint);
  }
  /** A refresh cannot add what was declined, so it asks for a new grant instead, whenever it can. */
  override async refresh(): Promise<boolean> {
    if (this.everAsked.every((s) => this.grantedScope().includes(s))) return super.refresh();
    await this.authorize([], {});
    return true;
  }
}

/**
 * scopes-supported (C4.1 broken): the client takes the resource metadata's `scopes_supported` for the
 * scope a 403 challenges. Composed as a fetch between the step-up middleware and the recorder: it hands
 * the middleware the RS's challenge with `scopes_supported` where its `scope` was. The middleware's rules
 * are untouched — what it reads is wrong, as in a client whose step-up falls back to scopes_supported —
 * and the recorder, below it, keeps the challenge the RS really sent.
 */
function connectReadingScopesSupported(options: ConnectOptions & { recorder: ExchangeRecorder }): McpClientHandle {
  const { serverUrl, recorder, clientName, requestTimeoutMs } = options;
  const fetch = namingTheAuthorizationServer(withTimeout(recorder.fetch, options.authTimeoutMs ?? DEFAULT_AUTH_TIMEOUT_MS), serverUrl);
  const authorizer = options.authorizer?.(fetch) ?? new Authorizer({ serverUrl, fetch, clientName });
  const stepUp = withStepUp(authorizer, { resource: serverUrl }); // client/connect.ts's client, with the wrong reading below it
  const newTransport = () => new StreamableHTTPClientTransport(new URL(serverUrl), { fetch: stepUp(readsScopesSupported(recorder.fetch)) });
  return sessionHandle({ recorder, authorizer, stepUp, newTransport, clientName, requestTimeoutMs });
}

function readsScopesSupported(next: FetchLike): FetchLike {
  return async (url, init) => {
    const response = await next(url, init);
    const header = response.headers.get("www-authenticate");
    const challenge = findBearerChallenge(header);
    if (response.status !== 403 || challenge?.error !== "insufficient_scope" || !challenge.resourceMetadata) return response;
    const metadata = (await (await next(challenge.resourceMetadata)).json()) as { scopes_supported?: string[] };
    const headers = new Headers(response.headers);
    headers.set("www-authenticate", header!.replace(/\bscope="[^"]*"/, `scope="${formatScope(metadata.scopes_supported ?? [])}"`));
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
  };
}

/**
 * no-state-check (C1 broken): a redirect handler that passes the client's check the `state` the client
 * sent, whatever came back — which is what a client that only reads `code` from its callback amounts to.
 * The `iss` check (RFC 9207) still runs.
 */
function takesAnyState(userAgent: UserAgent): UserAgent {
  return async (authorizationUrl) => {
    const callback = await userAgent(authorizationUrl);
    callback.searchParams.set("state", authorizationUrl.searchParams.get("state") ?? "");
    return callback;
  };
}

/**
 * stock-sdk: the v1 SDK's own OAuth path — its transport with an `authProvider`, no step-up middleware.
 * The provider keeps what the SDK's `auth()` stores in an `Authorizer` (only its storage is used), so
 * the story reads the grant the same way; the authorization URL is opened by the same headless user agent.
 */
function connectStockSdk(options: ConnectOptions & { recorder: NonNullable<ConnectOptions["recorder"]> }): McpClientHandle {
  const { serverUrl, recorder, clientName, requestTimeoutMs } = options;
  const fetch = withTimeout(recorder.fetch, options.authTimeoutMs ?? DEFAULT_AUTH_TIMEOUT_MS);
  const authorizer = new Authorizer({ serverUrl, fetch, clientName });
  let discoveryState: OAuthDiscoveryState | undefined;
  let codeVerifier: string | undefined;
  let state: string | undefined;
  let code: string | undefined;
  const provider: OAuthClientProvider = {
    redirectUrl: authorizer.redirectUri,
    clientMetadata: authorizer.clientMetadata,
    state: () => (state = crypto.randomUUID()),
    clientInformation: () => authorizer.client,
    saveClientInformation: (client: OAuthClientInformationMixed) => void (authorizer.client = client),
    tokens: () => authorizer.tokens,
    saveTokens: (tokens: OAuthTokens) => void (authorizer.tokens = tokens),
    saveCodeVerifier: (verifier: string) => void (codeVerifier = verifier),
    codeVerifier: () => codeVerifier ?? "",
    saveDiscoveryState: (saved: OAuthDiscoveryState) => void (discoveryState = saved),
    discoveryState: () => discoveryState,
    redirectToAuthorization: async (authorizationUrl: URL) => {
      const redirect = await headlessUserAgent(fetch)(authorizationUrl);
      ({ code } = checkAuthorizationRedirect(redirect, {
        redirectUri: authorizer.redirectUri,
        expectedState: state ?? "",
        issuer: issuerExpectation(discoveryState?.authorizationServerMetadata ?? { issuer: "" }),
      }));
    },
  };
  const newTransport = () => new StreamableHTTPClientTransport(new URL(serverUrl), { authProvider: provider, fetch: recorder.fetch });
  const handle = sessionHandle({ recorder, authorizer, newTransport, clientName, requestTimeoutMs });
  const connectOnce = handle.connect;
  handle.connect = async () => {
    try {
      return await connectOnce();
    } catch (error) {
      if (!(error instanceof UnauthorizedError)) throw error;
    }
    // The SDK's auth() "redirected" (the user agent read the 302): the code goes to finishAuth, then connect again.
    await newTransport().finishAuth(code ?? "");
    await connectOnce();
    await authorizer.discover(); // what the SDK discovered is not shared: the story's checks read it here
  };
  return handle;
}

/** The demo's safety stop for `no-retry-cap`: after `rounds` refusals in a row, an operation is not sent again. */
class SafetyStop {
  static readonly ROUNDS = 10;
  /** Set once a request was refused: the loop ended here, not in the client. */
  stopped = false;
  private readonly failures = new Map<string, number>();

  /** A recorder `refuse` hook. */
  refuse(init?: RequestInit): string | undefined {
    const operation = operationOf(init);
    if ((this.failures.get(operation) ?? 0) < SafetyStop.ROUNDS) return undefined;
    this.stopped = true;
    return `demo safety stop: ${operation} was refused ${SafetyStop.ROUNDS} times in a row and the client has no cap`;
  }

  /** Feed it every exchange. */
  saw(e: RecordedExchange): void {
    const operation = e.request.tool ? `tools/call:${e.request.tool}` : e.request.rpcMethod;
    if (!operation || e.method !== "POST") return;
    this.failures.set(operation, e.status !== undefined && e.status < 300 ? 0 : (this.failures.get(operation) ?? 0) + 1);
  }
}

/** How the story's client is composed under each break (a server's rule: by the server, AS_BREAK / RS_BREAK). */
function clientVariant(rule: BreakRule): BrokenStory["client"] {
  switch (rule) {
    case "replace-scope":
      return { Authorizer: AsksForTheChallengeAlone };
    case "refresh-to-widen":
      return { Authorizer: WidensByRefresh };
    case "ignore-decline":
      return { Authorizer: KeepsAskingForTheDeclined };
    case "no-retry-cap":
      return { maxStepUpAttempts: Infinity }; // no cap, and no backstop either: the demo's safety stop ends it
    case "stock-sdk":
      return { connect: connectStockSdk };
    case "scopes-supported":
      return { connect: connectReadingScopesSupported };
    case "scope-hierarchy":
      return { Authorizer: ReplacesScopeUnderAHierarchy }; // and the servers nest their scopes (AS_BREAK, RS_BREAK)
    case "no-state-check":
      return { userAgent: takesAnyState };
    case "lenient-redirect":
    case "no-pkce":
      return {}; // broken by the AS (AS_BREAK); the client keeps every rule
  }
}

// ---- what each break makes happen, read back from the wire ----

/** What a break's observer gets: the run's exchanges, checks, and the error each failed step ended with. */
interface BreakView {
  exchanges: RecordedExchange[];
  parties: Parties;
  checks: CheckResult[];
  errors: Record<string, unknown>;
  safetyStop?: SafetyStop;
}

interface StoryOfBreak {
  /** The checks the broken rule makes fail: the checklist marks them "broken on purpose". */
  affects: string[];
  /** More of the story, after D8, where one run of it is not enough to show the cost. */
  exhibit?: (call: (tool: string, args?: Record<string, unknown>) => Promise<unknown>) => Promise<void>;
  /** Step-by-step evidence lines, and whether the predicted consequence was seen. */
  observe(view: BreakView): { lines: string[]; demonstrated: boolean };
}

const inStep = (view: BreakView, ...steps: string[]) => new Wire(view.exchanges.filter((e) => steps.includes(e.step)), view.parties);
const scopeOf = (e: RecordedExchange | undefined) => e?.query.scope ?? e?.request.form?.scope;
const json = (e: RecordedExchange | undefined) => (e ? responseJson(e) : {});
const granted = (e: RecordedExchange | undefined) => String(json(e).scope ?? "");
const challenged = (e: RecordedExchange | undefined) => findBearerChallenge(e?.response.wwwAuthenticate)?.scope;

const STORIES: Record<BreakRule, StoryOfBreak> = {
  "replace-scope": {
    // D5 asks for files:admin alone (access_denied, not the union); so no fresh grant replaces the family
    // D4's replay revoked, and D6 has no refresh token: it authorizes where the rule refreshes.
    affects: ["D3", "D5", "D6"],
    // Alternate between writing and reading a few times: with the union this costs nothing more.
    exhibit: async (call) => {
      for (const [i, tool] of ["write-file", "list-files", "write-file", "list-files"].entries()) {
        await call(tool, tool === "write-file" ? { name: `switch-${i}.txt`, content: "-" } : {}).catch(() => undefined);
      }
    },
    observe(view) {
      const d3 = inStep(view, "D3");
      const [authorization] = d3.authorizations();
      const written = d3.mcpPosts({ tool: "write-file" }).find((e) => e.status === 200);
      const lost = d3.mcpPosts({ tool: "list-files" }).find((e) => e.status === 403);
      const exhibit = inStep(view, "break");
      const calls = exhibit.mcpPosts().filter((e) => e.request.tool);
      const switches = new Set(calls.map((e) => e.request.tool)).size > 1 ? calls.filter((e) => e.status === 403).length : 0;
      const authorizations = exhibit.authorizations().length;
      return {
        lines: [
          `D3: write-file 403 → authorize scope="${scopeOf(authorization)}" (the challenged scope alone) → granted "${granted(d3.tokenRequests("authorization_code")[0])}" → write-file ${written?.status ?? "never 200"}`,
          `D3: then list-files → ${lost?.status ?? "no 403"} insufficient_scope scope="${challenged(lost) ?? ""}": the token lost files:read`,
          `after D8: 4 alternating write/list calls met ${switches} × 403 and cost ${authorizations} more authorizations (with the union: 0)`,
        ],
        demonstrated: scopeOf(authorization) === "files:write" && written !== undefined && challenged(lost) === "files:read" && authorizations >= 3,
      };
    },
  },
  "refresh-to-widen": {
    affects: ["D3"], // the later steps start from the files:read grant D3 could not widen
    observe(view) {
      const d3 = inStep(view, "D3");
      const [refresh] = d3.tokenRequests("refresh_token");
      const writes = d3.mcpPosts({ tool: "write-file" });
      return {
        lines: [
          `D3: write-file → ${writes[0]?.status} scope="${challenged(writes[0]) ?? ""}" → POST /token grant_type=refresh_token scope="${scopeOf(refresh) ?? ""}" → ${refresh?.status} ${String(json(refresh).error ?? "")}`,
          `D3: ${d3.authorizations().length} authorizations, write-file sent ${writes.length} time(s), ${writes.filter((e) => e.status === 200).length} succeeded — without a new authorization the client cannot widen`,
        ],
        demonstrated: refresh?.status === 400 && json(refresh).error === "invalid_scope" && !writes.some((e) => e.status === 200),
      };
    },
  },
  "ignore-decline": {
    affects: ["D6"],
    observe(view) {
      const later = inStep(view, "D6");
      const again = later.authorizations().filter((a) => scopeOf(a)?.split(" ").includes("files:admin"));
      const grants = later.tokenRequests("authorization_code").map(granted);
      return {
        lines: [
          `D5: files:admin declined (granted "${granted(inStep(view, "D5").tokenRequests("authorization_code")[0])}"), but the client keeps it on its own list`,
          `D6: ${again.length} more authorizations asked for files:admin again (scope="${scopeOf(again[0]) ?? ""}"), each granted without it (${grants.map((g) => `"${g}"`).join(", ")}); with the rule: 0 authorizations, 2 refreshes`,
        ],
        demonstrated: again.length >= 1 && grants.every((g) => !g.split(" ").includes("files:admin")),
      };
    },
  },
  "no-retry-cap": {
    affects: ["D6"],
    observe(view) {
      const d6 = inStep(view, "D6");
      const posts = d6.mcpPosts({ tool: "broken-challenge" });
      const refreshes = d6.tokenRequests("refresh_token");
      const stopped = view.safetyStop?.stopped === true;
      return {
        lines: [
          `D6: broken-challenge sent ${posts.length} times, ${posts.filter((e) => e.status === 403).length} × 403; ${refreshes.length} refreshes (${refreshes.filter((r) => r.status === 200).length} × 200), all wasted — the cap allows 2 refreshes and 3 POSTs`,
          stopped ? `D6: ended by the demo's safety stop after ${SafetyStop.ROUNDS} rounds, not by the client` : "D6: the safety stop was not reached",
        ],
        demonstrated: stopped && posts.length >= SafetyStop.ROUNDS && refreshes.length > 2,
      };
    },
  },
  "stock-sdk": {
    affects: ["D3", "D4", "D5", "D6"],
    observe(view) {
      const d3 = inStep(view, "D3");
      const writes = d3.mcpPosts({ tool: "write-file" });
      const refreshes = d3.tokenRequests("refresh_token");
      const authorizations = d3.authorizations();
      const error = view.errors.D3;
      const gaveUp = error instanceof StreamableHTTPError && error.code === 403 ? error.message.split("\n")[0]!.trim() : undefined;
      return {
        lines: [
          `1. write-file → ${writes[0]?.status} insufficient_scope scope="${challenged(writes[0]) ?? ""}"`,
          `2. the SDK's 403 branch sets its scope to the challenged "${challenged(writes[0]) ?? ""}" (replacing, not adding) and calls auth(), which refreshes because a refresh token is held: POST /token grant_type=refresh_token → ${refreshes[0]?.status} scope="${granted(refreshes[0])}" (a refresh cannot widen)`,
          `3. write-file resent → ${writes[1]?.status} scope="${challenged(writes[1]) ?? ""}" (the same challenge)`,
          `4. the SDK gives up: "${gaveUp ?? String(error)}" — ${authorizations.length} authorizations: no step-up at all`,
          ...knockOnEffects(view),
        ],
        demonstrated: writes.length === 2 && writes.every((e) => e.status === 403) && refreshes.length >= 1 && authorizations.length === 0 && gaveUp !== undefined,
      };
    },
  },
  "scopes-supported": {
    // D5's 403 (files:admin) is read as files:read too: refreshes and the cap, not a decline.
    affects: ["D3", "D5"],
    observe(view) {
      const d3 = inStep(view, "D3");
      const writes = d3.mcpPosts({ tool: "write-file" });
      const prm = d3.exchanges.find((e) => e.path.startsWith("/.well-known/oauth-protected-resource"));
      const refreshes = d3.tokenRequests("refresh_token");
      const error = view.errors.D3;
      const capped = error instanceof InsufficientScopeError && error.reason === "retry-limit" ? error : undefined;
      const supported = formatScope((json(prm).scopes_supported as string[] | undefined) ?? []);
      return {
        lines: [
          `D3: write-file → ${writes[0]?.status} scope="${challenged(writes[0]) ?? ""}", but the client read the resource metadata's scopes_supported "${supported}" (GET ${prm?.path ?? "no metadata"} → ${prm?.status ?? "not sent"}) for the scope it needs`,
          `D3: "${supported}" is held already — nothing wider to ask for, so the normal path: ${refreshes.length} refreshes (no scope param) → ${refreshes.map((r) => `"${granted(r)}"`).join(", ")}, ${d3.authorizations().length} authorizations; write-file sent ${writes.length} times, ${writes.filter((e) => e.status === 403).length} × 403`,
          `D3: the cap ended it: ${capped ? `InsufficientScopeError(retry-limit, attempts ${capped.attempts}, requiredScope "${capped.requiredScope}" — not the "${challenged(writes[0]) ?? ""}" the RS asked for)` : String(error)}`,
        ],
        demonstrated:
          supported === "files:read" &&
          writes.length === 3 &&
          writes.every((e) => e.status === 403 && challenged(e) === "files:write") &&
          refreshes.length === 2 &&
          d3.authorizations().length === 0 &&
          capped?.requiredScope === "files:read",
      };
    },
  },
  "scope-hierarchy": {
    affects: [], // the point: no check fails
    observe(view) {
      const d3 = inStep(view, "D3");
      const [authorization] = d3.authorizations();
      const written = d3.mcpPosts({ tool: "write-file" }).find((e) => e.status === 200);
      const listed = d3.mcpPosts({ tool: "list-files" });
      const d5 = inStep(view, "D5");
      const run = view.checks.filter((c) => !c.skipped);
      const passed = run.filter((c) => c.ok).length;
      return {
        lines: [
          `D3: write-file 403 → authorize scope="${scopeOf(authorization) ?? ""}" (the challenged scope alone, as replace-scope asks) → granted "${granted(d3.tokenRequests("authorization_code")[0])}" → write-file ${written?.status ?? "never 200"}`,
          `D3: then list-files → ${listed.map((e) => e.status).join(", ") || "not sent"}: the RS counts files:write as files:read, so the files:read the client dropped shows nowhere`,
          ...(d5.authorizations().length > 0
            ? [`D5: authorize scope="${scopeOf(d5.authorizations()[0]) ?? ""}" → granted "${granted(d5.tokenRequests("authorization_code")[0])}": the AS grants the part of files:admin it allows`]
            : []),
          `${passed}/${run.length} checks passed: the bug is invisible here. With independent scopes (S1) the same client fails D3 (pnpm demo --break replace-scope) — this is why the demo's scopes are independent`,
        ],
        demonstrated: scopeOf(authorization) === "files:write" && written !== undefined && listed.length > 0 && listed.every((e) => e.status === 200) && passed === run.length,
      };
    },
  },
  "no-state-check": {
    affects: ["D8"],
    observe(view) {
      const d8 = inStep(view, "D8");
      // The client's own flows in D8 never reach the AS (the forged response comes back first): every code
      // here was minted by an /authorize someone else sent. One redeemed with a code_verifier was redeemed by the client.
      const minted = new Set(d8.authorizations().map((a) => a.response.locationQuery?.code).filter(Boolean));
      const redeemed = d8.tokenRequests("authorization_code").find((r) => r.request.form?.code_verifier !== undefined && minted.has(r.request.form?.code));
      const error = String(json(redeemed).error ?? "");
      return {
        lines: [
          `D8: a forged authorization response reached the client's redirect handling: code=${redeemed?.request.form?.code ?? "…"} from another flow's /authorize, with a state the client never sent`,
          `D8: the client did not refuse it: POST /token grant_type=authorization_code code=${redeemed?.request.form?.code ?? "(none)"} → ${redeemed?.status ?? "not sent"} ${error} — PKCE (A6) stopped it: the code is bound to the other flow's code_challenge, not this client's code_verifier`,
          `D8: that was the only one: the response with a wrong iss never reached /token (RFC 9207 §2.4 is a check of its own)`,
          "with PKCE not enforced (pnpm demo --break no-pkce) the client would now hold the other flow's tokens: login CSRF (the user works in the attacker's account) or an injected stolen code (RFC 9700 §4.7, §4.5; RFC 6749 §10.12)",
        ],
        demonstrated: redeemed !== undefined && d8.tokenRequests("authorization_code").filter((r) => r.request.form?.code_verifier !== undefined).length === 1,
      };
    },
  },
  "lenient-redirect": {
    affects: ["D8"],
    observe(view) {
      const d8 = inStep(view, "D8");
      const [registration] = d8.registrations();
      const attacker = d8.authorizations().find((a) => a.query.redirect_uri?.startsWith("https://attacker.example/"));
      const location = attacker?.response.location ?? "";
      const leftLoopback = view.exchanges.filter((e) => new URL(e.origin).hostname !== "127.0.0.1").length;
      const health = d8.toAs().find((e) => e.path === "/healthz");
      return {
        lines: [
          `D8: DCR with redirect_uris ["https://attacker.example/cb"] → ${registration?.status}${registration?.status === 201 ? ` client_id=${String(json(registration).client_id)}` : ""}`,
          `D8: /authorize with redirect_uri=https://attacker.example/cb → ${attacker?.status} Location ${location.split("?")[0]}${attacker?.response.locationQuery?.code ? ` with code=${attacker.response.locationQuery.code}` : ""} — shown, never followed (${leftLoopback} requests left loopback)`,
          `D8: the AS's /healthz says: ${String(json(health).broken ?? "nothing")}`,
        ],
        demonstrated:
          registration?.status === 201 &&
          attacker?.status === 302 &&
          location.startsWith("https://attacker.example/") &&
          attacker.response.locationQuery?.code !== undefined &&
          leftLoopback === 0,
      };
    },
  },
  "no-pkce": {
    affects: ["D8"],
    observe(view) {
      const [redeemed] = inStep(view, "D8").tokenRequests("authorization_code");
      const tokens = json(redeemed);
      return {
        lines: [
          `D8: POST /token grant_type=authorization_code without code_verifier → ${redeemed?.status}${tokens.access_token ? ` access_token=${String(tokens.access_token)} scope="${String(tokens.scope)}"` : ""}${tokens.refresh_token ? " + refresh_token" : ""}`,
          "an attacker who intercepts the code (a malicious app on the same redirect, a log, a referrer) gets the tokens",
        ],
        demonstrated: redeemed?.status === 200 && redeemed.request.form?.code_verifier === undefined && typeof tokens.access_token === "string",
      };
    },
  },
};

/** stock-sdk after D3: what the SDK's own 401 and 403 handling does with the rest of the story. */
function knockOnEffects(view: BreakView): string[] {
  const d4 = inStep(view, "D4");
  const [unauthenticated, retried] = d4.mcpPosts({ tool: "list-files" });
  const [refresh, , newest] = d4.tokenRequests("refresh_token");
  const d5 = inStep(view, "D5");
  const [deleteAuthorization] = d5.authorizations();
  const d6 = inStep(view, "D6");
  const [capAuthorization] = d6.authorizations();
  const d6Check = view.checks.find((c) => c.id === "D6")?.detail.replace(/^broken on purpose: /, "");
  return [
    `5. D4: the dropped access token goes out as an empty one ("Authorization: ${unauthenticated?.request.authorization ?? "(none)"}", where the middleware sends none — the only reason D4 is ⚠) → ${unauthenticated?.status} ${findBearerChallenge(unauthenticated?.response.wwwAuthenticate)?.error ?? ""}; the SDK refreshes → ${refresh?.status} scope="${granted(refresh)}" and retries → ${retried?.status}: a plain 401 it handles right. The replayed old refresh token then revokes the whole family, the client's newest refresh token too (→ ${newest?.status} ${String(json(newest).error ?? "")})`,
    `6. D5: delete-file → 403 scope="files:admin"; with no refresh token left, the SDK authorizes scope="${scopeOf(deleteAuthorization) ?? ""}" — the challenged scope alone, not the union — and the AS answers ${deleteAuthorization?.response.locationQuery?.error ?? deleteAuthorization?.status ?? "nothing"}: the user may grant none of that (the union would have been granted in part, a clean decline); the SDK has no "declined" outcome`,
    `7. D6: broken-challenge → 403; the SDK authorizes scope="${scopeOf(capAuthorization) ?? ""}" → ${capAuthorization?.status} with a code it never redeems (finishAuth is left to the host), so the call fails after ${d6.mcpPosts({ tool: "broken-challenge" }).length} POST (${d6Check ?? "not run"}): no step-up, so no cap to reach`,
  ];
}

/** The story of `rule`, broken on purpose: its client, the checks it affects, and how the consequence is read. */
export function brokenStory(rule: BreakRule): BrokenStory {
  const info = breakRuleInfo(rule)!;
  const story = STORIES[rule];
  const safetyStop = rule === "no-retry-cap" ? new SafetyStop() : undefined;
  return {
    info,
    affects: story.affects,
    client: clientVariant(rule),
    watch: safetyStop,
    satisfies: rule === "scope-hierarchy" ? satisfiesScopeHierarchically : undefined, // what its servers were started with
    exhibit: story.exhibit,
    report(view) {
      const { lines: evidence, demonstrated } = story.observe({ ...view, safetyStop });
      const lines = evidence.map((line) => terminalText(line)); // B4: the evidence quotes the wire
      return { rule, predicted: info.predicted, observed: lines.join("; "), demonstrated, lines };
    },
  };
}
