/**
 * The driver side of `pnpm interop` (scripts/interop/steps.ts): the marks the harness cuts the servers'
 * logs at, and the per-step timeout that turns a hung client into a verdict instead of a hung run.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { formatMark, parseMark, runSteps, type DrivenClient, type StepMark } from "../../scripts/interop/steps.ts";
import { markdownTable } from "../../scripts/interop/table.ts";
import { notRun } from "../../scripts/interop/judge.ts";

function fakeClient(behaviour: Record<string, () => Promise<string>>): DrivenClient & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    connect: async () => void calls.push("connect"),
    callTool: (name) => {
      calls.push(name);
      return (behaviour[name] ?? (async () => "ok"))();
    },
    close: async () => {},
  };
}

test("each step is framed by a start and an end mark carrying the client's outcome", async () => {
  const printed: string[] = [];
  const client = fakeClient({ "delete-file": async () => Promise.reject(new Error("declined\nby the user")) });
  await runSteps(client, 2_000, (line) => printed.push(line));

  const marks = printed.map((line) => parseMark(line)!);
  assert.deepEqual(client.calls, ["connect", "list-files", "write-file", "delete-file", "broken-challenge"]);
  assert.equal(marks.length, 10);
  assert.deepEqual(marks[6], { step: "delete-file", phase: "start" });
  // The client's own words are kept on one line (they are shown, never judged).
  assert.deepEqual(marks[7], { step: "delete-file", phase: "end", outcome: "error", detail: "Error: declined by the user" });
});

test("a step that does not answer within the timeout ends as `timeout`, and the run stops there", async () => {
  const printed: string[] = [];
  const client = fakeClient({ "write-file": () => new Promise(() => {}) });
  await runSteps(client, 300, (line) => printed.push(line));

  const marks = printed.map((line) => parseMark(line)!);
  assert.deepEqual(client.calls, ["connect", "list-files", "write-file"]);
  assert.deepEqual(marks.at(-1), { step: "write-file", phase: "end", outcome: "timeout", detail: "no answer within 300 ms" });
});

test("marks round-trip; other output and unknown steps are not marks", () => {
  const mark: StepMark = { step: "broken-challenge", phase: "end", outcome: "ok", detail: "x" };
  assert.deepEqual(parseMark(formatMark(mark)), mark);
  assert.equal(parseMark('[mcp-remote] {"step":"connect","phase":"start"}'), undefined);
  assert.equal(parseMark('@@interop {"step":"rm -rf","phase":"start"}'), undefined);
  assert.equal(parseMark("@@interop {not json"), undefined);
});

test("the Markdown table escapes a `|` a client's text may carry, so the row keeps its columns", () => {
  const run = {
    client: { id: "x", name: "x-client", version: "1.0.0", needsBrowser: false, driver: "x.ts" },
    steps: [notRun("connect", "a | b"), notRun("list-files", "—"), notRun("write-file", "—"), notRun("delete-file", "—"), notRun("broken-challenge", "—")],
    log: [],
  };
  const row = markdownTable([run], { date: "2026-12-01", node: "20" }).split("\n")[2]!;
  assert.match(row, /a \\\| b/);
  assert.equal(row.split(/(?<!\\)\|/).length - 2, 6, "client + five step columns");
});
