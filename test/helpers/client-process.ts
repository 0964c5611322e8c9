/**
 * `pnpm client …` as a child process whose stderr a test can follow while it runs: the `--browser`
 * tests read each printed authorization URL, act on it (a browser, or a plain fetch), and wait for the
 * exit. Bounded: the child is killed after `timeoutMs`.
 */
import { spawn } from "node:child_process";
import path from "node:path";

const MAIN = path.resolve(import.meta.dirname, "../../client/main.ts");
const URL_LINE = /^Open this URL to authorize: (\S+)$/gm;

export interface ClientProcess {
  /** The n-th (0-based) `Open this URL to authorize: <url>` line's URL, once printed. */
  authorizationUrl(n: number): Promise<string>;
  /** Exit code (-1 when it was killed after the timeout), with everything printed. */
  exited: Promise<{ code: number; stdout: string; stderr: string }>;
  stderr(): string;
}

export function startClient(args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): ClientProcess {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, ...args], {
    env: { ...process.env, NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  const listeners = new Set<() => void>();
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
    for (const listener of listeners) listener();
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  let closed = false;
  const exited = new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    child.on("close", (code) => {
      clearTimeout(timer);
      closed = true;
      for (const listener of listeners) listener();
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });

  const urls = () => [...stderr.matchAll(URL_LINE)].map((m) => m[1]!);
  return {
    authorizationUrl: (n) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const found = urls()[n];
          if (found !== undefined) {
            listeners.delete(check);
            resolve(found);
          } else if (closed) {
            listeners.delete(check);
            reject(new Error(`the client ended before printing authorization URL #${n + 1}:\n${stderr}`));
          }
        };
        listeners.add(check);
        check();
      }),
    exited,
    stderr: () => stderr,
  };
}
