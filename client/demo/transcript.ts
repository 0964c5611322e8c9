/**
 * The Markdown transcript of a real run (T3, `--transcript FILE.md`): readable on its own — the
 * numbered steps with their citations, a Mermaid `sequenceDiagram` generated from the exchanges as
 * they happened (the 403 and the second authorization included), every exchange per step (already
 * redacted by the recorder), and the checklist.
 */
import { describeOutcome, describeRequest, partyOf, type Parties } from "./exchanges.ts";
import type { RecordedExchange } from "./recorder.ts";
import type { CheckResult } from "./report.ts";
import type { StoryRun } from "./story.ts";

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
      const title = steps.find((s) => s.id === step)?.title ?? "teardown";
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

function checklist(checks: CheckResult[]): string[] {
  return checks.map((c) => `- ${c.ok ? "✓" : "✗"} **${c.id}** ${c.title} (${c.ms} ms) — ${c.detail}`);
}

export function renderTranscript(run: StoryRun, when = new Date()): string {
  const { parties } = run;
  const passed = run.checks.filter((c) => c.ok).length;
  // A step may report its other documented outcome under its own title (D5 when files:admin is grantable).
  const steps = run.steps.map((step) => ({ ...step, title: run.checks.find((c) => c.id === step.id)?.title ?? step.title }));
  const out: string[] = [
    "# Scope step-up (SEP-2350), as it ran",
    "",
    `Recorded ${when.toISOString()} by \`pnpm client\` against the resource \`${parties.serverUrl}\`` +
      (parties.issuer ? ` and the authorization server \`${parties.issuer}\`.` : "."),
    `Verdict: **${run.ok ? "PASS" : "FAIL"}** — ${passed}/${run.checks.length} checks in ${run.durationMs} ms.`,
    "",
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
    out.push("", `### ${step.id} ${step.title} ${check ? (check.ok ? "✓" : "✗") : "(not run)"}`, "", `> ${step.citation}`, "");
    const exchanges = run.exchanges.filter((e) => e.step === step.id);
    if (exchanges.length > 0) out.push(...exchangeTable(exchanges, parties), "");
    if (check) out.push(`${check.ok ? "Verified" : "**Failed**"}: ${check.detail}`);
  }
  const teardown = run.exchanges.filter((e) => !run.steps.some((s) => s.id === e.step));
  if (teardown.length > 0) out.push("", "### Teardown", "", ...exchangeTable(teardown, parties));
  out.push("", "## Checklist", "", ...checklist(run.checks), "");
  return out.join("\n");
}
