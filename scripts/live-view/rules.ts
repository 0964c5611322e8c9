/**
 * The step-up rules, judged from what the servers saw one client do (its moves, ./exchanges.ts): pure
 * functions, used by the live view (per client, as exchanges arrive) and by `pnpm interop` (per step
 * of its run). Rule ids are those of docs/rules.md; each verdict links to the exchanges that decided it.
 *
 *   C3    the first authorization asks for the 401 challenge's scope (else the metadata's `scopes_supported`)
 *   C4.1  a step-up asks for the union: the scope held ∪ the challenged scope, at least (SEP-2350)
 *   C4.2  a step-up that needs a wider scope never refreshes, and no refresh asks for more than is held (RFC 6749 §6)
 *   C4.4  after a partial grant (or `access_denied`) the call stops, and the declined scope is not asked for again (RFC 6749 §3.3)
 *   C4.5  at most CAP step-ups per operation, counted until it succeeds
 *
 * What the servers cannot see is left to the client's own tests: the requested set it keeps (only the
 * part it sends is judged), and why it stopped. A step-up is the client's first request to the AS after
 * a `403 insufficient_scope` and before its next call; a client that has met the cap is expected to
 * stop, so what it sends the AS afterwards counts only when another attempt of the operation follows.
 */
import { formatScope, parseScope } from "../../client/step-up/index.ts";
import type { ExchangeEvent } from "../../shared/extras/exchange-events.ts";
import { movesOf, type Move } from "./exchanges.ts";
import { DEFAULT_MAX_STEP_UP_ATTEMPTS } from "../../client/step-up/index.ts";

/** C4.5: the cap the rules expect — `maxStepUpAttempts`' default. */
/** The cap the demo's client keeps (C4.5); a client with another cap is judged by this one. */
export const CAP = DEFAULT_MAX_STEP_UP_ATTEMPTS;

export const RULES = [
  { rule: "C3", title: "the first authorization asks for the challenge's scope" },
  { rule: "C4.1", title: "every step-up asks for the union" },
  { rule: "C4.2", title: "no refresh tries to widen" },
  { rule: "C4.4", title: "after a partial grant: stop, don't ask again" },
  { rule: "C4.5", title: `at most ${CAP} step-ups per operation` },
] as const;
export type RuleId = (typeof RULES)[number]["rule"];

export interface Finding {
  rule: RuleId;
  ok: boolean;
  /** What kind of evidence: interop picks findings by it (e.g. C4.4 `retried` vs `asked-again`). */
  kind: string;
  /** One line, with the rule id. */
  text: string;
  /** The deciding exchanges, in order; the last one is where it was decided. */
  exchanges: ExchangeEvent[];
}

export type Mark = "pass" | "fail" | "unseen";

export interface RuleVerdict {
  rule: RuleId;
  title: string;
  mark: Mark;
  findings: Finding[];
}

const code = (scopes: readonly string[]) => `\`${formatScope(scopes) || "(none)"}\``;
const covers = (set: readonly string[], wanted: readonly string[]) => wanted.every((scope) => set.includes(scope));
const sameSet = (a: readonly string[], b: readonly string[]) => covers(a, b) && covers(b, a);

interface Challenge403 {
  event: ExchangeEvent;
  tool: string;
  challenged: string[];
  held: string[];
  /** C4.2: the union is wider than the held token: only a new authorization can give it. */
  widen: boolean;
}

interface Chain {
  stepUps: number;
  attempts: ExchangeEvent[];
  /** Set once the cap was reached; `steppedUp` is the client's AS request after that, if any. */
  capped?: { steppedUp?: ExchangeEvent; finding?: Finding };
}

