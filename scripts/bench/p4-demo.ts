/**
 * P4 — `pnpm demo`, cold: exactly what a user types, run as a fresh process tree each time (pnpm, the
 * orchestrator, its AS, RS and client), timed from spawn to exit. A run counts only if it exits 0 —
 * the demo exits 0 iff every check passed — so a fast failing demo is no figure.
 *
 * Reported per run: wall time, and CPU time of the whole tree (user + system of every process, read
 * from this process's `cutime`/`cstime` in /proc, which count each child once it has been reaped,
 * with its own reaped children). The breakdown comes from scripts/bench/p4-probe.mjs, preloaded into each
 * node process: when it started, when it first wrote a line, when it exited, and its CPU time.
 *
 * "Cold" means new processes every run (no warm event loop, JIT or sockets). The caches on disk are
 * warm, as they are for anyone who has run the demo once: the bundles under .cache/bundles (an
 * unmeasured first run builds them if a source changed) and tsx's transform cache.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { stopChild } from "../processes.ts";
import { track } from "./children.ts";
import { median } from "./stats.ts";

export interface P4Options {
  runs: number;
}

/** Where the wall time of a run went, ms (medians over the runs), in order. */
export interface P4Phases {
  /** spawn → the orchestrator's node process started: pnpm's own start-up (and `sh -c exec`). */
  pnpm: number;
  /** → its first line: tsx, its imports, free ports, the bundles checked; AS and RS spawned. */
  orchestratorStartup: number;
  /** AS process start → its "listening" line (runs in parallel with the RS). */
  asStartup: number;
  /** RS process start → its "listening" line. */
  rsStartup: number;
  /** orchestrator's first line → the client process started: servers up, health checks answered. */
  serversReady: number;
  /** client process start → its first line (its modules loaded). */
  clientStartup: number;
  /** client's first line → client exit: the story D1–D8 and its checklist. */
  story: number;
  /** client exit → orchestrator exit: the AS and RS stopped. */
  teardown: number;
  /** orchestrator exit → pnpm exit, as this process sees it. */
  pnpmExit: number;
}

/** CPU time of each process (ms, medians over the runs). */
export interface P4Cpu {
  total: number;
  pnpm: number;
  orchestrator: number;
  as: number;
  rs: number;
  client: number;
}

export interface P4Result {
  medianMs: number;
  runsMs: number[];
  /** The yardstick, run alternately with the demo: a single-process step-up demo on the v2 SDK client (v2-baseline.mjs). */
  baselineMedianMs: number;
  baselineRunsMs: number[];
  /** medianMs / baselineMedianMs. */
  ratio: number;
  cpuMedianMs: number;
  cpuRunsMs: number[];
  phases: P4Phases;
  cpu: P4Cpu;
  /** ✓ lines in the demo's checklist (each run, all passed). */
  checks: number;
}

/** Longer than the demo's own 30 s deadline: the demo should end itself; this is the backstop. */
const RUN_TIMEOUT_MS = 45_000;
const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const PROBE = pathToFileURL(path.join(PROJECT_ROOT, "scripts/bench/p4-probe.mjs")).href;
const BASELINE = path.join(PROJECT_ROOT, "scripts/bench/v2-baseline.mjs");

interface ProbeRecord {
  script: string;
  startedAt: number;
  firstOutputAt: number | null;
  exitedAt: number;
  cpuMs: number;
}

export async function runP4(options: P4Options, progress: (line: string) => void): Promise<P4Result> {
  await runDemo(); // unmeasured: builds the bundles if any source changed since the last run
  await runBaseline(); // unmeasured: the same warm disk caches for both
  const runs: Array<{ wallMs: number; cpuMs: number; phases: P4Phases; cpu: P4Cpu; checks: number }> = [];
  const baselineRunsMs: number[] = [];
  for (let run = 0; run < options.runs; run++) {
    // Alternately, so that both meet the same machine load.
    const measured = await runDemo();
    runs.push(measured);
    baselineRunsMs.push(await runBaseline());
    progress(`P4 run ${run + 1}/${options.runs}: ${Math.round(measured.wallMs)} ms wall, ${Math.round(measured.cpuMs)} ms CPU; v2 baseline ${Math.round(baselineRunsMs.at(-1)!)} ms`);
  }
  const medianOf = <T>(pick: (run: (typeof runs)[number]) => T, keys: Array<keyof T>) =>
    Object.fromEntries(keys.map((key) => [key, median(runs.map((run) => pick(run)[key] as number))])) as T;
  const medianMs = median(runs.map((run) => run.wallMs));
  const baselineMedianMs = median(baselineRunsMs);
  return {
    medianMs,
    runsMs: runs.map((run) => run.wallMs),
    baselineMedianMs,
    baselineRunsMs,
    ratio: medianMs / baselineMedianMs,
    cpuMedianMs: median(runs.map((run) => run.cpuMs)),
    cpuRunsMs: runs.map((run) => run.cpuMs),
    phases: medianOf((run) => run.phases, ["pnpm", "orchestratorStartup", "asStartup", "rsStartup", "serversReady", "clientStartup", "story", "teardown", "pnpmExit"]),
    cpu: medianOf((run) => run.cpu, ["total", "pnpm", "orchestrator", "as", "rs", "client"]),
    checks: runs[0]?.checks ?? 0,
  };
}

