/**
 * End-to-end: the benchmark harness (`pnpm bench`, P1–P4) runs from this checkout and reports every
 * figure in the documented JSON shape. `--smoke` uses tiny counts, so this checks that each benchmark
 * really ran (real AS/RS children, real client, real demo) — never how fast it was: speed is measured
 * by `pnpm bench` itself, not asserted here (DEVELOPERS.md).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { test } from "node:test";
import { PROJECT_ROOT } from "../../scripts/processes.ts";

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runBench(args: string[]): Promise<Run> {
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/bench.ts", ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => (stdout += chunk));
  child.stderr.on("data", (chunk) => (stderr += chunk));
  // The harness has its own deadline; this is the backstop so the test can never hang.
  const backstop = setTimeout(() => child.kill("SIGKILL"), 100_000);
  return new Promise((resolve) =>
    child.on("close", (code) => {
      clearTimeout(backstop);
      resolve({ code, stdout, stderr });
    }),
  );
}

const isPositive = (value: unknown): value is number => typeof value === "number" && Number.isFinite(value) && value > 0;

test("pnpm bench --smoke --json: one JSON document with every figure, the machine and the date", { timeout: 120_000 }, async () => {
  const { code, stdout, stderr } = await runBench(["--smoke", "--json"]);
  assert.equal(code, 0, `bench exited ${code}\n${stderr}`);
  const report = JSON.parse(stdout); // stdout is exactly one JSON document; progress went to stderr
  assert.match(stderr, /\[bench\] P1/);

  assert.equal(report.mode, "smoke");
  assert.ok(!Number.isNaN(Date.parse(report.date)), `date ${report.date}`);
  assert.ok(Number.isInteger(report.machine.cores) && report.machine.cores >= 1);
  assert.equal(report.machine.node, process.version);
  assert.equal(typeof report.machine.cpu, "string");

  for (const figure of [
    "p1_stepup_median_ms",
    "p1_stepup_p95_ms",
    "p2_gate_ratio",
    "p2_gate_on_calls_per_s",
    "p2_gate_off_calls_per_s",
    "p3_tokens_per_s",
    "p4_demo_wall_ms",
    "p4_demo_cpu_ms",
    "p4_demo_vs_v2_ratio",
  ]) {
    assert.ok(isPositive(report[figure]), `${figure} = ${report[figure]}`);
  }
  assert.ok(report.p1_stepup_p95_ms >= report.p1_stepup_median_ms);
  assert.deepEqual(Object.keys(report.targets).sort(), ["p1_stepup_median_ms", "p2_gate_ratio", "p3_tokens_per_s", "p4_demo_cpu_ms", "p4_demo_vs_v2_ratio", "p4_demo_wall_ms"]);
  // A smoke run's counts are too small to judge a target: `met` says so rather than guess.
  assert.deepEqual(Object.values(report.met), [null, null, null, null, null, null]);
  assert.deepEqual(report.errors, []);
  assert.deepEqual(report.skipped, []);

  // The details show each benchmark did its real work.
  const { p1, p2, p3, p4 } = report.details;
  assert.ok(p1.samples >= 1 && isPositive(p1.breakdown.token) && isPositive(p1.breakdown.retry));
  assert.ok(p2.calls.on > 0 && p2.calls.off > 0 && p2.blockRatios.length >= 1);
  assert.ok(p3.tokens >= 2 && isPositive(p3.codeExchangesPerS) && isPositive(p3.refreshesPerS));
  assert.equal(p4.runsMs.length, 1);
  assert.ok(p4.checks > 0, "the demo run reported its checks");
  // The breakdown names every process of the run: each one was seen starting and using CPU.
  for (const process of ["pnpm", "orchestrator", "as", "rs", "client"]) assert.ok(isPositive(p4.cpu[process]), `P4 CPU of ${process}`);
  assert.ok(isPositive(p4.phases.story) && isPositive(p4.phases.asStartup), "P4 phases");
});

test("pnpm bench refuses an unknown benchmark with a usage error", { timeout: 30_000 }, async () => {
  const { code, stdout, stderr } = await runBench(["--only", "p9"]);
  assert.equal(code, 2);
  assert.equal(stdout, "");
  assert.match(stderr, /unknown benchmark p9/);
});
