/**
 * The live view's judgement of real runs: the story against the real AS and RS (in this process, with
 * their exchange events on), its events grouped per client and judged (scripts/live-view/view-model.ts,
 * rules.ts) — the correct story keeps every step-up rule it exercises, and each client-side break makes
 * exactly its rule ✘, at the exchange where it broke.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { ExchangeEventLog } from "../../shared/extras/exchange-events.ts";
import type { BreakRule } from "../../shared/break-rules.ts";
import { brokenStory } from "../../client/cli/breaks.ts";
import { runStory, STEPS } from "../../client/story.ts";
import { byArrival } from "../../scripts/live-view/collect.ts";
import { formatStoryMark, parseStoryMark } from "../../shared/extras/story-marks.ts";
import { buildView, type StepMark, type ViewExchange, type ViewGroup } from "../../scripts/live-view/view-model.ts";
import { startStack } from "../helpers/stack.ts";

async function viewOfStory(breakRule?: BreakRule, { marks = true } = {}) {
  const stack = await startStack({ EXCHANGE_EVENTS: "1" });
  try {
    // As client/main.ts does with STORY_MARKS=1: D1's mark, then one from each `pause`.
    const steps: StepMark[] = [];
    const mark = (next: string) => void steps.push(parseStoryMark(formatStoryMark(next))!);
    if (marks) mark(`D1 ${STEPS[0].title}`);
    const run = await runStory({ serverUrl: stack.config.resource, broken: breakRule && brokenStory(breakRule), pause: marks ? async (next) => mark(next) : undefined });
    const log = (app: { locals: Record<string, unknown> }) => (app.locals.exchangeEvents as ExchangeEventLog).events();
    const events = byArrival([...log(stack.apps.as), ...log(stack.apps.rs)]);
    return { run, model: buildView(events, { title: "test", subtitle: "", mode: "file", marks: steps }) };
  } finally {
    await stack.close();
  }
}

const marksOf = (group: ViewGroup) => Object.fromEntries(group.rules.map((rule) => [rule.rule, rule.mark]));
const exchangesOf = (group: ViewGroup) => group.rows.flatMap((row) => (row.kind === "exchange" ? [row.exchange] : []));
/** The step band above each exchange of a group. */
function stepsOf(group: ViewGroup): Map<ViewExchange, string> {
  const steps = new Map<ViewExchange, string>();
  let band = "";
  for (const row of group.rows) {
    if (row.kind === "band" && !row.note) band = row.text.split(" ")[0]!;
    else if (row.kind === "exchange") steps.set(row.exchange, band);
  }
  return steps;
}
/** Where a rule was broken: each exchange that shows its ✘, with the step it belongs to. */
const brokenAt = (group: ViewGroup, rule: string) =>
  exchangesOf(group)
    .filter((x) => x.marks.some((mark) => mark.rule === rule && !mark.ok))
    .map((x) => ({ step: stepsOf(group).get(x), request: x.request }));

test("the story: two clients, each with the requests that led to it; the main client keeps every rule, nothing secret in the model", async () => {
  const { run, model } = await viewOfStory();
  assert.ok(run.ok);
  const [main, second, ...rest] = model.groups;
  assert.equal(main?.kind, "client");
  assert.equal(second?.kind, "client");
  assert.ok(rest.every((group) => group.kind === "unattributed"));
  for (const group of [main!, second!]) {
    const [first, prm, metadata, registration] = exchangesOf(group);
    assert.match(first!.response, /^401 challenge scope="files:read"/, "a client's group starts with its unauthenticated 401");
    assert.match(prm!.request, /^GET \/\.well-known\/oauth-protected-resource\/mcp/);
    assert.match(metadata!.request, /^GET \/\.well-known\/oauth-authorization-server/);
    assert.match(registration!.response, new RegExp(`^201 client_id=${group.id}$`));
  }
  assert.deepEqual(marksOf(main!), { C3: "pass", "C4.1": "pass", "C4.2": "pass", "C4.4": "pass", "C4.5": "pass" });
  // D7's client steps up never; D8 (drawn, not judged) sends a widening refresh with it on purpose.
  assert.deepEqual(marksOf(second!), { C3: "pass", "C4.1": "unseen", "C4.2": "unseen", "C4.4": "unseen", "C4.5": "unseen" });
  assert.ok(main!.rows.some((row) => row.kind === "band" && row.text.startsWith("D8 ") && !row.judged));

  // The AS's public keys (RFC 7517: `x`, `y`, `kid`) are long base64url strings, and public: left out of the check.
  const text = JSON.stringify(model, (key, value) => (key === "responseBody" && String(value).includes('"kty"') ? "(JWKS)" : value));
  assert.doesNotMatch(text, /eyJ[\w-]+\.[\w-]+\.[\w-]+/, "no JWT whole");
  // A random value: 20 or more base64url characters with a digit and a capital — a code, verifier, refresh
  // token or `state` (22) — once the client ids, which are not secret (RFC 6749 §2.2), are taken out; and
  // no session id (a UUID) whole.
  const withoutClientIds = model.groups.reduce((all, group) => all.replaceAll(group.id, "(client_id)"), text);
  assert.doesNotMatch(withoutClientIds, /(?=[\w-]*\d)(?=[\w-]*[A-Z])[\w-]{20,}/, "no code, verifier, refresh token or state whole");
  assert.doesNotMatch(text, /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/, "no session id whole");
});

test("without the story's marks, D8's deliberate widening refresh is judged like any other: C4.2 ✘ on the throw-mode client", async () => {
  const { model } = await viewOfStory(undefined, { marks: false });
  const second = model.groups[1]!;
  assert.equal(marksOf(second)["C4.2"], "fail");
  assert.deepEqual(brokenAt(second, "C4.2").map((at) => at.request), ['POST /token refresh_token scope="files:read files:write"']);
});

/** Each client-side break: the rule it breaks, the step where that shows first, and any other rule it breaks too. */
const BREAKS: [BreakRule, string, string, string[]][] = [
  ["replace-scope", "C4.1", "D3", []],
  ["refresh-to-widen", "C4.2", "D3", []],
  // The v1 SDK refreshes at D3; later, its refresh refused (D4 revoked the family), it authorizes for the challenged scope alone.
  ["stock-sdk", "C4.2", "D3", ["C4.1"]],
  ["ignore-decline", "C4.4", "D6", []],
  ["no-retry-cap", "C4.5", "D6", []],
];

for (const [rule, broken, step, also] of BREAKS) {
  test(`--break ${rule}: the main client's ${broken} is ✘, first at an exchange of ${step}; the rest of what it shows is kept${also.length ? ` (but ${also.join(", ")})` : ""}`, async () => {
    const { run, model } = await viewOfStory(rule);
    assert.ok(run.break?.demonstrated, `the break was demonstrated: ${run.break?.observed}`);
    const main = model.groups[0]!;
    const marks = marksOf(main);
    assert.equal(marks[broken], "fail", JSON.stringify(main.rules));
    assert.equal(brokenAt(main, broken)[0]?.step, step);
    assert.equal(marks.C3, "pass");
    const alsoBroken = Object.entries(marks).filter(([id, mark]) => mark === "fail" && id !== broken).map(([id]) => id);
    assert.deepEqual(alsoBroken, also, "no other rule is ✘");
  });
}
