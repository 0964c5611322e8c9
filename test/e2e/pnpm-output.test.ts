/**
 * Through pnpm itself, as a user types it: pnpm reports its own errors (no silent reporter in
 * pnpm-workspace.yaml hides them), and `pnpm -s demo --json` — the documented form for a machine
 * reader (README) — puts exactly one JSON document on stdout: `-s` silences pnpm's own lines for that
 * run, among them the "> pkg@version demo" header it prints on stdout before a script.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { runPnpm } from "../helpers/pnpm.ts";

test("pnpm reports its own errors: an unknown script is named, exit 1", { timeout: 60_000 }, async () => {
  const { code, stdout, stderr } = await runPnpm(["run", "no-such-script"]);
  assert.equal(code, 1);
  assert.match(stdout + stderr, /ERR_PNPM_NO_SCRIPT.*no-such-script/);
});

test("pnpm -s demo --json: stdout is exactly one JSON document, the demo's report", { timeout: 90_000 }, async () => {
  const { code, stdout, stderr } = await runPnpm(["-s", "demo", "--json"], { ...process.env, NO_COLOR: "1" });
  assert.equal(code, 0, stderr);
  const report = JSON.parse(stdout) as { ok: boolean; checks: Array<{ id: string; ok: boolean }> };
  assert.equal(stdout.trimStart()[0], "{", "nothing before the document");
  assert.equal(report.ok, true);
  assert.ok(report.checks.length > 0 && report.checks.every((check) => check.ok));
});
