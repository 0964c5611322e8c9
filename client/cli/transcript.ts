/**
 * The Markdown transcript of a real run (T3, `--transcript FILE.md`): readable on its own — the
 * numbered steps with their citations, a Mermaid `sequenceDiagram` generated from the exchanges as
 * they happened (the 403 and the second authorization included), every exchange per step (already
 * redacted by the recorder), and the checklist. A `--break` run says first which rule it broke, what
 * that predicts and what the exchanges showed.
 */
import { BREAK_RULES, breakerTag } from "../../shared/break-rules.ts";
import { describeOutcome, describeRequest, partyOf, type Parties } from "../wire.ts";
import type { RecordedExchange } from "../recorder.ts";
import type { CheckResult } from "../../shared/report.ts";
import type { StoryRun } from "../story.ts";

/** Mermaid message text: `;` and `#` would end or escape the statement. */
function mermaidText(text: string): string {
  return text.replace(/#/g, "#35;").replace(/;/g, "#59;").replace(/\s+/g, " ").slice(0, 160);
}

/** Markdown table cell: no pipes or newlines. */
function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\s*\n\s*/g, " ");
}

const participant = (exchange: RecordedExchange, parties: Parties) => {
  const party = partyOf(exchange, parties);
  return party === "other" ? "Other" : party;
};

export function sequenceDiagram(exchanges: RecordedExchange[], parties: Parties, steps: StoryRun["steps"]): string[] {
  const lines = ["```mermaid", "sequenceDiagram", "  autonumber", "  participant Client", "  participant AS", "  participant RS"];
  if (exchanges.some((e) => partyOf(e, parties) === "other")) lines.push("  participant Other");
  let step = "";
  for (const exchange of exchanges) {
    if (exchange.step !== step) {
      step = exchange.step;
      const title = steps.find((s) => s.id === step)?.title ?? (step === "break" ? "more calls (--break)" : "teardown");
      lines.push(`  Note over Client,RS: ${mermaidText(`${step} ${title}`)}`);
    }
    const to = participant(exchange, parties);
    lines.push(`  Client->>${to}: ${mermaidText(describeRequest(exchange, parties))}`);
    const arrow = exchange.status === undefined ? "--x" : "-->>";
    lines.push(`  ${to}${arrow}Client: ${mermaidText(describeOutcome(exchange))}`);
  }
  lines.push("```");
  return lines;
}

function exchangeTable(exchanges: RecordedExchange[], parties: Parties): string[] {
  const rows = ["| # | to | request | response | ms |", "|---|---|---|---|---|"];
  for (const e of exchanges) {
    const request = [`\`${e.method} ${e.url}\``];
    if (e.request.rpcMethod) request.push(`JSON-RPC \`${e.request.rpcMethod}\`${e.request.tool ? ` \`${e.request.tool}\`` : ""}`);
    if (e.request.authorization) request.push(`Authorization: \`${e.request.authorization}\``);
    if (e.request.mcpSessionId) request.push(`Mcp-Session-Id: \`${e.request.mcpSessionId.slice(0, 8)}…\``);
    if (e.request.form) request.push(`form: \`${Object.entries(e.request.form).map(([k, v]) => `${k}=${v}`).join("&")}\``);
    if (e.request.json) request.push(`body: \`${JSON.stringify(e.request.json)}\``);
    const response = [e.status === undefined ? `failed: ${e.error ?? ""}` : `**${e.status}**`];
    if (e.response.wwwAuthenticate) response.push(`WWW-Authenticate: \`${e.response.wwwAuthenticate}\``);
    if (e.response.location) response.push(`Location: \`${e.response.location}\``);
    if (e.response.json !== undefined && !e.request.rpcMethod) response.push(`body: \`${JSON.stringify(e.response.json)}\``);
    if (e.response.contentType?.startsWith("text/event-stream")) response.push("(SSE stream, not read by the recorder)");
    rows.push(
      `| ${e.seq} | ${participant(e, parties)} | ${cell(request.join("<br>"))} | ${cell(response.join("<br>"))} | ${e.durationMs} |`,
    );
  }
  return rows;
}

const mark = (c: CheckResult) => (c.ok ? "✓" : c.brokenOnPurpose ? "⚠" : "✗");

