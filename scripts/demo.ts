/**
 * `pnpm demo` — the one-command walkthrough: it verifies itself, stops what it started, reports by exit code (D9).
 *
 * What runs where: this orchestrator starts three child processes on free loopback ports —
 * the authorization server (`as/server.ts`), the MCP resource server (`resource-server/server.ts`) and
 * the headless client story (`client/main.ts`) — and exits with the story's verdict.
 *
 * Flow:
 *   1. pick two free ports on 127.0.0.1 (a busy 3000/3001 never breaks the demo); bring the bundle
 *      of each process up to date (scripts/bundle.ts: rebuilt whenever a source changed, so the edited
 *      code is what runs, without the tsx loader's start-up in each process);
 *   2. start the AS and the RS, wait until each answers `/healthz`;
 *   3. run the client story (D1–D8): its narration is streamed, its checklist is the verdict;
 *   4. stop every child in every outcome (SIGTERM, then SIGKILL), print their logs if anything failed.
 *
 * Flags: `--json` (stdout is exactly one JSON document, narration goes to stderr),
 * `--transcript FILE.md` (the client writes the Markdown transcript of the real run),
 * `--verbose` (the AS's and RS's own log lines, `[as]` / `[rs]`, interleaved with the narration in
 * the order they were written: each process stamps its lines, scripts/ordered-lines.ts; and the claims
 * of each access token issued), `--break RULE` (one rule broken on purpose — a client rule by the
 * client, a server's rule by that server, started with `AS_BREAK=RULE` / `RS_BREAK=RULE`; exit 0 iff
 * the predicted consequence was observed; `--break list` lists the rules, shared/break-rules.ts),
 * `--only Dn` (D1 and Dn only) and `--step` (Enter after each step; a terminal only, else exit 2).
 * On a terminal every line is wrapped to its width (at most 100 columns) and coloured, which the client
 * — whose output reaches the terminal through this process — learns from FORCE_COLOR (client/cli/terminal.ts).
 * `--web [--no-open] [--web-timeout MS]` (the live view of its own servers, scripts/live-view/: opened
 * in the system browser, up after the checklist until Ctrl-C or the timeout) and `--transcript
 * FILE.html` (the same view of the run as one self-contained file) — neither costs a plain run anything.
 * `DEMO_TIMEOUT_MS` (default 30000) is a hard deadline for the whole run, teardown included; with
 * `--step` it covers the start-up only, since the story then waits for a person.
 * SIGINT or SIGTERM (Ctrl-C, or a runner signalling the pid it started: `pnpm` passes the signal on
 * because the script `exec`s node) ends the run the same way, at once.
 *
 * Exit codes: 0 every check passed (with --break: the consequence was observed) · 1 a check failed (the
 * consequence was not observed) · 2 usage error · 3 the stack did not come up, or the deadline passed ·
 * 128 + the signal's number (130 SIGINT, 143 SIGTERM) when stopped by one.
 */
import { parseArgs } from "node:util";
import { constants } from "node:os";
import path from "node:path";
import { breakRuleInfo, breakRuleLines, onlyBreakProblem } from "../shared/break-rules.ts";
import { asUrls, loadDemoTimeoutMs, rsUrls } from "../shared/config.ts";
import { onlyStepProblem, reportOk, type JsonReport, type StepId } from "../shared/report.ts";
import { lineWriter, styleFor, wantsColour } from "../client/cli/terminal.ts";
import { ensureBundles } from "./bundle.ts";
import { BUNDLE_DIR } from "./cache-paths.mjs";
import { stamp } from "../shared/log.ts";
import { OrderedLines } from "./ordered-lines.ts";
import { startChild, startStack, stopChild, PROJECT_ROOT, STOP_GRACE_MS, type Child } from "./processes.ts";

/**
 * Each process runs from a bundle of its entry that scripts/bundle.ts keeps fresh: the three this
 * starts, and this orchestrator with the freshness check, which scripts/demo.mjs (`pnpm demo`) uses.
 */
