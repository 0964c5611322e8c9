/**
 * `pnpm interop`'s verdicts (scripts/interop/judge.ts) from the servers' exchange events, built as the
 * AS and the RS publish them (test/helpers/exchange-events.ts); each case is a behaviour a real client
 * has shown, and the rule that makes it right or wrong. The step-up rules come from the live view's
 * judge (scripts/live-view/rules.ts), judged over the whole run as `pnpm interop` does.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { ExchangeEvent } from "../../shared/extras/exchange-events.ts";
import { judgeStep, stepFacts } from "../../scripts/interop/judge.ts";
import { judgeClient } from "../../scripts/live-view/rules.ts";
import type { ClientOutcome, StepId } from "../../scripts/interop/steps.ts";
import { authorized, call, register, token, unauthorized } from "../helpers/exchange-events.ts";

const ok = { outcome: "ok" as const, detail: "" };
const error = { outcome: "error" as const, detail: "UnauthorizedError: Unauthorized" };

/** A run of steps: each step's events, judged with the findings over everything before and in it. */
function judge(steps: [StepId, ExchangeEvent[], { outcome: ClientOutcome; detail: string }][]) {
  const findings = judgeClient(steps.flatMap(([, events]) => events));
  return steps.map(([step, events, outcome]) => judgeStep(step, events, outcome, findings));
}
const judgeOne = (step: StepId, events: ExchangeEvent[], outcome: { outcome: ClientOutcome; detail: string }, before: ExchangeEvent[] = []) =>
  judge([["connect", before, ok], [step, events, outcome]])[1]!;

/** D1 as the demo's client does it: the state every later case starts from. */
const connected = () => [unauthorized(), register(), authorized("files:read"), token("authorization_code", "files:read")];
/** D1 and D3 done right: the token holds files:read files:write. */
const steppedUp = () => [...connected(), call("write-file", "files:read", "files:write"), authorized("files:read files:write"), token("authorization_code", "files:read files:write"), call("write-file", "files:read files:write")];

