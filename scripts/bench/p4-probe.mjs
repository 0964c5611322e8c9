/**
 * P4's probe: a preload (`NODE_OPTIONS=--import …/p4-probe.mjs`, set by scripts/bench/p4-demo.ts) in every
 * node process of a `pnpm demo` run — pnpm itself, the demo orchestrator, the AS, the RS and the
 * client. When its process exits it appends one JSON line to BENCH_P4_PROBE_FILE: the entry script,
 * when the process started, when it first wrote a line (a server's "listening", the orchestrator's
 * "starting the AS…", the client's first narration), when it exited, and its CPU time. Plain
 * JavaScript: it runs before tsx is registered, and costs a process about a millisecond.
 */
import { appendFileSync } from "node:fs";

const file = process.env.BENCH_P4_PROBE_FILE;
if (file) {
  const now = () => performance.timeOrigin + performance.now(); // ms since the epoch, sub-ms precision
  let firstOutputAt;
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write;
    stream.write = function (...args) {
      firstOutputAt ??= now();
      return write.apply(this, args);
    };
  }
  process.once("exit", () => {
    const { user, system } = process.cpuUsage();
    const record = {
      script: process.argv[1] ?? "",
      pid: process.pid,
      startedAt: performance.timeOrigin,
      firstOutputAt: firstOutputAt ?? null,
      exitedAt: now(),
      cpuMs: (user + system) / 1000,
    };
    appendFileSync(file, `${JSON.stringify(record)}\n`);
  });
}
