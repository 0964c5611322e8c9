import { test } from "node:test";
import assert from "node:assert/strict";
import { BoundedStore } from "../../as/store.ts";

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

test("a full store evicts the oldest entry first", () => {
  const store = new BoundedStore<number>({ capacity: 3, now: clock().now, sweepIntervalMs: 0 });
  for (const [i, key] of ["a", "b", "c", "d"].entries()) store.set(key, i);
  assert.equal(store.size, 3);
  assert.equal(store.get("a"), undefined);
  assert.deepEqual(["b", "c", "d"].map((k) => store.get(k)), [1, 2, 3]);
});

test("re-setting a key makes it the newest; retain() keeps its age", () => {
  const store = new BoundedStore<string>({ capacity: 2, now: clock().now, sweepIntervalMs: 0 });
  store.set("a", "1");
  store.set("b", "2");
  store.set("a", "1'"); // now b is the oldest
  store.set("c", "3");
  assert.equal(store.get("b"), undefined);
  assert.equal(store.get("a"), "1'");
  store.retain("a", Infinity); // a stays the oldest
  store.set("d", "4");
  assert.equal(store.get("a"), undefined);
  assert.equal(store.get("c"), "3");
});

test("entries past their retention read as absent and are swept", () => {
  const c = clock();
  const store = new BoundedStore<string>({ capacity: 10, now: c.now, sweepIntervalMs: 0 });
  store.set("short", "x", c.now() + 1000);
  store.set("long", "y", c.now() + 5000);
  store.set("forever", "z");
  c.advance(1000);
  assert.equal(store.get("short"), undefined);
  assert.equal(store.has("long"), true);
  c.advance(4000);
  store.sweep();
  assert.equal(store.size, 1);
  assert.equal(store.get("forever"), "z");
});

test("a capacity below one is a programming error", () => {
  assert.throws(() => new BoundedStore({ capacity: 0, now: Date.now }), RangeError);
});
