/**
 * The verdict as a person reads it: the checklist (D9; the `--json` document is shared/report.ts, which
 * `pnpm demo` reads too), and terminal styling that disappears under NO_COLOR or when the stream is not a TTY.
 */
import type { CheckResult } from "../shared/report.ts";

export interface Style {
  bold(text: string): string;
  dim(text: string): string;
  ok(text: string): string;
  fail(text: string): string;
}

const identity = (text: string) => text;
export const plainStyle: Style = { bold: identity, dim: identity, ok: identity, fail: identity };

const ansi = (open: number, close: number) => (text: string) => `\x1b[${open}m${text}\x1b[${close}m`;
const colorStyle: Style = { bold: ansi(1, 22), dim: ansi(2, 22), ok: ansi(32, 39), fail: ansi(31, 39) };

/** https://no-color.org: any non-empty NO_COLOR disables color; so does a stream that is not a TTY. */
export function styleFor(stream: { isTTY?: boolean }, env: Record<string, string | undefined> = process.env): Style {
  const noColor = env.NO_COLOR !== undefined && env.NO_COLOR !== "";
  return stream.isTTY && !noColor ? colorStyle : plainStyle;
}

/** ✓ passed · ✗ failed · ⚠ broken on purpose (`--break`) · – skipped (a step it needs failed). */
export function checklistLines(
  checks: CheckResult[],
  durationMs: number,
  style: Style = plainStyle,
  broken?: { rule: string; demonstrated: boolean },
): string[] {
  const passed = checks.filter((c) => c.ok).length;
  const lines = checks.map((c) => {
    const mark = c.ok ? style.ok("✓") : c.brokenOnPurpose ? "⚠" : c.detail.startsWith("skipped") ? "–" : style.fail("✗");
    return `${mark} ${c.id} ${c.title} ${style.dim(`(${c.ms} ms)`)}${c.ok ? "" : `\n    ${c.brokenOnPurpose ? c.detail : style.fail(c.detail)}`}`;
  });
  if (broken) {
    const verdict = broken.demonstrated ? style.ok("DEMONSTRATED") : style.fail("NOT DEMONSTRATED");
    const onPurpose = checks.filter((c) => c.brokenOnPurpose).length;
    lines.push(`${verdict} --break ${broken.rule}: ${passed}/${checks.length} checks passed, ${onPurpose} broken on purpose, in ${durationMs} ms`);
    return lines;
  }
  const verdict = passed === checks.length && checks.length > 0 ? style.ok("PASS") : style.fail("FAIL");
  lines.push(`${verdict} ${passed}/${checks.length} checks passed in ${durationMs} ms`);
  return lines;
}
