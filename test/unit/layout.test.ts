/**
 * The line between the lesson and its tooling, kept by a test.
 *
 * The lesson is the servers' protocol code (as/, resource-server/), the client with its liftable step-up
 * module and its story (client/), and what two processes share (shared/). The tooling is what a learner
 * never needs to understand step-up: scripts/ (the demo's launcher and bundles, the benchmarks, interop,
 * conformance, the live view), as/extras/ (consent page, pages for a person, the dev state file,
 * confidential clients), client/cli/ (the command line around the story: the broken clients of --break,
 * the checklist, terminal output, transcripts, and `pnpm client --call` with its logins) and shared/extras/
 * (the servers' exchange events for the live view). Tooling may use the lesson; no lesson file imports
 * tooling. Only a process's entry (`as/server.ts`, `resource-server/server.ts`, `client/main.ts`) composes the two.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "../..");
const TRACKED = execFileSync("git", ["ls-files"], { cwd: ROOT, encoding: "utf8" }).split("\n").filter(Boolean);

const TOOLING = ["scripts/", "as/extras/", "client/cli/", "shared/extras/"];
const ENTRIES = new Set(["as/server.ts", "resource-server/server.ts", "client/main.ts"]);
const LESSON = ["as/", "resource-server/", "client/", "shared/"];

const isTooling = (file: string) => TOOLING.some((dir) => file.startsWith(dir));
const isLesson = (file: string) => LESSON.some((dir) => file.startsWith(dir)) && !isTooling(file);

/** The project files a source file imports (relative specifiers only, resolved against the file). */
function importsOf(file: string): string[] {
  const source = readFileSync(path.join(ROOT, file), "utf8");
  // Static `from`, side-effect `import "…"`, dynamic `import("…")` or import(`…`), and `require("…")`.
  const specifiers = [...source.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)["'`](\.{1,2}\/[^"'`]+)["'`]/g)].map((m) => m[1]!);
  return specifiers.map((specifier) => path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier)));
}

test("the top level keeps its layout: the three processes, shared/, scripts/, docs/, test/ and the project files", () => {
  const top = new Set(TRACKED.map((file) => file.split("/")[0]!));
  const allowed = [
    "as", "resource-server", "client", "shared", "scripts", "docs", "test", ".ci",
    "package.json", "pnpm-lock.yaml", "pnpm-workspace.yaml", "tsconfig.json", ".npmrc", ".gitignore",
    "README.md", "SECURITY.md", "BENCHMARKS.md",
  ];
  assert.deepEqual([...top].filter((name) => !allowed.includes(name)), [], "unexpected top-level entries");
  for (const name of ["as", "resource-server", "client", "shared", "scripts", "docs", "test", "README.md"]) assert.ok(top.has(name), name);
});

test("no lesson file imports tooling; only a process's entry composes the two", () => {
  const lessonFiles = TRACKED.filter((file) => /\.(ts|mts|mjs)$/.test(file) && isLesson(file) && !ENTRIES.has(file));
  assert.ok(lessonFiles.length > 40, `the scan found ${lessonFiles.length} lesson files: it is not looking at the repository`);
  const crossings = lessonFiles.flatMap((file) => importsOf(file).filter(isTooling).map((target) => `${file} → ${target}`));
  assert.deepEqual(crossings, []);
});

test("the liftable module and the servers never import the client's or each other's folders", () => {
  const own = (file: string) => file.split("/")[0]!;
  const crossings = TRACKED.filter((file) => /\.ts$/.test(file) && ["as", "resource-server", "client"].includes(own(file))).flatMap((file) =>
    importsOf(file)
      .filter((target) => ["as", "resource-server", "client"].includes(own(target)) && own(target) !== own(file))
      .map((target) => `${file} → ${target}`),
  );
  assert.deepEqual(crossings, [], "a process never imports another process's folder (shared/ holds what they share)");
});

test("scripts/README.md says what each tool is for", () => {
  const readme = readFileSync(path.join(ROOT, "scripts/README.md"), "utf8");
  const tools = TRACKED.filter((file) => file.startsWith("scripts/") && file !== "scripts/README.md")
    .map((file) => file.slice("scripts/".length).split("/")[0]!)
    .filter((name, i, all) => all.indexOf(name) === i);
  const missing = tools.filter((name) => !readme.includes(`\`${name}`));
  assert.deepEqual(missing, [], "scripts/README.md does not name these");
});

