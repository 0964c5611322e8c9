/**
 * The compatibility table of `pnpm interop`: Markdown for the README, JSON for programs.
 */
import type { StepVerdict, Verdict } from "./judge.ts";
import type { ClientRun } from "./run-client.ts";
import type { StepId } from "./steps.ts";

export const COLUMNS: Record<StepId, string> = {
  connect: "connect (D1, C3)",
  "list-files": "`list-files` (D2)",
  "write-file": "`write-file` 403 → step-up (D3, C4)",
  "delete-file": "`delete-file`, partial grant (D5, C4.4)",
  "broken-challenge": "`broken-challenge` (D6, C4.5)",
};

const MARKS: Record<Verdict, string> = { pass: "✔", fail: "✘", timeout: "⏱", "not-run": "—" };

function cell(step: StepVerdict): string {
  const text = `${MARKS[step.verdict]} ${step.summary}`.trim();
  return text.replace(/\|/g, "\\|");
}

export function markdownTable(runs: readonly ClientRun[], context: { date: string; node: string }): string {
  const steps = Object.keys(COLUMNS) as StepId[];
  const lines = [
    `| client | ${steps.map((step) => COLUMNS[step]).join(" | ")} |`,
    `|---|${steps.map(() => "---").join("|")}|`,
    ...runs.map((run) => {
      const name = `\`${run.client.name}\` ${run.client.version}`;
      if (!run.client.driver) return `| ${name} | — skipped: ${run.client.skip} |${steps.slice(1).map(() => " — ").join("|")}|`;
      return `| ${name} | ${run.steps.map(cell).join(" | ")} |`;
    }),
  ];
  lines.push("", `Measured ${context.date} on Node ${context.node} by \`pnpm interop\`. ✔ correct · ✘ wrong (the rule it breaks) · ⏱ the client hung (no answer within the per-step timeout) · — not run.`);
  return lines.join("\n");
}

export interface JsonInteropReport {
  date: string;
  node: string;
  durationMs: number;
  /** False only when the stack or the harness failed, or `--reference` named a client that regressed. */
  ok: boolean;
  error?: string;
  clients: {
    id: string;
    name: string;
    version: string;
    skipped?: string;
    steps: StepVerdict[];
  }[];
}

export function jsonReport(runs: readonly ClientRun[], context: { date: string; node: string; durationMs: number; ok: boolean; error?: string }): JsonInteropReport {
  return {
    ...context,
    clients: runs.map((run) => ({
      id: run.client.id,
      name: run.client.name,
      version: run.client.version,
      ...(run.client.driver ? {} : { skipped: run.client.skip }),
      steps: run.steps,
    })),
  };
}
