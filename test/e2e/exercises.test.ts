/**
 * docs/exercises.md stays honest: every command it lists is run as a learner would type it, and its
 * outcome is checked against the page's own expectation (`<!-- expect: exit N[, against pnpm dev][, on
 * a terminal][, output matches /re/] -->`, one per command, in order, inside the exercise's Expected
 * section). The "by hand" commands run against an AS and an RS this test starts as `pnpm dev` would,
 * on free ports (the page's 3000/3001 are rewritten to them); `--step` runs under `script`, a terminal
 * whose Enter keys are already typed. `pnpm demo` and `pnpm client` run as their package.json scripts
 * (what pnpm would exec), and two commands at a time: each demo is about a second.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { PROJECT_ROOT } from "../../scripts/processes.ts";
import { startStack, type Stack } from "../helpers/stack.ts";

const PAGE = readFileSync(path.join(PROJECT_ROOT, "docs/exercises.md"), "utf8");
const SCRIPTS = (JSON.parse(readFileSync(path.join(PROJECT_ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;

/** `pnpm demo …` as pnpm runs it — its package.json script — without pnpm's own start-up, 27 times over. */
const asPnpmRunsIt = (command: string) => command.replace(/\bpnpm (demo|client)\b/g, (_, name: string) => SCRIPTS[name]!.replace(/^exec /, ""));

interface Expectation {
  exit: number[];
  againstDev: boolean;
  onATerminal: boolean;
  output?: RegExp;
}

interface Command {
  exercise: string;
  command: string;
  expect: Expectation;
}

/** The shell commands of an exercise: continued lines joined, a `for … done` loop kept whole. */
function commandsOf(section: string): string[] {
  const commands: string[] = [];
  for (const [, block] of section.matchAll(/```sh\n([^]*?)```/g)) {
    const lines = block!.replace(/\\\n\s*/g, " ").split("\n").filter((line) => line.trim() && !line.trim().startsWith("#"));
    for (let i = 0; i < lines.length; i++) {
      if (!/^(for|while)\b/.test(lines[i]!)) {
        commands.push(lines[i]!.trim());
        continue;
      }
      const end = lines.findIndex((line, j) => j > i && line.trim() === "done");
      commands.push(lines.slice(i, end + 1).join("\n"));
      i = end;
    }
  }
  return commands;
}

function expectationsOf(section: string): Expectation[] {
  return [...section.matchAll(/<!-- expect: (.*?) -->/g)].map(([, text]) => {
    const exit = /^exit ([\d|]+)/.exec(text!);
    assert.ok(exit, `an expectation without an exit code: ${text}`);
    const output = /output matches \/(.*)\/([a-z]*)$/.exec(text!);
    return {
      exit: exit[1]!.split("|").map(Number),
      againstDev: text!.includes("against pnpm dev"),
      onATerminal: text!.includes("on a terminal"),
      output: output ? new RegExp(output[1]!, output[2]) : undefined,
    };
  });
}

const COMMANDS: Command[] = PAGE.split(/^### /m)
  .slice(1)
  .flatMap((section) => {
    const exercise = section.split("\n", 1)[0]!;
    const commands = commandsOf(section);
    const expectations = expectationsOf(section);
    assert.equal(expectations.length, commands.length, `exercise "${exercise}": ${commands.length} commands, ${expectations.length} expectations`);
    return commands.map((command, i) => ({ exercise, command, expect: expectations[i]! }));
  });

const HAS_SCRIPT = spawnSync("script", ["--version"]).status === 0;

function run(command: string, env: NodeJS.ProcessEnv, onATerminal: boolean): Promise<{ code: number | null; output: string }> {
  // `script -qec CMD /dev/null`: CMD on a pseudo-terminal, its exit code passed on; Enter is typed ahead.
  const [file, args] = onATerminal ? ["script", ["-qec", command, "/dev/null"]] : ["bash", ["-c", command]];
  const child = spawn(file, args, { cwd: PROJECT_ROOT, env, stdio: ["pipe", "pipe", "pipe"] });
  child.stdin.end(onATerminal ? "\n".repeat(20) : "");
  let output = "";
  child.stdout.on("data", (chunk) => (output += chunk));
  child.stderr.on("data", (chunk) => (output += chunk));
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  return new Promise((resolve) => {
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output: output.replace(/\r/g, "") });
    });
  });
}

test("docs/exercises.md lists its commands with an expectation each, for every new flag and rule", () => {
  assert.ok(COMMANDS.length >= 25, `${COMMANDS.length} commands found: the page is not being read`);
  for (const wanted of ["--step", "--only", "--verbose", "--break scopes-supported", "--break scope-hierarchy", "--break no-state-check"]) {
    assert.ok(COMMANDS.some((c) => c.command.includes(wanted)), `no exercise runs ${wanted}`);
  }
});

test("every command in docs/exercises.md does what its exercise says", { skip: HAS_SCRIPT ? false : "needs util-linux `script` for the --step exercise" }, async () => {
  let dev: Stack | undefined;
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1" };
  delete env.FORCE_COLOR;
  const failures: string[] = [];
  try {
    if (COMMANDS.some((c) => c.expect.againstDev)) dev = await startStack();
    const queue = [...COMMANDS];
    const worker = async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const { exercise, expect } = next;
        let { command } = next;
        let runEnv = env;
        if (expect.againstDev) {
          command = command.replaceAll("127.0.0.1:3000", `127.0.0.1:${dev!.config.rsPort}`).replaceAll("127.0.0.1:3001", `127.0.0.1:${dev!.config.asPort}`);
          runEnv = { ...env, RS_PORT: String(dev!.config.rsPort) }; // `pnpm client` without a URL: the dev RS
        }
        const { code, output } = await run(asPnpmRunsIt(command), runEnv, expect.onATerminal);
        const where = `exercise "${exercise}": ${next.command}`;
        if (!expect.exit.includes(code ?? -1)) failures.push(`${where}\n  exit ${code}, expected ${expect.exit.join(" or ")}\n${output.slice(-1500)}`);
        else if (expect.output && !expect.output.test(output)) failures.push(`${where}\n  output does not match ${expect.output}\n${output.slice(-1500)}`);
      }
    };
    await Promise.all([worker(), worker()]);
  } finally {
    await dev?.close();
  }
  assert.deepEqual(failures, []);
});
