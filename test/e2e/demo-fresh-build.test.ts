/**
 * `pnpm demo` runs its processes from bundles (scripts/bundle.ts); it must never run a stale one.
 * Edit a source, run again, and the edited code is what runs — in a copy of the project (so the real
 * sources are never touched), starting with no cache at all, as on a fresh clone.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { BundleError, ensureBundles } from "../../scripts/bundle.ts";
import { PROJECT_ROOT } from "../../scripts/processes.ts";

/** What a bundle needs besides its sources: they change how any source resolves or compiles. */
const SETTINGS = ["package.json", "pnpm-lock.yaml", "tsconfig.json"];

function run(command: string, args: string[], cwd: string): Promise<{ code: number | null; output: string }> {
  const child = spawn(command, args, { cwd, env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk) => (output += chunk));
  child.stderr.on("data", (chunk) => (output += chunk));
  const backstop = setTimeout(() => child.kill("SIGKILL"), 60_000);
  return new Promise((resolve) =>
    child.on("close", (code) => {
      clearTimeout(backstop);
      resolve({ code, output });
    }),
  );
}

/** A scratch project: the settings files, `node_modules` linked, and the given sources. */
function scratchProject(sources: Record<string, string>): string {
  const root = mkdtempSync(path.join(os.tmpdir(), "fresh-build-"));
  for (const file of SETTINGS) cpSync(path.join(PROJECT_ROOT, file), path.join(root, file));
  symlinkSync(path.join(PROJECT_ROOT, "node_modules"), path.join(root, "node_modules"), "dir");
  for (const [file, content] of Object.entries(sources)) writeFileSync(path.join(root, file), content);
  return root;
}

describe("ensureBundles", () => {
  let root: string;
  before(() => {
    root = scratchProject({
      "entry.ts": 'import { greeting } from "./greeting.ts";\nconsole.log(greeting satisfies string);\n',
      "greeting.ts": 'export const greeting = "one";\n',
    });
  });
  after(() => rmSync(root, { recursive: true, force: true }));
  const cache = () => path.join(root, ".cache/bundles");
  const runBundle = async () => {
    const { entry } = await ensureBundles(root, cache(), { entry: "entry.ts" });
    const { code, output } = await run(process.execPath, [entry], root);
    assert.equal(code, 0, output);
    return output.trim();
  };

  test("an edited import is rebuilt at once, even with the same size and no time in between", async () => {
    assert.equal(await runBundle(), "one");
    writeFileSync(path.join(root, "greeting.ts"), 'export const greeting = "two";\n');
    assert.equal(await runBundle(), "two");
  });

  test("nothing changed: the same bundle, not a new build", async () => {
    const first = await ensureBundles(root, cache(), { entry: "entry.ts" });
    const second = await ensureBundles(root, cache(), { entry: "entry.ts" });
    assert.equal(second.entry, first.entry);
  });

  test("a changed setting (tsconfig.json) rebuilds", async () => {
    const before = await ensureBundles(root, cache(), { entry: "entry.ts" });
    writeFileSync(path.join(root, "tsconfig.json"), `${readFileSync(path.join(root, "tsconfig.json"), "utf8")}\n`);
    const after = await ensureBundles(root, cache(), { entry: "entry.ts" });
    assert.notEqual(after.entry, before.entry);
  });

  test("a source that does not compile: a BundleError naming the file and line, and the next good edit runs", async () => {
    writeFileSync(path.join(root, "greeting.ts"), 'export const greeting = "three;\n');
    await assert.rejects(ensureBundles(root, cache(), { entry: "entry.ts" }), (error: Error) => {
      assert.ok(error instanceof BundleError);
      assert.match(error.message, /could not bundle entry\.ts/);
      assert.match(error.message, /Unterminated string literal\n+\s+greeting\.ts:1:\d+:/);
      return true;
    });
    writeFileSync(path.join(root, "greeting.ts"), 'export const greeting = "three";\n');
    assert.equal(await runBundle(), "three");
  });
});

describe("pnpm demo after an edit", () => {
  let root: string;
  before(() => {
    root = mkdtempSync(path.join(os.tmpdir(), "fresh-demo-"));
    for (const entry of ["as", "resource-server", "client", "shared", "scripts", ...SETTINGS]) {
      cpSync(path.join(PROJECT_ROOT, entry), path.join(root, entry), { recursive: true });
    }
    symlinkSync(path.join(PROJECT_ROOT, "node_modules"), path.join(root, "node_modules"), "dir");
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  /** What `pnpm demo` runs (its script execs this), in the copy. */
  const demo = () => run(process.execPath, ["--enable-source-maps", "scripts/demo.mjs"], root);
  /** Put `line` first in a source of the copy: ESM imports are hoisted, so it runs once they are loaded. */
  const prepend = (file: string, line: string, original = readFileSync(path.join(PROJECT_ROOT, file), "utf8")) =>
    writeFileSync(path.join(root, file), `${line}\n${original}`);

  test("runs the orchestrator, the client and the RS as they are on disk now", { timeout: 180_000 }, async () => {
    prepend("client/main.ts", 'process.stderr.write("edit-check A\\n");');
    prepend("scripts/demo.ts", 'process.stdout.write("[demo] edit-check 1\\n");');
    const first = await demo(); // no cache yet: from source under tsx, which builds the bundles
    assert.equal(first.code, 0, first.output);
    assert.match(first.output, /^\[client\] edit-check A$/m);
    assert.match(first.output, /^\[demo\] edit-check 1$/m);

    const unchanged = await demo(); // every process from its bundle
    assert.equal(unchanged.code, 0, unchanged.output);
    assert.match(unchanged.output, /^\[client\] edit-check A$/m);
    assert.match(unchanged.output, /^\[demo\] edit-check 1$/m);

    prepend("scripts/demo.ts", 'process.stdout.write("[demo] edit-check 2\\n");');
    const orchestratorEdited = await demo();
    assert.equal(orchestratorEdited.code, 0, orchestratorEdited.output);
    assert.match(orchestratorEdited.output, /^\[demo\] edit-check 2$/m);
    assert.doesNotMatch(orchestratorEdited.output, /edit-check 1/);

    prepend("client/main.ts", 'process.stderr.write("edit-check B\\n");'); // same size, right away
    const second = await demo();
    assert.equal(second.code, 0, second.output);
    assert.match(second.output, /^\[client\] edit-check B$/m);
    assert.doesNotMatch(second.output, /edit-check A/);

    prepend("resource-server/server.ts", 'process.stderr.write("edit-check RS\\n"); process.exit(42);');
    const third = await demo();
    assert.equal(third.code, 3, third.output); // the stack did not come up
    assert.match(third.output, /rs exited \(42\) before answering/);
    assert.match(third.output, /^\[rs\] edit-check RS$/m);

    prepend("client/main.ts", "const broken = ;");
    const fourth = await demo();
    assert.equal(fourth.code, 3, fourth.output);
    assert.match(fourth.output, /\[demo\] FAILED: could not bundle .*client\/main\.ts/);
    assert.match(fourth.output, /^\s+client\/main\.ts:1:\d+:$/m);
  });
});
