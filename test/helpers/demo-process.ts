/**
 * `scripts/demo.ts` as a child process, the way the e2e tests run it: everything it prints, and its
 * exit code. The demo has its own deadline (`DEMO_TIMEOUT_MS`), so this needs none.
 */
import { spawn } from "node:child_process";
import { PROJECT_ROOT } from "../../scripts/processes.ts";

export interface DemoRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runDemo(args: string[], env: Record<string, string> = {}): Promise<DemoRun> {
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/demo.ts", ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => (stdout += chunk));
  child.stderr.on("data", (chunk) => (stderr += chunk));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}
