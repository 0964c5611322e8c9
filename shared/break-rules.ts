/**
 * The rules `pnpm demo --break RULE` can break on purpose, one at a time, so a learner sees what each
 * rule prevents. Shared by the orchestrator (`--break list`, which server gets the switch), the client
 * (which checks the break affects, what it predicts) and the AS's config (`AS_BREAK`, the two rules the
 * AS itself breaks). Nothing here changes behaviour: each switch is read beside the rule it breaks.
 */

export interface BreakRuleInfo {
  rule: string;
  /** Who breaks it: the client (a `--break` option of the story's client) or the AS (`AS_BREAK`). */
  side: "client" | "as";
  /** The rule that is broken, with its source. */
  breaks: string;
  /** What goes wrong without it: the consequence the run must observe. */
  predicted: string;
}

export const BREAK_RULES = [
  {
    rule: "replace-scope",
    side: "client",
    breaks: "C4.1 step-up asks for requested ∪ granted ∪ challenged (SEP-2350)",
    predicted:
      "the client asks for the challenged scope alone: write-file steps up, then list-files meets 403 files:read (the token lost files:read), and every switch between reading and writing costs another authorization",
  },
  {
    rule: "refresh-to-widen",
    side: "client",
    breaks: "C4.2 a wider scope needs a new authorization, never a refresh (RFC 6749 §6)",
    predicted: "the client tries to widen with a refresh: the AS answers invalid_scope and write-file never succeeds",
  },
  {
    rule: "ignore-decline",
    side: "client",
    breaks: "C4.4 a declined scope leaves the requested set (RFC 6749 §3.3)",
    predicted: "after files:admin is declined, every later step-up asks for files:admin again: extra authorizations the user would be asked to approve",
  },
  {
    rule: "no-retry-cap",
    side: "client",
    breaks: 'C4.5 at most 2 step-ups per operation (MCP 2026-07-28 Authorization, "Step-Up Authorization Flow")',
    predicted: "broken-challenge loops, refreshing each time, until the demo's safety stop ends it after 10 rounds",
  },
  {
    rule: "stock-sdk",
    side: "client",
    breaks: "C1/C4 step-up lives in the middleware, so the v1 SDK's own authProvider 403 branch never runs (SEP-2350)",
    predicted: "on the first 403 the SDK replaces its scope with the challenged one, refreshes (which cannot widen), meets the same 403 and gives up: no step-up at all",
  },
  {
    rule: "lenient-redirect",
    side: "as",
    breaks: "A3/A4 loopback-only redirect URIs at DCR, exact matching at /authorize (RFC 8252 §7.3; RFC 6749 §4.1.2.1, RFC 9700 §4.1.3)",
    predicted: "the AS registers https://attacker.example/cb and /authorize answers 302 with a code in a Location on attacker.example (shown, never followed)",
  },
  {
    rule: "no-pkce",
    side: "as",
    breaks: "A6 /token checks the code_verifier against the code_challenge (RFC 7636 §4.6)",
    predicted: "a code redeemed without its code_verifier yields tokens: an intercepted code is as good as a token",
  },
] as const satisfies readonly BreakRuleInfo[];

export type BreakRule = (typeof BREAK_RULES)[number]["rule"];
/** The rules the AS breaks when `AS_BREAK` names them. */
export type AsBreakRule = Extract<(typeof BREAK_RULES)[number], { side: "as" }>["rule"];

export function breakRuleInfo(rule: string): BreakRuleInfo | undefined {
  return BREAK_RULES.find((r) => r.rule === rule);
}

export function isBreakRule(rule: string): rule is BreakRule {
  return breakRuleInfo(rule) !== undefined;
}

/** `--break list`: one line per rule. */
export function breakRuleLines(): string[] {
  const width = Math.max(...BREAK_RULES.map((r) => r.rule.length));
  return BREAK_RULES.map((r) => `${r.rule.padEnd(width)}  ${r.side === "as" ? "[AS]    " : "[client]"}  breaks ${r.breaks}`);
}
