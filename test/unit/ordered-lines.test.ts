import { test } from "node:test";
import assert from "node:assert/strict";
import { createLogger, parseStamp, stamp } from "../../shared/log.ts";
import { OrderedLines } from "../../scripts/ordered-lines.ts";

/** A buffer on a clock the test moves by hand, printing into `out`. */
function setup(windowMs = 50) {
  let now = 1_000;
  const out: string[] = [];
  const lines = new OrderedLines(windowMs, () => now);
  const print = (text: string) => out.push(text);
  return { lines, out, print, advance: (ms: number) => (now += ms) };
}

test("lines that arrive out of order are printed in the order they were written, without the stamp", () => {
  const { lines, out, print, advance } = setup();
  lines.push(`${stamp(1_000.5)}D5 step-up`, print);
  lines.push(`${stamp(1_000.25)}[as] warn: revoked token family`, print);
  lines.push(`${stamp(1_000)}D4 replay`, print);
  assert.deepEqual(out, [], "held while an earlier line may still be on its way");
  advance(60);
  lines.release();
  assert.deepEqual(out, ["D4 replay", "[as] warn: revoked token family", "D5 step-up"]);
});

test("only lines older than the window are released; equal stamps keep their arrival order", () => {
  const { lines, out, print, advance } = setup();
  lines.push(`${stamp(1_000)}first`, print);
  lines.push(`${stamp(1_000)}second`, print);
  advance(30);
  lines.push(`${stamp(1_030)}recent`, print);
  advance(25); // now 1055: the first two are 55 ms old, "recent" 25 ms
  lines.release();
  assert.deepEqual(out, ["first", "second"]);
});

test("an unstamped line (a crash trace) passes straight through, in arrival order", () => {
  const { lines, out, print } = setup();
  lines.push(`${stamp(1_000)}held`, print);
  lines.push("Error: boom", print);
  lines.push("    at main (as/server.ts:1:1)", print);
  assert.deepEqual(out, ["Error: boom", "    at main (as/server.ts:1:1)"]);
});

test("end() prints everything still held, in order, and later lines pass straight through", () => {
  const { lines, out, print } = setup();
  lines.push(`${stamp(1_002)}b`, print);
  lines.push(`${stamp(1_001)}a`, print);
  lines.end();
  assert.deepEqual(out, ["a", "b"]);
  lines.push(`${stamp(999)}late`, print);
  assert.deepEqual(out, ["a", "b", "late"]);
});

test("createLogger stamps its lines only when asked; the stamp strips off cleanly", () => {
  const plain: string[] = [];
  createLogger("[rs]", (l) => plain.push(l)).info("ready");
  assert.deepEqual(plain, ["[rs] ready\n"], "no stamp by default: the line is as it always was");
  const stamped: string[] = [];
  createLogger("[rs]", (l) => stamped.push(l), { timestamps: true }).warn("careful");
  const { time, text } = parseStamp(stamped[0]!);
  assert.ok(time !== undefined && time > 1.7e12, `a wall-clock stamp in ms (${stamped[0]})`);
  assert.equal(text, "[rs] warn: careful\n");
});
