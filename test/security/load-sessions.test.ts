/**
 * Session exhaustion at the RS (B2: no request grows memory without bound; R6 bounds).
 *
 * With the limits lowered through the config's own variables (`RS_MAX_SESSIONS`, `RS_SESSION_IDLE_MS`),
 * a flood of `initialize`s from several principals must leave the RS at its cap, having evicted the
 * least recently used sessions (whose owners get 404 and may start again), answering every request
 * with a 2xx or 404 — never a 5xx. Idle sessions expire by themselves. The session count is read from
 * outside, twice: by probing every session id with its owner's token, and from the RS's own log lines
 * ("session … opened by … (N open)").
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  initializeRequest,
  mcpRequest,
  McpTestSession,
  mintToken,
  startTestResourceServer,
  toolCall,
  type TestResourceServer,
} from "../helpers/rs-mcp.ts";

const CAP = 10;
const ROUNDS = 8; // 8 rounds of CAP concurrent initializes: 80 sessions opened against a cap of 10

/** The largest "(N open)" the RS logged. */
function maxOpen(lines: readonly string[]): number {
  return Math.max(0, ...lines.map((line) => Number(/\((\d+) open\)/.exec(line)?.[1] ?? 0)));
}

describe("a flood of sessions stays at RS_MAX_SESSIONS, evicting the least recently used", () => {
  let rs: TestResourceServer;
  before(async () => {
    rs = await startTestResourceServer({ env: { RS_MAX_SESSIONS: String(CAP), RS_SESSION_IDLE_MS: "600000" } });
  });
  after(() => rs.close());

  test(`${ROUNDS * CAP} initializes from 3 principals: exactly the last ${CAP} sessions live, never a 5xx`, { timeout: 30_000 }, async () => {
    const tokens = await Promise.all(
      ["flood-a", "flood-b", "flood-c"].map((client_id) => mintToken(rs.config, rs.key, { claims: { client_id, scope: "files:read" } })),
    );
    const opened: Array<{ id: string; token: string }> = [];
    const statuses: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // One round at a time, CAP at once: when a round is done, its sessions are the most recent ones.
      const batch = await Promise.all(
        Array.from({ length: CAP }, async (_, i) => {
          const token = tokens[(round * CAP + i) % tokens.length]!;
          const response = await mcpRequest(rs.config, initializeRequest(round * CAP + i), { token });
          statuses.push(response.status);
          return { id: response.headers.get("mcp-session-id") ?? "", token };
        }),
      );
      opened.push(...batch);
      assert.ok(maxOpen(rs.logLines) <= CAP, `the RS never held more than ${CAP} sessions (round ${round})`);
    }
    assert.deepEqual([...new Set(statuses)], [200], "every initialize succeeded (eviction, not refusal)");
    assert.equal(new Set(opened.map((s) => s.id)).size, ROUNDS * CAP, "every session got its own id");

    // Probe every session with its owner's token, oldest first.
    const probes = [];
    for (const [index, session] of opened.entries()) {
      const response = await mcpRequest(rs.config, toolCall(index, "list-files"), { token: session.token, sessionId: session.id });
      assert.ok(response.status === 200 || response.status === 404, `never a 5xx: ${response.status} ${response.text}`);
      probes.push(response.status);
    }
    const live = probes.flatMap((status, index) => (status === 200 ? [index] : []));
    assert.equal(live.length, CAP, "the count stays at the cap");
    assert.deepEqual(live, Array.from({ length: CAP }, (_, i) => (ROUNDS - 1) * CAP + i), "the survivors are the newest round");
    const evicted = rs.logLines.filter((line) => /closed: evicted \(cap of 10 sessions\)/.test(line));
    assert.equal(evicted.length, (ROUNDS - 1) * CAP, "each extra session evicted exactly one older one");
    assert.equal(maxOpen(rs.logLines), CAP);
  });

  test("an evicted client starts again: a new initialize gets a new session", async () => {
    const token = await mintToken(rs.config, rs.key, { claims: { client_id: "returning", scope: "files:read" } });
    const session = await McpTestSession.open(rs.config, token);
    assert.match(await session.callText("list-files"), /read by returning \[files:read\]/);
  });
});

describe("idle sessions expire (RS_SESSION_IDLE_MS)", () => {
  let rs: TestResourceServer;
  // Long enough that a loaded machine finishes each session's initialize → initialized exchange well
  // inside it (a session that expired mid-handshake would answer 404 before it ever sat idle).
  const IDLE_MS = 2_000;
  before(async () => {
    rs = await startTestResourceServer({ env: { RS_MAX_SESSIONS: "100", RS_SESSION_IDLE_MS: String(IDLE_MS) } });
  });
  after(() => rs.close());

  test("20 sessions left alone are all closed after the idle time; the RS keeps serving", { timeout: 15_000 }, async () => {
    const token = await mintToken(rs.config, rs.key, { claims: { client_id: "idler", scope: "files:read" } });
    const sessions = await Promise.all(Array.from({ length: 20 }, () => McpTestSession.open(rs.config, token)));

    // Wait for the sweep (every idleMs/2) to close them: bounded, 60 × 100 ms beyond the idle time.
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
    for (let i = 0; i < 60 && rs.logLines.filter((line) => /closed: idle/.test(line)).length < 20; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(rs.logLines.filter((line) => /closed: idle/.test(line)).length, 20, "the sweep closed every idle session");
    for (const session of sessions) {
      const response = await session.call("list-files");
      assert.equal(response.status, 404, "an expired session is gone");
      assert.equal(response.body.error.code, -32001);
    }
    const again = await McpTestSession.open(rs.config, token);
    assert.equal((await again.call("list-files")).status, 200);
  });
});
