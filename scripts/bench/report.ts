/**
 * The benchmark report: one JSON document (`pnpm bench --json`) and the same figures as a table.
 * Flat `p*_` fields are the figures P1–P4; `details` says how each was obtained.
 */
import os from "node:os";
import type { P1Result } from "./p1-step-up.ts";
import type { P2Result } from "./p2-gate.ts";
import type { P3Result } from "./p3-tokens.ts";
import type { P4Result } from "./p4-demo.ts";
import { round } from "./stats.ts";

/** The targets for this 2-core machine (BENCHMARKS.md). */
export const TARGETS = {
  p1_stepup_median_ms: { max: 20 },
  p2_gate_ratio: { min: 0.85 },
  p3_tokens_per_s: { min: 1000 },
  p4_demo_wall_ms: { max: 1200 },
  p4_demo_cpu_ms: { max: 2500 },
  p4_demo_vs_v2_ratio: { max: 1.8 },
} as const;

export interface Machine {
  cores: number;
  cpu: string;
  node: string;
  platform: string;
  memoryGb: number;
}

export function describeMachine(): Machine {
  return {
    cores: os.availableParallelism(),
    cpu: os.cpus()[0]?.model.trim() ?? "unknown",
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
    memoryGb: round(os.totalmem() / 2 ** 30, 1),
  };
}

export interface BenchResults {
  p1?: P1Result;
  p2?: P2Result;
  p3?: P3Result;
  p4?: P4Result;
}

export interface BenchReport {
  date: string;
  machine: Machine;
  mode: "full" | "smoke";
  p1_stepup_median_ms: number | null;
  p1_stepup_p95_ms: number | null;
  p2_gate_ratio: number | null;
  p2_gate_on_calls_per_s: number | null;
  p2_gate_off_calls_per_s: number | null;
  p3_tokens_per_s: number | null;
  p4_demo_wall_ms: number | null;
  p4_demo_cpu_ms: number | null;
  /** `pnpm demo` / a single-process step-up demo on the v2 SDK client, medians, run alternately. */
  p4_demo_vs_v2_ratio: number | null;
  targets: typeof TARGETS;
  /** Whether each figure met its target (`null`: not measured, or a smoke run, where it means nothing). */
  met: Record<keyof typeof TARGETS, boolean | null>;
  details: {
    p1: P1Result | null;
    p2: P2Result | null;
    p3: P3Result | null;
    p4: P4Result | null;
  };
  /** Benchmarks that could not run to the end, and why. */
  errors: Array<{ benchmark: string; message: string }>;
  /** Benchmarks left out with `--only`. */
  skipped: string[];
}

/** Round every number in a details object for the JSON (2 decimals). */
function rounded<T>(value: T): T {
  return JSON.parse(JSON.stringify(value, (_key, v: unknown) => (typeof v === "number" ? round(v) : v))) as T;
}

export function buildReport(
  results: BenchResults,
  errors: BenchReport["errors"],
  skipped: string[],
  mode: BenchReport["mode"],
  date: Date,
): BenchReport {
  const { p1, p2, p3, p4 } = results;
  const figure = (value: number | undefined, digits = 2) => (value === undefined || !Number.isFinite(value) ? null : round(value, digits));
  const report: BenchReport = {
    date: date.toISOString(),
    machine: describeMachine(),
    mode,
    p1_stepup_median_ms: figure(p1?.medianMs),
    p1_stepup_p95_ms: figure(p1?.p95Ms),
    p2_gate_ratio: figure(p2?.ratio, 3),
    p2_gate_on_calls_per_s: figure(p2?.gateOnPerS, 0),
    p2_gate_off_calls_per_s: figure(p2?.gateOffPerS, 0),
    p3_tokens_per_s: figure(p3?.tokensPerS, 0),
    p4_demo_wall_ms: figure(p4?.medianMs, 0),
    p4_demo_cpu_ms: figure(p4?.cpuMedianMs, 0),
    p4_demo_vs_v2_ratio: figure(p4?.ratio, 2),
    targets: TARGETS,
    met: { p1_stepup_median_ms: null, p2_gate_ratio: null, p3_tokens_per_s: null, p4_demo_wall_ms: null, p4_demo_cpu_ms: null, p4_demo_vs_v2_ratio: null },
    details: { p1: p1 ? rounded(p1) : null, p2: p2 ? rounded(p2) : null, p3: p3 ? rounded(p3) : null, p4: p4 ? rounded(p4) : null },
    errors,
    skipped,
  };
  if (mode === "full") {
    for (const key of Object.keys(TARGETS) as Array<keyof typeof TARGETS>) {
      const value = report[key];
      const target: { min?: number; max?: number } = TARGETS[key];
      if (value !== null) report.met[key] = target.min !== undefined ? value >= target.min : value <= target.max!;
    }
  }
  return report;
}

const fmt = (value: number | null | undefined, unit = "", digits = 1): string =>
  value === null || value === undefined || !Number.isFinite(value)
    ? "—"
    : `${value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: 0 })}${unit}`;

