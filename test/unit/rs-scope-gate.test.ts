/**
 * R5's decision, as a pure function: which scopes a JSON-RPC message or batch needs, and whether a
 * token's scopes satisfy them (independent scopes: each must be named, S1).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { checkScopes, requiredScopes, toolCallsIn } from "../../resource-server/scope-gate.ts";

const call = (name: unknown, id: unknown = 1) => ({ jsonrpc: "2.0", id, method: "tools/call", params: { name } });

describe("requiredScopes", () => {
  test("each tool's scope (S2)", () => {
    assert.deepEqual(requiredScopes(call("list-files")), ["files:read"]);
    assert.deepEqual(requiredScopes(call("read-file")), ["files:read"]);
    assert.deepEqual(requiredScopes(call("write-file")), ["files:write"]);
    assert.deepEqual(requiredScopes(call("delete-file")), ["files:admin"]);
    assert.deepEqual(requiredScopes(call("broken-challenge")), ["files:read"]);
  });

  test("a batch needs the union of its calls' scopes, in catalog order", () => {
    const batch = [call("delete-file"), call("list-files"), call("write-file"), call("read-file")];
    assert.deepEqual(requiredScopes(batch), ["files:read", "files:write", "files:admin"]);
  });

  test("other methods, unknown tools and non-messages need nothing", () => {
    for (const body of [
      { jsonrpc: "2.0", id: 1, method: "tools/list" },
      call("format-disk"),
      call("__proto__"),
      call("constructor"),
      call(42),
      { jsonrpc: "2.0", id: 1, method: "tools/call" },
      { jsonrpc: "2.0", id: 1, method: "tools/call", params: "write-file" },
      [1, "x", null, []],
      null,
      "tools/call",
    ]) {
      assert.deepEqual(requiredScopes(body), [], JSON.stringify(body));
    }
  });

  test("a tools/call notification (no id) is gated too (fail closed)", () => {
    assert.deepEqual(
      toolCallsIn({ jsonrpc: "2.0", method: "tools/call", params: { name: "write-file" } }).map((tool) => [tool.name, tool.scope]),
      [["write-file", "files:write"]],
    );
  });
});

describe("checkScopes", () => {
  test("a covered call is allowed", () => {
    assert.deepEqual(checkScopes(call("list-files"), ["files:read"]), { allowed: true });
  });

  test("an under-scoped call is refused with its scope, description and JSON-RPC id", () => {
    assert.deepEqual(checkScopes(call("write-file", "abc"), ["files:read"]), {
      allowed: false,
      scope: "files:write",
      errorDescription: "write-file requires files:write",
      id: "abc",
    });
  });

  test("independent scopes: no scope implies another", () => {
    assert.deepEqual(checkScopes(call("delete-file"), ["files:admin"]), { allowed: true });
    assert.deepEqual(checkScopes(call("read-file"), ["files:write", "files:read"]), { allowed: true });
    assert.equal(checkScopes(call("read-file"), ["files:admin"]).allowed, false);
    assert.equal(checkScopes(call("read-file"), ["files:write"]).allowed, false);
    assert.equal(checkScopes(call("write-file"), ["files:admin"]).allowed, false);
    assert.equal(checkScopes(call("delete-file"), ["files:read", "files:write"]).allowed, false);
    assert.equal(checkScopes(call("list-files"), []).allowed, false);
    assert.equal(checkScopes(call("list-files"), ["files:readx", "read"]).allowed, false);
  });

  test("a batch with one under-scoped call is refused whole: union scope, id null", () => {
    const decision = checkScopes([call("list-files", 1), call("write-file", 2), call("write-file", 3)], ["files:read"]);
    assert.deepEqual(decision, {
      allowed: false,
      scope: "files:read files:write",
      errorDescription: "write-file requires files:write",
      id: null,
    });
  });

  test("broken-challenge is refused even with files:read (deliberately)", () => {
    assert.deepEqual(checkScopes(call("broken-challenge", 7), ["files:read", "files:write", "files:admin"]), {
      allowed: false,
      scope: "files:read",
      errorDescription: "broken-challenge requires files:read",
      id: 7,
    });
  });

  test("an unknown tool is allowed through (MCP answers it; no scope disclosed)", () => {
    assert.deepEqual(checkScopes(call("format-disk"), []), { allowed: true });
  });

  test("an id that is not a JSON-RPC id is answered with null", () => {
    const decision = checkScopes(call("write-file", { nested: true }), []);
    assert.equal(decision.allowed === false && decision.id, null);
  });
});