const ENTRIES = {
  as: "as/server.ts",
  rs: "resource-server/server.ts",
  client: "client/main.ts",
  demo: "scripts/demo.ts",
  bundle: "scripts/bundle.ts",
};

const startedAt = performance.now();
const USAGE = "usage: pnpm demo [--json] [--transcript FILE.md|FILE.html] [--verbose] [--only Dn] [--step] [--break RULE | --break list] [--web [--no-open] [--web-timeout MS]]";
let args;
try {
  args = parseArgs({
    options: {
      json: { type: "boolean", default: false },
      transcript: { type: "string" },
      verbose: { type: "boolean", default: false },
      break: { type: "string" },
      only: { type: "string" },
      step: { type: "boolean", default: false },
      web: { type: "boolean", default: false },
      "no-open": { type: "boolean", default: false },
      "web-timeout": { type: "string" },
    },
  }).values;
} catch (error) {
  process.stderr.write(`demo: ${(error as Error).message}\n${USAGE}\n`);
  process.exit(2);
}
if (args.break === "list") {
  const list = lineWriter(process.stdout);
  for (const line of breakRuleLines()) list(line, line.indexOf(" breaks ") + 1); // continuations under "breaks"
  process.exit(0);
}
const broken = args.break === undefined ? undefined : breakRuleInfo(args.break);
if (args.break !== undefined && !broken) {
  process.stderr.write(`demo: unknown rule for --break: ${args.break}\n${USAGE}\nrules:\n${breakRuleLines().join("\n")}\n`);
  process.exit(2);
}
const htmlTranscript = args.transcript?.toLowerCase().endsWith(".html") ? path.resolve(args.transcript) : undefined;
const webTimeoutMs = args["web-timeout"] === undefined ? undefined : Number(args["web-timeout"]);
if ((webTimeoutMs !== undefined && !(Number.isInteger(webTimeoutMs) && webTimeoutMs > 0)) || (!args.web && (args["no-open"] || webTimeoutMs !== undefined))) {
  process.stderr.write(`demo: ${args.web ? "--web-timeout must be a positive integer (ms)" : "--no-open and --web-timeout need --web"}\n${USAGE}\n`);
  process.exit(2);
}
const json = args.json === true;
const out = json ? process.stderr : process.stdout;
const narrate = lineWriter(out);
const style = styleFor(out);
const only = args.only?.toUpperCase() as StepId | undefined;
const usageProblem =
  (only !== undefined ? (onlyStepProblem(only) ?? (broken ? onlyBreakProblem(broken, only) : undefined)) : undefined) ??
  (args.step && !(process.stdin.isTTY && out.isTTY) ? "--step waits for Enter after each step: it needs a terminal (a CI job would wait forever)" : undefined);
if (usageProblem) {
  process.stderr.write(`demo: ${usageProblem}\n${USAGE}\n`);
  process.exit(2);
}
// --verbose: the processes stamp their lines (LOG_TIMESTAMPS=1) and `ordered` prints them in the order
// they were written, not the order their pipes deliver them; this process's own lines join that order.
const ordered = args.verbose ? new OrderedLines() : undefined;
const say = (line: string) => (ordered ? ordered.push(`${stamp()}${line}`, narrate) : narrate(line));

let timeoutMs: number;
try {
  timeoutMs = loadDemoTimeoutMs();
} catch (error) {
  process.stderr.write(`demo: ${(error as Error).message}\n`);
  process.exit(2);
}

// Two things end a run early, through the same teardown: the deadline and a signal. `waitingFor`
// always says what the run is waiting for, so a hung run explains itself.
let waitingFor = "the bundles of the processes";
const stop = new AbortController();
const stopped = new Promise<never>((_, reject) => stop.signal.addEventListener("abort", () => reject(stop.signal.reason)));
stopped.catch(() => {}); // observed below through Promise.race

// The deadline includes the teardown: the run gets all but `teardownMs` of it, and the children's
// grace period is cut to what is left (step 4), so this process is gone by DEMO_TIMEOUT_MS.
let endBy = startedAt + timeoutMs;
const teardownMs = Math.min(STOP_GRACE_MS, Math.floor(timeoutMs / 4));
const deadlineTimer = setTimeout(
  () => stop.abort(new Error(`deadline of ${timeoutMs} ms (DEMO_TIMEOUT_MS) passed while waiting for ${waitingFor}`)),
  endBy - teardownMs - performance.now(),
);

