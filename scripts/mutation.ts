/**
 * `pnpm test:mutation` — StrykerJS over the rule modules: does every rule line have a test that fails
 * when the line changes? Stryker changes one thing at a time (a `some` into `every`, a condition into
 * `true`, a line removed), runs the tests that cover it, and counts a mutant as killed when one fails.
 *
 *   node --import tsx scripts/mutation.ts [--group NAME] [--incremental]
 *
 * Three groups, each mutated against its own fast tests (the unit tests, and the in-process
 * integration tests where a rule only runs inside an app), each with its `break` threshold: below it,
 * the run fails. docs/testing.md lists the surviving mutants that are equivalent (no test can tell
 * them apart from the original) and why.
 *
 * Stryker 10 needs Node ≥ 22: it and its tap runner (one test file = one test, so each mutant runs only
 * the files that cover it) are installed with npm into the git-ignored `.cache/` on first use, pinned
 * below, like the conformance suite (scripts/cache.ts), so `pnpm install` on Node 20 never sees them.
 * The test files run on that Node 22 with its own type stripping (22.18+), which starts faster than tsx.
 * `--incremental` reuses the previous run's results for the mutants whose code and tests did not change
 * (`.cache/mutation/<group>.incremental.json`).
 *
 * Exit 0 when every group meets its threshold; 1 when one does not; 2 on a bad flag; 3 on a setup problem.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { CACHE_DIR, ensureNode22, installedVersion, npmInstall } from "./cache.ts";
import { PROJECT_ROOT } from "./processes.ts";

export const STRYKER_VERSION = "10.0.0"; // @stryker-mutator/core and @stryker-mutator/tap-runner move together

interface Group {
  name: string;
  /** What Stryker mutates (globs from the project root). */
  mutate: string[];
  /** The test files that judge the mutants: fast, in-process ones. */
  tests: string[];
  /** Stryker's `thresholds.break`: a lower mutation score fails the run. */
  break: number;
}

export const GROUPS: readonly Group[] = [
  {
    name: "client-step-up",
    mutate: ["client/step-up/**/*.ts"],
    tests: ["test/unit/client-step-up.test.ts", "test/unit/step-up-liftable.test.ts", "test/unit/client-challenge.test.ts", "test/security/property-challenge.test.ts"],
    break: 85,
  },
  {
    name: "as-rules",
    mutate: ["as/redirect-uri.ts", "as/pkce.ts", "as/grants/**/*.ts"],
    tests: ["test/unit/redirect-uri.test.ts", "test/unit/pkce.test.ts", "test/integration/as-token.test.ts"],
    break: 85,
  },
  {
    name: "rs-rules",
    mutate: ["resource-server/scope-gate.ts", "resource-server/challenge.ts"],
    tests: ["test/unit/rs-scope-gate.test.ts", "test/unit/rs-challenge.test.ts", "test/integration/rs-scopes.test.ts"],
    break: 80,
  },
];

const PACKAGES = ["@stryker-mutator/core", "@stryker-mutator/tap-runner"];
const prefix = path.join(CACHE_DIR, "stryker");
const stryker = path.join(prefix, "node_modules/@stryker-mutator/core/bin/stryker.js");
const workDir = path.join(CACHE_DIR, "mutation");
const rel = (file: string) => path.relative(PROJECT_ROOT, file);

class UsageError extends Error {}
class SetupError extends Error {}

/** Node 22 (≥ 22.18, for type stripping) and the pinned Stryker, installed into `.cache/` if missing. */
function setup(): string {
  const node = ensureNode22();
  const version = spawnSync(node, ["-p", "process.versions.node"], { encoding: "utf8" }).stdout.trim();
  const [major = 0, minor = 0] = version.split(".").map(Number);
  if (major === 22 && minor < 18) throw new SetupError(`Node ${version} in ${rel(node)} cannot strip types (22.18+ can): delete .cache/node-22 and run again`);
  if (PACKAGES.some((name) => installedVersion(name, prefix) !== STRYKER_VERSION)) {
    npmInstall(prefix, PACKAGES.map((name) => `${name}@${STRYKER_VERSION}`), node);
  }
  return node;
}

