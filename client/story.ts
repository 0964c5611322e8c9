/**
 * The demo story (SPEC §6, D1–D8), run against already-running servers. Each step acts, then proves
 * from the recorded exchanges and the tool results that it went exactly as the spec says (checks.ts).
 * Every request goes through one recorder, which refuses anything but loopback.
 */
import { createHash, randomBytes } from "node:crypto";
import { refreshAuthorization } from "@modelcontextprotocol/sdk/client/auth.js";
import * as checks from "./checks.ts";
import { createMcpClient, DEFAULT_AUTH_TIMEOUT_MS, type McpClientHandle } from "./connect.ts";
import { isConnectionError, timeoutMessage, unreachableServerMessage } from "./errors.ts";
import { describeExchange, Evidence, type Parties } from "./exchanges.ts";
import { ExchangeRecorder, withTimeout, type RecordedExchange } from "./recorder.ts";
import { plainStyle, type CheckResult, type Style } from "./report.ts";

export interface StoryStep {
  id: string;
  title: string;
  /** The one-line spec citation the narration prints. */
  citation: string;
}

export const STEPS: readonly StoryStep[] = [
  { id: "D1", title: "connect: 401 → discovery → DCR → authorize → token", citation: "RFC 9728 §5.1: the 401 points to the resource's metadata, which names the AS (RFC 8414); DCR per RFC 7591; PKCE S256 (RFC 7636); resource per RFC 8707; iss per RFC 9207" },
  { id: "D2", title: "list-files with files:read", citation: "RFC 6750 §2.1: the access token travels in the Authorization header" },
  { id: "D3", title: "write-file → step-up", citation: "RFC 6749 §6: a refresh cannot widen scope, so step-up re-authorizes with requested ∪ granted ∪ challenged (SEP-2350)" },
  { id: "D4", title: "plain refresh after a 401", citation: "RFC 6749 §6: a refresh keeps the scope; RFC 9700 §4.14.2: a rotated refresh token cannot be replayed" },
  { id: "D5", title: "delete-file → declined", citation: "RFC 6749 §3.3: the AS may grant less than asked; asking again cannot help, so the client stops" },
  { id: "D6", title: "broken-challenge → retry cap", citation: "MCP step-up: clients SHOULD cap scope-upgrade retries — 2 per operation, never a loop" },
  { id: "D7", title: "throw mode", citation: 'SEP-2350 onInsufficientScope: "throw": surface the 403 to the caller, no AS traffic' },
  { id: "D8", title: "hardening, live", citation: "RFC 6749 §4.1.2.1: never redirect to an unregistered redirect_uri; RFC 9700 §4.1.3: exact matching; RFC 6749 §6: no widening refresh; loopback only" },
];

export interface StoryOptions {
  /** The MCP endpoint of the running RS, e.g. http://127.0.0.1:3000/mcp. */
  serverUrl: string;
  /** Receives each narration line (one per step, one per exchange, one per verdict). */
  narrate?: (line: string) => void;
  style?: Style;
  authTimeoutMs?: number;
  /** Deadline of each tool call. Default 10 s. */
  callTimeoutMs?: number;
}

export interface StoryRun {
  ok: boolean;
  checks: CheckResult[];
  durationMs: number;
  steps: readonly StoryStep[];
  exchanges: RecordedExchange[];
  parties: Parties;
}

/** The servers could not be reached at all: a usage/connection problem (exit 2), not a failed check. */
export class ServerUnreachableError extends Error {
  override name = "ServerUnreachableError";
}

/** The hosts the story talks to (a URL's `hostname`: IPv6 in brackets). `pnpm client` checks its URL with it too. */
const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);
export const isLoopbackUrl = (url: URL): boolean => LOOPBACK_HOSTS.has(url.hostname);

interface State {
  main?: McpClientHandle;
  second?: McpClientHandle;
}