let stoppedBy: NodeJS.Signals | undefined;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    stoppedBy ??= signal;
    stop.abort(new Error(`stopped by ${signal} while waiting for ${waitingFor}`));
  });
}

const children: Child[] = [];
// Whatever ends this process — a closed pipe on stdout (`pnpm demo | head`), a crash — the servers go
// with it: `exit` handlers run synchronously, and a signal can be sent synchronously.
process.on("exit", () => {
  for (const child of children) if (child.process.exitCode === null) child.process.kill("SIGKILL");
});
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(1); // the reader went away; nothing left to tell it
    throw error;
  });
}

// --web, --transcript FILE.html: the live view of this run (loaded only then: a plain run does none of it).
const live = args.web || htmlTranscript ? await import("./live-view/demo-view.ts") : undefined;
const view = live && new live.DemoView({
  web: args.web === true,
  open: !args["no-open"],
  webTimeoutMs,
  htmlFile: htmlTranscript,
  port: Number(process.env.VIEW_PORT || 0),
  title: `pnpm demo${broken ? ` --break ${broken.rule}` : ""}`,
  say: narrate,
});

let clientExit: number | string | undefined;
let clientStdout = "";
let failure: string | undefined;
try {
  // ---- 1. each process bundled from the sources as they are now ----
  const bundles = await Promise.race([ensureBundles(PROJECT_ROOT, BUNDLE_DIR, ENTRIES), stopped]);
  stop.signal.throwIfAborted();

  // ---- 2. start the servers on free ports and wait until both answer (startStack: fresh ports again
  // if another process took one first) ----
  // --verbose: the servers' own log lines join the narration, in the order they were written (a broken AS's
  // start-up lines always do: it says it is broken).
  const serverLog = (name: string, _stream: string, line: string) => {
    const show = (text: string) => narrate(text.startsWith(`[${name}]`) ? text : `[${name}] ${text}`);
    if (ordered) ordered.push(line, show);
    else if (line.includes("BROKEN ON PURPOSE")) show(line);
  };
  const { env, asPort, rsPort } = await Promise.race([
    startStack({
      entries: bundles,
      // A12: the demo always starts fresh, in memory — an exported AS_STATE_DIR (for `pnpm dev`) is ignored.
      // The story is headless: a consent page (AS_CONSENT=prompt) would stop it at the first authorization.
      env: { ...process.env, AS_STATE_DIR: "", AS_CONSENT: "auto", LOG_TIMESTAMPS: args.verbose ? "1" : "", ...live?.SERVER_ENV },
      // A server's rule is broken by that server itself, told through its config (AS_BREAK, RS_BREAK).
      asEnv: broken?.by.includes("as") ? { AS_BREAK: broken.rule } : {},
      rsEnv: broken?.by.includes("rs") ? { RS_BREAK: broken.rule } : {},
      signal: stop.signal,
      onLine: serverLog,
      onStart: ({ as, rs, asPort, rsPort }) => {
        children.push(as, rs);
        const { issuer, healthUrl: asHealthUrl } = asUrls(asPort);
        const { resource, healthUrl: rsHealthUrl } = rsUrls(rsPort);
        say(`[demo] starting the AS on ${issuer} (pid ${as.process.pid}) and the RS on ${resource} (pid ${rs.process.pid})`);
        waitingFor = `the AS (${asHealthUrl}) and the RS (${rsHealthUrl}) to answer`;
      },
      onRetry: (reason) => say(`[demo] ${reason}; starting both servers again on fresh ports`),
    }),
    stopped,
  ]);
  const { resource } = rsUrls(rsPort);
  await Promise.race([view?.follow({ asPort, rsPort }), stopped]);
  say(`[demo] both servers answer; running the client story against ${resource}`);

  // ---- 3. the client story ----
  const clientArgs = ["--server", resource];
  if (json) clientArgs.push("--json");
  if (args.transcript && !htmlTranscript) clientArgs.push("--transcript", path.resolve(args.transcript));
  if (broken) clientArgs.push("--break", broken.rule);
  if (only) clientArgs.push("--only", only);
  if (args.verbose) clientArgs.push("--verbose");
  if (args.step) {
    clientArgs.push("--step"); // the client reads Enter from this terminal; the deadline stops here
    clearTimeout(deadlineTimer);
    endBy = Infinity;
  }
  // The client's stdout is this process's pipe: it colours its lines when this process's terminal would.
  const clientEnv = { ...env, FORCE_COLOR: wantsColour(out) ? "1" : "0", ...live?.CLIENT_ENV };
  const show = (stream: "stdout" | "stderr", line: string) => narrate(stream === "stdout" || json ? line : `[client] ${line}`);
  const client = startChild(
    "client",
    bundles.client,
    clientArgs,
    clientEnv,
    (stream, line) => {
      if (view?.line(line)) return; // a step mark, for the view only
      if (stream === "stdout" && json) clientStdout += `${line}\n`;
      else if (ordered) ordered.push(line, (text) => show(stream, text));
      else show(stream, line);
    },
    { stdin: args.step ? "inherit" : "ignore" },
  );
  children.push(client);
  waitingFor = `the client story to finish (pid ${client.process.pid})`;
  clientExit = await Promise.race([client.exited, stopped]);
  if (clientExit !== 0) failure = `the client story exited with ${clientExit}`;
  await Promise.race([view?.settle(), stopped]);
} catch (error) {
  failure = (error as Error).message;
} finally {
  // ---- 4. stop everything, whatever happened ----
  clearTimeout(deadlineTimer);
  const graceMs = Math.max(0, Math.min(STOP_GRACE_MS, endBy - performance.now() - 100)); // 100 ms to report and exit
  await Promise.all(children.map((child) => stopChild(child, graceMs)));
  ordered?.end();
}

