/**
 * The verdicts of `pnpm interop`: for each step, what the servers saw the client do, and whether that
 * is what the demo's rules call correct. Pure functions over the servers' exchange events
 * (shared/extras/exchange-events.ts) and the client's outcome (did it answer, fail, or hang) — the servers'
 * view decides, the client's own words are only shown.
 *
 * The step-up rules themselves (C3, C4.1, C4.2, C4.4, C4.5) are judged once, for the whole run, by
 * scripts/live-view/rules.ts — the live view's judge; a step fails on a rule the judge found broken at
 * one of the step's exchanges. What is checked here besides is what each step of the story expects
 * (D1: the code is redeemed; D3: one authorization, a retry that succeeds; D6: no authorization, at most
 * 3 attempts of the one call).
 */
import type { ExchangeEvent } from "../../shared/extras/exchange-events.ts";
import { movesOf } from "../live-view/exchanges.ts";
import type { Finding, RuleId } from "../live-view/rules.ts";
import type { ClientOutcome, StepId } from "./steps.ts";

/** The facts of one step, counted from the servers' exchange events. */
export interface StepFacts {
  registrations: number;
  /** Every authorization request the AS answered, in order: what it asked for and what it got. */
  authorizations: { requested: string[]; granted: string[] | undefined; error?: string }[];
  codeExchanges: number;
  /** Refresh-token grants tried, accepted or refused. */
  refreshes: number;
  /** The attempts of this step's tool call, in order (403 = refused by the scope gate). */
  attempts: (200 | 403)[];
}

export type Verdict = "pass" | "fail" | "timeout" | "not-run";

export interface StepVerdict {
  step: StepId;
  verdict: Verdict;
  /** One line: what the servers saw (and, when it failed, which rule). */
  summary: string;
  facts?: StepFacts;
  client?: { outcome: ClientOutcome; detail: string };
}

export function stepFacts(step: StepId, events: readonly ExchangeEvent[]): StepFacts {
  const facts: StepFacts = { registrations: 0, authorizations: [], codeExchanges: 0, refreshes: 0, attempts: [] };
  for (const move of movesOf(events)) {
    switch (move.kind) {
      case "registration":
        if (move.ok) facts.registrations++;
        break;
      case "authorization":
        facts.authorizations.push(move.error ? { requested: [], granted: undefined, error: move.error } : { requested: move.requested, granted: move.granted });
        break;
      case "token":
        if (move.grantType === "refresh_token") facts.refreshes++;
        if (move.ok && move.grantType === "authorization_code") facts.codeExchanges++;
        break;
      case "call":
        if (move.status === 200 || move.insufficient) for (const tool of move.tools) if (tool === step) facts.attempts.push(move.status === 200 ? 200 : 403);
        break;
    }
  }
  return facts;
}

const has = (scopes: readonly string[] | undefined, ...wanted: string[]) => wanted.every((scope) => scopes?.includes(scope));
const plural = (n: number, word: string, words = `${word}s`) => `${n} ${n === 1 ? word : words}`;
const code = (scopes: readonly string[]) => `\`${scopes.join(" ") || "(none)"}\``;
const times = (n: number) => (n === 2 ? "twice" : `${n} times`);

/**
 * E.g. "authorize `files:read files:write`, no refresh, 403 → 200". The same authorization repeated is
 * said once, with how often ("…, twice"); an authorization whose code the client never redeemed (the user
 * answered a consent screen for nothing) is counted.
 */
function describe(facts: StepFacts): string[] {
  const parts: string[] = [];
  if (facts.registrations > 0) parts.push(facts.registrations === 1 ? "DCR" : `${facts.registrations} registrations`);
  const labels = facts.authorizations.map((a) =>
    a.error ? `authorization refused (${a.error})` : `authorize ${code(a.requested)}${has(a.granted, ...a.requested) ? "" : ` → partial grant ${code(a.granted ?? [])}`}`,
  );
  for (let i = 0; i < labels.length; ) {
    let n = 1;
    while (labels[i + n] === labels[i]) n++;
    parts.push(n === 1 ? labels[i]! : `${labels[i]}, ${times(n)}`);
    i += n;
  }
  const open = facts.authorizations.filter((a) => !a.error).length - facts.codeExchanges;
  if (open > 0) parts.push(`${plural(open, "authorization")} whose code was never redeemed`);
  if (facts.attempts.includes(403) || facts.refreshes > 0) parts.push(facts.refreshes === 0 ? "no refresh" : plural(facts.refreshes, "refresh", "refreshes"));
  if (facts.attempts.length > 0) parts.push(facts.attempts.join(" → "));
  return parts;
}

