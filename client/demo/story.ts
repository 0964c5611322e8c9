/**
 * The demo story (D1–D8), run against already-running servers. Each step (steps.ts) acts, then proves
 * from the recorded exchanges and the tool results that it went exactly as the rule says (checks.ts).
 * Every request goes through one recorder, which refuses anything but loopback.
 */
import { isLoopbackUrl } from "../../shared/loopback.ts";
import { createMcpClient, DEFAULT_AUTH_TIMEOUT_MS } from "./connect.ts";
import { describeExchange, Evidence, type Parties } from "./exchanges.ts";
import { ExchangeRecorder, withTimeout, type RecordedExchange } from "./recorder.ts";
import { plainStyle, type CheckResult, type Style } from "./report.ts";
import * as steps from "./steps.ts";
import { isConnectionError, timeoutMessage, unreachableServerMessage } from "./unreachable.ts";

export interface StoryStep {
  id: string;
  title: string;
  /** The one-line citation the narration prints (the same source as docs/rules.md and the README). */
  citation: string;
  run: steps.Step;
}

export const STEPS: readonly StoryStep[] = [
  { id: "D1", title: "connect: 401 → discovery → DCR → authorize → token", citation: "RFC 9728 §5.1: the 401 points to the resource's metadata, which names the AS (RFC 8414); DCR per RFC 7591; PKCE S256 (RFC 7636); resource per RFC 8707; iss per RFC 9207", run: steps.connect },
  { id: "D2", title: "list-files with files:read", citation: "RFC 6750 §2.1: the access token travels in the Authorization header", run: steps.listWithRead },
  { id: "D3", title: "write-file → step-up", citation: "RFC 6749 §6: a refresh cannot widen scope, so step-up re-authorizes with requested ∪ granted ∪ challenged (SEP-2350)", run: steps.writeWithStepUp },
  { id: "D4", title: "plain refresh after a 401", citation: "RFC 6749 §6: a refresh keeps the scope; RFC 9700 §4.14.2: a rotated refresh token cannot be replayed", run: steps.refreshAfter401 },
  { id: "D5", title: "delete-file → declined", citation: "RFC 6749 §3.3: the AS may grant less than asked; asking again cannot help, so the client stops", run: steps.deleteNeedsAdmin },
  { id: "D6", title: "broken-challenge → retry cap", citation: 'MCP 2026-07-28 Authorization, "Step-Up Authorization Flow": clients limit step-up retries — 2 per operation, never a loop', run: steps.retryCap },
  { id: "D7", title: "throw mode", citation: 'SEP-2350 onInsufficientScope: "throw": surface the 403 to the caller, no AS traffic', run: steps.throwMode },
  { id: "D8", title: "hardening, live", citation: "RFC 7591 §3.2.2: a non-loopback redirect_uri is refused at registration; RFC 6749 §4.1.2.1: never redirect to an unregistered one, matched exactly (RFC 9700 §4.1.3); RFC 6749 §6: no widening refresh", run: steps.hardening },
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

export async function runStory(options: StoryOptions): Promise<StoryRun> {
  const { serverUrl } = options;
  const narrate = options.narrate ?? (() => {});
  const style = options.style ?? plainStyle;
  const callTimeoutMs = options.callTimeoutMs ?? 10_000;
  const recorder = new ExchangeRecorder({
    refuse: (url) => (isLoopbackUrl(url) ? undefined : "the story talks to loopback servers only"),
    onExchange: (e) => {
      const to = e.origin === new URL(serverUrl).origin ? "RS" : "AS";
      narrate(style.dim(`     ${to} ${describeExchange(e, ctx.parties())}`));
    },
  });
  let mark = recorder.mark();
  const ctx: steps.StoryContext = {
    serverUrl,
    recorder,
    authFetch: withTimeout(recorder.fetch, options.authTimeoutMs ?? DEFAULT_AUTH_TIMEOUT_MS),
    newClient: (extra = {}) =>
      createMcpClient({ serverUrl, recorder, authTimeoutMs: options.authTimeoutMs, requestTimeoutMs: callTimeoutMs, ...extra }),
    call: (handle, name, args = {}) => {
      if (!handle) throw new Error("no connected client (an earlier step failed)");
      return handle.client.callTool({ name, arguments: args }, undefined, { timeout: callTimeoutMs });
    },
    evidence: () => new Evidence(recorder.since(mark), ctx.parties()),
    parties: () => {
      const d = ctx.main?.authorizer.discovery;
      return {
        serverUrl,
        issuer: d?.issuer,
        authorizationEndpoint: d?.metadata.authorization_endpoint,
        tokenEndpoint: d?.metadata.token_endpoint,
        registrationEndpoint: d?.metadata.registration_endpoint,
      };
    },
  };

  const results: CheckResult[] = [];
  const started = performance.now();
  try {
    for (const step of STEPS) {
      recorder.step = step.id;
      narrate(`${style.bold(`${step.id} ${step.title}`)} — ${step.citation}`);
      mark = recorder.mark();
      const t0 = performance.now();
      let ok = true;
      let title = step.title;
      let detail: string;
      try {
        const outcome = await step.run(ctx);
        ({ title, detail } = typeof outcome === "string" ? { title, detail: outcome } : outcome);
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
      results.push({ id: step.id, title, ok, detail, ms });
      narrate(`   ${ok ? style.ok("✓") : style.fail("✗")} ${detail} ${style.dim(`(${ms} ms)`)}`);
    }
  } finally {
    recorder.step = "end";
    await Promise.all([ctx.main?.close(), ctx.second?.close()]);
  }
  const durationMs = Math.round(performance.now() - started);
  return { ok: results.every((r) => r.ok), checks: results, durationMs, steps: STEPS, exchanges: recorder.exchanges, parties: ctx.parties() };
}

/** One line: assertion messages carry a multi-line diff. */
function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  const text = cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
  return text.trim().replace(/\s*\n+\s*/g, " — ");
}