export async function runStory(options: StoryOptions): Promise<StoryRun> {
  const { serverUrl } = options;
  const narrate = options.narrate ?? (() => {});
  const style = options.style ?? plainStyle;
  const state: State = {};
  const callTimeoutMs = options.callTimeoutMs ?? 10_000;
  const parties = (): Parties => {
    const d = state.main?.authorizer.discovery;
    return {
      serverUrl,
      issuer: d?.issuer,
      authorizationEndpoint: d?.metadata.authorization_endpoint,
      tokenEndpoint: d?.metadata.token_endpoint,
      registrationEndpoint: d?.metadata.registration_endpoint,
    };
  };
  const recorder = new ExchangeRecorder({
    refuse: (url) => (isLoopbackUrl(url) ? undefined : "the story talks to loopback servers only"),
    onExchange: (e) => {
      const to = e.origin === new URL(serverUrl).origin ? "RS" : "AS";
      narrate(style.dim(`     ${to} ${describeExchange(e, parties())}`));
    },
  });
  const authFetch = withTimeout(recorder.fetch, options.authTimeoutMs ?? DEFAULT_AUTH_TIMEOUT_MS);
  const newClient = (extra: { onInsufficientScope?: "throw"; clientName?: string } = {}) =>
    createMcpClient({ serverUrl, recorder, authTimeoutMs: options.authTimeoutMs, requestTimeoutMs: callTimeoutMs, ...extra });
  const call = (handle: McpClientHandle | undefined, name: string, args: Record<string, unknown> = {}) => {
    if (!handle) throw new Error("no connected client (an earlier step failed)");
    return handle.client.callTool({ name, arguments: args }, undefined, { timeout: callTimeoutMs });
  };
  const failure = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error);
  const main = () => state.main!;
  const clientId = () => main().authorizer.client?.client_id ?? "";

  const actions: Record<string, (evidence: () => Evidence) => Promise<string>> = {
    // ---- 1. connect: 401 → PRM → AS metadata → DCR → authorize → token ----
    D1: async (evidence) => {
      state.main = newClient();
      await state.main.connect();
      const d = main().authorizer.discovery!;
      return checks.verifyConnect(evidence(), serverUrl, d.issuer, main().authorizer.tokens?.access_token);
    },

    // ---- 2. list-files with files:read ----
    D2: async (evidence) => {
      const listed = await call(state.main, "list-files");
      return checks.verifyFirstCall(evidence(), listed, clientId());
    },

    // ---- 3. write-file → step-up ----
    D3: async (evidence) => {
      const written = await call(state.main, "write-file", { name: "step-up.txt", content: "written after a step-up\n" });
      const listed = await call(state.main, "list-files");
      return checks.verifyStepUp(evidence(), written, listed, clientId());
    },

    // ---- 4. plain refresh: drop the access token, then replay the old refresh token ----
    D4: async (evidence) => {
      const oldRefreshToken = main().authorizer.tokens?.refresh_token;
      main().authorizer.forgetAccessToken();
      const listed = await call(state.main, "list-files");
      const d = main().authorizer.discovery!;
      const replay = await failure(
        refreshAuthorization(d.issuer, {
          metadata: d.metadata,
          clientInformation: main().authorizer.client!,
          refreshToken: oldRefreshToken ?? "",
          resource: d.resource,
          fetchFn: authFetch,
        }),
      );
      return checks.verifyRefresh(evidence(), listed, replay, serverUrl, clientId());
    },

    // ---- 5. delete-file → declined (files:admin is never granted) ----
    D5: async (evidence) => {
      const declined = await failure(call(state.main, "delete-file", { name: "notes.txt" }));
      const listed = await call(state.main, "list-files");
      return checks.verifyDeclined(evidence(), declined, listed, main().authorizer.requestedScope(), clientId());
    },

    // ---- 6. broken-challenge → retry cap ----
    D6: async (evidence) => {
      const capped = await failure(call(state.main, "broken-challenge"));
      return checks.verifyRetryLimit(evidence(), capped);
    },

    // ---- 7. a second client in throw mode ----
    D7: async () => {
      state.second = newClient({ onInsufficientScope: "throw", clientName: "scoped-tools headless client (throw mode)" });
      await state.second.connect();
      const mark = recorder.mark();
      const error = await failure(call(state.second, "write-file", { name: "never.txt", content: "-" }));
      return checks.verifyThrowMode(new Evidence(recorder.since(mark), parties()), error);
    },

    // ---- 8. hardening, live ----
    D8: async (evidence) => {
      const d = main().authorizer.discovery!;
      const send = async (url: string, init: RequestInit) => (await authFetch(url, init)).body?.cancel();
      await send(d.metadata.registration_endpoint!, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ ...main().authorizer.clientMetadata, redirect_uris: ["https://attacker.example/cb"] }),
      });
      const redirect = new URL(main().authorizer.clientMetadata.redirect_uris[0]!);
      const unregisteredRedirects = [`${redirect.origin}/callbackevil`, "https://attacker.example/cb"];
      for (const unregistered of unregisteredRedirects) {
        await send(authorizationRequest(d.metadata.authorization_endpoint, clientId(), unregistered, d.resource), {
          method: "GET",
          redirect: "manual", // a redirect would not be followed anyway
        });
      }
      const narrow = state.second?.authorizer;
      if (!narrow?.tokens?.refresh_token) throw new Error("D7's files:read client is needed to show a widening refresh");
      await send(d.metadata.token_endpoint, {
        method: "POST",
        body: new URLSearchParams({
          grant_type: "refresh_token",
          refresh_token: narrow.tokens.refresh_token,
          client_id: narrow.client!.client_id,
          scope: "files:read files:write",
          resource: d.resource,
        }),
      });
      for (const base of [d.issuer, new URL(serverUrl).origin]) await send(`${base}/healthz`, { method: "GET" });
      return checks.verifyHardening(evidence(), recorder.exchanges, { serverUrl, issuer: d.issuer, unregisteredRedirects });
    },
  };

  const results: CheckResult[] = [];
  const started = performance.now();
  try {
    for (const step of STEPS) {
      recorder.step = step.id;
      narrate(`${style.bold(`${step.id} ${step.title}`)} — ${step.citation}`);
      const mark = recorder.mark();
      const t0 = performance.now();
      let ok = true;
      let detail: string;
      try {
        detail = await actions[step.id]!(() => new Evidence(recorder.since(mark), parties()));
      } catch (error) {
        const timedOut = timeoutMessage(error, `${step.id} ${step.title}`, recorder.since(mark), serverUrl);
        if (step.id === "D1" && timedOut) throw new ServerUnreachableError(`${timedOut} (CLIENT_TIMEOUT_MS)`);
        if (step.id === "D1" && isConnectionError(error)) {
          // Say which one: the MCP server, or the authorization server it sent us to.
          throw new ServerUnreachableError(`${unreachableServerMessage(error, serverUrl)} — are the servers running? (pnpm dev)`);
        }
        ok = false;
        detail = timedOut ?? errorText(error);
      }
      const ms = Math.round(performance.now() - t0);
      results.push({ id: step.id, title: step.title, ok, detail, ms });
      narrate(`   ${ok ? style.ok("✓") : style.fail("✗")} ${detail} ${style.dim(`(${ms} ms)`)}`);
    }
  } finally {
    recorder.step = "end";
    await Promise.all([state.main?.close(), state.second?.close()]);
  }
  const durationMs = Math.round(performance.now() - started);
  return { ok: results.every((r) => r.ok), checks: results, durationMs, steps: STEPS, exchanges: recorder.exchanges, parties: parties() };
}

/** One line: assertion messages carry a multi-line diff. */
function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  const text = cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
  return text.trim().replace(/\s*\n+\s*/g, " — ");
}

/** An otherwise valid authorization request (PKCE S256, state, resource) with an unregistered redirect_uri. */
function authorizationRequest(endpoint: string, clientId: string, redirectUri: string, resource: string): string {
  const verifier = randomBytes(32).toString("base64url");
  const url = new URL(endpoint);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: clientId,
    redirect_uri: redirectUri,
    code_challenge: createHash("sha256").update(verifier).digest("base64url"),
    code_challenge_method: "S256",
    state: randomBytes(8).toString("base64url"),
    scope: "files:read",
    resource,
  }).toString();
  return url.href;
}
