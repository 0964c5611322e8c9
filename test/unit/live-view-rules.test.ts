/**
 * The step-up judge (scripts/live-view/rules.ts) and the grouping per client (view-model.ts
 * `clientsOf`) on hand-built exchange events (test/helpers/exchange-events.ts): the edges the story
 * does not reach — a challenge-less first scope, a decline by `access_denied`, a declined scope that a
 * later call needs anew, a call sent again after the cap, two clients at once.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { ExchangeEvent } from "../../shared/extras/exchange-events.ts";
import { judgeClient, verdicts, type RuleId } from "../../scripts/live-view/rules.ts";
import { clientsOf } from "../../scripts/live-view/view-model.ts";
import { authorized, call, prm, register, token, unauthorized } from "../helpers/exchange-events.ts";

const marks = (events: ExchangeEvent[]) => Object.fromEntries(verdicts(judgeClient(events)).map((v) => [v.rule, v.mark])) as Record<RuleId, string>;
const connected = () => [unauthorized(), register(), authorized("files:read"), token("authorization_code", "files:read")];

test("nothing seen, nothing judged: every rule is 'not yet seen'", () => {
  assert.deepEqual(marks([]), { C3: "unseen", "C4.1": "unseen", "C4.2": "unseen", "C4.4": "unseen", "C4.5": "unseen" });
  assert.deepEqual(marks(connected()), { C3: "pass", "C4.1": "unseen", "C4.2": "unseen", "C4.4": "unseen", "C4.5": "unseen" });
});

test("C3: the challenge's scope, else the metadata's scopes_supported; the deciding exchanges are the 401 and the authorization", () => {
  const challenge = unauthorized("files:read");
  const first = authorized("files:read files:write");
  const [finding] = judgeClient([challenge, first]);
  assert.equal(finding?.ok, false);
  assert.equal(finding?.text, "asked for `files:read files:write`, not the challenge's `files:read` (C3)");
  assert.deepEqual(finding?.exchanges, [challenge, first]);
  assert.equal(marks([prm(), authorized("files:read")]).C3, "pass", "no 401 scope: the metadata's scopes_supported");
  assert.equal(marks([authorized("files:read")]).C3, "unseen", "nothing to compare with");
});

test("C4.1 and C4.2: a widening step-up re-authorizes with the union; a refresh instead is C4.2 ✘ — so is any refresh asking for more than is held", () => {
  const good = [...connected(), call("write-file", "files:read", "files:write"), authorized("files:read files:write")];
  assert.equal(marks(good)["C4.1"], "pass");
  assert.equal(marks(good)["C4.2"], "pass");
  const replaced = [...connected(), call("write-file", "files:read", "files:write"), authorized("files:write")];
  assert.equal(marks(replaced)["C4.1"], "fail");
  const refreshed = [...connected(), call("write-file", "files:read", "files:write"), token("refresh_token", "files:read")];
  assert.deepEqual([marks(refreshed)["C4.1"], marks(refreshed)["C4.2"]], ["unseen", "fail"]);
  const widening = [...connected(), token("refresh_token", "", { asked: "files:read files:write", error: "invalid_scope" })];
  assert.equal(marks(widening)["C4.2"], "fail", "RFC 6749 §6: a refresh cannot widen, step-up or not");
  const nothingToWiden = [...connected(), call("broken-challenge", "files:read", "files:read"), token("refresh_token", "files:read")];
  assert.equal(marks(nothingToWiden)["C4.2"], "pass", "nothing to widen: the normal path, a refresh");
});

test("C4.4: after a partial grant — or access_denied — the call stops and the declined scope is not asked for again, unless a later call's own challenge names it", () => {
  const declined = () => [...connected(), call("delete-file", "files:read", "files:admin"), authorized("files:read files:admin", "files:read"), token("authorization_code", "files:read")];
  assert.equal(marks([...declined(), call("list-files", "files:read")])["C4.4"], "pass");
  assert.equal(marks(declined())["C4.4"], "pass", "no retry at all");
  assert.equal(marks([...declined(), call("delete-file", "files:read", "files:admin")])["C4.4"], "fail", "retried at once");
  const askedAgain = [...declined(), call("list-files", "files:read"), call("write-file", "files:read", "files:write"), authorized("files:read files:write files:admin")];
  assert.equal(marks(askedAgain)["C4.4"], "fail", "a step-up for files:write asks for the declined files:admin");
  const neededAgain = [...declined(), call("list-files", "files:read"), call("delete-file", "files:read", "files:admin"), authorized("files:read files:admin", "files:read")];
  assert.equal(marks(neededAgain)["C4.4"], "pass", "a later delete-file challenges files:admin itself: asking is right");
  const denied = [...connected(), call("delete-file", "files:read", "files:admin"), authorized("files:read files:admin", undefined, { error: "access_denied" }), call("delete-file", "files:read", "files:admin")];
  assert.equal(marks(denied)["C4.4"], "fail", "access_denied is a decline (RFC 6749 §4.1.2.1)");
});

test("C4.5: at most 2 step-ups per operation; a call sent again after the cap, with no step-up, is no loop", () => {
  const refused = () => call("broken-challenge", "files:read", "files:read");
  const capped = [...connected(), refused(), token("refresh_token", "files:read"), refused(), token("refresh_token", "files:read"), refused()];
  assert.equal(marks(capped)["C4.5"], "pass");
  assert.equal(marks([...capped, refused(), refused()])["C4.5"], "pass", "the user asks again: the count survives, the client throws at once");
  const looping = [...capped, token("refresh_token", "files:read"), refused()];
  const findings = judgeClient(looping).filter((f) => f.rule === "C4.5" && !f.ok);
  assert.deepEqual(findings.map((f) => f.text), ["4 attempts: no retry cap (C4.5)"]);
  assert.equal(marks([...connected(), refused(), token("refresh_token", "files:read"), refused()])["C4.5"], "unseen", "the cap not reached yet");
});

test("grouping: the requests that name no client join the next one from the same user agent; two clients at once stay apart", () => {
  const browser = (e: ExchangeEvent) => ({ ...e, requestHeaders: { ...e.requestHeaders, "user-agent": "Mozilla/5.0" } });
  const events = [
    unauthorized(), // the node client's 401
    browser(unauthorized()), // the Inspector's
    browser(prm()),
    prm(),
    register("node-client"),
    browser(register("inspector")),
    call("list-files", "files:read", undefined, "node-client"),
  ];
  assert.deepEqual(clientsOf(events), ["node-client", "inspector", "inspector", "node-client", "node-client", "inspector", "node-client"]);
  assert.deepEqual(clientsOf([prm()]), [undefined], "led to no client (yet)");
});
