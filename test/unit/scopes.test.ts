import { test } from "node:test";
import assert from "node:assert/strict";
import {
  parseScope,
  formatScope,
  scopeUnion,
  satisfiesScope,
  inCatalogOrder,
} from "../../shared/scopes.ts";

test("parseScope tolerates any whitespace, duplicates, empty and undefined", () => {
  assert.deepEqual(parseScope("  files:read\tfiles:write \n files:read "), ["files:read", "files:write"]);
  assert.deepEqual(parseScope(""), []);
  assert.deepEqual(parseScope(undefined), []);
  assert.deepEqual(parseScope(["a b", "b", "c"]), ["a", "b", "c"]);
  assert.equal(formatScope(["a", "b"]), "a b");
});

test("scopeUnion is an order-preserving set union", () => {
  assert.deepEqual(scopeUnion("files:read", "files:read files:write", undefined, "files:write files:admin"), [
    "files:read",
    "files:write",
    "files:admin",
  ]);
  assert.deepEqual(scopeUnion(undefined, ""), []);
});

test("hierarchy: files:admin ⊇ files:write ⊇ files:read", () => {
  assert.equal(satisfiesScope("files:admin", "files:write"), true);
  assert.equal(satisfiesScope("files:admin", "files:read"), true);
  assert.equal(satisfiesScope("files:write", "files:read"), true);
  assert.equal(satisfiesScope("files:write", "files:admin"), false);
  assert.equal(satisfiesScope("files:read", "files:write"), false);
  assert.equal(satisfiesScope("", "files:read"), false);
  assert.equal(satisfiesScope("files:read", ""), true);
  assert.equal(satisfiesScope("files:read", "files:read files:write"), false, "every required scope must be met");
});

test("inCatalogOrder sorts known scopes first, in catalog order", () => {
  assert.deepEqual(inCatalogOrder(["files:admin", "x", "files:read"]), ["files:read", "files:admin", "x"]);
});

test("R9: a scope named after an Object member is an ordinary unknown scope (own-property lookups only)", () => {
  for (const name of ["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf"]) {
    assert.equal(satisfiesScope(name, "files:read"), false, name);
    assert.equal(satisfiesScope(`files:write ${name}`, "files:read"), true, name);
    assert.equal(satisfiesScope(name, name), true, name);
  }
});
