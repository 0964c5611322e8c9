/**
 * Child-process plumbing shared by `pnpm demo` (scripts/demo.ts), `pnpm interop` and `pnpm bench`
 * (bench/): start a project process (from its bundle, or a `.ts` entry under the tsx loader), keep its
 * output prefixed (`[as] …`), wait until it answers — it, not another process on its port — and stop
 * it in every outcome. `startStack()` brings up the AS and the RS together, on fresh ports.
 */
import { spawn, type ChildProcess } from "node:child_process";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { asUrls, rsUrls } from "../shared/config.ts";
import { parseStamp } from "../shared/log.ts";

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export interface Child {
  name: string;
  process: ChildProcess;
  /** Every line the process printed, prefixed with `[name]`, in order. */
  log: string[];
  /** Settles with the exit code (or the signal name) when the process ends. */
  exited: Promise<number | string>;
}

/**
 * Run `node --import tsx <entry> …args` for a `.ts` entry. Node itself loads tsx, so there is exactly
 * one process to stop (the `tsx` CLI would add a second one in between). A bundle (`.mjs`, built by
 * scripts/bundle.ts) runs on plain node, with source maps so a stack trace names the `.ts` lines.
 */
export function startChild(
  name: string,
  entry: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  onLine: (stream: "stdout" | "stderr", line: string) => void = () => {},
  /** `stdin: "inherit"`: the child reads this process's stdin (`pnpm demo --step`: Enter goes to the client). */
  { stdin = "ignore" }: { stdin?: "ignore" | "inherit" } = {},
): Child {
  const loader = entry.endsWith(".ts") ? ["--import", "tsx"] : ["--enable-source-maps"];
  const child = spawn(process.execPath, [...loader, entry, ...args], {
    cwd: PROJECT_ROOT,
    env,
    stdio: [stdin, "pipe", "pipe"],
  });
  const log: string[] = [];
  for (const stream of ["stdout", "stderr"] as const) {
    let pending = "";
    child[stream]!.setEncoding("utf8");
    child[stream]!.on("data", (chunk: string) => {
      pending += chunk;
      const lines = pending.split("\n");
      pending = lines.pop()!;
      for (const line of lines) {
        const { text } = parseStamp(line); // the log keeps arrival order; a stamp (LOG_TIMESTAMPS) only orders live output
        log.push(text.startsWith(`[${name}]`) ? text : `[${name}] ${text}`);
        onLine(stream, line);
      }
    });
    child[stream]!.on("end", () => {
      if (pending) {
        log.push(`[${name}] ${parseStamp(pending).text}`);
        onLine(stream, pending);
      }
    });
  }
  const exited = new Promise<number | string>((resolve) => {
    child.on("exit", (code, signal) => resolve(code ?? signal ?? "unknown"));
    child.on("error", (error) => {
      log.push(`[${name}] failed to start: ${error.message}`);
      resolve("spawn-error");
    });
  });
  return { name, process: child, log, exited };
}

/** How long a child may take to stop after SIGTERM before it gets SIGKILL (the servers need a few ms). */
export const STOP_GRACE_MS = 1_000;

/**
 * SIGTERM, then SIGKILL after `graceMs` — no orphan survives a demo run. SIGCONT follows the SIGTERM,
 * as a shell's `kill` does for a stopped job: a stopped process (SIGSTOP, Ctrl-Z) only acts on the
 * SIGTERM once it runs again, so it can still shut down cleanly instead of waiting for the SIGKILL.
 */
export async function stopChild(child: Child, graceMs = STOP_GRACE_MS): Promise<void> {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return;
  child.process.kill("SIGTERM");
  child.process.kill("SIGCONT");
  const timer = setTimeout(() => child.process.kill("SIGKILL"), graceMs);
  await child.exited;
  clearTimeout(timer);
}

/**
 * Ask the OS for `count` distinct free loopback ports: each is bound (port 0) until all are chosen,
 * so the OS cannot hand out the same one twice, then released for the children to take.
 */
export async function freeLoopbackPorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => net.createServer());
  try {
    for (const server of servers) {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, "127.0.0.1", resolve);
      });
    }
    return servers.map((server) => (server.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()))));
  }
}

export async function freeLoopbackPort(): Promise<number> {
  const [port] = await freeLoopbackPorts(1);
  return port!;
}

/**
 * Raised when `child` cannot have its port: it exited with EADDRINUSE, or another process answers
 * there. Ports come from `freeLoopbackPorts`, which must release them before the child binds, so
 * another process may take one in between; `startStack()` then starts again on fresh ports.
 */
export class PortTakenError extends Error {}

/**
 * Poll `url` until OUR child answers 200 — the body's `pid` (every `/healthz` here reports it) must be
 * the child's, or a stranger holds the port — the child exits, or `signal` aborts. Resolves with the
 * parsed JSON body; rejects with a message that says what it was waiting for.
 */
