/**
 * The verdicts of `pnpm interop`: for each step, what the servers saw the client do, and whether that
 * is what the demo's rules call correct. Pure functions over the servers' log events (./server-log.ts)
 * and the client's outcome (did it answer, fail, or hang) — the servers' view decides, the client's
 * own words are only shown.
 */
import type { ServerEvent } from "./server-log.ts";
import type { ClientOutcome, StepId } from "./steps.ts";

const READ = "files:read";
const WRITE = "files:write";
const ADMIN = "files:admin";

/** The facts of one step, counted from the servers' logs. */
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

export function stepFacts(step: StepId, events: readonly ServerEvent[]): StepFacts {
  const facts: StepFacts = { registrations: 0, authorizations: [], codeExchanges: 0, refreshes: 0, attempts: [] };
  for (const event of events) {
    switch (event.kind) {
      case "register":
        facts.registrations++;
        break;
      case "authorize":
        facts.authorizations.push({ requested: event.requested, granted: event.granted });
        break;
      case "authorize-refused":
        facts.authorizations.push({ requested: [], granted: undefined, error: event.error });
        break;
      case "token":
      case "token-refused":
        if (event.grantType === "refresh_token") facts.refreshes++;
        if (event.kind === "token" && event.grantType === "authorization_code") facts.codeExchanges++;
        break;
      case "call":
        if (event.tool === step) facts.attempts.push(event.status);
        break;
    }
  }
  return facts;
}

const has = (scopes: readonly string[] | undefined, ...wanted: string[]) => wanted.every((scope) => scopes?.includes(scope));
const plural = (n: number, word: string, words = `${word}s`) => `${n} ${n === 1 ? word : words}`;
const code = (scopes: readonly string[]) => `\`${scopes.join(" ") || "(none)"}\``;
const times = (n: number) => (n === 2 ? "twice" : `${n} times`);
/** What the AS declined of the step's authorizations: asked for, not granted (all of it when refused). */
const declinedIn = (facts: StepFacts) => [...new Set(facts.authorizations.flatMap((a) => a.requested.filter((s) => !a.granted?.includes(s))))];

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

type Rule = (facts: StepFacts, outcome: ClientOutcome) => string | undefined;

/** For each step, the first broken rule (or undefined: correct). Rule ids are those of docs/rules.md. */
const RULES: Record<StepId, Rule> = {
  // D1, C3: the first authorization asks for the 401 challenge's scope, and the code is redeemed.
  connect: (facts, outcome) => {
    const first = facts.authorizations[0];
    if (!first) return "no authorization (D1)";
    if (first.error) return `authorization refused: ${first.error} (C3)`;
    if (first.requested.join(" ") !== READ) return `asked for ${code(first.requested)}, not the challenge's \`${READ}\` (C3)`;
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
  "write-file": (facts, outcome) => {
    if (facts.refreshes > 0) return "tried a refresh, which cannot widen scope (C4.2, RFC 6749 §6)";
    if (facts.authorizations.length !== 1) return `${plural(facts.authorizations.length, "authorization")}, expected 1 (C4.2)`;
    const [authorization] = facts.authorizations;
    if (!has(authorization!.requested, READ, WRITE)) return `asked for ${code(authorization!.requested)}, not the union \`${READ} ${WRITE}\` (C4.1)`;
    if (facts.codeExchanges !== 1) return "code not redeemed (C4.2)";
    if (facts.attempts.join() !== "403,200" || outcome !== "ok") return "the retry did not succeed (C4.3)";
    return undefined;
  },
  // D5, C4.4: one authorization for the union, partial grant ⇒ stop, without retrying or re-asking.
  "delete-file": (facts, outcome) => {
    if (facts.refreshes > 0) return "tried a refresh, which cannot widen scope (C4.2)";
    if (facts.authorizations.length === 0) return "no step-up (C4)";
    const [first] = facts.authorizations;
    if (!has(first!.requested, READ, WRITE, ADMIN)) return `asked for ${code(first!.requested)}, not the union \`${READ} ${WRITE} ${ADMIN}\` (C4.1)`;
    if (facts.authorizations.length > 1) return `asked again for ${code(declinedIn({ ...facts, authorizations: [first!] }))} after it was declined (C4.4)`;
    if (facts.attempts.length > 1) return "retried the call after a partial grant (C4.4)";
    if (outcome !== "error") return "did not report the refusal (C4.4)";
    return undefined;
  },
  // D6, C4.2, C4.5: nothing to widen ⇒ no authorization; bounded attempts; the client stops.
  "broken-challenge": (facts, outcome) => {
    // files:admin, declined in delete-file, asked for again: the union is wider only because of it.
    const reasked = declinedIn(facts);
    if (reasked.length > 0) return `asked again for ${code(reasked)} after it was declined (C4.4), so it authorized where a refresh would do (C4.2)`;
    if (facts.authorizations.length > 0) return `${plural(facts.authorizations.length, "authorization")} for a scope already held (C4.2)`;
    if (facts.attempts.length > 3) return `${facts.attempts.length} attempts: no retry cap (C4.5)`;
    if (outcome !== "error") return "did not stop with an error (C4.5)";
    return undefined;
  },
};

/** The verdict of one step from its server events and the client's outcome. */
export function judgeStep(step: StepId, events: readonly ServerEvent[], client: { outcome: ClientOutcome; detail: string }): StepVerdict {
  const facts = stepFacts(step, events);
  const seen = describe(facts).join(", ");
  if (client.outcome === "timeout") return { step, verdict: "timeout", summary: `${client.detail}; the servers saw: ${seen || "nothing"}`, facts, client };
  const broken = RULES[step](facts, client.outcome);
  const ending = client.outcome === "error" ? " → client error" : "";
  return { step, verdict: broken ? "fail" : "pass", summary: broken ? `${seen}${ending} — ${broken}` : `${seen}${ending}`, facts, client };
}

export function notRun(step: StepId, reason: string): StepVerdict {
  return { step, verdict: "not-run", summary: reason };
}