function checklist(checks: CheckResult[]): string[] {
  return checks.map((c) => `- ${mark(c)} **${c.id}** ${c.title} (${c.ms} ms) — ${c.detail}`);
}

/** After a passing run: how to see what each rule prevents. */
function breakItSection(): string[] {
  return [
    "## Break it: what each rule prevents",
    "",
    "Each command runs this story again with one rule broken on purpose, predicts the consequence and shows it",
    "from the recorded exchanges; the checks it makes fail are marked ⚠ \"broken on purpose\". The first two",
    "columns are what `pnpm demo --break list` prints; `docs/breaks.md` shows each break as a diff.",
    "",
    "| command | broken by | breaks | predicted |",
    "|---|---|---|---|",
    ...BREAK_RULES.map((r) => `| \`pnpm demo --break ${r.rule}\` | ${breakerTag(r)} | ${cell(r.breaks)} | ${cell(r.predicted)} |`),
    "",
  ];
}

/** A `--break` run: the rule, the prediction, and the evidence, before anything else. */
function brokenRule(run: StoryRun): string[] {
  if (!run.break) return [];
  const { rule, predicted, observed, demonstrated } = run.break;
  const lines = run.breakLines ?? observed.split("; ");
  return [
    `## The rule broken on purpose: \`${rule}\``,
    "",
    `This run was \`pnpm demo --break ${rule}\`: one rule is broken on purpose, to show what it prevents.`,
    "",
    `- **Predicted:** ${predicted}`,
    `- **Observed** (from the recorded exchanges below):`,
    ...lines.map((line) => `  - ${line}`),
    `- **${demonstrated ? "Demonstrated" : "Not demonstrated"}.** Checks marked ⚠ failed because of the broken rule.`,
    "",
  ];
}

export function renderTranscript(run: StoryRun, when = new Date()): string {
  const { parties } = run;
  const passed = run.checks.filter((c) => c.ok).length;
  // A step may report its other documented outcome under its own title (D5 when files:admin is grantable).
  const steps = run.steps.map((step) => ({ ...step, title: run.checks.find((c) => c.id === step.id)?.title ?? step.title }));
  const out: string[] = [
    "# Scope step-up (SEP-2350), as it ran",
    "",
    `Recorded ${when.toISOString()} by the demo's client (\`pnpm demo --transcript\`) against the resource \`${parties.serverUrl}\`` +
      (parties.issuer ? ` and the authorization server \`${parties.issuer}\`.` : "."),
    run.break
      ? `Verdict: **${run.ok ? "DEMONSTRATED" : "NOT DEMONSTRATED"}** (\`--break ${run.break.rule}\`) — ${passed}/${run.checks.length} checks passed in ${run.durationMs} ms.`
      : `Verdict: **${run.ok ? "PASS" : "FAIL"}** — ${passed}/${run.checks.length} checks in ${run.durationMs} ms.`,
    "",
    ...brokenRule(run),
    "Tokens, codes, PKCE values and `state` appear as a short prefix only (a JWT as a prefix of its signature).",
    "",
    "## The run as a sequence diagram",
    "",
    ...sequenceDiagram(run.exchanges, parties, steps),
    "",
    "## Steps",
  ];
  for (const step of steps) {
    const check = run.checks.find((c) => c.id === step.id);
    out.push("", `### ${step.id} ${step.title} ${check ? mark(check) : "(not run)"}`, "", `> ${step.citation}`, "");
    const exchanges = run.exchanges.filter((e) => e.step === step.id);
    if (exchanges.length > 0) out.push(...exchangeTable(exchanges, parties), "");
    if (check?.brokenOnPurpose) out.push(`**Broken on purpose**: ${check.detail.replace(/^broken on purpose: /, "")}`);
    else if (check) out.push(`${check.ok ? "Verified" : "**Failed**"}: ${check.detail}`);
  }
  const more = run.exchanges.filter((e) => e.step === "break");
  if (more.length > 0) out.push("", "### More calls, to show the cost (`--break`)", "", ...exchangeTable(more, parties));
  const teardown = run.exchanges.filter((e) => e.step !== "break" && !run.steps.some((s) => s.id === e.step));
  if (teardown.length > 0) out.push("", "### Teardown", "", ...exchangeTable(teardown, parties));
  out.push("", "## Checklist", "", ...checklist(run.checks), "");
  if (!run.break) out.push(...breakItSection());
  return out.join("\n");
}