test("the README is the lesson: at most 250 lines, and its reading paths give true line counts", () => {
  const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
  assert.ok(readme.split("\n").length <= 250, `README.md has ${readme.split("\n").length} lines`);
  const section = readme.slice(readme.indexOf("## Read the code"), readme.indexOf("\n## ", readme.indexOf("## Read the code") + 1));
  const rows = section.split("\n").filter((line) => /^\| \([a-d]\)/.test(line));
  assert.equal(rows.length, 4, "four reading paths, (a)–(d)");
  const limits = [300, 250, 250, 600];
  rows.forEach((row, i) => {
    let dir = "";
    let sum = 0;
    for (const [, href, lines] of row.matchAll(/\]\(([^)]+)\) \((\d+)/g)) {
      const file = href!.includes("/") ? href! : `${dir}/${href}`;
      dir = path.posix.dirname(file);
      const actual = readFileSync(path.join(ROOT, file), "utf8").split("\n").length - 1;
      assert.equal(Number(lines), actual, `README says ${file} has ${lines} lines; it has ${actual}`);
      sum += actual;
    }
    assert.equal(Number(row.split("|").at(-2)!.trim()), sum, `path ${i + 1}: the total`);
    assert.ok(sum <= limits[i]!, `path ${i + 1} is ${sum} lines, over ${limits[i]}`);
  });
});

test("every relative link in the README and docs/ resolves (files, and headings in Markdown files)", () => {
  const slug = (heading: string) => heading.trim().toLowerCase().replace(/[^\p{L}\p{N} -]/gu, "").replace(/ /g, "-");
  const headings = (file: string) => new Set(readFileSync(path.join(ROOT, file), "utf8").split("\n").filter((l) => /^#+ /.test(l)).map((l) => slug(l.replace(/^#+ /, ""))));
  const broken: string[] = [];
  for (const file of TRACKED.filter((f) => f.endsWith(".md") && (f === "README.md" || f.startsWith("docs/") || f === "SECURITY.md" || f === "scripts/README.md"))) {
    const text = readFileSync(path.join(ROOT, file), "utf8").replace(/```[\s\S]*?```/g, "");
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target!)) continue;
      const [pathPart, anchor] = target!.split("#") as [string, string | undefined];
      const resolved = pathPart === "" ? file : path.posix.normalize(path.posix.join(path.posix.dirname(file), pathPart));
      const exists = TRACKED.some((f) => f === resolved || f.startsWith(`${resolved.replace(/\/$/, "")}/`));
      if (!exists) broken.push(`${file}: ${target}`);
      else if (anchor && resolved.endsWith(".md") && !headings(resolved).has(anchor)) broken.push(`${file}: ${target} (no such heading)`);
    }
  }
  assert.deepEqual(broken, []);
});

test("every project file the documents name in backticks exists", () => {
  const missing: string[] = [];
  for (const file of TRACKED.filter((f) => f.endsWith(".md"))) {
    const text = readFileSync(path.join(ROOT, file), "utf8");
    for (const [, named] of text.matchAll(/`((?:as|resource-server|client|shared|scripts|test|docs)\/[\w./-]+\.(?:ts|mts|mjs|md|txt))`/g)) {
      if (!TRACKED.includes(named!)) missing.push(`${file}: ${named}`);
    }
  }
  assert.deepEqual(missing, []);
});
