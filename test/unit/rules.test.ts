/**
 * T4: the repository explains itself. Every rule id cited anywhere (A…, B…, C…, D…, P…, R…, S…, T…)
 * is defined in docs/rules.md; nothing points at a document outside the repository; and for each story
 * step the narration, the README and docs/rules.md cite the same sources.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { STEPS } from "../../client/story.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const RULES = readFileSync(path.join(ROOT, "docs/rules.md"), "utf8");
const SKIP_DIRS = new Set(["node_modules", ".git", ".cache", "coverage"]);
const TEXT_FILE = /\.(ts|mts|mjs|js|md|json|ya?ml)$/;

/** Every source and documentation file of the repository (the generated lockfile aside). */
function repositoryFiles(dir = ROOT): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP_DIRS.has(entry.name)) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...repositoryFiles(full));
    else if (TEXT_FILE.test(entry.name) || path.relative(ROOT, full) === path.join(".ci", "run")) out.push(full);
  }
  return out.filter((f) => !f.endsWith("pnpm-lock.yaml"));
}

const RULE_ID = /\b([ABCDPRST](?:[1-9]|1[0-9])(?:\.[1-9])?)\b/g;
/** The ids docs/rules.md defines: a bold `**ID —` at the start of an entry. */
const defined = new Set([...RULES.matchAll(/\*\*([ABCDPRST]\d{1,2}(?:\.\d)?) —/g)].map((m) => m[1]!));

test("docs/rules.md defines the rule families it promises", () => {
  for (const id of ["S1", "A1", "A12", "R1", "R10", "C1", "C4.1", "C4.6", "C7", "D1", "D9", "B1", "P1", "T1", "T7"]) {
    assert.ok(defined.has(id), `${id} is not defined in docs/rules.md`);
  }
});

test("every rule id cited in the repository is defined in docs/rules.md", () => {
  const missing: string[] = [];
  let cited = 0;
  for (const file of repositoryFiles()) {
    const text = readFileSync(file, "utf8");
    for (const [, id] of text.matchAll(RULE_ID)) {
      cited++;
      if (!defined.has(id!)) missing.push(`${path.relative(ROOT, file)}: ${id}`);
    }
  }
  assert.ok(cited > 100, `the scan found ${cited} citations: it is not looking at the repository`);
  assert.deepEqual(missing, [], "cited but not defined in docs/rules.md");
});

test("no file cites a document outside the repository (the spec, an issue number)", () => {
  // Built from pieces so that this file does not match itself.
  const outside = [new RegExp(`\\b${"SP"}EC\\b`), new RegExp(`\\b${"iss"}ues? #?\\d+`, "i")];
  const offenders: string[] = [];
  for (const file of repositoryFiles()) {
    readFileSync(file, "utf8")
      .split("\n")
      .forEach((line, i) => {
        if (outside.some((re) => re.test(line))) offenders.push(`${path.relative(ROOT, file)}:${i + 1}: ${line.trim()}`);
      });
  }
  assert.deepEqual(offenders, []);
});

/** The sources a citation names: RFC sections, SEPs, the MCP specification. */
function sources(text: string): string[] {
  const found = text.match(/RFC \d{4}(?: §\d+(?:\.\d+)*)?|SEP-\d+|MCP 2026-07-28/g) ?? [];
  return [...new Set(found)].sort();
}

test("for each story step, the narration, the README and docs/rules.md cite the same sources", () => {
  const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
  assert.equal(STEPS.length, 8);
  for (const step of STEPS) {
    const row = readme.split("\n").find((line) => line.startsWith(`| ${step.id} |`));
    assert.ok(row, `the README's story table has no ${step.id} row`);
    const readmeSources = sources(row.split("|").at(-2)!);
    const entry = RULES.split("\n\n").find((p) => p.startsWith(`**${step.id} —`));
    assert.ok(entry, `docs/rules.md has no ${step.id} entry`);
    const rulesSources = sources(entry.slice(entry.indexOf("Source:")));
    const narration = sources(step.citation);
    assert.ok(narration.length > 0, `${step.id}'s narration cites nothing`);
    assert.deepEqual(readmeSources, narration, `${step.id}: README vs narration`);
    assert.deepEqual(rulesSources, narration, `${step.id}: docs/rules.md vs narration`);
  }
});

test("the flowchart of the middleware's decisions cites exactly the rule ids client/step-up/step-up.ts enforces", () => {
  const chart = /```mermaid\nflowchart[^]*?```/.exec(RULES)?.[0];
  assert.ok(chart, "docs/rules.md has a Mermaid flowchart");
  const ids = (text: string) => [...new Set([...text.matchAll(RULE_ID)].map((m) => m[1]!))].sort();
  const enforced = ids(readFileSync(path.join(ROOT, "client/step-up/step-up.ts"), "utf8"));
  assert.ok(enforced.includes("C4.1") && enforced.includes("C5"), `the scan of step-up.ts found ${enforced.join(", ")}`);
  assert.deepEqual(ids(chart), enforced);
  // Every decision box names its rule: no box without an id.
  const boxes = [...chart.matchAll(/\w+(?:\["([^"]+)"\]|\{"([^"]+)"\})/g)].map((m) => m[1] ?? m[2]!);
  const citesARule = new RegExp(RULE_ID.source);
  const silent = boxes.filter((text) => !citesARule.test(text) && !["send the request with the held token", "status?", "return the 403 as it is"].includes(text));
  assert.deepEqual(silent, [], "boxes that cite no rule");
});
