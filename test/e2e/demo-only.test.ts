/**
 * End-to-end: `pnpm demo --only Dn` (T9) for each of D2–D8 — D1 and that step run, and pass: each step's
 * checks are written against the state it starts from — and the other steps are reported as not run,
 * counting neither way; a break that shows in Dn is demonstrated by D1 and Dn alone. `--step` without a
 * terminal is refused before anything starts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { STEP_IDS } from "../../shared/report.ts";
import { runDemo } from "../helpers/demo-process.ts";

for (const only of STEP_IDS.slice(1)) {
  test(`pnpm demo --only ${only} --json: D1 and ${only} pass, the rest are not run`, async () => {
    const run = await runDemo(["--only", only, "--json"]);
    assert.equal(run.code, 0, run.stderr.slice(-4000));
    const report = JSON.parse(run.stdout);
    assert.equal(report.ok, true);
    assert.deepEqual(report.checks.map((c: { id: string }) => c.id), STEP_IDS, "the checklist still names every step");
    for (const check of report.checks) {
      const ran = check.id === "D1" || check.id === only;
      if (ran) assert.equal(check.ok, true, `${check.id}: ${check.detail}`);
      else assert.deepEqual([check.ok, check.skipped, check.detail], [false, true, `not run (--only ${only})`], check.id);
    }
    assert.match(run.stderr, new RegExp(`PASS 2/2 checks passed in \\d+ ms; 6 not run \\(--only ${only}\\)`));
    const narrated = [...run.stderr.matchAll(/^(D\d) /gm)].map((m) => m[1]);
    assert.deepEqual(narrated, ["D1", only], "only D1 and the chosen step are narrated");
  });
}

test("pnpm demo --step without a terminal: a usage error (exit 2) before any server starts", async () => {
  const run = await runDemo(["--step"]);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /^demo: --step waits for Enter after each step: it needs a terminal/);
  assert.doesNotMatch(run.stdout + run.stderr, /starting the AS/);
});

test("pnpm demo --only D3 --break replace-scope --json: a break that shows in D3 is demonstrated by D1 and D3 alone", async () => {
  const run = await runDemo(["--only", "D3", "--break", "replace-scope", "--json"]);
  assert.equal(run.code, 0, run.stderr.slice(-4000));
  const report = JSON.parse(run.stdout);
  assert.equal(report.break.demonstrated, true, report.break.observed);
  assert.deepEqual(report.checks.filter((c: { skipped?: boolean }) => !c.skipped).map((c: { id: string; ok: boolean }) => `${c.id} ${c.ok}`), ["D1 true", "D3 false"]);
  assert.equal(report.checks.find((c: { id: string }) => c.id === "D3").brokenOnPurpose, true);
});
