/**
 * The demo story (D1–D8), run against already-running servers. Each step (steps.ts) acts, then proves
 * from the recorded exchanges and the tool results that it went exactly as the rule says (checks.ts).
 * Every request goes through one recorder, which refuses anything but loopback. A step whose
 * precondition failed (D1's client, D7's client for D8) is reported "skipped", not run.
 * With `breakRule` (`pnpm demo --break RULE`) one rule is broken on purpose: breaks.ts predicts, the
 * affected checks are marked "broken on purpose", and the verdict is whether the consequence was seen.
 */
import { AssertionError } from "node:assert";
import { breakRuleInfo, type BreakRule } from "../../shared/break-rules.ts";
import { isLoopbackUrl } from "../../shared/loopback.ts";
import { breakPlan, breakReport, safetyStop } from "./breaks.ts";
import { createMcpClient, DEFAULT_AUTH_TIMEOUT_MS } from "./connect.ts";
import { describeExchange, Evidence, type Parties } from "./exchanges.ts";
import { ExchangeRecorder, withTimeout, type RecordedExchange } from "./recorder.ts";
import { plainStyle, reportOk, type BreakVerdict, type CheckResult, type Style } from "./report.ts";
import * as steps from "./steps.ts";
import { isConnectionError, timeoutMessage, unreachableServerMessage } from "./unreachable.ts";

export interface StoryStep {
  id: string;
  title: string;
  /** The one-line citation the narration prints (the same source as docs/rules.md and the README). */
  citation: string;
  /** Steps this one cannot run without (their client): when one failed, this one is skipped. */
  needs?: string[];
  run: steps.Step;
}

export const STEPS: readonly StoryStep[] = [
  { id: "D1", title: "connect: 401 → discovery → DCR → authorize → token", citation: "RFC 9728 §5.1: the 401 points to the resource's metadata, which names the AS (RFC 8414); DCR per RFC 7591; PKCE S256 (RFC 7636); resource per RFC 8707; iss per RFC 9207", run: steps.connect },
  { id: "D2", title: "list-files with files:read", citation: "RFC 6750 §2.1: the access token travels in the Authorization header", needs: ["D1"], run: steps.listWithRead },
  { id: "D3", title: "write-file → step-up", citation: "RFC 6749 §6: a refresh cannot widen scope, so step-up re-authorizes with requested ∪ granted ∪ challenged (SEP-2350)", needs: ["D1"], run: steps.writeWithStepUp },
  { id: "D4", title: "plain refresh after a 401", citation: "RFC 6749 §6: a refresh keeps the scope; RFC 9700 §4.14.2: a rotated refresh token cannot be replayed", needs: ["D1"], run: steps.refreshAfter401 },
  { id: "D5", title: "delete-file needs files:admin", citation: "RFC 6749 §3.3: the AS may grant less than asked; when it does, asking again cannot help, so the client stops", needs: ["D1"], run: steps.deleteNeedsAdmin },
  { id: "D6", title: "broken-challenge → retry cap", citation: 'MCP 2026-07-28 Authorization, "Step-Up Authorization Flow": clients limit step-up retries — 2 per operation, never a loop', needs: ["D1"], run: steps.retryCap },
  { id: "D7", title: "throw mode", citation: 'SEP-2350 onInsufficientScope: "throw": surface the 403 to the caller, no AS traffic', needs: ["D1"], run: steps.throwMode },
  { id: "D8", title: "hardening, live", citation: "RFC 7591 §3.2.2: a non-loopback redirect_uri is refused at registration; RFC 6749 §4.1.2.1: never redirect to an unregistered one, matched exactly (RFC 9700 §4.1.3); RFC 6749 §6: no widening refresh; RFC 7636 §4.6: no token for a code without its code_verifier", needs: ["D1", "D7"], run: steps.hardening },
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
  /** `pnpm demo --break RULE`: break this rule on purpose (an AS rule is broken by the AS itself). */
  breakRule?: BreakRule;
}

