/**
 * The servers under test, as child processes (so a load generator never shares their event loop):
 * started with `scripts/processes.ts`, on free loopback ports, each awaited on `/healthz`, and always
 * stopped — `stopAll()` runs in the harness's `finally` and on SIGINT/SIGTERM.
 */
import { readFileSync } from "node:fs";
import { asUrls, loadConfig, type Config } from "../../shared/config.ts";
import { freeLoopbackPorts, startChild, stopChild, waitForHealthy, type Child } from "../processes.ts";

/** How long a child may take to answer `/healthz` (tsx compiles on first start; the machine is shared). */
const START_TIMEOUT_MS = 30_000;

const live = new Set<Child>();

/** Extra environment for every child (`--profile` adds the CPU-profile preload, scripts/bench/cpu-profile.mjs). */
let childEnv: NodeJS.ProcessEnv = {};
export function setChildEnv(env: NodeJS.ProcessEnv): void {
  childEnv = env;
}

/** Stop `child` with the others in `stopAll()` (on Ctrl-C, a deadline, or the end of a benchmark). */
export function track(child: Child): Child {
  live.add(child);
  void child.exited.then(() => live.delete(child));
  return child;
}

export async function startServer(
  name: string,
  entry: string,
  env: NodeJS.ProcessEnv,
  healthUrl: string,
): Promise<Child> {
  const child = track(startChild(name, entry, [], { ...process.env, ...childEnv, ...env }));
  try {
    await waitForHealthy(child, healthUrl, AbortSignal.timeout(START_TIMEOUT_MS));
  } catch (error) {
    await stopChild(child);
    throw new Error(`${(error as Error).message}\n${child.log.join("\n")}`);
  }
  return child;
}

export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((child) => stopChild(child)));
}

/** A config for two fresh free ports (the AS's issuer and the RS's resource both derive from them). */
export async function freshConfig(env: Record<string, string> = {}): Promise<Config> {
  const [asPort, rsPort] = (await freeLoopbackPorts(2)) as [number, number];
  return loadConfig({ ...env, AS_PORT: String(asPort), RS_PORT: String(rsPort) });
}

export const portEnv = (config: Config): Record<string, string> => ({
  AS_PORT: String(config.asPort),
  RS_PORT: String(config.rsPort),
});

/** Start the real AS (`as/server.ts`) for `config`. */
export function startAuthorizationServer(config: Config, env: Record<string, string> = {}): Promise<Child> {
  return startServer("as", "as/server.ts", { ...env, ...portEnv(config) }, asUrls(config.asPort).healthUrl);
}

/**
 * CPU time (user + system, all threads) a child has used so far, in ms, from Linux's
 * `/proc/<pid>/stat` (USER_HZ = 100, so 10 ms resolution); `undefined` where there is no procfs.
 */
export function cpuTimeMs(child: Child): number | undefined {
  try {
    const stat = readFileSync(`/proc/${child.process.pid}/stat`, "utf8");
    // proc(5): fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[14 - 3]) + Number(fields[15 - 3])) * 1000) / 100;
  } catch {
    return undefined;
  }
}