/** The first finding of the judge that broke `rule` in this step (of one of `kinds`, when given). */
type Broken = (rule: RuleId, ...kinds: string[]) => string | undefined;

type Rule = (facts: StepFacts, outcome: ClientOutcome, broken: Broken) => string | undefined;

/** For each step, the first broken rule (or undefined: correct). Rule ids are those of docs/rules.md. */
const RULES: Record<StepId, Rule> = {
  // D1, C3: the first authorization asks for the 401 challenge's scope, and the code is redeemed.
  connect: (facts, outcome, broken) => {
    const first = facts.authorizations[0];
    if (!first) return "no authorization (D1)";
    if (first.error) return `authorization refused: ${first.error} (C3)`;
    const c3 = broken("C3");
    if (c3) return c3;
    if (facts.codeExchanges === 0) return "code never redeemed (D1)";
    if (outcome !== "ok") return "did not connect (D1)";
    return undefined;
  },
  // D2: a call within the held scope just runs.
  "list-files": (facts, outcome) => {
    if (facts.attempts.join() !== "200" || outcome !== "ok") return "the call did not succeed at once (D2)";
    if (facts.authorizations.length > 0 || facts.refreshes > 0) return "authorization traffic for an allowed call (D2)";
    return undefined;
  },
  // D3, C4.1–C4.3: union, no refresh, one fresh authorization, one retry that succeeds.
  "write-file": (facts, outcome, broken) => {
    const refreshed = broken("C4.2");
    if (refreshed) return refreshed;
    if (facts.authorizations.length !== 1) return `${plural(facts.authorizations.length, "authorization")}, expected 1 (C4.2)`;
    const union = broken("C4.1");
    if (union) return union;
    if (facts.codeExchanges !== 1) return "code not redeemed (C4.2)";
    if (facts.attempts.join() !== "403,200" || outcome !== "ok") return "the retry did not succeed (C4.3)";
    return undefined;
  },
  // D5, C4.4: one authorization for the union, partial grant ⇒ stop, without retrying or re-asking.
  "delete-file": (facts, outcome, broken) => {
    const refreshed = broken("C4.2");
    if (refreshed) return refreshed;
    if (facts.authorizations.length === 0) return "no step-up (C4)";
    const declined = broken("C4.1") ?? broken("C4.4", "asked-again") ?? broken("C4.4", "retried");
    if (declined) return declined;
    if (outcome !== "error") return "did not report the refusal (C4.4)";
    return undefined;
  },
  // D6, C4.2, C4.5: nothing to widen ⇒ no authorization; bounded attempts; the client stops.
  "broken-challenge": (facts, outcome, broken) => {
    // files:admin, declined in delete-file, asked for again: the union is wider only because of it.
    const reasked = broken("C4.4", "asked-again");
    if (reasked) return `${reasked}, so it authorized where a refresh would do (C4.2)`;
    if (facts.authorizations.length > 0) return `${plural(facts.authorizations.length, "authorization")} for a scope already held (C4.2)`;
    const looped = broken("C4.5");
    if (looped) return looped;
    // One call, so its attempts count whatever came between them: resent without a step-up is a loop too.
    if (facts.attempts.length > 3) return `${facts.attempts.length} attempts: no retry cap (C4.5)`;
    if (outcome !== "error") return "did not stop with an error (C4.5)";
    return undefined;
  },
};

/**
 * The verdict of one step from its exchange events, the client's outcome, and the judge's findings for
 * the whole run (scripts/live-view/rules.ts `judgeClient`): those decided at one of the step's exchanges count.
 */
export function judgeStep(step: StepId, events: readonly ExchangeEvent[], client: { outcome: ClientOutcome; detail: string }, findings: readonly Finding[]): StepVerdict {
  const facts = stepFacts(step, events);
  const seen = describe(facts).join(", ");
  if (client.outcome === "timeout") return { step, verdict: "timeout", summary: `${client.detail}; the servers saw: ${seen || "nothing"}`, facts, client };
  const here = new Set(events);
  const decidedHere = findings.filter((finding) => !finding.ok && here.has(finding.exchanges.at(-1)!));
  const firstBroken: Broken = (rule, ...kinds) => decidedHere.find((f) => f.rule === rule && (kinds.length === 0 || kinds.includes(f.kind)))?.text;
  const broken = RULES[step](facts, client.outcome, firstBroken);
  const ending = client.outcome === "error" ? " → client error" : "";
  return { step, verdict: broken ? "fail" : "pass", summary: broken ? `${seen}${ending} — ${broken}` : `${seen}${ending}`, facts, client };
}

export function notRun(step: StepId, reason: string): StepVerdict {
  return { step, verdict: "not-run", summary: reason };
}
