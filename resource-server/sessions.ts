/**
 * R6 — MCP sessions, bound to the principal that created them, and bounded.
 *
 * One `McpServer` + `StreamableHTTPServerTransport` per session. The app routes each
 * request by its `Mcp-Session-Id` itself and compares the caller's principal (`sub` + `client_id`)
 * with the session's owner before anything else sees the request: a valid token of someone else gets
 * `404 Session not found`, exactly what an unknown id gets, so a session id reveals nothing.
 *
 * Bounds (B2, no unbounded memory):
 * - idle expiry: a session unused for `idleMs` is closed (checked on lookup, and by an unref'd sweep);
 * - a cap of `maxSessions`: when full, opening a session **evicts the least recently used one**
 *   (its transport is closed; its client gets 404 and re-initializes, as MCP prescribes). Refusing new
 *   sessions instead would let one client that opens sessions in a loop lock every other client out.
 */
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import type { Logger } from "../shared/log.ts";
import type { Principal } from "./bearer.ts";

export interface McpSession {
  readonly id: string;
  readonly principal: Principal;
  readonly server: McpServer;
  readonly transport: StreamableHTTPServerTransport;
  lastUsed: number;
}

export interface SessionLimits {
  idleMs: number;
  maxSessions: number;
}

export function samePrincipal(a: Principal, b: Principal): boolean {
  return a.sub === b.sub && a.clientId === b.clientId;
}

export class SessionRegistry {
  /** Insertion order is recency order: the first entry is the least recently used session. */
  readonly #sessions = new Map<string, McpSession>();
  readonly #limits: SessionLimits;
  readonly #logger: Logger;
  readonly #now: () => number;

  constructor(limits: SessionLimits, logger: Logger, now: () => number = Date.now) {
    this.#limits = limits;
    this.#logger = logger;
    this.#now = now;
    const every = Math.min(Math.max(Math.floor(limits.idleMs / 2), 100), 60_000);
    setInterval(() => this.sweep(), every).unref(); // never keeps the process (or a test) alive
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** The live session with this id; `undefined` if unknown or idle past the limit (then it is closed). */
  find(id: string): McpSession | undefined {
    const session = this.#sessions.get(id);
    if (session && this.#idle(session)) {
      this.close(session, "idle");
      return undefined;
    }
    return session;
  }

  /** Mark a session as just used by its owner (only after the principal check: others don't count). */
  touch(session: McpSession): void {
    if (this.#sessions.get(session.id) !== session) return;
    session.lastUsed = this.#now();
    this.#sessions.delete(session.id); // move to the most-recently-used end
    this.#sessions.set(session.id, session);
  }

  /** Register a session that just initialized, evicting the least recently used ones if full. */
  add(opened: Omit<McpSession, "lastUsed">): McpSession {
    const session: McpSession = { ...opened, lastUsed: this.#now() };
    for (const oldest of this.#sessions.values()) {
      if (this.#sessions.size < this.#limits.maxSessions) break;
      this.close(oldest, `evicted (cap of ${this.#limits.maxSessions} sessions)`);
    }
    this.#sessions.set(session.id, session);
    this.#logger.info(`session ${session.id.slice(0, 8)}… opened by ${session.principal.clientId} (${this.size} open)`);
    return session;
  }

  /** Forget a session (its transport closed: DELETE, eviction, expiry). Idempotent. */
  remove(id: string): void {
    this.#sessions.delete(id);
  }

  /** Close a session's server and transport; the transport's `onclose` then calls `remove`. */
  close(session: McpSession, reason: string): void {
    this.#sessions.delete(session.id);
    this.#logger.info(`session ${session.id.slice(0, 8)}… closed: ${reason}`);
    session.server.close().catch(() => {}); // closing only fails if already closed
  }

  sweep(): void {
    for (const session of this.#sessions.values()) {
      // Recency order: the first session that is not idle ends the scan.
      if (!this.#idle(session)) break;
      this.close(session, "idle");
    }
  }

  #idle(session: McpSession): boolean {
    return this.#now() - session.lastUsed >= this.#limits.idleMs;
  }
}
