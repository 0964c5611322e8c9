/**
 * The rules `pnpm demo --break RULE` can break on purpose, one at a time, so a learner sees what each
 * rule prevents. Shared by the orchestrator (`--break list`, which server gets the switch), the client
 * (which checks the break affects, what it predicts) and the servers' config (`AS_BREAK`, `RS_BREAK`).
 * Nothing here changes behaviour: each broken variant is composed where its app or client is built
 * (as/breaks.ts, resource-server/breaks.ts, client/cli/breaks.ts); docs/breaks.md shows each as a diff.
 */
import type { StepId } from "./report.ts";

/** Who is broken: the story's client, the AS (`AS_BREAK`), the RS (`RS_BREAK`). */
export type Breaker = "client" | "as" | "rs";

export interface BreakRuleInfo {
  rule: string;
  /** Who breaks it; a server on this list is started with the rule broken (and says so). */
  by: readonly Breaker[];
  /** The rule that is broken, with its source. */
  breaks: string;
  /** What goes wrong without it: the consequence the run must observe. */
  predicted: string;
  /** The steps that must run to show it (after D1): `--only Dn` can show the rule when these are [Dn]. */
  shownIn: readonly StepId[];
}

export const BREAK_RULES = [
  {
    rule: "replace-scope",
    by: ["client"],
    breaks: "C4.1 step-up asks for requested ∪ granted ∪ challenged (SEP-2350)",
    predicted:
      "the client asks for the challenged scope alone: write-file steps up, then list-files meets 403 files:read (the token lost files:read), and every switch between reading and writing costs another authorization",
    shownIn: ["D3"],
  },
  {
    rule: "refresh-to-widen",
    by: ["client"],
    breaks: "C4.2 a wider scope needs a new authorization, never a refresh (RFC 6749 §6)",
    predicted: "the client tries to widen with a refresh: the AS answers invalid_scope and write-file never succeeds",
    shownIn: ["D3"],
  },
  {
    rule: "ignore-decline",
    by: ["client"],
    breaks: "C4.4 a declined scope leaves the requested set (RFC 6749 §3.3)",
    predicted: "after files:admin is declined, every later step-up asks for files:admin again: extra authorizations the user would be asked to approve",
    shownIn: ["D5", "D6"],
  },
  {
    rule: "no-retry-cap",
    by: ["client"],
    breaks: 'C4.5 at most 2 step-ups per operation (MCP 2026-07-28 Authorization, "Step-Up Authorization Flow")',
    predicted: "broken-challenge loops, refreshing each time, until the demo's safety stop ends it after 10 rounds",
    shownIn: ["D6"],
  },
  {
    rule: "stock-sdk",
    by: ["client"],
    breaks: "C1/C4 step-up lives in the middleware, so the v1 SDK's own authProvider 403 branch never runs (SEP-2350)",
    predicted: "on the first 403 the SDK replaces its scope with the challenged one, refreshes (which cannot widen), meets the same 403 and gives up: no step-up at all",
    shownIn: ["D3"],
  },
  {
    rule: "scopes-supported",
    by: ["client"],
    breaks: 'C4.1 the challenge\'s scope is what the operation needs; scopes_supported is only the minimal set for basic use (RFC 9728 §2; MCP 2026-07-28 Authorization, "Scope Selection Strategy")',
    predicted:
      "the client reads the resource metadata's scopes_supported (files:read) where the 403's scope (files:write) is: nothing wider seems needed, so it refreshes, meets the same 403, refreshes again, and the cap ends write-file with retry-limit",
    shownIn: ["D3"],
  },
  {
    rule: "scope-hierarchy",
    by: ["as", "rs", "client"],
    breaks: "S1 the scopes are independent (RFC 6749 §3.3 defines no hierarchy), which makes C4.1 visible",
    predicted:
      "the AS and the RS treat files:write as including files:read (and files:admin as including files:write) and the client asks for the challenged scope alone, as replace-scope does: every check passes, the bug is invisible — which is why the demo's scopes are independent",
    shownIn: ["D3"],
  },
  {
    rule: "no-state-check",
    by: ["client"],
    breaks: "C1 the authorization response's state must be the one the client sent (RFC 6749 §10.12; RFC 9700 §4.7)",
    predicted:
      "a forged authorization response (a code from another flow, a wrong state) reaches the client's redirect handling: instead of refusing it, the client sends that code to /token — login CSRF or code injection; here only PKCE (A6) keeps the other flow's tokens out",
    shownIn: ["D8"],
  },
  {
    rule: "lenient-redirect",
    by: ["as"],
    breaks: "A3/A4 loopback-only redirect URIs at DCR, exact matching at /authorize (RFC 8252 §7.3; RFC 6749 §4.1.2.1, RFC 9700 §4.1.3)",
    predicted: "the AS registers https://attacker.example/cb and /authorize answers 302 with a code in a Location on attacker.example (shown, never followed)",
    shownIn: ["D8"],
  },
  {
    rule: "no-pkce",
    by: ["as"],
    breaks: "A6 /token checks the code_verifier against the code_challenge (RFC 7636 §4.6)",
    predicted: "a code redeemed without its code_verifier yields tokens: an intercepted code is as good as a token",
    shownIn: ["D8"],
  },
] as const satisfies readonly BreakRuleInfo[];