export interface StoryRun {
  ok: boolean;
  checks: CheckResult[];
  durationMs: number;
  steps: readonly StoryStep[];
  exchanges: RecordedExchange[];
  parties: Parties;
  /** A break run's verdict. */
  break?: BreakVerdict;
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
  const rule = options.breakRule ? breakRuleInfo(options.breakRule) : undefined;
  const plan = options.breakRule ? breakPlan(options.breakRule) : undefined;
  const stop = options.breakRule === "no-retry-cap" ? safetyStop() : undefined;
  const recorder = new ExchangeRecorder({
    refuse: (url, init) => (isLoopbackUrl(url) ? stop?.refuse(init) : "the story talks to loopback servers only"),
    onExchange: (e) => {
      stop?.saw(e);
      const to = e.origin === new URL(serverUrl).origin ? "RS" : "AS";
      narrate(style.dim(`     ${to} ${describeExchange(e, ctx.parties())}`));
    },
  });
  let mark = recorder.mark();
  const ctx: steps.StoryContext = {
    serverUrl,
    recorder,
    breakRule: rule?.side === "client" ? (options.breakRule as steps.StoryContext["breakRule"]) : undefined,
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
  if (rule) {
    narrate(style.bold(`BREAK ${rule.rule} — this run breaks ${rule.breaks}, on purpose (${rule.side === "as" ? "the AS, via AS_BREAK" : "the client"})`));
    narrate(`   prediction: ${rule.predicted}`);
  }
  try {
    for (const step of STEPS) {
      recorder.step = step.id;
      narrate(`${style.bold(`${step.id} ${step.title}`)} — ${step.citation}`);
      const failedNeed = step.needs?.find((id) => !results.find((r) => r.id === id)?.ok);
      if (failedNeed) {
        results.push({ id: step.id, title: step.title, ok: false, detail: `skipped (${failedNeed} failed)`, ms: 0 });
        narrate(`   – skipped (${failedNeed} failed)`);
        continue;
      }
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
      const brokenOnPurpose = !ok && plan?.affects.includes(step.id) ? { brokenOnPurpose: true as const } : {};
      if (brokenOnPurpose.brokenOnPurpose) detail = `broken on purpose: ${detail}`;
      results.push({ id: step.id, title, ok, detail, ms, ...brokenOnPurpose });
      narrate(`   ${ok ? style.ok("✓") : brokenOnPurpose.brokenOnPurpose ? "⚠" : style.fail("✗")} ${detail} ${style.dim(`(${ms} ms)`)}`);
    }
    if (plan?.exhibit && ctx.main) {
      recorder.step = "break";
      narrate(style.bold(`BREAK ${options.breakRule}: one story is not enough to show the cost — more calls`));
      await plan.exhibit(ctx);
    }
  } finally {
    recorder.step = "end";
    await Promise.all([ctx.main?.close(), ctx.second?.close()]);
  }
  const durationMs = Math.round(performance.now() - started);
  const run: StoryRun = { ok: reportOk(results), checks: results, durationMs, steps: STEPS, exchanges: recorder.exchanges, parties: ctx.parties() };
  if (options.breakRule) {
    const { lines, ...report } = breakReport(options.breakRule, { exchanges: run.exchanges, parties: run.parties, checks: results });
    narrate(style.bold(`BREAK ${report.rule} — what the exchanges show:`));
    for (const line of lines) narrate(`   ${line}`);
    narrate(`   ${report.demonstrated ? style.ok("demonstrated") : style.fail("NOT demonstrated")}: ${report.predicted}`);
    run.break = report;
    run.ok = reportOk(results, report);
  }
  return run;
}

/** One line. A failed check's AssertionError keeps its message only, not the diff Node appends to it. */
function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error instanceof AssertionError) return error.message.split("\n")[0]!.trim();
  const cause = (error as { cause?: unknown }).cause;
  const text = cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
  return text.trim().replace(/\s*\n+\s*/g, " — ");
}
