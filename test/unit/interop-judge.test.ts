/**
 * `pnpm interop`'s verdicts (scripts/interop/judge.ts) from server log lines. The lines are the ones the
 * AS and the RS print (copied from real runs, client ids shortened); each case is a behaviour a real
 * client has shown, and the rule that makes it right or wrong.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { judgeStep, stepFacts } from "../../scripts/interop/judge.ts";
import { parseServerLine, parseServerLog } from "../../scripts/interop/server-log.ts";

const REGISTER = "[as] registered client_id=c1 redirect_uris=http://127.0.0.1:8976/callback grant_types=authorization_code,refresh_token";
const authorized = (requested: string, granted = requested) =>
  `[as] authorized client_id=c1 sub=demo-user requested="${requested}" scope="${granted}" code=PLy9hH…`;
const issued = (grant: string, scope: string) => `[as] issued tokens grant_type=${grant} client_id=c1 scope="${scope}" refresh_token=yes expires_in=300`;
const allowed = (tool: string, scope = "files:read") => `[rs] tools/call ${tool} allowed for c1 [${scope}]`;
const refused = (tool: string, scope: string) => `[rs] 403 insufficient_scope for c1: ${tool} requires ${scope}`;
const ok = { outcome: "ok" as const, detail: "" };
const error = { outcome: "error" as const, detail: "UnauthorizedError: Unauthorized" };

test("each server line becomes the event it records; other lines are ignored", () => {
  assert.deepEqual(parseServerLine(REGISTER), [{ kind: "register" }]);
  assert.deepEqual(parseServerLine(authorized("files:read files:admin", "files:read")), [
    { kind: "authorize", requested: ["files:read", "files:admin"], granted: ["files:read"] },
  ]);
  assert.deepEqual(parseServerLine("[as] authorization refused client_id=c1 error=access_denied"), [{ kind: "authorize-refused", error: "access_denied" }]);
  assert.deepEqual(parseServerLine("[as] consent denied client_id=c1"), [{ kind: "authorize-refused", error: "access_denied" }]);
  assert.deepEqual(parseServerLine(issued("refresh_token", "files:read")), [{ kind: "token", grantType: "refresh_token", scope: ["files:read"] }]);
  assert.deepEqual(parseServerLine("[as] refused POST /token grant_type=refresh_token error=invalid_scope"), [
    { kind: "token-refused", grantType: "refresh_token", error: "invalid_scope" },
  ]);
  assert.deepEqual(parseServerLine("[as] refused POST /token error=invalid_request"), [{ kind: "token-refused", grantType: undefined, error: "invalid_request" }]);
  assert.deepEqual(parseServerLine("[rs] 401 POST /mcp: no bearer token"), [{ kind: "unauthorized" }]);
  assert.deepEqual(parseServerLine("[rs] tools/call list-files,read-file allowed for c1 [files:read]"), [
    { kind: "call", tool: "list-files", status: 200 },
    { kind: "call", tool: "read-file", status: 200 },
  ]);
  assert.deepEqual(parseServerLine("[rs] 403 insufficient_scope for c1: write-file requires files:write; delete-file requires files:admin"), [
    { kind: "call", tool: "write-file", status: 403 },
    { kind: "call", tool: "delete-file", status: 403 },
  ]);
  for (const other of ["[rs] listening on http://127.0.0.1:3000/mcp", "[rs] session 33c95570… opened by c1 (1 open)", "[as] revoked an access token of client_id=c1", ""]) {
    assert.deepEqual(parseServerLine(other), [], other);
  }
});

test("connect (C3): the first authorization asks for the challenge's scope and its code is redeemed", () => {
  const good = judgeStep("connect", parseServerLog([REGISTER, authorized("files:read"), issued("authorization_code", "files:read")]), ok);
  assert.equal(good.verdict, "pass", good.summary);
  assert.equal(good.summary, "DCR, authorize `files:read`");

  const everything = judgeStep("connect", parseServerLog([REGISTER, authorized("files:read files:write files:admin", "files:read files:write"), issued("authorization_code", "files:read files:write")]), ok);
  assert.equal(everything.verdict, "fail");
  assert.match(everything.summary, /not the challenge's `files:read` \(C3\)$/);

  const neverRedeemed = judgeStep("connect", parseServerLog([REGISTER, authorized("files:read")]), error);
  assert.equal(neverRedeemed.verdict, "fail");
  assert.match(neverRedeemed.summary, /1 authorization whose code was never redeemed/);
});

test("write-file (D3, C4): union, no refresh, one authorization, one retry → pass", () => {
  const lines = [refused("write-file", "files:write"), authorized("files:read files:write"), issued("authorization_code", "files:read files:write"), allowed("write-file", "files:read files:write")];
  const verdict = judgeStep("write-file", parseServerLog(lines), ok);
  assert.equal(verdict.verdict, "pass", verdict.summary);
  assert.equal(verdict.summary, "authorize `files:read files:write`, no refresh, 403 → 200");
  assert.deepEqual(verdict.facts, { registrations: 0, authorizations: [{ requested: ["files:read", "files:write"], granted: ["files:read", "files:write"] }], codeExchanges: 1, refreshes: 0, attempts: [403, 200] });
});

test("write-file: a refresh first (it cannot widen scope) fails C4.2, even if a later authorization succeeds", () => {
  const lines = [
    refused("write-file", "files:write"),
    "[as] refused POST /token grant_type=refresh_token error=invalid_scope",
    authorized("files:read files:write"),
    issued("authorization_code", "files:read files:write"),
    allowed("write-file", "files:read files:write"),
  ];
  const verdict = judgeStep("write-file", parseServerLog(lines), ok);
  assert.equal(verdict.verdict, "fail");
  assert.match(verdict.summary, /1 refresh, .*cannot widen scope \(C4\.2/);
});

test("write-file: asking for the challenged scope alone (replacing, not the union) fails C4.1", () => {
  const lines = [refused("write-file", "files:write"), authorized("files:write"), issued("authorization_code", "files:write"), allowed("write-file", "files:write")];
  const verdict = judgeStep("write-file", parseServerLog(lines), ok);
  assert.equal(verdict.verdict, "fail");
  assert.match(verdict.summary, /not the union `files:read files:write` \(C4\.1\)/);
});

test("delete-file (D5, C4.4): one authorization, partial grant, no retry, an error → pass", () => {
  const lines = [refused("delete-file", "files:admin"), authorized("files:read files:write files:admin", "files:read files:write"), issued("authorization_code", "files:read files:write")];
  const verdict = judgeStep("delete-file", parseServerLog(lines), { outcome: "error", detail: "InsufficientScopeError: declined" });
  assert.equal(verdict.verdict, "pass", verdict.summary);
  assert.equal(verdict.summary, "authorize `files:read files:write files:admin` → partial grant `files:read files:write`, no refresh, 403 → client error");
});

test("delete-file: retrying and asking again after a partial grant fails C4.4, names what was declined, and counts the code never redeemed", () => {
  const partial = authorized("files:read files:write files:admin", "files:read files:write");
  const lines = [refused("delete-file", "files:admin"), partial, issued("authorization_code", "files:read files:write"), refused("delete-file", "files:admin"), partial];
  const verdict = judgeStep("delete-file", parseServerLog(lines), error);
  assert.equal(verdict.verdict, "fail");
  assert.match(verdict.summary, /^authorize `files:read files:write files:admin` → partial grant `files:read files:write`, twice, 1 authorization whose code was never redeemed, no refresh, 403 → 403/);
  assert.match(verdict.summary, /asked again for `files:admin` after it was declined \(C4\.4\)$/);
});

test("broken-challenge (D6, C4.5): refreshes within the cap, no authorization, then the client stops → pass", () => {
  const lines = [
    refused("broken-challenge", "files:read"),
    issued("refresh_token", "files:read files:write"),
    refused("broken-challenge", "files:read"),
    issued("refresh_token", "files:read files:write"),
    refused("broken-challenge", "files:read"),
  ];
  const verdict = judgeStep("broken-challenge", parseServerLog(lines), { outcome: "error", detail: "retry-limit" });
  assert.equal(verdict.verdict, "pass", verdict.summary);
  assert.equal(verdict.summary, "2 refreshes, 403 → 403 → 403 → client error");
});

test("broken-challenge: re-authorizing for a scope already held fails C4.2 (C4.4 first when a declined scope is asked for again); looping past 3 attempts fails C4.5", () => {
  const reasked = judgeStep("broken-challenge", parseServerLog([refused("broken-challenge", "files:read"), authorized("files:read files:write files:admin", "files:read files:write")]), error);
  assert.equal(reasked.verdict, "fail");
  assert.match(reasked.summary, /asked again for `files:admin` after it was declined \(C4\.4\), so it authorized where a refresh would do \(C4\.2\)$/);
  const reauthorized = judgeStep("broken-challenge", parseServerLog([refused("broken-challenge", "files:read"), authorized("files:read files:write"), issued("authorization_code", "files:read files:write")]), error);
  assert.equal(reauthorized.verdict, "fail");
  assert.match(reauthorized.summary, /1 authorization for a scope already held \(C4\.2\)$/);

  const looping = judgeStep("broken-challenge", parseServerLog(Array.from({ length: 6 }, () => refused("broken-challenge", "files:read"))), error);
  assert.equal(looping.verdict, "fail");
  assert.match(looping.summary, /6 attempts: no retry cap \(C4\.5\)$/);
});

test("a client that does not answer within the step timeout is reported as hung, with what the servers saw", () => {
  const verdict = judgeStep("broken-challenge", parseServerLog([refused("broken-challenge", "files:read")]), { outcome: "timeout", detail: "no answer within 8000 ms" });
  assert.equal(verdict.verdict, "timeout");
  assert.equal(verdict.summary, "no answer within 8000 ms; the servers saw: no refresh, 403");
});

test("only the step's own tool counts as an attempt", () => {
  const facts = stepFacts("write-file", parseServerLog([allowed("list-files"), refused("write-file", "files:write")]));
  assert.deepEqual(facts.attempts, [403]);
});
