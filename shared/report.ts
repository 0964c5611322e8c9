/**
 * The verdict of a run (D9), as the client prints it with `--json` and `pnpm demo` relays it: one check
 * per story step, and the document an examples runner reads.
 */
import type { BreakRule } from "./break-rules.ts";

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
 * run when it has checks and every one passed (no checks at all is a failure, not a vacuous pass).
 */
export function reportOk(checks: readonly CheckResult[], broken?: BreakVerdict): boolean {
  if (broken) return broken.demonstrated;
  return checks.length > 0 && checks.every((c) => c.ok);
}

export function jsonReport(checks: CheckResult[], durationMs: number, broken?: BreakVerdict): JsonReport {
  return { ok: reportOk(checks, broken), checks, durationMs, ...(broken ? { break: broken } : {}) };
}
