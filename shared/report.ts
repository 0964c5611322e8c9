/**
 * The verdict of a run (D9), as the client prints it with `--json` and `pnpm demo` relays it: one check
 * per story step, and the document an examples runner reads.
 */
import type { BreakRule } from "./break-rules.ts";

/** The story's steps (client/story.ts): D1 connects, and every other step starts from what D1 left. */
export const STEP_IDS = ["D1", "D2", "D3", "D4", "D5", "D6", "D7", "D8"] as const;
export type StepId = (typeof STEP_IDS)[number];

/** `--only Dn` (T9): D1 and Dn run, the others are reported "not run". Undefined for a valid value, else why not. */
export function onlyStepProblem(value: string): string | undefined {
  return STEP_IDS.includes(value as StepId) && value !== "D1" ? undefined : `--only takes one of D2…D8 (D1 always runs), not ${JSON.stringify(value)}`;
}

export interface CheckResult {
  /** D1…D8 */
  id: string;
  title: string;
  ok: boolean;
  /** What was verified, or why it failed ("skipped (D1 failed)" when a step it needs failed). */
  detail: string;
  ms: number;
  /** `pnpm demo --break RULE` only: this check failed because the rule was broken on purpose. */
  brokenOnPurpose?: true;
  /** `--only Dn` only: this step was not run, on request (`ok` is false, and does not count). */
  skipped?: true;
}

/** `pnpm demo --break RULE` only: the rule, what breaking it predicts, and what the run observed. */
export interface BreakVerdict {
  rule: BreakRule;
  predicted: string;
  /** The concrete evidence from the recorded exchanges (statuses, counts). */
  observed: string;
  /** The predicted consequence was observed: the exit code is 0 exactly when this is true. */
  demonstrated: boolean;
}

/** Exactly what `--json` prints on stdout (D9). */
export interface JsonReport {
  ok: boolean;
  checks: CheckResult[];
  durationMs: number;
  /** Present only in a break run; then `ok` is `break.demonstrated`. */
  break?: BreakVerdict;
}

/**
 * The run's verdict: a break run passes when the broken rule's consequence was demonstrated; any other
 * run when it ran checks and every one passed (none at all is a failure, not a vacuous pass). A step
 * `--only` left out is neither.
 */
export function reportOk(checks: readonly CheckResult[], broken?: BreakVerdict): boolean {
  if (broken) return broken.demonstrated;
  const run = checks.filter((c) => !c.skipped);
  return run.length > 0 && run.every((c) => c.ok);
}

export function jsonReport(checks: CheckResult[], durationMs: number, broken?: BreakVerdict): JsonReport {
  return { ok: reportOk(checks, broken), checks, durationMs, ...(broken ? { break: broken } : {}) };
}
