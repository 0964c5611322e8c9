/**
 * P4 — `pnpm demo` wall time, cold: `node --import tsx scripts/demo.ts --json` as a fresh child process
 * each run (the demo then starts its own AS, RS and client children), timed from spawn to exit. A run
 * counts only if it exits 0 and its JSON report says `ok: true` — a fast failing demo is no figure.
 *
 * "Cold" means new processes every run (no warm event loop, JIT or sockets). tsx's on-disk transform
 * cache is whatever the machine has; after any earlier run it is warm, as it is for a user.
 */
import { startChild, stopChild } from "../shared/processes.ts";
import { track } from "./children.ts";
import { median } from "./stats.ts";

export interface P4Options {
  runs: number;
}

/** Where one run's wall time went (ms, medians over the runs), read from the demo's narration. */
export interface P4Phases {
  /** spawn → the demo process has started (tsx loaded, ports picked): "[demo] starting …". */
  demoReady: number;
  /** → both servers answer `/healthz` (their processes started and imported everything). */
  serversReady: number;
  /** → the client's first line (its process started and imported the SDK). */
  clientReady: number;
  /** → the demo process exited (the story D1–D8, then teardown). */
  storyAndTeardown: number;
}

export interface P4Result {
  medianMs: number;
  runsMs: number[];
  phases: P4Phases;
  /** The demo's own `durationMs` of each run (its view, from its start to its report). */
  reportedMs: number[];
  /** Checks in the demo's report (each run, all passed). */
  checks: number;
}

/** Longer than the demo's own 30 s deadline: the demo should end itself; this is the backstop. */
const RUN_TIMEOUT_MS = 45_000;

export async function runP4(options: P4Options, progress: (line: string) => void): Promise<P4Result> {
  const runsMs: number[] = [];
  const reportedMs: number[] = [];
  const phases: Array<Partial<Record<keyof P4Phases, number>>> = [];
  let checks = 0;
  for (let run = 0; run < options.runs; run++) {
    let stdout = "";
    const started = performance.now();
    const marks: Partial<Record<"starting" | "healthy" | "client", number>> = {};
    const demo = track(startChild("demo", "scripts/demo.ts", ["--json"], { ...process.env, NO_COLOR: "1" }, (stream, line) => {
      if (stream === "stdout") stdout += `${line}\n`;
      else if (line.startsWith("[demo] starting")) marks.starting ??= performance.now();
      else if (line.startsWith("[demo] both servers answer")) marks.healthy ??= performance.now();
      else if (marks.healthy !== undefined && !line.startsWith("[demo]")) marks.client ??= performance.now();
    }));
    const timer = setTimeout(() => void stopChild(demo), RUN_TIMEOUT_MS);
    const code = await demo.exited;
    const wallMs = performance.now() - started;
    clearTimeout(timer);

    let report: { ok?: boolean; durationMs?: number; checks?: unknown[] } = {};
    try {
      report = JSON.parse(stdout) as typeof report;
    } catch {
      // reported below
    }
    if (code !== 0 || report.ok !== true) {
      const tail = demo.log.slice(-20).join("\n");
      throw new Error(`pnpm demo run ${run + 1} failed (exit ${code}, ok=${String(report.ok)}):\n${tail}`);
    }
    runsMs.push(wallMs);
    const { starting, healthy, client } = marks;
    phases.push({
      demoReady: starting !== undefined ? starting - started : undefined,
      serversReady: healthy !== undefined && starting !== undefined ? healthy - starting : undefined,
      clientReady: client !== undefined && healthy !== undefined ? client - healthy : undefined,
      storyAndTeardown: client !== undefined ? started + wallMs - client : undefined,
    });
    reportedMs.push(report.durationMs ?? Number.NaN);
    checks = report.checks?.length ?? 0;
    progress(`P4 run ${run + 1}/${options.runs}: ${Math.round(wallMs)} ms wall (demo reports ${report.durationMs} ms)`);
  }
  const phase = (key: keyof P4Phases) => median(phases.map((p) => p[key]).filter((ms): ms is number => ms !== undefined));
  return {
    medianMs: median(runsMs),
    runsMs,
    phases: {
      demoReady: phase("demoReady"),
      serversReady: phase("serversReady"),
      clientReady: phase("clientReady"),
      storyAndTeardown: phase("storyAndTeardown"),
    },
    reportedMs,
    checks,
  };
}
