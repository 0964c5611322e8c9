/**
 * The verdict of a run (D9), as the client prints it with `--json` and `pnpm demo` relays it: one check
 * per story step, and the document an examples runner reads.
 */

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
  rule: string;
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

export function jsonReport(checks: CheckResult[], durationMs: number, broken?: BreakVerdict): JsonReport {
  if (broken) return { ok: broken.demonstrated, checks, durationMs, break: broken };
  return { ok: checks.length > 0 && checks.every((c) => c.ok), checks, durationMs };
}
