/**
 * `pnpm demo` — the one-command walkthrough and the examples-runner contract (D9).
 *
 * What runs where: this orchestrator starts three child processes on free loopback ports —
 * the authorization server (`as/server.ts`), the MCP resource server (`resource-server/server.ts`) and
 * the headless client story (`client/main.ts`) — and exits with the story's verdict.
 *
 * Flow:
 *   1. pick two free ports on 127.0.0.1 (a busy 3000/3001 never breaks the demo);
 *   2. start the AS and the RS, wait until each answers `/healthz`;
 *   3. run the client story (D1–D8): its narration is streamed, its checklist is the verdict;
 *   4. stop every child in every outcome (SIGTERM, then SIGKILL), print their logs if anything failed.
 *
 * Flags: `--json` (stdout is exactly one JSON document, narration goes to stderr) and
 * `--transcript FILE.md` (the client writes the Markdown transcript of the real run).
 * `DEMO_TIMEOUT_MS` (default 30000) is a hard deadline for the whole run, teardown included.
 * SIGINT or SIGTERM (Ctrl-C, or a runner signalling the pid it started: `pnpm` passes the signal on
 * because the script `exec`s node) ends the run the same way, at once.
 *
 * Exit codes: 0 every check passed · 1 a check failed · 2 usage error · 3 the stack did not come up,
 * or the deadline passed · 128 + the signal's number (130 SIGINT, 143 SIGTERM) when stopped by one.
 */
import { parseArgs } from "node:util";
import { constants } from "node:os";
import path from "node:path";
import { asUrls, loadDemoTimeoutMs, rsUrls } from "../shared/config.ts";
import type { JsonReport } from "../shared/report.ts";
import { startChild, stopChild, freeLoopbackPorts, waitForHealthy, STOP_GRACE_MS, type Child } from "../shared/processes.ts";

const startedAt = performance.now();
let args;
try {
  args = parseArgs({ options: { json: { type: "boolean", default: false }, transcript: { type: "string" } } }).values;
} catch (error) {
  process.stderr.write(`demo: ${(error as Error).message}\nusage: pnpm demo [--json] [--transcript FILE.md]\n`);
  process.exit(2);
}
const json = args.json === true;
const narrate = (line: string) => (json ? process.stderr : process.stdout).write(`${line}\n`);

let timeoutMs: number;
try {
  timeoutMs = loadDemoTimeoutMs();
} catch (error) {
  process.stderr.write(`demo: ${(error as Error).message}\n`);
  process.exit(2);
}

// Two things end a run early, through the same teardown: the deadline and a signal. `waitingFor`
// always says what the run is waiting for, so a hung run explains itself.
let waitingFor = "free loopback ports";
const stop = new AbortController();
const stopped = new Promise<never>((_, reject) => stop.signal.addEventListener("abort", () => reject(stop.signal.reason)));
stopped.catch(() => {}); // observed below through Promise.race

// The deadline includes the teardown: the run gets all but `teardownMs` of it, and the children's
// grace period is cut to what is left (step 4), so this process is gone by DEMO_TIMEOUT_MS.
const endBy = startedAt + timeoutMs;
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

let clientExit: number | string | undefined;
let clientStdout = "";
let failure: string | undefined;
try {
  // ---- 1. free ports ----
  const [asPort, rsPort] = (await freeLoopbackPorts(2)) as [number, number];
  stop.signal.throwIfAborted();
  // A12: the demo always starts fresh, in memory — an exported AS_STATE_DIR (for `pnpm dev`) is ignored.
  // The story is headless: a consent page (AS_CONSENT=prompt) would stop it at the first authorization.
  const env = { ...process.env, AS_PORT: String(asPort), RS_PORT: String(rsPort), AS_STATE_DIR: "", AS_CONSENT: "auto" };
  const { issuer, healthUrl: asHealthUrl } = asUrls(asPort);
  const { resource, healthUrl: rsHealthUrl } = rsUrls(rsPort);

  // ---- 2. start the servers and wait until both answer ----
  const as = startChild("as", "as/server.ts", [], env);
  const rs = startChild("rs", "resource-server/server.ts", [], env);
  children.push(as, rs);
  narrate(`[demo] starting the AS on ${issuer} (pid ${as.process.pid}) and the RS on ${resource} (pid ${rs.process.pid})`);
  waitingFor = `the AS (${asHealthUrl}) and the RS (${rsHealthUrl}) to answer`;
  await Promise.race([
    Promise.all([
      waitForHealthy(as, asHealthUrl, stop.signal),
      waitForHealthy(rs, rsHealthUrl, stop.signal),
    ]),
    stopped,
  ]);
  narrate(`[demo] both servers answer; running the client story against ${resource}`);

  // ---- 3. the client story ----
  const clientArgs = ["--server", resource];
  if (json) clientArgs.push("--json");
  if (args.transcript) clientArgs.push("--transcript", path.resolve(args.transcript));
  const client = startChild("client", "client/main.ts", clientArgs, env, (stream, line) => {
    if (stream === "stdout" && json) clientStdout += `${line}\n`;
    else if (stream === "stdout") process.stdout.write(`${line}\n`);
    else narrate(json ? line : `[client] ${line}`);
  });
  children.push(client);
  waitingFor = `the client story to finish (pid ${client.process.pid})`;
  clientExit = await Promise.race([client.exited, stopped]);
  if (clientExit !== 0) failure = `the client story exited with ${clientExit}`;
} catch (error) {
  failure = (error as Error).message;
} finally {
  // ---- 4. stop everything, whatever happened ----
  clearTimeout(deadlineTimer);
  const graceMs = Math.max(0, Math.min(STOP_GRACE_MS, endBy - performance.now() - 100)); // 100 ms to report and exit
  await Promise.all(children.map((child) => stopChild(child, graceMs)));
}

const durationMs = Math.round(performance.now() - startedAt);
if (failure) {
  process.stderr.write(`\n[demo] FAILED: ${failure}\n[demo] full output of the processes follows:\n`);
  for (const child of children) process.stderr.write(`${child.log.join("\n")}\n`);
}

if (json) {
  const report = readClientReport(clientStdout);
  if (failure && (clientExit === 0 || clientExit === undefined || report.checks.length === 0)) {
    // The stack itself failed (or the deadline passed): say so as a check of its own.
    report.checks.push({ id: "demo", title: "demo stack ran to completion", ok: false, detail: failure, ms: durationMs });
  }
  report.ok = !failure && report.checks.every((check) => check.ok);
  report.durationMs = durationMs;
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
} else if (!failure) {
  narrate(`[demo] all checks passed; servers stopped (${durationMs} ms)`);
}
process.exit(stoppedBy ? 128 + constants.signals[stoppedBy] : !failure ? 0 : clientExit === 1 ? 1 : 3);

function readClientReport(stdout: string): JsonReport {
  try {
    const report = JSON.parse(stdout) as JsonReport;
    if (Array.isArray(report.checks)) return report;
  } catch {
    // No (or no parseable) report: the client never got to print one.
  }
  return { ok: false, checks: [], durationMs: 0 };
}
