/**
 * What an examples runner does on its own timeout: send SIGTERM (or SIGINT) to the pid it started —
 * the `pnpm` process, and only that one, not its process group. Every command started through pnpm
 * must then stop with all its children and free its ports within 2 s.
 *
 * For each command and each signal: start `pnpm <command>` (random high ports, never 3000/3001), wait
 * until its whole process tree is up, record every pid in it and every port it listens on (procfs,
 * test/helpers/process-tree.ts), send the signal to the pnpm pid alone, then wait — at most 2 s, the
 * promise of the README — until none of those pids is alive and none of those ports is bound.
 */
import assert from "node:assert/strict";
import http from "node:http";
import { describe, test, type TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { freeLoopbackPorts } from "../../scripts/processes.ts";
import { closeServer, listenLoopback } from "../../shared/listen.ts";
import { spawnPnpm } from "../helpers/pnpm.ts";
import { isAlive, isListening, listeningPorts, processTree, supported } from "../helpers/process-tree.ts";


/** Poll `check` every 50 ms until it holds or `ms` have passed; says whether it held. */
/** Poll `check` until it holds (true), `ms` pass or `giveUp` says waiting is pointless (false). */
async function within(ms: number, check: () => boolean | Promise<boolean>, giveUp = () => false): Promise<boolean> {
  const end = performance.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (performance.now() >= end || giveUp()) return false;
    await sleep(50);
  }
}

/** The promise under test (README, "Using `pnpm demo` as a smoke test or in CI"). */
const STOP_WITHIN_MS = 2_000;
/** Bound on start-up (tsx compiles on a cold start; the machine is shared). */
const START_WITHIN_MS = 30_000;

interface Case {
  script: string;
  args?: string[];
  /** Extra environment; ports are filled in per run. */
  env?: (ports: number[]) => Record<string, string>;
  /** How many ports the tree listens on once it is up. */
  listening: number;
  /** How many processes the tree holds once it is up (pnpm included). */
  processes: number;
  /** For `client`: an MCP endpoint to call. */
  needsServer?: boolean;
  /** A run with an end of its own (not a server): it must not report success when cut short. */
  finite?: boolean;
}

const CASES: Case[] = [
  // pnpm → the demo → its AS, RS and client (mid-story), on ports the demo picks itself.
  { script: "demo", listening: 2, processes: 5, finite: true },
  // pnpm → concurrently → AS, RS and the live view (state in memory: no `.state/` written into the checkout).
  { script: "dev", env: ([as, rs, view]) => ({ AS_PORT: String(as), RS_PORT: String(rs), VIEW_PORT: String(view), AS_STATE_DIR: "" }), listening: 3, processes: 5 },
  { script: "start:as", env: ([as]) => ({ AS_PORT: String(as) }), listening: 1, processes: 2 },
  { script: "start:rs", env: ([as, rs]) => ({ AS_PORT: String(as), RS_PORT: String(rs) }), listening: 1, processes: 2 },
  { script: "client", args: ["--call", "list-files"], listening: 0, processes: 2, needsServer: true, finite: true },
  // The deepest tree: pnpm → bench → demo → AS, RS and client (P4 at smoke size, stopped long before it ends).
  { script: "bench", args: ["--smoke", "--only", "p4"], listening: 2, processes: 6, finite: true },
];

/** An MCP endpoint that accepts requests and never answers them (a stalled server), counting them. */
async function startSilentServer() {
  const listening = await listenLoopback(0);
  let received = 0;
  listening.server.on("request", (_req: http.IncomingMessage) => void received++);
  return { url: `${listening.url}/mcp`, received: () => received, close: () => closeServer(listening.server) };
}

describe("SIGTERM / SIGINT to the pnpm pid alone stop the whole run", { skip: !supported && "needs Linux procfs" }, () => {
  for (const { script, args = [], env, listening, processes, needsServer, finite } of CASES) {
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      test(`pnpm ${script}: ${signal} to the pnpm pid`, { timeout: 90_000 }, async (t) => {
        // The ports are chosen free, then released for the servers to bind; another test's server may take
        // one in between (EADDRINUSE): then this run is not the one to judge — start again on fresh ports,
        // as startStack does (scripts/processes.ts).
        for (let attempt = 1; ; attempt++) {
          const raced = await signalRun(t, await freeLoopbackPorts(3));
          if (!raced) return;
          assert.ok(attempt < 3, "a port was taken before the servers could bind it, three times in a row");
          t.diagnostic(`attempt ${attempt}: a port was taken before the servers bound it; again on fresh ports`);
        }
      });

      /** One run of the case; true when it never came up because another process took one of its ports. */
      async function signalRun(t: TestContext, ports: number[]): Promise<boolean> {
        const silent = needsServer ? await startSilentServer() : undefined;
        const pnpm = spawnPnpm([script, ...args, ...(silent ? [silent.url] : [])], {
          ...process.env,
          NO_COLOR: "1",
          ...env?.(ports),
        });
        let output = "";
        pnpm.stdout!.on("data", (chunk) => (output += chunk));
        pnpm.stderr!.on("data", (chunk) => (output += chunk));
        const exited = new Promise<string>((resolve) => pnpm.on("exit", (code, sig) => resolve(`${code ?? sig}`)));
        let ended = false;
        void exited.then(() => (ended = true));
        let pids: number[] = [];
        try {
          const up = await within(START_WITHIN_MS, () => {
            if (ended) return false;
            pids = processTree(pnpm.pid!);
            return pids.length >= processes && listeningPorts(pids).length >= listening && (silent === undefined || silent.received() > 0);
          }, () => ended);
          if (!up && output.includes("EADDRINUSE")) return true;
          assert.ok(up, `pnpm ${script} came up\n${output}`);
          const bound = listeningPorts(pids);

          process.kill(pnpm.pid!, signal); // the pnpm process only, not its group
          const sent = performance.now();

          const gone = await within(STOP_WITHIN_MS, () => pids.every((pid) => !isAlive(pid)) && bound.every((port) => !isListening(port)));
          t.diagnostic(`${pids.length} processes, ports [${bound.join(", ")}]: all gone after ~${Math.round(performance.now() - sent)} ms`);
          const left = pids.filter(isAlive);
          assert.ok(gone, `within ${STOP_WITHIN_MS} ms: still alive ${left.join(" ") || "-"}, still bound ${bound.filter(isListening).join(" ") || "-"}\n${output}`);
          const code = await exited;
          t.diagnostic(`pnpm exited with ${code}`);
          if (finite) assert.notEqual(code, "0", "the run was interrupted, so it does not claim success");
          return false;
        } finally {
          for (const pid of pids) if (isAlive(pid)) process.kill(pid, "SIGKILL"); // never leave anything behind
          await silent?.close();
        }
      }
    }
  }
});