/** One cold run of the yardstick, `node scripts/bench/v2-baseline.mjs`, timed from spawn to exit (ms); it must pass. */
async function runBaseline(): Promise<number> {
  const started = performance.now();
  const baseline = spawn(process.execPath, [BASELINE], { cwd: PROJECT_ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  baseline.stdout.on("data", (chunk) => (output += chunk));
  baseline.stderr.on("data", (chunk) => (output += chunk));
  const code = await new Promise<number | string>((resolve) => {
    baseline.on("close", (exitCode, signal) => resolve(exitCode ?? signal ?? "unknown"));
    baseline.on("error", (error) => resolve(`spawn error: ${error.message}`));
  });
  if (code !== 0) throw new Error(`the v2 baseline failed (exit ${code}):\n${output.slice(-2000)}`);
  return performance.now() - started;
}

async function runDemo() {
  const dir = mkdtempSync(path.join(os.tmpdir(), "bench-p4-"));
  const probeFile = path.join(dir, "probe.jsonl");
  try {
    const env = {
      ...process.env,
      NO_COLOR: "1",
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --import=${PROBE}`.trim(),
      BENCH_P4_PROBE_FILE: probeFile,
    };
    const cpuBefore = childrenCpuMs();
    const started = performance.timeOrigin + performance.now();
    const demo = spawn("pnpm", ["demo"], { cwd: PROJECT_ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    demo.stdout.on("data", (chunk) => (output += chunk));
    demo.stderr.on("data", (chunk) => (output += chunk));
    const exited = new Promise<number | string>((resolve) => {
      demo.on("close", (exitCode, signal) => resolve(exitCode ?? signal ?? "unknown"));
      demo.on("error", (error) => resolve(`spawn error: ${error.message}`));
    });
    // Stopped with the bench (Ctrl-C, SIGTERM): SIGTERM to the pnpm pid ends the demo and its servers.
    const child = track({ name: "pnpm demo", process: demo, log: [], exited });
    const timer = setTimeout(() => void stopChild(child), RUN_TIMEOUT_MS);
    const code = await exited;
    const ended = performance.timeOrigin + performance.now();
    clearTimeout(timer);
    if (code !== 0) throw new Error(`pnpm demo failed (exit ${code}):\n${output.split("\n").slice(-20).join("\n")}`);

    const records = readFileSync(probeFile, "utf8").trim().split("\n").map((line) => JSON.parse(line) as ProbeRecord);
    const find = (pattern: RegExp) => {
      const record = records.find((r) => pattern.test(r.script));
      if (!record) throw new Error(`P4 probe: no record for ${pattern} (got ${records.map((r) => r.script).join(", ")})`);
      return record;
    };
    const pnpm = find(/pnpm(\.c?js)?$/);
    const orchestrator = find(/scripts[\\/]demo\.m?[jt]s$/); // demo.mjs (from its bundle), or demo.ts
    const as = find(/[\\/]as\.mjs$/);
    const rs = find(/[\\/]rs\.mjs$/);
    const client = find(/[\\/]client\.mjs$/);
    const firstOutput = (r: ProbeRecord) => r.firstOutputAt ?? r.exitedAt;
    const cpuMs = childrenCpuMs() - cpuBefore;
    return {
      wallMs: ended - started,
      cpuMs,
      phases: {
        pnpm: orchestrator.startedAt - started,
        orchestratorStartup: firstOutput(orchestrator) - orchestrator.startedAt,
        asStartup: firstOutput(as) - as.startedAt,
        rsStartup: firstOutput(rs) - rs.startedAt,
        serversReady: client.startedAt - firstOutput(orchestrator),
        clientStartup: firstOutput(client) - client.startedAt,
        story: client.exitedAt - firstOutput(client),
        teardown: orchestrator.exitedAt - client.exitedAt,
        pnpmExit: ended - orchestrator.exitedAt,
      },
      cpu: { total: cpuMs, pnpm: pnpm.cpuMs, orchestrator: orchestrator.cpuMs, as: as.cpuMs, rs: rs.cpuMs, client: client.cpuMs },
      checks: output.split("\n").filter((line) => line.startsWith("✓ ")).length,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * CPU time (user + system) of this process's reaped children and their reaped descendants, in ms,
 * from Linux's `/proc/self/stat` (USER_HZ = 100, so 10 ms resolution); NaN where there is no procfs.
 */
function childrenCpuMs(): number {
  try {
    const stat = readFileSync("/proc/self/stat", "utf8");
    // proc(5): fields after the parenthesised command name; cutime and cstime are fields 16 and 17.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[16 - 3]) + Number(fields[17 - 3])) * 1000) / 100;
  } catch {
    return Number.NaN;
  }
}