test("connect (C3): the first authorization asks for the challenge's scope and its code is redeemed", () => {
  const [good] = judge([["connect", connected(), ok]]);
  assert.equal(good!.verdict, "pass", good!.summary);
  assert.equal(good!.summary, "DCR, authorize `files:read`");

  const [everything] = judge([["connect", [unauthorized(), register(), authorized("files:read files:write files:admin", "files:read files:write"), token("authorization_code", "files:read files:write")], ok]]);
  assert.equal(everything!.verdict, "fail");
  assert.match(everything!.summary, /asked for `files:read files:write files:admin`, not the challenge's `files:read` \(C3\)$/);

  const [neverRedeemed] = judge([["connect", [unauthorized(), register(), authorized("files:read")], error]]);
  assert.equal(neverRedeemed!.verdict, "fail");
  assert.match(neverRedeemed!.summary, /1 authorization whose code was never redeemed/);
});

test("write-file (D3, C4): union, no refresh, one authorization, one retry → pass", () => {
  const events = [call("write-file", "files:read", "files:write"), authorized("files:read files:write"), token("authorization_code", "files:read files:write"), call("write-file", "files:read files:write")];
  const verdict = judgeOne("write-file", events, ok, connected());
  assert.equal(verdict.verdict, "pass", verdict.summary);
  assert.equal(verdict.summary, "authorize `files:read files:write`, no refresh, 403 → 200");
  assert.deepEqual(verdict.facts, { registrations: 0, authorizations: [{ requested: ["files:read", "files:write"], granted: ["files:read", "files:write"] }], codeExchanges: 1, refreshes: 0, attempts: [403, 200] });
});

test("write-file: a refresh first (it cannot widen scope) fails C4.2, even if a later authorization succeeds", () => {
  const events = [
    call("write-file", "files:read", "files:write"),
    token("refresh_token", "", { asked: "files:read files:write", error: "invalid_scope" }),
    authorized("files:read files:write"),
    token("authorization_code", "files:read files:write"),
    call("write-file", "files:read files:write"),
  ];
  const verdict = judgeOne("write-file", events, ok, connected());
  assert.equal(verdict.verdict, "fail");
  assert.match(verdict.summary, /1 refresh, .*tried a refresh, which cannot widen scope \(C4\.2, RFC 6749 §6\)$/);
});

test("write-file: asking for the challenged scope alone (replacing, not the union) fails C4.1", () => {
  const events = [call("write-file", "files:read", "files:write"), authorized("files:write"), token("authorization_code", "files:write"), call("write-file", "files:write")];
  const verdict = judgeOne("write-file", events, ok, connected());
  assert.equal(verdict.verdict, "fail");
  assert.match(verdict.summary, /asked for `files:write`, not the union `files:read files:write` \(C4\.1\)$/);
});

test("delete-file (D5, C4.4): one authorization, partial grant, no retry, an error → pass", () => {
  const events = [call("delete-file", "files:read files:write", "files:admin"), authorized("files:read files:write files:admin", "files:read files:write"), token("authorization_code", "files:read files:write")];
  const verdict = judgeOne("delete-file", events, { outcome: "error", detail: "InsufficientScopeError: declined" }, steppedUp());
  assert.equal(verdict.verdict, "pass", verdict.summary);
  assert.equal(verdict.summary, "authorize `files:read files:write files:admin` → partial grant `files:read files:write`, no refresh, 403 → client error");
});

test("delete-file: retrying and asking again after a partial grant fails C4.4, names what was declined, and counts the code never redeemed", () => {
  const partial = () => authorized("files:read files:write files:admin", "files:read files:write");
  const events = [call("delete-file", "files:read files:write", "files:admin"), partial(), token("authorization_code", "files:read files:write"), call("delete-file", "files:read files:write", "files:admin"), partial()];
  const verdict = judgeOne("delete-file", events, error, steppedUp());
  assert.equal(verdict.verdict, "fail");
  assert.match(verdict.summary, /^authorize `files:read files:write files:admin` → partial grant `files:read files:write`, twice, 1 authorization whose code was never redeemed, no refresh, 403 → 403/);
  assert.match(verdict.summary, /asked again for `files:admin` after it was declined \(C4\.4\)$/);

  // Retrying alone (mcp-remote): the same rule, the other evidence.
  const retried = judgeOne("delete-file", events.slice(0, 4), error, steppedUp());
  assert.match(retried.summary, /retried the call after a partial grant \(C4\.4\)$/);
});

test("broken-challenge (D6, C4.5): refreshes within the cap, no authorization, then the client stops → pass", () => {
  const refused = () => call("broken-challenge", "files:read files:write", "files:read");
  const events = [refused(), token("refresh_token", "files:read files:write"), refused(), token("refresh_token", "files:read files:write"), refused()];
  const verdict = judgeOne("broken-challenge", events, { outcome: "error", detail: "retry-limit" }, steppedUp());
  assert.equal(verdict.verdict, "pass", verdict.summary);
  assert.equal(verdict.summary, "2 refreshes, 403 → 403 → 403 → client error");
});

test("broken-challenge: re-authorizing for a scope already held fails C4.2 (C4.4 first when a declined scope is asked for again); looping past 3 attempts fails C4.5", () => {
  const refused = () => call("broken-challenge", "files:read files:write", "files:read");
  const declinedBefore = [...steppedUp(), call("delete-file", "files:read files:write", "files:admin"), authorized("files:read files:write files:admin", "files:read files:write"), token("authorization_code", "files:read files:write")];
  const reasked = judgeOne("broken-challenge", [refused(), authorized("files:read files:write files:admin", "files:read files:write")], error, declinedBefore);
  assert.equal(reasked.verdict, "fail");
  assert.match(reasked.summary, /asked again for `files:admin` after it was declined \(C4\.4\), so it authorized where a refresh would do \(C4\.2\)$/);
  const reauthorized = judgeOne("broken-challenge", [refused(), authorized("files:read files:write"), token("authorization_code", "files:read files:write")], error, steppedUp());
  assert.equal(reauthorized.verdict, "fail");
  assert.match(reauthorized.summary, /1 authorization for a scope already held \(C4\.2\)$/);

  const refreshing = [refused(), ...Array.from({ length: 5 }, () => [token("refresh_token", "files:read files:write"), refused()]).flat()];
  const looping = judgeOne("broken-challenge", refreshing, error, steppedUp());
  assert.equal(looping.verdict, "fail");
  assert.match(looping.summary, /6 attempts: no retry cap \(C4\.5\)$/);

  const resent = judgeOne("broken-challenge", Array.from({ length: 6 }, refused), error, steppedUp());
  assert.match(resent.summary, /6 attempts: no retry cap \(C4\.5\)$/, "one call sent six times, with or without refreshes in between");
});

test("a client that does not answer within the step timeout is reported as hung, with what the servers saw", () => {
  const verdict = judgeOne("broken-challenge", [call("broken-challenge", "files:read", "files:read")], { outcome: "timeout", detail: "no answer within 8000 ms" });
  assert.equal(verdict.verdict, "timeout");
  assert.equal(verdict.summary, "no answer within 8000 ms; the servers saw: no refresh, 403");
});

test("only the step's own tool counts as an attempt", () => {
  const facts = stepFacts("write-file", [call("list-files", "files:read"), call("write-file", "files:read", "files:write")]);
  assert.deepEqual(facts.attempts, [403]);
});