/** The Stryker configuration of one group, written where Stryker reads it (generated: nothing to edit). */
function configFor(group: Group, incremental: boolean): string {
  const config = {
    $schema: rel(path.join(prefix, "node_modules/@stryker-mutator/core/schema/stryker-schema.json")),
    mutate: group.mutate,
    testRunner: "tap",
    plugins: ["@stryker-mutator/tap-runner"],
    // One process per test file; Node's own runner with its TAP reporter and Stryker's coverage hook.
    tap: { testFiles: group.tests, nodeArgs: ["--test-reporter=tap", "-r", "{{hookFile}}", "{{testFile}}"], forceBail: true },
    coverageAnalysis: "perTest",
    concurrency: 2, // the machines have 2 cores
    // A mutant that loops (a parser's `i++` removed) is a timeout, counted as detected: do not wait long.
    timeoutMS: 1500,
    thresholds: { high: 95, low: group.break, break: group.break },
    incremental,
    incrementalFile: rel(path.join(workDir, `${group.name}.incremental.json`)),
    tempDirName: rel(path.join(workDir, `tmp-${group.name}`)),
    cleanTempDir: "always",
    // The sandbox is a copy of the project (node_modules linked): not the caches, state or docs.
    ignorePatterns: [".cache", ".state", "tmp", "docs", "*.md"],
    reporters: ["clear-text", "json"],
    clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
    jsonReporter: { fileName: rel(path.join(workDir, `${group.name}.report.json`)) },
  };
  const file = path.join(workDir, `${group.name}.config.json`);
  writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`);
  return file;
}

interface Counts {
  killed: number;
  timeout: number;
  survived: number;
  noCoverage: number;
}

/** Per file: what the JSON report (mutation-testing-report-schema) says happened to its mutants. */
function scoresOf(group: Group): Array<{ file: string; score: number } & Counts> {
  const file = path.join(workDir, `${group.name}.report.json`);
  if (!existsSync(file)) throw new SetupError(`Stryker wrote no report for ${group.name} (its output above says why: a failing test?)`);
  const report = JSON.parse(readFileSync(file, "utf8")) as {
    files: Record<string, { mutants: Array<{ status: string }> }>;
  };
  return Object.entries(report.files).map(([file, { mutants }]) => {
    const count = (status: string) => mutants.filter((m) => m.status === status).length;
    const counts = { killed: count("Killed"), timeout: count("Timeout"), survived: count("Survived"), noCoverage: count("NoCoverage") };
    const valid = counts.killed + counts.timeout + counts.survived + counts.noCoverage;
    return { file, score: valid === 0 ? 100 : (100 * (counts.killed + counts.timeout)) / valid, ...counts };
  });
}

function main(): number {
  let values: { group?: string; incremental?: boolean };
  try {
    values = parseArgs({ options: { group: { type: "string" }, incremental: { type: "boolean" } } }).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const groups = values.group === undefined ? GROUPS : GROUPS.filter((g) => g.name === values.group);
  if (groups.length === 0) throw new UsageError(`no such group: ${values.group} (${GROUPS.map((g) => g.name).join(", ")})`);
  const node = setup();
  mkdirSync(workDir, { recursive: true });

  const rows: string[] = [];
  const failed: string[] = [];
  for (const group of groups) {
    const started = performance.now();
    rmSync(path.join(workDir, `${group.name}.report.json`), { force: true }); // never judge by an old report
    console.error(`[mutation] ${group.name}: ${group.mutate.join(" ")} against ${group.tests.length} test files, break at ${group.break}%`);
    // The tap runner starts the test files with the `node` on PATH: Node 22's.
    const run = spawnSync(node, [stryker, "run", configFor(group, values.incremental === true)], {
      cwd: PROJECT_ROOT,
      stdio: ["ignore", 2, 2], // Stryker's tables and survivors go to stderr; stdout keeps the summary
      env: { ...process.env, PATH: `${path.dirname(node)}${path.delimiter}${process.env.PATH ?? ""}`, FORCE_COLOR: "0" },
    });
    const seconds = (performance.now() - started) / 1000;
    if (run.status !== 0 && run.status !== 1) throw new SetupError(`Stryker could not run ${group.name} (exit ${run.status ?? run.signal})`);
    const scores = scoresOf(group);
    const all = scores.reduce<Counts>(
      (sum, s) => ({ killed: sum.killed + s.killed, timeout: sum.timeout + s.timeout, survived: sum.survived + s.survived, noCoverage: sum.noCoverage + s.noCoverage }),
      { killed: 0, timeout: 0, survived: 0, noCoverage: 0 },
    );
    const total = all.killed + all.timeout + all.survived + all.noCoverage;
    const score = total === 0 ? 100 : (100 * (all.killed + all.timeout)) / total;
    // Stryker exits 1 below the break threshold (and for a failed initial test run, reported above).
    if (run.status === 1 || score < group.break) failed.push(`${group.name} scored ${score.toFixed(2)}%, below its break threshold of ${group.break}%`);
    for (const s of scores) {
      rows.push(`| ${group.name} | \`${s.file}\` | ${s.score.toFixed(2)} | ${s.killed} | ${s.timeout} | ${s.survived} | ${s.noCoverage} |`);
    }
    rows.push(`| **${group.name}** | all (${seconds.toFixed(0)} s, break ${group.break}) | **${score.toFixed(2)}** | ${all.killed} | ${all.timeout} | ${all.survived} | ${all.noCoverage} |`);
  }
  console.log("| group | file | score % | killed | timeout | survived | no coverage |\n|---|---|---|---|---|---|---|");
  for (const row of rows) console.log(row);
  for (const problem of failed) console.error(`[mutation] ${problem}`);
  return failed.length === 0 ? 0 : 1;
}

try {
  process.exitCode = main();
} catch (error) {
  console.error(`[mutation] ${error instanceof Error ? error.message : String(error)}`);
  if (error instanceof UsageError) console.error("usage: pnpm test:mutation [--group NAME] [--incremental]");
  process.exitCode = error instanceof UsageError ? 2 : 3;
}
