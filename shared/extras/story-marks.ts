/**
 * Where each step of the story begins, said by `pnpm demo`'s client (`STORY_MARKS=1`: one line on
 * stderr per step, from the story's `pause` hook — called before each step after D1, then before the
 * checklist) and read by the demo, so that the live view draws the steps (D1…D8) across its diagram and
 * leaves unjudged the one step that sends wrong requests on purpose. The time is the clock of the
 * servers' exchange events (`at`): every process of one machine shares it.
 */
import type { StepMark } from "../../scripts/live-view/view-model.ts";

export const STORY_MARK_PREFIX = "@@story ";

/** D8 ("hardening, live") sends an attacker's registration, unregistered redirects and a widening refresh on purpose. */
const UNJUDGED = new Set(["D8"]);

/** The mark of what begins now: `next` is what `pause` is told — "D3 write-file → step-up", or "the checklist". */
export function formatStoryMark(next: string, at = performance.timeOrigin + performance.now()): string {
  const step = /^(D\d+) (.*)$/.exec(next);
  const [id, title] = step ? [step[1]!, step[2]!] : ["after", "the steps: more calls (--break), then the teardown"];
  return `${STORY_MARK_PREFIX}${JSON.stringify({ step: id, title, at })}`;
}

/** The mark a line carries, or undefined for any other line. */
export function parseStoryMark(line: string): StepMark | undefined {
  if (!line.startsWith(STORY_MARK_PREFIX)) return undefined;
  try {
    const { step, title, at } = JSON.parse(line.slice(STORY_MARK_PREFIX.length)) as Record<string, unknown>;
    if (typeof step !== "string" || typeof title !== "string" || typeof at !== "number") return undefined;
    return { step, title, at, judged: !UNJUDGED.has(step) };
  } catch {
    return undefined;
  }
}