export async function waitForHealthy(child: Child, url: string, signal: AbortSignal): Promise<unknown> {
  let exitCode: number | string | undefined;
  void child.exited.then((code) => (exitCode = code));
  while (!signal.aborted) {
    if (exitCode !== undefined) {
      const message = `${child.name} exited (${exitCode}) before answering ${url}`;
      throw child.log.some((line) => line.includes("EADDRINUSE")) ? new PortTakenError(`${message}: its port was taken`) : new Error(message);
    }
    let body: unknown;
    try {
      body = await getJson(url, AbortSignal.any([signal, AbortSignal.timeout(1_000)]));
    } catch {
      // Not listening yet: keep polling until the deadline.
    }
    if (body !== undefined) {
      checkIdentity(child, url, body);
      return body;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`gave up waiting for ${child.name} at ${url}`);
}

/** Throws PortTakenError unless `body` (a `/healthz` answer) comes from `child`'s own process. */
export function checkIdentity(child: Pick<Child, "name" | "process">, url: string, body: unknown): void {
  const pid = (body as { pid?: unknown } | null)?.pid;
  if (pid !== child.process.pid) {
    throw new PortTakenError(`another process (pid ${String(pid ?? "unknown")}) answers ${url}, not ${child.name} (pid ${child.process.pid})`);
  }
}

export interface StackOptions {
  /** The entry (a bundle, or a `.ts` file) of each server. */
  entries: { as: string; rs: string };
  /** Environment of both servers; AS_PORT and RS_PORT are set here. */
  env: NodeJS.ProcessEnv;
  /** Extra environment for the AS only (e.g. AS_BREAK), and for the RS only (RS_BREAK). */
  asEnv?: NodeJS.ProcessEnv;
  rsEnv?: NodeJS.ProcessEnv;
  /** Ends the wait (a deadline, a signal). */
  signal: AbortSignal;
  onLine?: (name: "as" | "rs", stream: "stdout" | "stderr", line: string) => void;
  /** Told why an attempt is given up before the stack starts again on fresh ports. */
  onRetry?: (reason: string) => void;
  /** Called as soon as an attempt's servers are spawned (not yet healthy), so a caller can announce and stop them whatever happens. */
  onStart?: (attempt: Stack) => void;
  /** How many times to start on fresh ports when a port was taken (default 3). */
  attempts?: number;
  /** Chooses the two ports of an attempt (a test injects a busy one). */
  choosePorts?: (attempt: number) => Promise<number[]>;
}

export interface Stack {
  as: Child;
  rs: Child;
  asPort: number;
  rsPort: number;
  /** The environment the servers got (AS_PORT, RS_PORT included), for a client of this stack. */
  env: NodeJS.ProcessEnv;
}

/**
 * Start the AS and the RS on fresh loopback ports and wait until each of them answers `/healthz`.
 * When a port was taken before its child could bind it (PortTakenError), both are stopped and the
 * stack starts again on fresh ports, up to `attempts` times, within `signal`.
 */
export async function startStack(options: StackOptions): Promise<Stack> {
  const attempts = options.attempts ?? 3;
  const choosePorts = options.choosePorts ?? (() => freeLoopbackPorts(2));
  for (let attempt = 1; ; attempt++) {
    options.signal.throwIfAborted();
    const [asPort, rsPort] = (await choosePorts(attempt)) as [number, number];
    const env = { ...options.env, AS_PORT: String(asPort), RS_PORT: String(rsPort) };
    const line = (name: "as" | "rs") => (stream: "stdout" | "stderr", text: string) => options.onLine?.(name, stream, text);
    const as = startChild("as", options.entries.as, [], { ...env, ...options.asEnv }, line("as"));
    const rs = startChild("rs", options.entries.rs, [], { ...env, ...options.rsEnv }, line("rs"));
    options.onStart?.({ as, rs, asPort, rsPort, env });
    try {
      await Promise.all([waitForHealthy(as, asUrls(asPort).healthUrl, options.signal), waitForHealthy(rs, rsUrls(rsPort).healthUrl, options.signal)]);
      return { as, rs, asPort, rsPort, env };
    } catch (error) {
      await Promise.all([stopChild(as), stopChild(rs)]);
      if (!(error instanceof PortTakenError) || attempt >= attempts) throw error;
      options.onRetry?.(error.message);
    }
  }
}

/**
 * GET `url` over node:http: the parsed JSON body of a 200, `undefined` for any other status. Not
 * `fetch`: its first call loads undici, about 0.1 s of CPU the demo would pay while its servers start.
 */
function getJson(url: string, signal: AbortSignal): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { signal }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (body += chunk));
      response.on("end", () => {
        try {
          resolve(response.statusCode === 200 ? JSON.parse(body) : undefined);
        } catch (error) {
          reject(error);
        }
      });
      response.on("error", reject);
    });
    request.on("error", reject);
  });
}
