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

test("A9: `keep` protects entries from eviction; when only protected entries are left, set() refuses and stores nothing", () => {
  const evicted: string[] = [];
  const protectedKeys = new Set(["a"]);
  const store = new BoundedStore<number>({
    capacity: 2,
    now: clock().now,
    sweepIntervalMs: 0,
    keep: (_value, key) => protectedKeys.has(key),
    onEvict: (_value, key) => void evicted.push(key),
  });
  assert.equal(store.set("a", 1), true);
  assert.equal(store.set("b", 2), true);
  assert.equal(store.set("c", 3), true, "b, the oldest unprotected entry, makes room");
  assert.deepEqual(evicted, ["b"]);
  assert.equal(store.get("a"), 1);
  protectedKeys.add("c");
  assert.equal(store.set("d", 4), false, "a and c are protected: refused");
  assert.equal(store.get("d"), undefined);
  assert.equal(store.size, 2);
  assert.deepEqual(evicted, ["b"]);
});

test("A9: expired entries make room before any live one, and are not reported as evicted", () => {
  const evicted: string[] = [];
  const c = clock();
  const store = new BoundedStore<number>({ capacity: 2, now: c.now, sweepIntervalMs: 0, onEvict: (_v, key) => void evicted.push(key) });
  store.set("old-live", 1);
  store.set("expiring", 2, c.now() + 10);
  c.advance(20);
  store.set("new", 3);
  assert.equal(store.get("old-live"), 1);
  assert.deepEqual(evicted, []);
});