const durationMs = Math.round(performance.now() - startedAt);
if (failure) {
  const report = lineWriter(process.stderr);
  report(`\n${styleFor(process.stderr).fail(`[demo] FAILED: ${failure}`)}\n[demo] full output of the processes follows:`);
  for (const child of children) for (const line of child.log) report(line);
}

if (json) {
  const report = readClientReport(clientStdout);
  if (failure && (clientExit === 0 || clientExit === undefined || report.checks.length === 0)) {
    // The stack itself failed (or the deadline passed): say so as a check of its own.
    report.checks.push({ id: "demo", title: "demo stack ran to completion", ok: false, detail: failure, ms: durationMs });
  }
  report.ok = !failure && reportOk(report.checks, report.break);
  report.durationMs = durationMs;
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
} else if (!failure) {
  narrate(`[demo] ${style.ok(broken ? `--break ${broken.rule}: the consequence was demonstrated` : "all checks passed")}; servers stopped (${durationMs} ms)`);
}
let code = stoppedBy ? 128 + constants.signals[stoppedBy] : !failure ? 0 : clientExit === 1 ? 1 : 3;
if (view) {
  // The view of a run that ended: written to its file, or up until Ctrl-C (which ends it, not the run).
  const verdict = code === 0 ? (broken ? "the break was demonstrated" : "all checks passed") : `exit ${code}`;
  const ended = new Promise((resolve) => ["SIGINT", "SIGTERM"].forEach((signal) => process.once(signal, resolve)));
  try {
    if (!stoppedBy) await view.finish(verdict, ended);
  } catch (error) {
    process.stderr.write(`demo: the live view failed: ${(error as Error).message}\n`);
    code = 2; // as for a Markdown transcript that cannot be written
  } finally {
    await view.close();
  }
}
process.exit(code);

function readClientReport(stdout: string): JsonReport {
  try {
    const report = JSON.parse(stdout) as JsonReport;
    if (Array.isArray(report.checks)) return report;
  } catch {
    // No (or no parseable) report: the client never got to print one.
  }
  return { ok: false, checks: [], durationMs: 0 };
}
