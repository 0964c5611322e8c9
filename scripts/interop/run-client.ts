/**
 * One client, one fresh stack: start the AS and the RS on free loopback ports (`startStack`, as `pnpm demo`
 * does), run the client's driver against the RS, cut the servers' logs at the driver's step marks, judge
 * each step, stop everything. A fresh stack per client keeps one client's leftovers (an authorization it
 * left open, a session) out of the next client's verdicts.
 */
import { rsUrls } from "../../shared/config.ts";
import { startChild, startStack, stopChild, type Child } from "../processes.ts";
import type { InteropClient } from "./clients.ts";
import { judgeStep, notRun, type StepVerdict } from "./judge.ts";
import { parseServerLog } from "./server-log.ts";
import { parseMark, SETTLE_MS, STEPS, type StepMark } from "./steps.ts";

/** Raised when the stack itself fails (a server did not start or died): that fails the whole run. */
export class StackError extends Error {}

/** Every process a run has started and not yet stopped, so an interrupted harness can stop them. */
const live = new Set<Child>();

export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((child) => stopChild(child)));
}

/** For `process.on("exit")`, where nothing can be awaited: SIGTERM lets a driver stop its own client. */
export function signalAll(): void {
  for (const child of live) if (child.process.exitCode === null) child.process.kill("SIGTERM");
}

export interface ClientRun {
  client: InteropClient;
  steps: StepVerdict[];
  /** The driver's and servers' output, for `--verbose` or when something went wrong. */
  log: string[];
}

export async function runClient(client: InteropClient, defaultStepTimeoutMs: number): Promise<ClientRun> {
  if (!client.driver) return { client, steps: STEPS.map((step) => notRun(step, client.skip ?? "not run")), log: [] };
  const stepTimeoutMs = defaultStepTimeoutMs * (client.stepTimeoutScale ?? 1);

  const children: Child[] = [];
  const track = (child: Child) => (children.push(child), live.add(child), child);
  try {
    let stack;
    try {
      stack = await startStack({
        // Under tsx, not the demo's bundles: a run takes minutes, so the loader's start-up does not matter.
        entries: { as: "as/server.ts", rs: "resource-server/server.ts" },
        // A12: a fresh, in-memory AS for every client (an exported AS_STATE_DIR is ignored); auto-consent,
        // because the "browsers" here are headless (a consent page would stop every client at connect).
        env: { ...process.env, AS_STATE_DIR: "", AS_CONSENT: "auto" },
        signal: AbortSignal.timeout(15_000),
        onStart: (attempt) => (track(attempt.as), track(attempt.rs)),
      });
    } catch (error) {
      throw new StackError(`the stack did not come up: ${(error as Error).message}`);
    }
    const { as, rs, env } = stack;
    const { resource } = rsUrls(stack.rsPort);

    // Step boundaries: the servers' log length when each step started.
    const marks: { mark: StepMark; as: number; rs: number }[] = [];
    const driver = track(
      startChild(client.id, client.driver, [resource, String(stepTimeoutMs)], env, (stream, line) => {
        const mark = stream === "stdout" ? parseMark(line) : undefined;
        if (mark) marks.push({ mark, as: as.log.length, rs: rs.log.length });
      }),
    );

    // The driver bounds each step itself; this bounds the driver (a client that ignores its timeouts).
    const driverBudget = STEPS.length * (stepTimeoutMs + SETTLE_MS) + 10_000;
    let budgetTimer: NodeJS.Timeout | undefined;
    const overBudget = new Promise<"over-budget">((resolve) => (budgetTimer = setTimeout(() => resolve("over-budget"), driverBudget)));
    const driverEnd = await Promise.race([driver.exited, overBudget, as.exited, rs.exited]);
    clearTimeout(budgetTimer);
    await stopChild(driver);
    for (const server of [as, rs]) {
      if (server.process.exitCode !== null || server.process.signalCode !== null) throw new StackError(`${server.name} exited during the ${client.id} run`);
    }
    // A driver that never reached its first step is broken (an install problem, a bug here): that is
    // the harness failing, not the client misbehaving.
    if (marks.length === 0) throw new Error(`the ${client.id} driver exited (${driverEnd}) before its first step:\n${driver.log.slice(-20).join("\n")}`);
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));

    const steps = STEPS.map((step): StepVerdict => {
      const startIndex = marks.findIndex(({ mark }) => mark.step === step && mark.phase === "start");
      const end = marks.find(({ mark }) => mark.step === step && mark.phase === "end")?.mark;
      if (startIndex === -1) return notRun(step, "not run (an earlier step failed or hung)");
      const start = marks[startIndex]!;
      const next = marks.slice(startIndex + 1).find(({ mark }) => mark.phase === "start");
      const lines = [...as.log.slice(start.as, next?.as), ...rs.log.slice(start.rs, next?.rs)];
      const outcome =
        end?.phase === "end"
          ? { outcome: end.outcome, detail: end.detail }
          : driverEnd === "over-budget"
            ? { outcome: "timeout" as const, detail: `the driver did not end within ${driverBudget} ms` }
            : { outcome: "error" as const, detail: `the driver exited (${driverEnd}) during this step` };
      return judgeStep(step, parseServerLog(lines), outcome);
    });
    return { client, steps, log: children.flatMap((child) => child.log) };
  } finally {
    await Promise.all(children.map((child) => stopChild(child)));
    for (const child of children) live.delete(child);
  }
}
