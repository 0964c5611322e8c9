/**
 * End-to-end: `pnpm demo --break RULE` for each rule, as a learner runs it. Each run must exit 0 with
 * `break.demonstrated: true`, name concrete evidence (statuses, counts), and mark the checks the broken
 * rule makes fail as "broken on purpose" — and only those may fail (scope-hierarchy fails none: that is
 * its lesson). A broken server says so on its start-up lines; a client rule leaves both servers intact.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { BREAK_RULES, type BreakRuleInfo } from "../../shared/break-rules.ts";
import { runDemo } from "../helpers/demo-process.ts";

/** What each run's `observed` must name: the concrete evidence of its consequence. */
const EVIDENCE: Record<string, RegExp[]> = {
  "replace-scope": [/authorize scope="files:write"/, /list-files → 403 insufficient_scope scope="files:read"/, /cost [3-9] more authorizations/],
  "refresh-to-widen": [/grant_type=refresh_token scope="files:read files:write" → 400 invalid_scope/, /0 authorizations/],
  "ignore-decline": [/D6: 2 more authorizations asked for files:admin again/],
  "no-retry-cap": [/broken-challenge sent 10 times, 10 × 403; 10 refreshes/, /safety stop after 10 rounds/],
  "stock-sdk": [/write-file → 403 insufficient_scope/, /grant_type=refresh_token → 200 scope="files:read"/, /Server returned 403 after trying upscoping/, /0 authorizations/],
  "scopes-supported": [/write-file → 403 scope="files:write", but the client read the resource metadata's scopes_supported "files:read"/, /2 refreshes \(no scope param\)/, /0 authorizations; write-file sent 3 times, 3 × 403/, /retry-limit, attempts 2, requiredScope "files:read"/],
  "scope-hierarchy": [/authorize scope="files:write" \(the challenged scope alone/, /then list-files → 200/, /granted "files:write": the AS grants the part of files:admin/, /8\/8 checks passed: the bug is invisible/],
  "no-state-check": [/a forged authorization response reached/, /POST \/token grant_type=authorization_code code=\S+ → 400 invalid_grant — PKCE/, /wrong iss never reached \/token/],
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

for (const { rule, by } of BREAK_RULES as readonly BreakRuleInfo[]) {
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
    if (rule === "scope-hierarchy") assert.equal(failed.length, 0, "the servers' hierarchy hides the bug: every check passes");
    else assert.ok(failed.length > 0, "breaking a rule fails a check");
    for (const check of failed) {
      assert.equal(check.brokenOnPurpose, true, `${check.id} failed without being marked: ${check.detail}`);
      assert.match(check.detail, /^broken on purpose: /);
    }
    assert.match(run.stderr, new RegExp(`BREAK ${rule} — this run breaks`), "the narration names the broken rule");
    for (const server of ["as", "rs"] as const) {
      const startUp = new RegExp(`\\[${server}\\] listening on .* BROKEN ON PURPOSE: ${rule} \\(${server.toUpperCase()}_BREAK\\)`);
      if (by.includes(server)) assert.match(run.stderr, startUp, `the ${server} says it is broken`);
      else assert.doesNotMatch(run.stderr, new RegExp(`\\[${server}\\].*BROKEN ON PURPOSE`), `the ${server} keeps every rule`);
    }
  });
}