export type BreakRule = (typeof BREAK_RULES)[number]["rule"];
type BrokenBy<B extends Breaker, Info = (typeof BREAK_RULES)[number]> = Info extends { rule: infer R; by: readonly (infer Who)[] }
  ? B extends Who
    ? R
    : never
  : never;
/** The rules the AS breaks when `AS_BREAK` names them. */
export type AsBreakRule = BrokenBy<"as">;
/** The rules the RS breaks when `RS_BREAK` names them. */
export type RsBreakRule = BrokenBy<"rs">;

export function breakRuleInfo(rule: string): BreakRuleInfo | undefined {
  return BREAK_RULES.find((r) => r.rule === rule);
}

export function isBreakRule(rule: string): rule is BreakRule {
  return breakRuleInfo(rule) !== undefined;
}

/** The rules `server` breaks when its switch names them. */
export function rulesBrokenBy(server: "as" | "rs"): string[] {
  return BREAK_RULES.filter((r) => (r.by as readonly Breaker[]).includes(server)).map((r) => r.rule);
}

/** What the narration says about who breaks a rule: "the client", "the AS (AS_BREAK)", … */
export function brokenByText(info: BreakRuleInfo): string {
  const names = { client: "the client", as: "the AS (AS_BREAK)", rs: "the RS (RS_BREAK)" };
  const who = info.by.map((b) => names[b]);
  return who.length > 1 ? `${who.slice(0, -1).join(", ")} and ${who.at(-1)}` : who[0]!;
}

/** `--only Dn --break RULE`: undefined when Dn alone (after D1) shows the rule, else why not. */
export function onlyBreakProblem(info: BreakRuleInfo, only: StepId): string | undefined {
  if (info.shownIn.length === 1 && info.shownIn[0] === only) return undefined;
  const where = info.shownIn.length === 1 ? info.shownIn[0] : `${info.shownIn.join(" and ")} together`;
  return `--break ${info.rule} shows in ${where}: run it with ${info.shownIn.length === 1 ? `--only ${info.shownIn[0]}` : "no --only"}`;
}

/** Who breaks a rule, as `--break list` and the transcript show it: `[client]`, `[AS]`, `[AS+RS+client]`. */
export function breakerTag(info: BreakRuleInfo): string {
  return `[${info.by.map((b) => (b === "client" ? b : b.toUpperCase())).join("+")}]`;
}

/** `--break list`: one line per rule. */
export function breakRuleLines(): string[] {
  const width = Math.max(...BREAK_RULES.map((r) => r.rule.length));
  const tags = BREAK_RULES.map(breakerTag);
  const tagWidth = Math.max(...tags.map((t) => t.length));
  return BREAK_RULES.map((r, i) => `${r.rule.padEnd(width)}  ${tags[i]!.padEnd(tagWidth)}  breaks ${r.breaks}`);
}