/** Every finding about one client, in the order they were decided. `skip` leaves exchanges out (the story's D8, sent wrong on purpose). */
export function judgeClient(events: readonly ExchangeEvent[], { skip }: { skip?: (event: ExchangeEvent) => boolean } = {}): Finding[] {
  const findings: Finding[] = [];
  const add = (rule: RuleId, ok: boolean, kind: string, text: string, exchanges: ExchangeEvent[]) => {
    const finding = { rule, ok, kind, text, exchanges };
    findings.push(finding);
    return finding;
  };

  let challenge401: Extract<Move, { kind: "unauthorized" }> | undefined;
  let prm: Extract<Move, { kind: "prm" }> | undefined;
  let authorized = false;
  let held: string[] = [];
  let pending: Challenge403 | undefined; // a 403 the client has not answered yet
  let stepUp: Challenge403 | undefined; // a step-up by authorization, until its grant is known
  let partial: { tool: string; trigger: ExchangeEvent; grant: ExchangeEvent; missing: string[]; retried?: true } | undefined; // C4.4: after a partial grant, until another call
  const declined = new Set<string>();
  const chains = new Map<string, Chain>();
  let lastChallenged: Chain | undefined;
  const chain = (tool: string) => chains.get(tool) ?? chains.set(tool, { stepUps: 0, attempts: [] }).get(tool)!;

  /** C4.4: the step-up (or other authorization) came back with less than was challenged. */
  const grantKnown = (granted: string[], grant: ExchangeEvent, trigger: Challenge403 | undefined) => {
    if (!trigger) return;
    const missing = trigger.challenged.filter((scope) => !granted.includes(scope));
    if (missing.length === 0) return;
    for (const scope of missing) declined.add(scope);
    partial = { tool: trigger.tool, trigger: trigger.event, grant, missing };
  };
  /** After the cap, the client's AS traffic counts only if another attempt follows (see the header). */
  const afterCap = (event: ExchangeEvent) => {
    if (lastChallenged?.capped && !lastChallenged.capped.steppedUp) lastChallenged.capped.steppedUp = event;
  };

  for (const move of movesOf(events.filter((event) => !skip?.(event)))) {
    switch (move.kind) {
      case "unauthorized":
        if (!authorized && move.scope) challenge401 = move;
        break;
      case "prm":
        if (!authorized) prm = move;
        break;
      case "registration":
        break;
      case "authorization": {
        const { requested, request } = move;
        if (!authorized) {
          authorized = true;
          const expected = challenge401?.scope ?? prm?.scopesSupported;
          const source = challenge401 ? "the challenge's" : "the metadata's";
          const evidence = [(challenge401 ?? prm)?.event, request].filter((e): e is ExchangeEvent => e !== undefined);
          if (expected) {
            if (sameSet(requested, expected)) add("C3", true, "first-scope", `asked for ${code(requested)}, ${source} scope (C3)`, evidence);
            else add("C3", false, "first-scope", `asked for ${code(requested)}, not ${source} ${code(expected)} (C3)`, evidence);
          }
        }
        const trigger = pending;
        if (trigger) {
          const union = parseScope([...trigger.held, ...trigger.challenged]);
          if (covers(requested, union)) add("C4.1", true, "union", `asked for ${code(requested)}: the union of ${code(trigger.held)} and ${code(trigger.challenged)} (C4.1)`, [trigger.event, request]);
          else add("C4.1", false, "union", `asked for ${code(requested)}, not the union ${code(union)} (C4.1)`, [trigger.event, request]);
          if (trigger.widen) add("C4.2", true, "authorized", `widened with a new authorization, not a refresh (C4.2)`, [trigger.event, request]);
          chain(trigger.tool).stepUps++;
          pending = undefined;
        } else afterCap(request);
        // C4.4: a declined scope asked for again — unless this step-up's own challenge names it anew
        // (a later call that needs it), outside the call that was declined.
        const again = requested.filter((scope) => declined.has(scope) && (partial !== undefined || !trigger?.challenged.includes(scope)));
        if (again.length > 0) add("C4.4", false, "asked-again", `asked again for ${code(again)} after it was declined (C4.4)`, [request]);
        if (move.error === "access_denied") grantKnown([], move.event, trigger); // RFC 6749 §4.1.2.1: nothing granted
        else if (move.granted) grantKnown(move.granted, move.event, trigger);
        else stepUp = trigger; // the grant is known once the code is redeemed
        break;
      }
      case "token": {
        if (move.grantType === "authorization_code" && move.ok) {
          if (stepUp) grantKnown(move.granted ?? [], move.event, stepUp);
          stepUp = undefined;
        }
        if (move.grantType === "refresh_token") {
          const trigger = pending;
          if (trigger) {
            if (trigger.widen) add("C4.2", false, "refresh-to-widen", "tried a refresh, which cannot widen scope (C4.2, RFC 6749 §6)", [trigger.event, move.event]);
            else add("C4.2", true, "refreshed", `nothing to widen (${code(trigger.challenged)} is held): a refresh (C4.2)`, [trigger.event, move.event]);
            chain(trigger.tool).stepUps++;
            pending = undefined;
          } else {
            if (move.scope && !covers(held, move.scope)) add("C4.2", false, "refresh-to-widen", "tried a refresh, which cannot widen scope (C4.2, RFC 6749 §6)", [move.event]);
            afterCap(move.event);
          }
        }
        if (move.ok && move.granted) held = move.granted;
        break;
      }
      case "call": {
        const tool = move.tools[0]!;
        if (partial && tool === partial.tool) {
          add("C4.4", false, "retried", "retried the call after a partial grant (C4.4)", [partial.grant, move.event]);
          partial.retried = true;
        } else if (partial) {
          if (!partial.retried) add("C4.4", true, "stopped", `granted without ${code(partial.missing)}: stopped, the next call is ${tool} (C4.4)`, [partial.trigger, partial.grant, move.event]);
          partial = undefined;
        }
        pending = undefined; // a new call: an unanswered 403 was given up
        if (move.status === 200) chains.delete(tool);
        if (!move.insufficient) break;
        const current = chain(tool);
        current.attempts.push(move.event);
        lastChallenged = current;
        const attempts = current.attempts.length;
        if (current.capped?.steppedUp) {
          // C4.5: past the cap, the client stepped up and sent the operation again.
          const finding = current.capped.finding;
          const text = `${attempts} attempts: no retry cap (C4.5)`;
          if (finding && !finding.ok) Object.assign(finding, { text, exchanges: [...finding.exchanges, move.event] });
          else current.capped.finding = add("C4.5", false, "no-cap", text, [...current.attempts]);
          current.capped.steppedUp = undefined;
          continue;
        }
        if (current.stepUps >= CAP) {
          if (!current.capped) current.capped = { finding: add("C4.5", true, "capped", `${attempts} attempts, ${CAP} step-ups: then no more (C4.5)`, [...current.attempts]) };
          continue;
        }
        const tokenScope = move.held ?? held;
        pending = { event: move.event, tool, challenged: move.insufficient, held: tokenScope, widen: !covers(tokenScope, move.insufficient) };
        break;
      }
    }
  }
  if (partial && !partial.retried) add("C4.4", true, "stopped", `granted without ${code(partial.missing)}: no retry (C4.4)`, [partial.trigger, partial.grant]);
  return findings;
}

/** Per rule: ✘ if any finding failed, ✔ if some were seen and none failed, else not yet seen. */
export function verdicts(findings: readonly Finding[]): RuleVerdict[] {
  return RULES.map(({ rule, title }) => {
    const mine = findings.filter((f) => f.rule === rule);
    const mark: Mark = mine.length === 0 ? "unseen" : mine.some((f) => !f.ok) ? "fail" : "pass";
    return { rule, title, mark, findings: mine };
  });
}
