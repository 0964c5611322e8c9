/**
 * End-to-end: `pnpm demo --break RULE` for each of the seven rules, as a learner runs it. Each run must
 * exit 0 with `break.demonstrated: true`, name concrete evidence (statuses, counts), and mark the checks
 * the broken rule makes fail as "broken on purpose" — and only those may fail.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { BREAK_RULES } from "../../shared/break-rules.ts";
import { runDemo } from "../helpers/demo-process.ts";

/** What each run's `observed` must name: the concrete evidence of its consequence. */
const EVIDENCE: Record<string, RegExp[]> = {
  "replace-scope": [/authorize scope="files:write"/, /list-files → 403 insufficient_scope scope="files:read"/, /cost [3-9] more authorizations/],
  "refresh-to-widen": [/grant_type=refresh_token scope="files:read files:write" → 400 invalid_scope/, /0 authorizations/],
  "ignore-decline": [/D6: 2 more authorizations asked for files:admin again/],
  "no-retry-cap": [/broken-challenge sent 10 times, 10 × 403; 10 refreshes/, /safety stop after 10 rounds/],
  "stock-sdk": [/write-file → 403 insufficient_scope/, /grant_type=refresh_token → 200 scope="files:read"/, /Server returned 403 after trying upscoping/, /0 authorizations/],
  "lenient-redirect": [/→ 201 client_id=/, /→ 302 Location https:\/\/attacker\.example\/cb with code=/, /0 requests left loopback/],
  "no-pkce": [/without code_verifier → 200 access_token=/],
};

test("pnpm demo --break list: one line per rule", async () => {
  const run = await runDemo(["--break", "list"]);
  assert.equal(run.code, 0, run.stderr);
  const lines = run.stdout.trim().split("\n");
  assert.deepEqual(lines.map((line) => line.split(/\s+/)[0]), BREAK_RULES.map((r) => r.rule));
});

test("pnpm demo --break with an unknown rule is a usage error (exit 2)", async () => {
  const run = await runDemo(["--break", "no-such-rule", "--json"]);
  assert.equal(run.code, 2);
  assert.equal(run.stdout, "");
  assert.match(run.stderr, /unknown rule for --break: no-such-rule/);
});

for (const { rule, side } of BREAK_RULES) {
  test(`pnpm demo --break ${rule} --json: the predicted consequence is demonstrated`, async () => {
    const run = await runDemo(["--break", rule, "--json"]);
    // On failure, show the demo's own account: what failed, then every process's output.
    assert.equal(run.code, 0, run.stderr.slice(Math.max(0, run.stderr.indexOf("[demo] FAILED"))).slice(0, 8000));
    const report = JSON.parse(run.stdout);
    assert.equal(report.ok, true);
    assert.equal(report.break.rule, rule);
    assert.equal(report.break.demonstrated, true, report.break.observed);
    assert.equal(typeof report.break.predicted, "string");
    for (const evidence of EVIDENCE[rule]!) assert.match(report.break.observed, evidence);
    const failed = report.checks.filter((c: { ok: boolean }) => !c.ok);
    assert.ok(failed.length > 0, "breaking a rule fails a check");
    for (const check of failed) {
      assert.equal(check.brokenOnPurpose, true, `${check.id} failed without being marked: ${check.detail}`);
      assert.match(check.detail, /^broken on purpose: /);
    }
    assert.match(run.stderr, new RegExp(`BREAK ${rule} — this run breaks`), "the narration names the broken rule");
    if (side === "as") assert.match(run.stderr, new RegExp(`\\[as\\] listening on .* BROKEN ON PURPOSE: ${rule}`));
    else assert.doesNotMatch(run.stderr, /BROKEN ON PURPOSE/, "a client rule leaves the servers intact");
  });
}
