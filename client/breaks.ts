/**
 * `pnpm demo --break RULE`: the story's client with one rule broken on purpose, and how the consequence
 * is read back from what went over the wire. Each broken client is composed here, outside the rule it
 * breaks, from the public contract — a wrong `Authorizer`, an option of `withStepUp`, or (stock-sdk) the
 * SDK's own wiring — so client/step-up/ and client/authorizer.ts are the same in every run. The AS's two
 * rules are broken by an AS started with `AS_BREAK` (as/breaks.ts). docs/breaks.md shows each as a diff.
 *
 * Verdicts come from the recorded exchanges and the error each step ended with, never from printed text.
 */
import { UnauthorizedError, type OAuthClientProvider, type OAuthDiscoveryState } from "@modelcontextprotocol/sdk/client/auth.js";
import { parseErrorResponse } from "@modelcontextprotocol/sdk/client/auth.js";
import { StreamableHTTPClientTransport, StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { OAuthClientInformationMixed, OAuthTokens } from "@modelcontextprotocol/sdk/shared/auth.js";
import type { FetchLike } from "@modelcontextprotocol/sdk/shared/transport.js";
import { breakRuleInfo, type BreakRule } from "../shared/break-rules.ts";
import type { BreakVerdict, CheckResult } from "../shared/report.ts";
import { terminalText } from "../shared/terminal-text.ts";
import { checkAuthorizationRedirect, headlessUserAgent, issuerExpectation } from "./authorization-response.ts";
import { Authorizer } from "./authorizer.ts";
import { DEFAULT_AUTH_TIMEOUT_MS, sessionHandle, type ConnectOptions, type McpClientHandle } from "./connect.ts";
import { withTimeout, type RecordedExchange } from "./recorder.ts";
import { computeScopeUnion, findBearerChallenge, formatScope, operationOf, type AuthorizationHint } from "./step-up/index.ts";
import { responseJson, Wire, type Parties } from "./wire.ts";

// ---- the broken clients ----

/** replace-scope (C4.1 broken): asks only for what the token lacks — the challenged scope — not the union. */
class AsksForTheChallengeAlone extends Authorizer {
  override authorize(scope: string[], hint: AuthorizationHint): Promise<void> {
    return super.authorize(scope.filter((s) => !this.grantedScope().includes(s)), hint);
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
 * A POST /token grant_type=refresh_token that asks for `scope` (RFC 6749 §6: it may only narrow), which the
 * SDK's primitive cannot send: refresh-to-widen, and D8 showing the AS refuse a widening refresh.
 */
export async function refreshAsking(authorizer: Authorizer, scope: string[], fetch: FetchLike): Promise<OAuthTokens> {
  const discovery = await authorizer.discover();
  const body = new URLSearchParams({
    grant_type: "refresh_token",
    refresh_token: authorizer.tokens?.refresh_token ?? "",
    scope: formatScope(scope),
    resource: discovery.resource,
    client_id: authorizer.client?.client_id ?? "", // RFC 6749 §3.2.1: a public client names itself
  });
  const response = await fetch(discovery.metadata.token_endpoint, { method: "POST", body });
  if (!response.ok) throw await parseErrorResponse(response);
  return (await response.json()) as OAuthTokens;
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
export class SafetyStop {
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

/** How the story's client is built under a client-side break. */
export interface ClientVariant {
  Authorizer?: typeof Authorizer;
  maxStepUpAttempts?: number;
  connect?: typeof connectStockSdk;
  safetyStop?: SafetyStop;
}

export function clientVariant(rule: BreakRule): ClientVariant {
  switch (rule) {
    case "replace-scope":
      return { Authorizer: AsksForTheChallengeAlone };
    case "refresh-to-widen":
      return { Authorizer: WidensByRefresh };
    case "ignore-decline":
      return { Authorizer: KeepsAskingForTheDeclined };
    case "no-retry-cap":
      return { maxStepUpAttempts: Infinity, safetyStop: new SafetyStop() }; // no cap, and no backstop either
    case "stock-sdk":
      return { connect: connectStockSdk };
    case "lenient-redirect":
    case "no-pkce":
      return {}; // broken by the AS (AS_BREAK); the client keeps every rule
  }
}

// ---- what each break makes happen, read back from the wire ----

/** What a break's observer gets: the run's exchanges, checks, and the error each failed step ended with. */
export interface BreakView {
  exchanges: RecordedExchange[];
  parties: Parties;
  checks: CheckResult[];
  errors: Record<string, unknown>;
  safetyStop?: SafetyStop;
}

export interface StoryOfBreak {
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
    // D4–D6 expect files:read files:write; D5 asks for files:admin alone (access_denied), so no fresh
    // grant replaces the family D4's replay revoked.
    affects: ["D3", "D4", "D5", "D6"],
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
    affects: ["D3", "D4", "D5", "D6"],
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
        ],
        demonstrated: writes.length === 2 && writes.every((e) => e.status === 403) && refreshes.length >= 1 && authorizations.length === 0 && gaveUp !== undefined,
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

export function storyOfBreak(rule: BreakRule): StoryOfBreak {
  return STORIES[rule];
}

export function breakReport(rule: BreakRule, view: BreakView): BreakVerdict & { lines: string[] } {
  const { lines: evidence, demonstrated } = STORIES[rule].observe(view);
  const lines = evidence.map((line) => terminalText(line)); // B4: the evidence quotes the wire
  return { rule, predicted: breakRuleInfo(rule)!.predicted, observed: lines.join("; "), demonstrated, lines };
}
