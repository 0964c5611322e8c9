/**
 * `pnpm client` — the headless MCP client (C1–C6, and C7's headless `--call`) and its self-verifying
 * story (the eight steps D1–D8, then the verdict, D9).
 *
 * What runs where: this process only. The authorization server (`pnpm start:as`) and the MCP resource
 * server (`pnpm start:rs`) must already be running — `pnpm dev` starts both, `pnpm demo` starts them
 * on free ports and runs this file as a child. The client talks to them over HTTP and nothing else.
 *
 * Flow (story mode):
 *   1. connect: POST initialize → 401 → PRM → AS metadata → DCR → authorize (S256, headless) → token
 *   2. list-files with files:read
 *   3. write-file → 403 insufficient_scope → union scope → fresh authorization (no refresh) → retry
 *   4. drop the access token → 401 → refresh keeps the scope; the old refresh token is refused
 *   5. delete-file → files:admin is not grantable (by default) → InsufficientScopeError("declined")
 *   6. broken-challenge → 2 refreshes, 3 POSTs → InsufficientScopeError("retry-limit")
 *   7. a second client in throw mode → InsufficientScopeError("throw-mode"), no AS traffic
 *   8. hardening, live: attacker redirect refused at DCR and /authorize, no widening refresh, loopback
 *   9. the checklist; the exit code is the verdict
 *
 * Usage (`pnpm client …` runs `node --import tsx client/main.ts …`):
 *   pnpm client [--server URL] [--json] [--transcript FILE.md] [--break RULE] [--only Dn] [--step] [--verbose]
 *   pnpm client --call TOOL [--args JSON] [--verbose] [--browser [--no-open]]
 *               [--client-id ID [--issuer URL] [--client-secret SECRET]] [SERVER_URL]
 * The server URL is the MCP endpoint: `--server`, else the positional URL, else RS_URL, else
 * http://127.0.0.1:${RS_PORT:-3000}/mcp. CLIENT_TIMEOUT_MS (default 10000) bounds each request to the
 * AS and each tool call. The settings are read once (`loadClientConfig`, shared/config.ts), before
 * anything is printed or sent. Exit codes: 0 all checks passed (or the call succeeded) · 1 a check
 * failed (or the call failed) · 2 usage or connection error.
 *
 * `--break RULE` (shared/break-rules.ts, client/cli/breaks.ts): one rule broken on purpose; exit 0 iff its predicted
 * consequence was observed. A server's rule needs that server started with `AS_BREAK=RULE` / `RS_BREAK=RULE`
 * (`pnpm demo --break` starts them so); its `/healthz` must say so, else it is a usage error (exit 2).
 * `--only Dn` runs D1 and Dn only; `--step` waits for Enter after each step, and needs a terminal on
 * stdin (else exit 2: a CI job must never wait); `--verbose` adds the claims of each access token issued.
 *
 * `--json`: stdout carries exactly one JSON document (D9) for every run that started — a failed check
 * and a server nobody answers at included. A usage error (bad flags, a bad setting such as
 * CLIENT_TIMEOUT_MS) is not a run: it prints nothing on stdout, only the message and the usage on
 * stderr, and exits 2 — as `pnpm demo` does for its own usage errors.
 *
 * Demo-only: plain http on loopback; the story refuses any non-loopback URL, the generic `--call`
 * mode does not; the AS consents automatically, so the "browser" is one fetch with redirect: manual.
 * `--call` is headless by default, which works with an AS that approves at once with a `302` (an AS
 * that shows a login page is reported as "not a 302 redirect"); `--browser` lets a person log in
 * (CLIENT_BROWSER_TIMEOUT_MS bounds each wait) and `--client-id` uses a pre-registered client instead
 * of DCR: cli/login-options.ts.
 */
import { writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { discoverOAuthProtectedResourceMetadata } from "@modelcontextprotocol/sdk/client/auth.js";
import { createInterface } from "node:readline";
import { breakRuleInfo, isBreakRule, onlyBreakProblem, type BreakRuleInfo } from "../shared/break-rules.ts";
import { ConfigError, loadClientConfig, type ClientConfig } from "../shared/config.ts";
import { stamp } from "../shared/log.ts";
import { isLoopbackUrl } from "../shared/loopback.ts";
import { jsonReport, onlyStepProblem, type StepId } from "../shared/report.ts";
import { terminalText } from "../shared/terminal-text.ts";
import { brokenStory } from "./cli/breaks.ts";
import { callTool } from "./cli/call.ts";
import { BrowserLoginTimeoutError } from "./cli/browser-login.ts";
import { LOGIN_OPTIONS, LOGIN_USAGE, loginUsageProblem } from "./cli/login-options.ts";
import { timeoutMessage, unreachableServerMessage } from "./cli/unreachable.ts";
import { connectionErrorCode } from "./recorder.ts";
import { checklistLines } from "./cli/report.ts";
import { runStory, ServerUnreachableError, STEPS } from "./story.ts";
import { lineWriter, styleFor } from "./cli/terminal.ts";
import { renderTranscript } from "./cli/transcript.ts";
import { formatStoryMark } from "../shared/extras/story-marks.ts";

const USAGE = `usage: pnpm client [--server URL] [--json] [--transcript FILE.md] [--break RULE] [--only Dn] [--step] [--verbose]
       pnpm client --call TOOL [--args JSON] [--verbose] ${LOGIN_USAGE} [SERVER_URL]`;

class UsageError extends Error {}

function serverUrlFrom(flag: string | undefined, positional: string | undefined, settings: ClientConfig): string {
  const raw = flag ?? positional ?? settings.rsUrl;
  if (!URL.canParse(raw) || !/^https?:$/.test(new URL(raw).protocol)) throw new UsageError(`not an http(s) URL: ${raw}`);
  return raw;
}

type StoryArgs = { server?: string; json?: boolean; transcript?: string; break?: string; only?: string; step?: boolean; verbose?: boolean };

/** `--step`: after each step, wait for a line on stdin (a terminal, checked before the run). */
function waitForEnter(narrate: (line: string) => void, dim: (text: string) => string): (next: string) => Promise<void> {
  const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  return async (next) => {
    narrate(dim(`   ⏎ Enter: ${next}`));
    await lines.next();
  };
}

async function story(args: StoryArgs, positional: string | undefined, settings: ClientConfig): Promise<number> {
  const serverUrl = serverUrlFrom(args.server, positional, settings);
  if (!isLoopbackUrl(new URL(serverUrl))) {
    throw new UsageError(`the story runs against loopback servers only, not ${serverUrl} (use --call for other servers)`);
  }
  const breakRule = args.break;
  if (breakRule !== undefined && !isBreakRule(breakRule)) throw new UsageError(`unknown rule for --break: ${breakRule} (pnpm demo --break list)`);
  const only = args.only?.toUpperCase();
  const onlyProblem = only === undefined ? undefined : (onlyStepProblem(only) ?? (breakRule ? onlyBreakProblem(breakRuleInfo(breakRule)!, only as StepId) : undefined));
  if (onlyProblem) throw new UsageError(onlyProblem);
  if (args.step && !process.stdin.isTTY) throw new UsageError("--step waits for Enter after each step: it needs a terminal on stdin (it would wait forever in CI)");
  const timeoutMs = settings.clientTimeoutMs;
  // A server's rule is broken by that server, not by this client: only a server started broken can show it.
  const serverProblem = breakRule ? await brokenServersProblem(serverUrl, breakRuleInfo(breakRule)!, timeoutMs) : undefined;
  if (serverProblem) throw new UsageError(`--break ${breakRule} needs ${serverProblem} (pnpm demo --break ${breakRule} starts the servers so)`);
  const out = args.json ? process.stderr : process.stdout;
  const style = styleFor(out);
  // LOG_TIMESTAMPS=1 (`pnpm demo --verbose`): every narrated line carries its stamp, as the servers' do.
  // Otherwise a line is wrapped to the terminal's width when `out` is one (`pnpm demo` wraps its own output).
  const narrate = settings.logTimestamps
    ? (line: string) => out.write(`${line.split("\n").map((part) => `${stamp()}${part}`).join("\n")}\n`)
    : lineWriter(out);
  narrate(style.bold(`Scope step-up story against ${serverUrl}`));
  let run;
  try {
    // STORY_MARKS=1 (pnpm demo --web): where each step begins (after --step's Enter), for the live view to draw.
    const mark = settings.storyMarks ? (next: string) => void process.stderr.write(`${formatStoryMark(next)}\n`) : undefined;
    const wait = args.step ? waitForEnter(narrate, style.dim) : undefined;
    mark?.(`D1 ${STEPS[0].title}`);
    run = await runStory({
      serverUrl,
      narrate,
      style,
      authTimeoutMs: timeoutMs,
      callTimeoutMs: timeoutMs,
      broken: breakRule ? brokenStory(breakRule) : undefined,
      only: only as StepId | undefined,
      pause: wait || mark ? async (next) => (await wait?.(next), mark?.(next)) : undefined,
      showTokenClaims: args.verbose,
    });
  } catch (error) {
    if (!(error instanceof ServerUnreachableError)) throw error;
    // Say which one: the MCP server, or the authorization server it sent us to — or what got no answer in time.
    const timedOut = timeoutMessage(error.cause, `D1 ${STEPS[0].title}`, error.exchanges, serverUrl);
    const message = terminalText(timedOut ? `${timedOut} (CLIENT_TIMEOUT_MS)` : `${unreachableServerMessage(error.cause, serverUrl)} — are the servers running? (pnpm dev)`); // B4
    process.stderr.write(`client: ${message}\n`);
    if (args.json) {
      const check = { id: "D1", title: "connect", ok: false, detail: message, ms: 0 };
      process.stdout.write(`${JSON.stringify(jsonReport([check], 0), null, 2)}\n`);
    }
    return 2;
  }
  narrate("");
  for (const line of checklistLines(run.checks, run.durationMs, style, run.break)) narrate(line);
  if (args.json) process.stdout.write(`${JSON.stringify(jsonReport(run.checks, run.durationMs, run.break), null, 2)}\n`);
  if (args.transcript) {
    try {
      await writeFile(args.transcript, renderTranscript(run));
      narrate(`transcript written to ${args.transcript}`);
    } catch (error) {
      process.stderr.write(`client: cannot write the transcript: ${(error as Error).message}\n`);
      return 2;
    }
  }
  return run.ok ? 0 : 1;
}

/** `--args`: a JSON object, the tool's arguments. */
function toolArgs(raw: string | undefined): Record<string, unknown> {
  if (raw === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new UsageError(`--args is not JSON: ${raw}`);
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new UsageError("--args must be a JSON object");
  return parsed as Record<string, unknown>;
}

/**
 * `--break RULE` for a rule a server breaks (`lenient-redirect`, `no-pkce`: the AS; `scope-hierarchy`:
 * both): the client cannot break it, only observe it, so each of those servers must say, in its
 * `/healthz`, that it breaks `rule` (`pnpm demo --break RULE` starts it with `AS_BREAK=RULE` /
 * `RS_BREAK=RULE`). Undefined when they do; else which switch is missing, and why.
 */
async function brokenServersProblem(serverUrl: string, info: BreakRuleInfo, timeoutMs: number): Promise<string | undefined> {
  const bounded = (url: string | URL, init?: RequestInit) => fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  for (const server of info.by.filter((b) => b !== "client")) {
    const name = server === "as" ? "AS" : "RS";
    let healthUrl = `the ${name}'s /healthz`;
    try {
      let origin = new URL(serverUrl).origin;
      if (server === "as") {
        const issuer = (await discoverOAuthProtectedResourceMetadata(serverUrl, undefined, bounded)).authorization_servers?.[0];
        if (!issuer) return `an AS, but ${serverUrl}'s RFC 9728 metadata names none`;
        if (!URL.canParse(issuer) || !isLoopbackUrl(new URL(issuer))) return `a loopback AS, but the metadata names ${issuer}`; // the story's rule
        origin = issuer;
      }
      healthUrl = new URL("/healthz", origin).href;
      const health = (await (await bounded(healthUrl)).json()) as { broken?: unknown };
      if (typeof health.broken === "string" && health.broken.startsWith(`${info.rule} `)) continue;
      return `the ${name} started with ${name}_BREAK=${info.rule}: ${healthUrl} does not say it breaks ${info.rule}`;
    } catch (error) {
      return `the ${name} started with ${name}_BREAK=${info.rule}: could not ask ${healthUrl} (${(error as Error).message})`;
    }
  }
  return undefined;
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      server: { type: "string" },
      json: { type: "boolean" },
      transcript: { type: "string" },
      call: { type: "string" },
      args: { type: "string" },
      verbose: { type: "boolean" },
      ...LOGIN_OPTIONS,
      break: { type: "string" },
      only: { type: "string" },
      step: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (positionals.length > 1) throw new UsageError(`one server URL at most, got: ${positionals.join(" ")}`);
  if (values.call !== undefined && (values.json || values.transcript || values.break !== undefined || values.only !== undefined || values.step)) {
    throw new UsageError("--json, --transcript, --break, --only and --step belong to the story, not --call");
  }
  if (values.call === undefined && values.args !== undefined) throw new UsageError("--args needs --call");
  const loginProblem = loginUsageProblem(values, values.call !== undefined);
  if (loginProblem) throw new UsageError(loginProblem);
  const settings = loadClientConfig(); // once, before anything is printed: a bad setting is a usage error
  if (values.call !== undefined) {
    return callTool({ ...values, serverUrl: serverUrlFrom(values.server, positionals[0], settings), tool: values.call, toolArgs: toolArgs(values.args) }, settings);
  }
  return story(values, positionals[0], settings);
}

let code: number;
try {
  code = await main(process.argv.slice(2));
} catch (error) {
  const usage =
    error instanceof UsageError ||
    error instanceof ConfigError ||
    String((error as { code?: unknown }).code).startsWith("ERR_PARSE_ARGS"); // SDK errors have numeric codes
  process.stderr.write(`client: ${terminalText((error as Error).message)}\n${usage ? `${USAGE}\n` : ""}`); // B4
  code = usage ? 2 : connectionErrorCode(error) || error instanceof BrowserLoginTimeoutError ? 2 : 1;
}
process.exit(code);
