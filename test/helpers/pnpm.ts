/**
 * `pnpm <args>` as a child process in the project, the way a user or an examples runner starts it: the
 * pnpm that runs this test (`pnpm test` sets npm_execpath), else the one on PATH.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { PROJECT_ROOT } from "../../scripts/processes.ts";

export function spawnPnpm(args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  const execpath = process.env.npm_execpath;
  const [command, argv] = execpath?.includes("pnpm") ? [process.execPath, [execpath, ...args]] : ["pnpm", args];
  return spawn(command, argv, { cwd: PROJECT_ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
}

/** Run `pnpm <args>` to its end: exit code and everything it printed. */
export function runPnpm(args: string[], env?: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawnPnpm(args, env);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk) => (stdout += chunk));
  child.stderr!.on("data", (chunk) => (stderr += chunk));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}
