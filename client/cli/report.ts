/**
 * The verdict as a person reads it: the checklist (D9; the `--json` document is shared/report.ts, which
 * `pnpm demo` reads too), styled for a terminal (terminal.ts) or plain.
 */
import type { CheckResult } from "../../shared/report.ts";
import { plainStyle, type Style } from "../story.ts";

/** ✓ passed · ✗ failed · ⚠ broken on purpose (`--break`) · – not run (a step it needs failed, or `--only`). */
export function checklistLines(
  checks: CheckResult[],
  durationMs: number,
  style: Style = plainStyle,
  broken?: { rule: string; demonstrated: boolean },
): string[] {
  const run = checks.filter((c) => !c.skipped);
  const passed = run.filter((c) => c.ok).length;
  const lines = checks.map((c) => {
    if (c.skipped) return style.dim(`– ${c.id} ${c.title} — ${c.detail}`);
    const mark = c.ok ? style.ok("✓") : c.brokenOnPurpose ? style.broken("⚠") : c.detail.startsWith("skipped") ? "–" : style.fail("✗");
    return `${mark} ${c.id} ${c.title} ${style.dim(`(${c.ms} ms)`)}${c.ok ? "" : `\n    ${c.brokenOnPurpose ? style.broken(c.detail) : style.fail(c.detail)}`}`;
  });
  const skipped = checks.length - run.length;
  // "; 6 not run (--only D3)": the story's detail of a step left out is "not run (--only D3)".
  const notRun = skipped > 0 ? `; ${skipped} ${checks.find((c) => c.skipped)!.detail}` : "";
  if (broken) {
    const verdict = broken.demonstrated ? style.ok("DEMONSTRATED") : style.fail("NOT DEMONSTRATED");
    const onPurpose = checks.filter((c) => c.brokenOnPurpose).length;
    lines.push(`${verdict} --break ${broken.rule}: ${passed}/${run.length} checks passed, ${onPurpose} broken on purpose, in ${durationMs} ms${notRun}`);
    return lines;
  }
  const verdict = passed === run.length && run.length > 0 ? style.ok("PASS") : style.fail("FAIL");
  lines.push(`${verdict} ${passed}/${run.length} checks passed in ${durationMs} ms${notRun}`);
  return lines;
}
