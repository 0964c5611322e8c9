/**
 * The story against an AS whose policy grants files:admin (`AS_GRANTABLE_SCOPES`, the exercise in
 * docs/exercises.md): D5 takes its other documented outcome — the step-up succeeds and delete-file
 * runs — and the story says so instead of failing. Read from the recorded exchanges directly.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { runStory, type StoryRun } from "../../client/story.ts";
import { renderTranscript } from "../../client/cli/transcript.ts";
import { startStack, type Stack } from "../helpers/stack.ts";

let stack: Stack;
let run: StoryRun;
const narration: string[] = [];

before(async () => {
  stack = await startStack({ AS_GRANTABLE_SCOPES: "files:read files:write files:admin" });
  run = await runStory({ serverUrl: stack.config.resource, narrate: (line) => narration.push(line) });
});
after(() => stack.close());

test("every check passes; D5 is titled and explained as the granted outcome", () => {
  for (const check of run.checks) assert.ok(check.ok, `${check.id} ${check.title}: ${check.detail}`);
  const d5 = run.checks.find((c) => c.id === "D5")!;
  assert.equal(d5.title, "delete-file → granted (the policy grants files:admin)");
  assert.match(d5.detail, /^not declined: the AS's policy grants files:admin \(AS_GRANTABLE_SCOPES\)/);
  const transcript = renderTranscript(run);
  assert.ok(transcript.includes("### D5 delete-file → granted (the policy grants files:admin) ✓"), "the transcript's heading says so too");
  assert.ok(transcript.includes("Note over Client,RS: D5 delete-file → granted"), "and its sequence diagram");
  // The header is printed before the outcome is known: it must not announce "declined".
  const header = narration.find((line) => line.includes("D5 "));
  assert.match(header ?? "", /D5 delete-file needs files:admin/);
  assert.ok(!narration.some((line) => /declined —|so the client stops/.test(line) && !line.includes("when it does")), narration.join("\n"));
});

test("D5: one authorization for all three scopes, all granted, and delete-file resent and run", () => {
  const d5 = run.exchanges.filter((e) => e.step === "D5");
  assert.deepEqual(
    d5.map((e) => `${e.method} ${e.path} ${e.status}`),
    ["POST /mcp 403", "GET /authorize 302", "POST /token 200", "POST /mcp 200", "POST /mcp 200"],
  );
  assert.equal(d5[1]!.query.scope, "files:read files:write files:admin");
  assert.equal((d5[2]!.response.json as { scope?: string }).scope, "files:read files:write files:admin");
  assert.deepEqual([d5[0]!.request.tool, d5[3]!.request.tool, d5[4]!.request.tool], ["delete-file", "delete-file", "list-files"]);
});

test("D6 still refreshes: with nothing declined, the union equals the grant", () => {
  const d6 = run.exchanges.filter((e) => e.step === "D6");
  assert.equal(d6.filter((e) => e.path === "/authorize").length, 0);
  assert.equal(d6.filter((e) => e.path === "/token" && e.request.form?.grant_type === "refresh_token").length, 2);
});
