/**
 * The MCP conformance suite's client scenarios against `pnpm client --call` — every scenario the suite
 * lists, one after the other, compared with `scripts/conformance-expected-failures.txt`.
 *
 *   node --import tsx scripts/conformance.ts [--scenario NAME]
 *
 * The suite (`@modelcontextprotocol/conformance`, pinned below) needs Node ≥ 22: both are installed
 * into the git-ignored `.cache/` with npm on first use (`node@22` from npm leaves the system Node alone).
 * For each scenario the suite starts its own MCP server (and AS), runs `conformance-client.ts <url>` and
 * checks what the client did; its exit code says whether every check passed.
 *
 * Exit 0 when exactly the listed scenarios fail; 1 when another fails or a listed one passes; 2 on a
 * bad flag; 3 on a setup problem (the suite could not be installed or run).
 */
import { spawn, spawnSync } from "node:child_process";
import { parseArgs } from "node:util";
import { readFileSync } from "node:fs";
import path from "node:path";
import { PROJECT_ROOT } from "./processes.ts";
import { CACHE_DIR, ensureNode22, installedVersion, NODE_22, npmInstall } from "./cache.ts";

export const CONFORMANCE_VERSION = "0.1.16";
/** A scenario that has not finished after this long is killed and counts as failed. */
const SCENARIO_TIMEOUT_MS = 120_000;

const node = NODE_22;
const SUITE_PACKAGE = "@modelcontextprotocol/conformance";
const suitePrefix = path.join(CACHE_DIR, "conformance");
const suite = path.join(suitePrefix, "node_modules", SUITE_PACKAGE, "dist/index.js");
const CLIENT_COMMAND = "node --import tsx scripts/conformance-client.ts";

function setup(): void {
  ensureNode22();
  if (installedVersion(SUITE_PACKAGE, suitePrefix) !== CONFORMANCE_VERSION) {
    npmInstall(suitePrefix, `${SUITE_PACKAGE}@${CONFORMANCE_VERSION}`, node);
  }
}

/** `name  reason` per line; `#` starts a comment. */
function expectedFailures(): Map<string, string> {
  const text = readFileSync(path.join(PROJECT_ROOT, "scripts/conformance-expected-failures.txt"), "utf8");
  const entries = new Map<string, string>();
  for (const line of text.split("\n")) {
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const [name, ...reason] = trimmed.split(/\s+/);
    if (reason.length === 0) throw new Error(`expected failure ${name} has no reason`);
    entries.set(name!, reason.join(" "));
  }
  return entries;
}

function listScenarios(): string[] {
  const result = spawnSync(node, [suite, "list", "--client"], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`conformance list failed: ${result.stderr}`);
  return [...result.stdout.matchAll(/^\s+- (\S+)/gm)].map((m) => m[1]!);
}

interface Outcome {
  passed: boolean;
  seconds: number;
  output: string;
}

function runScenario(scenario: string): Promise<Outcome> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(node, [suite, "client", "--command", CLIENT_COMMAND, "--scenario", scenario], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const collect = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-20_000); // keep the tail only
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    const timer = setTimeout(() => child.kill("SIGKILL"), SCENARIO_TIMEOUT_MS);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ passed: code === 0, seconds: (performance.now() - started) / 1000, output });
    });
  });
}

const USAGE = "usage: pnpm conformance [--scenario NAME]";

/** A bad flag or an unknown scenario: exit 2, as every command here does for a usage error. */
class UsageError extends Error {}

async function main(): Promise<number> {
  let only: string | undefined;
  try {
    only = parseArgs({ options: { scenario: { type: "string" } } }).values.scenario;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  setup();
  const expected = expectedFailures();
  const listed = listScenarios();
  const scenarios = only === undefined ? listed : listed.filter((s) => s === only);
  if (only !== undefined && scenarios.length === 0) throw new UsageError(`no such scenario: ${only}`);
  if (scenarios.length === 0) throw new Error("the suite lists no scenario");
  const unknown = [...expected.keys()].filter((name) => !listed.includes(name));
  if (unknown.length > 0) throw new Error(`expected failures name scenarios the suite does not list: ${unknown.join(", ")}`);

  const problems: string[] = [];
  let passes = 0;
  console.log(`| scenario | result | expected | s |\n|---|---|---|---|`);
  for (const scenario of scenarios) {
    const { passed, seconds, output } = await runScenario(scenario);
    const reason = expected.get(scenario);
    if (passed) passes++;
    console.log(`| \`${scenario}\` | ${passed ? "pass" : "FAIL"} | ${reason === undefined ? "pass" : `fail: ${reason}`} | ${seconds.toFixed(1)} |`);
    if (!passed && reason === undefined) problems.push(`${scenario} failed unexpectedly:\n${output.split("\n").slice(-40).join("\n")}`);
    if (passed && reason !== undefined) problems.push(`${scenario} passes now: remove it from scripts/conformance-expected-failures.txt`);
  }
  console.log(`\n${passes} of ${scenarios.length} scenarios pass; ${problems.length} unexpected results`);
  for (const problem of problems) console.error(`\n[conformance] ${problem}`);
  return problems.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`[conformance] ${error instanceof Error ? error.message : String(error)}`);
    if (error instanceof UsageError) console.error(USAGE);
    // 2: a usage error; 3: the suite could not be set up or run (as `pnpm demo` and `pnpm interop` use 3).
    process.exit(error instanceof UsageError ? 2 : 3);
  },
);