/** The human-readable table (`pnpm bench`). */
export function renderTable(report: BenchReport): string {
  const { machine, details } = report;
  const mark = (key: keyof typeof TARGETS) => (report.met[key] === null ? "" : report.met[key] ? "✓" : "✗ missed");
  const rows: Array<[string, string, string, string]> = [
    ["P1 step-up latency, median", fmt(report.p1_stepup_median_ms, " ms", 2), "≤ 20 ms", mark("p1_stepup_median_ms")],
    ["   p95", fmt(report.p1_stepup_p95_ms, " ms", 2), "", ""],
    ["P2 gate ratio (on / off)", fmt(report.p2_gate_ratio, "", 3), "≥ 0.85", mark("p2_gate_ratio")],
    ["   gate on  (tools/call)", fmt(report.p2_gate_on_calls_per_s, " calls/s", 0), "", ""],
    ["   gate off (tools/call)", fmt(report.p2_gate_off_calls_per_s, " calls/s", 0), "", ""],
    ["P3 token responses", fmt(report.p3_tokens_per_s, " /s", 0), "≥ 1,000 /s", mark("p3_tokens_per_s")],
    ["   code exchanges", fmt(details.p3?.codeExchangesPerS, " /s", 0), "", ""],
    ["   refreshes", fmt(details.p3?.refreshesPerS, " /s", 0), "", ""],
    [
      `P4 pnpm demo wall time, median of ${details.p4?.runsMs.length ?? "—"}`,
      fmt(report.p4_demo_wall_ms, " ms", 0),
      "≤ 1,200 ms",
      mark("p4_demo_wall_ms"),
    ],
    ["   CPU time, all processes, median", fmt(report.p4_demo_cpu_ms, " ms", 0), "≤ 2,500 ms", mark("p4_demo_cpu_ms")],
    [`   ÷ v2 single-process baseline (${fmt(details.p4?.baselineMedianMs, " ms", 0)})`, fmt(report.p4_demo_vs_v2_ratio, "×", 2), "≤ 1.8×", mark("p4_demo_vs_v2_ratio")],
  ];
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((row) => row[i]!.length), ["figure", "value", "target"][i]!.length));
  const line = (cells: readonly string[]) =>
    cells.map((cell, i) => (i < 3 ? (i === 1 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)) : cell)).join("   ").trimEnd();

  const out = [
    `Benchmarks (${report.mode}) — ${report.date}`,
    `machine: ${machine.cores} cores (${machine.cpu}), ${machine.memoryGb} GB, Node ${machine.node}, ${machine.platform}`,
    "",
    line(["figure", "value", "target", ""]),
    line(["-".repeat(widths[0]!), "-".repeat(widths[1]!), "-".repeat(widths[2]!), ""]),
    ...rows.map(line),
  ];
  if (details.p1) {
    const b = details.p1.breakdown;
    out.push(
      "",
      `P1: ${details.p1.samples} step-ups (after ${details.p1.warmup} warm-up); median parts, ms: ` +
        `client before /authorize ${fmt(b.beforeAuthorize, "", 2)} · /authorize ${fmt(b.authorize, "", 2)} · ` +
        `client between ${fmt(b.betweenAuthorizeAndToken, "", 2)} · /token ${fmt(b.token, "", 2)} · ` +
        `client before retry ${fmt(b.beforeRetry, "", 2)} · retried call ${fmt(b.retry, "", 2)}`,
    );
  }
  if (details.p2) {
    const o = details.p2.options;
    const p2 = details.p2;
    out.push(
      `P2: ${o.workers} workers, ${o.blocks} ABBA blocks of 4 × ${o.roundMs} ms; block ratios ` +
        `${p2.blockRatios.map((r) => fmt(r, "", 3)).join(", ")} (aggregate ${fmt(p2.aggregateRatio, "", 3)}); ` +
        `median latency ${fmt(p2.gateOnMedianLatencyMs, " ms", 2)} (on) vs ${fmt(p2.gateOffMedianLatencyMs, " ms", 2)} (off); ` +
        `RS CPU per call ${fmt(p2.cpuUsPerCall.on, " µs", 0)} (on) vs ${fmt(p2.cpuUsPerCall.off, " µs", 0)} (off)`,
    );
  }
  if (details.p3) {
    const o = details.p3.options;
    out.push(
      `P3: ${details.p3.tokens} token responses in ${o.batches} batch(es) of ${o.batchSize} codes, ${o.workers} workers; ` +
        `median latency ${fmt(details.p3.medianLatencyMs, " ms", 2)}; AS_DCR_RATE_LIMIT raised to 100000 for the bench's AS`,
    );
  }
  if (details.p4) {
    const { phases: ph, cpu } = details.p4;
    const ms = (value: number) => fmt(value, "", 0);
    out.push(
      `P4: pnpm demo runs ${details.p4.runsMs.map(ms).join(", ")} ms wall, ${details.p4.cpuRunsMs.map(ms).join(", ")} ms CPU, ` +
        `each passing all ${details.p4.checks} checks`,
      `    median wall, ms: pnpm ${ms(ph.pnpm)} · orchestrator start-up ${ms(ph.orchestratorStartup)} · ` +
        `servers up ${ms(ph.serversReady)} (AS start-up ${ms(ph.asStartup)}, RS ${ms(ph.rsStartup)}, in parallel) · ` +
        `client start-up ${ms(ph.clientStartup)} · story ${ms(ph.story)} · teardown ${ms(ph.teardown)} · pnpm exit ${ms(ph.pnpmExit)}`,
      `    median CPU, ms: pnpm ${ms(cpu.pnpm)} · orchestrator ${ms(cpu.orchestrator)} · AS ${ms(cpu.as)} · RS ${ms(cpu.rs)} · ` +
        `client ${ms(cpu.client)} (all processes ${ms(cpu.total)})`,
    );
  }
  for (const { benchmark, message } of report.errors) out.push("", `${benchmark} FAILED: ${message}`);
  if (report.skipped.length > 0) out.push("", `skipped (--only): ${report.skipped.join(", ")}`);
  return `${out.join("\n")}\n`;
}
