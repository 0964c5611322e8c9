/**
 * docs/breaks.md cannot go stale: it shows every `--break` rule, each as a diff of the line that keeps the
 * rule (`-`) against the line that breaks it (`+`), every line copied from the file its `# path` header
 * names — and still there, verbatim. And the committed transcript's break table cites what `--break list` does.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { BREAK_RULES, breakRuleLines } from "../../shared/break-rules.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const DOC = readFileSync(path.join(ROOT, "docs/breaks.md"), "utf8");

interface Shown {
  rule: string;
  file: string;
  side: "correct" | "broken";
  line: string;
}

/** Every `-` / `+` line of every diff, with the rule of its section and the file of its header. */
function shownLines(): Shown[] {
  const shown: Shown[] = [];
  let rule = "";
  for (const section of DOC.split(/^## /m).slice(1)) {
    rule = /^`([a-z-]+)`/.exec(section)?.[1] ?? "";
    for (const [, body] of section.matchAll(/```diff\n([^]*?)```/g)) {
      let file = "";
      for (const line of body!.split("\n")) {
        if (line.startsWith("# ")) file = line.slice(2).split(" ")[0]!;
        else if (line.startsWith("-") || line.startsWith("+")) shown.push({ rule, file, side: line[0] === "-" ? "correct" : "broken", line: line.slice(1) });
      }
    }
  }
  return shown;
}

test("docs/breaks.md has a section for every --break rule, in the catalog's order, and each shows a correct and a broken line", () => {
  const sections = [...DOC.matchAll(/^## `([a-z-]+)`/gm)].map((m) => m[1]);
  assert.deepEqual(sections, BREAK_RULES.map((r) => r.rule));
  const shown = shownLines();
  for (const { rule } of BREAK_RULES) {
    for (const side of ["correct", "broken"] as const) {
      assert.ok(shown.some((s) => s.rule === rule && s.side === side), `${rule} shows no ${side} line`);
    }
  }
});

test("every line a diff shows still stands, verbatim, in the file it names", () => {
  const stale: string[] = [];
  const shown = shownLines();
  assert.ok(shown.length >= 30, `the scan found ${shown.length} lines: it is not reading the diffs`);
  for (const { rule, file, side, line } of shown) {
    if (!file || !existsSync(path.join(ROOT, file))) {
      stale.push(`${rule}: no such file "${file}" for: ${line.trim()}`);
      continue;
    }
    const lines = readFileSync(path.join(ROOT, file), "utf8").split("\n");
    if (!lines.includes(line)) stale.push(`${rule} (${side}): ${file} no longer has: ${line.trim()}`);
  }
  assert.deepEqual(stale, []);
});

test("a broken line lives outside the module people copy, and outside the correct rule's file", () => {
  for (const { rule, file, side } of shownLines().filter((s) => s.side === "broken")) {
    assert.ok(!file.startsWith("client/step-up/"), `${rule}: client/step-up/ has no broken line`);
    assert.ok(/(^|\/)breaks\.ts$|^shared\/scope-hierarchy\.ts$/.test(file), `${rule}: a ${side} line in ${file}, not in a breaks module`);
  }
});

test("the committed transcript's break table cites what `pnpm demo --break list` cites", () => {
  const transcript = readFileSync(path.join(ROOT, "docs/transcript.md"), "utf8");
  const rows = [...transcript.matchAll(/^\| `pnpm demo --break ([a-z-]+)` \| (\S+) \| (.*?) \| .* \|$/gm)].map(([, rule, by, breaks]) => [rule, by, breaks]);
  const listed = breakRuleLines().map((line) => /^(\S+)\s+(\S+)\s+breaks (.*)$/.exec(line)!.slice(1));
  assert.deepEqual(rows, listed);
});
