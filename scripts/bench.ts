/**
 * `pnpm bench` — the performance figures P1–P4, each measured in this one run.
 *
 * What runs where: this process is the load generator and the client; the servers under test run as
 * child processes on free loopback ports (scripts/bench/children.ts), so no figure is measured inside the
 * server's own event loop. Nothing leaves 127.0.0.1.
 *
 * Flow:
 *   1. P1 step-up latency — real AS + RS children, the project's client, ≥ 50 step-ups (scripts/bench/p1-step-up.ts)
 *   2. P2 gate cost — two RS children (gate on / off), same load, same sessions (scripts/bench/p2-gate.ts)
 *   3. P3 token throughput — AS child, code exchanges + refreshes under load (scripts/bench/p3-tokens.ts)
 *   4. P4 demo wall and CPU time — `pnpm demo` as a cold process tree, median of 5 (scripts/bench/p4-demo.ts)
 *   5. the table (or, with `--json`, one JSON document on stdout); progress goes to stderr.
 *
 * Flags: `--json` · `--smoke` (or BENCH_SMOKE=1: tiny counts, checks the harness, figures mean
 * nothing) · `--only p1,p3` · `--profile DIR` (a V8 CPU profile of every server child, written to DIR).
 * Exit codes: 0 every benchmark ran (a missed target is reported, not an error) · 1 a benchmark failed
 * · 2 usage error · 3 the overall deadline passed · 128 + the signal's number when stopped by SIGINT/SIGTERM.
 */
import { constants } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { setChildEnv, stopAll } from "./bench/children.ts";
import { runP1, type P1Options } from "./bench/p1-step-up.ts";
import { runP2, type P2Options } from "./bench/p2-gate.ts";
import { runP3, type P3Options } from "./bench/p3-tokens.ts";
import { runP4, type P4Options } from "./bench/p4-demo.ts";
import { buildReport, renderTable, type BenchResults } from "./bench/report.ts";
import { PROJECT_ROOT } from "./processes.ts";

const USAGE = "usage: pnpm bench [--json] [--smoke] [--only p1,p2,p3,p4] [--profile DIR]";
const BENCHMARKS = ["p1", "p2", "p3", "p4"] as const;
type Benchmark = (typeof BENCHMARKS)[number];

interface Plan {
  p1: P1Options;
  p2: P2Options;
  p3: P3Options;
  p4: P4Options;
  deadlineMs: number;
}

/** The full run: about a minute on the 2-core machine. */
const FULL: Plan = {
  p1: { warmup: 5, samples: 60 },
  p2: { workers: 8, warmupMs: 1_500, roundMs: 1_000, blocks: 8 },
  p3: { batches: 3, batchSize: 800, workers: 16, clients: 4 },
  p4: { runs: 5 },
  deadlineMs: 5 * 60_000,
};

/** The smoke run: every code path once, with counts too small to mean anything. */
const SMOKE: Plan = {
  p1: { warmup: 0, samples: 2 },
  p2: { workers: 2, warmupMs: 100, roundMs: 100, blocks: 1 },
  p3: { batches: 1, batchSize: 10, workers: 2, clients: 1 },
  p4: { runs: 1 },
  deadlineMs: 90_000,
};

let args;
try {
  args = parseArgs({
    options: {
      json: { type: "boolean", default: false },
      smoke: { type: "boolean", default: false },
      only: { type: "string" },
      profile: { type: "string" },
    },
  }).values;
} catch (error) {
  process.stderr.write(`bench: ${(error as Error).message}\n${USAGE}\n`);
  process.exit(2);
}
const only = (args.only ?? BENCHMARKS.join(",")).split(",").map((s) => s.trim().toLowerCase()).filter(Boolean);
const unknown = only.filter((name) => !(BENCHMARKS as readonly string[]).includes(name));
if (unknown.length > 0) {
  process.stderr.write(`bench: unknown benchmark ${unknown.join(", ")}\n${USAGE}\n`);
  process.exit(2);
}
const smoke = args.smoke === true || process.env.BENCH_SMOKE === "1";
const plan = smoke ? SMOKE : FULL;
const progress = (line: string) => process.stderr.write(`[bench] ${line}\n`);

if (args.profile) {
  const dir = path.resolve(args.profile);
  const preload = pathToFileURL(path.join(PROJECT_ROOT, "scripts/bench/cpu-profile.mjs")).href;
  setChildEnv({
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --import=${preload}`.trim(),
    BENCH_CPU_PROFILE_DIR: dir,
  });
  progress(`servers are profiled (scripts/bench/cpu-profile.mjs); .cpuprofile files go to ${dir}`);
}

// Ctrl-C, or a runner signalling the pid it started (`pnpm` passes the signal on: the script `exec`s
// node). A second signal during the teardown changes nothing: the servers are already being stopped.
let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, async () => {
    if (stopping) return;
    stopping = true;
    await stopAll();
    process.exit(128 + constants.signals[signal]);
  });
}
const deadline = setTimeout(async () => {
  process.stderr.write(`bench: deadline of ${plan.deadlineMs} ms passed; stopping the servers\n`);
  await stopAll();
  process.exit(3);
}, plan.deadlineMs);
deadline.unref();

const date = new Date();
const results: BenchResults = {};
const errors: Array<{ benchmark: string; message: string }> = [];
const runners: Record<Benchmark, () => Promise<void>> = {
  p1: async () => void (results.p1 = await runP1(plan.p1, progress)),
  p2: async () => void (results.p2 = await runP2(plan.p2, progress)),
  p3: async () => void (results.p3 = await runP3(plan.p3, progress)),
  p4: async () => void (results.p4 = await runP4(plan.p4, progress)),
};
for (const benchmark of BENCHMARKS) {
  if (!only.includes(benchmark) || stopping) continue;
  const started = performance.now();
  try {
    await runners[benchmark]();
    progress(`${benchmark.toUpperCase()} done in ${Math.round(performance.now() - started)} ms`);
  } catch (error) {
    errors.push({ benchmark: benchmark.toUpperCase(), message: error instanceof Error ? error.message : String(error) });
    progress(`${benchmark.toUpperCase()} FAILED: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    // Each benchmark's servers stop before the next one starts: nothing else competes for the cores.
    await stopAll();
  }
}

const skipped = BENCHMARKS.filter((b) => !only.includes(b)).map((b) => b.toUpperCase());
const report = buildReport(results, errors, skipped, smoke ? "smoke" : "full", date);
process.stdout.write(args.json ? `${JSON.stringify(report, null, 2)}\n` : renderTable(report));
process.exit(errors.length > 0 ? 1 : 0);
