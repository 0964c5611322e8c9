/**
 * The client story (D1–D8) in-process against the real AS and RS on port 0, then the recorded
 * exchanges read directly — independently of the story's own assertions — for the properties D1–D8 name.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { connectClient } from "../../client/connect.ts";
import { ExchangeRecorder, type RecordedExchange } from "../../client/recorder.ts";
import { brokenStory } from "../../client/cli/breaks.ts";
import { runStory, type StoryRun } from "../../client/story.ts";
import { startStack, type Stack } from "../helpers/stack.ts";

let stack: Stack;
let run: StoryRun;

before(async () => {
  stack = await startStack();
  run = await runStory({ serverUrl: stack.config.resource });
});
after(() => stack.close());

const inStep = (id: string) => run.exchanges.filter((e) => e.step === id);
const brief = (e: RecordedExchange) => `${e.method} ${e.path} ${e.status}`;
const tokenRequests = (xs: RecordedExchange[], grant: string) =>
  xs.filter((e) => e.path === "/token" && e.request.form?.grant_type === grant);
const json = (e: RecordedExchange | undefined) => (e?.response.json ?? {}) as Record<string, unknown>;

test("every check of the story passes", () => {
  assert.deepEqual(run.checks.map((c) => c.id), ["D1", "D2", "D3", "D4", "D5", "D6", "D7", "D8"]);
  for (const check of run.checks) assert.ok(check.ok, `${check.id} ${check.title}: ${check.detail}`);
  assert.equal(run.ok, true);
});

test("D3: 403 → one authorization for files:read files:write → retry; no refresh request", () => {
  const d3 = inStep("D3");
  assert.deepEqual(d3.map(brief), [
    "POST /mcp 403",
    "GET /authorize 302",
    "POST /token 200",
    "POST /mcp 200",
    "POST /mcp 200",
  ]);
  assert.equal(d3[1]!.query.scope, "files:read files:write");
  assert.equal(tokenRequests(d3, "refresh_token").length, 0);
  assert.equal(json(d3[2]).scope, "files:read files:write");
  assert.deepEqual([d3[0]!.request.tool, d3[3]!.request.tool], ["write-file", "write-file"]);
});

test("D4: a refresh after the 401, then the replayed refresh token is refused — and with it the whole family, the newest token included", () => {
  const d4 = inStep("D4");
  assert.deepEqual(d4.map(brief), ["POST /mcp 401", "POST /token 200", "POST /mcp 200", "POST /token 400", "POST /token 400"]);
  const [refresh, replay, newest] = tokenRequests(d4, "refresh_token");
  assert.equal(json(refresh).scope, "files:read files:write");
  assert.equal(replay!.request.form?.refresh_token, refresh!.request.form?.refresh_token);
  assert.equal(json(replay).error, "invalid_grant");
  assert.equal(newest!.request.form?.refresh_token, json(refresh).refresh_token, "the refresh token the refresh returned");
  assert.equal(json(newest).error, "invalid_grant");
});

test("D5: declined after exactly one authorization, and the call is not retried", () => {
  const d5 = inStep("D5");
  assert.deepEqual(d5.map(brief), ["POST /mcp 403", "GET /authorize 302", "POST /token 200", "POST /mcp 200"]);
  assert.equal(d5[0]!.request.tool, "delete-file");
  assert.equal(d5[1]!.query.scope, "files:read files:write files:admin");
  assert.equal(json(d5[2]).scope, "files:read files:write");
  assert.equal(d5[3]!.request.tool, "list-files", "the next call is list-files, not a retried delete-file");
});

test("D6: retry-limit after exactly 2 refreshes, 0 authorizations and 3 POSTs", () => {
  const d6 = inStep("D6");
  assert.deepEqual(d6.map(brief), [
    "POST /mcp 403",
    "POST /token 200",
    "POST /mcp 403",
    "POST /token 200",
    "POST /mcp 403",
  ]);
  assert.equal(tokenRequests(d6, "refresh_token").length, 2);
  assert.ok(d6.filter((e) => e.path === "/mcp").every((e) => e.request.tool === "broken-challenge"));
});

test("D7: throw mode makes no AS request for the refused call", () => {
  const d7 = inStep("D7");
  const call = d7.findIndex((e) => e.request.tool === "write-file");
  assert.ok(call >= 0);
  assert.equal(d7[call]!.status, 403);
  assert.deepEqual(d7.slice(call + 1), [], "nothing after the 403");
  const asOrigin = new URL(stack.config.issuer).origin;
  assert.ok(d7.slice(0, call).some((e) => e.origin === asOrigin), "its AS traffic was the initial authorization only");
});

test("the SDK's own 403 handling never runs: the authorization requests are exactly the project's", () => {
  const scopes = run.exchanges
    .filter((e) => e.path === "/authorize" && e.step !== "D8")
    .map((e) => `${e.step} ${e.query.scope}`);
  // The v1 transport would have asked for the challenged scope alone ("files:write", "files:admin"),
  // after trying a refresh first.
  assert.deepEqual(scopes, [
    "D1 files:read",
    "D3 files:read files:write",
    "D5 files:read files:write files:admin",
    "D7 files:read",
  ]);
});

test("a 401 the middleware gives up on reaches the caller untouched: the transport runs no auth of its own", async () => {
  // The v1 transport's own 401 and 403 handling sit behind the same `if (authProvider)`; given one, it
  // would answer this 401 with its own refresh or authorization. Without one, the refused call ends here.
  let refuseCalls = false;
  const recorder = new ExchangeRecorder({
    fetch: async (url, init) => {
      const isCall = typeof init?.body === "string" && init.body.includes('"tools/call"');
      if (!refuseCalls || !isCall) return fetch(url, init);
      return new Response(JSON.stringify({ error: "invalid_token" }), {
        status: 401,
        headers: { "content-type": "application/json", "www-authenticate": 'Bearer error="invalid_token"' },
      });
    },
  });
  const handle = await connectClient({ serverUrl: stack.config.resource, recorder });
  try {
    refuseCalls = true;
    const mark = recorder.mark();
    const error = await handle.client.callTool({ name: "list-files" }).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof StreamableHTTPError && error.code === 401, String(error));
    const during = recorder.since(mark).filter((e) => !(e.method === "GET" && e.path === "/mcp"));
    assert.deepEqual(
      during.map((e) => `${e.method} ${e.path} ${e.request.form?.grant_type ?? e.request.tool ?? ""} ${e.status}`),
      ["POST /mcp list-files 401", "POST /token refresh_token 200", "POST /mcp list-files 401"],
      "one recovery by the middleware (C5), then the 401 is the caller's: nothing more reaches the AS",
    );
  } finally {
    refuseCalls = false;
    await handle.close();
  }
});

test("no secret is recorded whole: no JWT, refresh token or code appears in the exchanges", () => {
  const recorded = JSON.stringify(run.exchanges);
  assert.doesNotMatch(recorded, /eyJ[\w-]{10,}\.[\w-]{10,}\.[\w-]{10,}/, "a whole JWT");
  for (const e of run.exchanges) {
    for (const field of ["code", "code_verifier", "refresh_token", "state", "code_challenge"]) {
      const value = e.request.form?.[field] ?? e.query[field] ?? e.response.locationQuery?.[field];
      if (value !== undefined) assert.ok(value.length <= 8 && value.endsWith("…"), `${field}=${value}`);
    }
  }
});

test("independent scopes make D3 prove the union: a client that asks for the challenged scope alone fails D3", async () => {
  const replaced = await runStory({ serverUrl: stack.config.resource, broken: brokenStory("replace-scope") });
  const d3 = replaced.checks.find((c) => c.id === "D3")!;
  assert.equal(d3.ok, false, d3.detail);
  assert.match(d3.detail, /list-files after the step-up → 403 scope="files:read": the token lost files:read/);
  // A failed check reads as its message: no assertion diff, no generated "Expected values…" line.
  for (const check of replaced.checks.filter((c) => !c.ok)) {
    assert.doesNotMatch(check.detail, /\+ actual|- expected|Expected values/, `${check.id}: ${check.detail}`);
  }
  assert.match(replaced.checks.find((c) => c.id === "D5")!.detail, /C4.1: the authorization asks for the union "[^"]+", not "files:admin"/);
  // The consequence, not only the request's shape: after write-file, list-files is refused for files:read.
  const inD3 = replaced.exchanges.filter((e) => e.step === "D3");
  const authorization = inD3.find((e) => e.path === "/authorize");
  assert.equal(authorization?.query.scope, "files:write", "the challenged scope alone");
  const lost = inD3.find((e) => e.request.tool === "list-files" && e.status === 403);
  assert.match(lost?.response.wwwAuthenticate ?? "", /error="insufficient_scope".*scope="files:read"/);
});

test("a step whose precondition failed is reported skipped, not as a raw error", async () => {
  const grantsNothing = await startStack({ AS_GRANTABLE_SCOPES: "" });
  try {
    const failed = await runStory({ serverUrl: grantsNothing.config.resource });
    assert.equal(failed.ok, false);
    const [d1, ...rest] = failed.checks;
    assert.equal(d1!.ok, false);
    assert.deepEqual(
      rest.map((c) => `${c.id} ${c.ok} ${c.detail}`),
      ["D2", "D3", "D4", "D5", "D6", "D7", "D8"].map((id) => `${id} false skipped (D1 failed)`),
    );
  } finally {
    await grantsNothing.close();
  }
});

test("a break whose consequence is not observed is not demonstrated: --break no-pkce against an AS that checks PKCE", async () => {
  const notBroken = await runStory({ serverUrl: stack.config.resource, broken: brokenStory("no-pkce") });
  assert.equal(notBroken.break?.demonstrated, false, notBroken.break?.observed);
  assert.equal(notBroken.ok, false, "the verdict of a break run is whether its consequence was seen");
  assert.match(notBroken.break!.observed, /without code_verifier → 400/);
  assert.ok(notBroken.checks.every((c) => c.ok && !c.brokenOnPurpose), "every rule held");
});
