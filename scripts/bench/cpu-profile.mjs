/**
 * `pnpm bench --profile DIR`: a preload (`NODE_OPTIONS=--import …/cpu-profile.mjs`) that records a V8
 * CPU profile of the process it is loaded into and writes `DIR/<name>-<pid>.cpuprofile` when it exits.
 * Node 20 refuses `--cpu-prof` in NODE_OPTIONS, and the servers are started by scripts/processes.ts
 * (`node --import tsx <entry>`), so this is how their profiles are taken. Plain JavaScript: it runs
 * before tsx is registered. Open the file in Chrome DevTools (Performance) or speedscope.
 */
import { writeFileSync, mkdirSync } from "node:fs";
import { Session } from "node:inspector";
import path from "node:path";

const dir = process.env.BENCH_CPU_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post("Profiler.enable");
  session.post("Profiler.setSamplingInterval", { interval: 100 }); // µs
  session.post("Profiler.start");
  process.once("exit", () => {
    // An in-process inspector session answers synchronously, so this runs before the process ends.
    session.post("Profiler.stop", (error, result) => {
      if (error) return;
      mkdirSync(dir, { recursive: true });
      const entry = path.basename(process.argv[1] ?? "node", path.extname(process.argv[1] ?? ""));
      writeFileSync(path.join(dir, `${entry}-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
