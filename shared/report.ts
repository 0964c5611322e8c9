/**
 * The verdict of a run (D9), as the client prints it with `--json` and `pnpm demo` relays it: one check
 * per story step, and the document an examples runner reads.
 */

export interface CheckResult {
  /** D1…D8 */
  id: string;
  title: string;
  ok: boolean;
  /** What was verified, or why it failed. */
  detail: string;
  ms: number;
}

/** Exactly what `--json` prints on stdout (D9). */
export interface JsonReport {
  ok: boolean;
  checks: CheckResult[];
  durationMs: number;
}

export function jsonReport(checks: CheckResult[], durationMs: number): JsonReport {
  return { ok: checks.length > 0 && checks.every((c) => c.ok), checks, durationMs };
}
