/**
 * `pnpm interop` — which MCP clients step up correctly, measured against this demo.
 *
 * For each client (./clients.ts): a fresh AS + RS on free loopback ports, the client driven through
 * connect, `list-files`, `write-file`, `delete-file`, `broken-challenge`, each step judged from the
 * servers' exchange events (./judge.ts), then the table (Markdown, or `--json`).
 *
 * Flags: `--json` · `--no-browser` (leave out clients that need Chromium) · `--clients a,b` (ids:
 * v2-client, mcp-remote, inspector) · `--step-timeout MS` (default 10000: a client that hangs is
 * reported as hung) · `--reference ID` (exit 1 unless that client connects and steps up correctly:
 * connect, `list-files` and `write-file` all ✔ — CI's check on the v2 client) · `--verbose` (print every
 * process's output).
 *
 * Exit codes: 0 the table was measured (whatever the clients did) · 1 the `--reference` client
 * regressed · 2 usage error · 3 the stack or the harness failed · 128 + the signal's number when stopped
 * by SIGINT or SIGTERM (every server, driver and client it started is stopped first).
 */
import { constants } from "node:os";
import { parseArgs } from "node:util";
import { interopClients } from "./clients.ts";
import { runClient, signalAll, StackError, stopAll, type ClientRun } from "./run-client.ts";
import { jsonReport, markdownTable } from "./table.ts";

const REFERENCE_STEPS = ["connect", "list-files", "write-file"];
const USAGE = "usage: pnpm interop [--json] [--no-browser] [--clients ID,…] [--step-timeout MS] [--reference ID] [--verbose]";

const startedAt = performance.now();
let options;
try {
  options = parseArgs({
    options: {
      json: { type: "boolean", default: false },
      "no-browser": { type: "boolean", default: false },
      clients: { type: "string" },
      "step-timeout": { type: "string", default: "10000" },
      reference: { type: "string" },
      verbose: { type: "boolean", default: false },
    },
  }).values;
} catch (error) {
  process.stderr.write(`interop: ${(error as Error).message}\n${USAGE}\n`);
  process.exit(2);
}

const all = interopClients();
const wanted = options.clients?.split(",").map((id) => id.trim()) ?? all.map((client) => client.id);
const unknown = [...wanted, ...(options.reference ? [options.reference] : [])].filter((id) => !all.some((client) => client.id === id));
const stepTimeoutMs = Number(options["step-timeout"]);
if (unknown.length > 0 || !Number.isInteger(stepTimeoutMs) || stepTimeoutMs < 1_000 || stepTimeoutMs > 120_000) {
  process.stderr.write(`interop: ${unknown.length > 0 ? `unknown client: ${unknown.join(", ")}` : "--step-timeout must be 1000…120000 ms"}\n${USAGE}\n`);
  process.exit(2);
}
const clients = all.filter((client) => wanted.includes(client.id) && !(options["no-browser"] && client.needsBrowser));

// Interrupted or crashed: stop every server and driver this run started (a driver stops its client).
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, async () => {
    await stopAll();
    process.exit(128 + constants.signals[signal]);
  });
}
process.on("exit", signalAll);

const runs: ClientRun[] = [];
let error: string | undefined;
for (const client of clients) {
  const unavailable = client.driver && client.prepare?.();
  if (unavailable) Object.assign(client, { driver: undefined, skip: unavailable });
  process.stderr.write(`[interop] ${client.name} ${client.version}: ${client.driver ? "running" : `skipped (${client.skip})`}\n`);
  try {
    const run = await runClient(client, stepTimeoutMs);
    runs.push(run);
    if (options.verbose) process.stderr.write(`${run.log.join("\n")}\n`);
  } catch (caught) {
    // A client's misbehaviour is a verdict; only the stack or this harness failing ends the run.
    error = caught instanceof StackError ? caught.message : `harness error: ${(caught as Error).stack ?? String(caught)}`;
    break;
  }
}

const context = { date: new Date().toISOString().slice(0, 10), node: process.versions.node };
const reference = options.reference ? runs.find((run) => run.client.id === options.reference) : undefined;
const referenceFailure =
  options.reference &&
  (!reference
    ? `the reference client ${options.reference} was not run`
    : reference.steps
        .filter((step) => REFERENCE_STEPS.includes(step.step) && step.verdict !== "pass")
        .map((step) => `${step.step}: ${step.summary}`)
        .join("; ") || undefined);

if (options.json) {
  const durationMs = Math.round(performance.now() - startedAt);
  const report = jsonReport(runs, { ...context, durationMs, ok: !error && !referenceFailure, ...(error || referenceFailure ? { error: error ?? `the reference client ${options.reference} regressed: ${referenceFailure}` } : {}) });
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
} else {
  process.stdout.write(`${markdownTable(runs, context)}\n`);
}
if (error) process.stderr.write(`[interop] FAILED: ${error}\n`);
if (referenceFailure) process.stderr.write(`[interop] the reference client ${options.reference} no longer steps up correctly: ${referenceFailure}\n`);
process.stderr.write(`[interop] done in ${Math.round(performance.now() - startedAt)} ms\n`);
process.exit(error ? 3 : referenceFailure ? 1 : 0);
