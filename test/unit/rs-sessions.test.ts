/**
 * R6's bounds, with an injected clock: the registry evicts the least recently used session at the
 * cap and expires idle ones, closing their MCP servers. Sessions here are stand-ins whose `server`
 * only records that it was closed.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { silentLogger } from "../../shared/log.ts";
import { samePrincipal, SessionRegistry } from "../../resource-server/sessions.ts";

function harness(limits: { idleMs: number; maxSessions: number }) {
  let now = 1_000;
  const closed: string[] = [];
  const registry = new SessionRegistry(limits, silentLogger, () => now);
  const open = (id: string) =>
    registry.add({
      id,
      principal: { sub: "demo-user", clientId: "c1" },
      server: { close: async () => void closed.push(id) } as unknown as McpServer,
      transport: {} as StreamableHTTPServerTransport,
    });
  return { registry, open, closed, advance: (ms: number) => (now += ms) };
}

describe("SessionRegistry", () => {
  test("at the cap, adding evicts the least recently used session and closes its server", () => {
    const { registry, open, closed, advance } = harness({ idleMs: 60_000, maxSessions: 2 });
    open("a");
    advance(1);
    open("b");
    advance(1);
    registry.touch(registry.find("a")!); // b is now the least recently used
    open("c");
    assert.deepEqual(closed, ["b"]);
    assert.equal(registry.size, 2);
    assert.equal(registry.find("b"), undefined);
    assert.ok(registry.find("a") && registry.find("c"));
  });

  test("find() does not refresh a session; only touch() (after the principal check) does", () => {
    const { registry, open, closed } = harness({ idleMs: 60_000, maxSessions: 2 });
    open("a");
    open("b");
    registry.find("a"); // e.g. another principal probing session a
    open("c");
    assert.deepEqual(closed, ["a"]);
  });

  test("an idle session is closed on lookup and by the sweep", () => {
    const { registry, open, closed, advance } = harness({ idleMs: 1_000, maxSessions: 10 });
    open("a");
    open("b");
    advance(999);
    registry.touch(registry.find("b")!);
    assert.ok(registry.find("a"), "not idle yet at 999 ms");
    advance(1);
    assert.equal(registry.find("a"), undefined);
    assert.deepEqual(closed, ["a"]);
    advance(1_000);
    registry.sweep();
    assert.deepEqual(closed, ["a", "b"]);
    assert.equal(registry.size, 0);
  });

  test("remove() is idempotent (the transport's onclose after an eviction)", () => {
    const { registry, open } = harness({ idleMs: 1_000, maxSessions: 10 });
    open("a");
    registry.remove("a");
    registry.remove("a");
    assert.equal(registry.size, 0);
  });
});

describe("samePrincipal", () => {
  test("both sub and client_id must match", () => {
    const p = { sub: "u", clientId: "c" };
    assert.equal(samePrincipal(p, { sub: "u", clientId: "c" }), true);
    assert.equal(samePrincipal(p, { sub: "u", clientId: "d" }), false);
    assert.equal(samePrincipal(p, { sub: "v", clientId: "c" }), false);
  });
});
