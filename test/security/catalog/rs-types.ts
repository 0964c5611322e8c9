/**
 * The resource server's attack catalog, as data (B1): each entry is one hostile request
 * to `/mcp` and the exact answer the RS owes it. `rs-harness.ts` turns every entry into one test that
 * sends it and checks, the same way for all of them:
 *
 *   - the exact HTTP status (never a 5xx);
 *   - the `WWW-Authenticate` header, parsed strictly (RFC 9110 §11.6.1): the exact parameter set, each
 *     parameter once — or no header at all;
 *   - the JSON-RPC error body (R8 shape) or the success the entry expects;
 *   - the credential is never echoed back (not in the body, not in the challenge);
 *   - no side effect: the victim's session still works and the file store is exactly as before —
 *     unless the entry is an *acceptance* entry (a credential the RS must accept), whose write must land.
 *
 * An attack is aimed at a live session of a victim principal (`VICTIM`), and by default it is the most
 * damaging request there is: `tools/call write-file` of a fresh marker file, with a token that claims
 * the victim's identity and every scope (`files:admin`). If the defence under test failed open, the
 * write would go through — so "the marker is absent" proves the defence held, not merely that the
 * status code looked right.
 */
import type { Config } from "../../../shared/config.ts";
import type { McpTestSession, MintOptions, TestKey } from "../../helpers/rs-mcp.ts";

/** The principal whose session every attack targets (R6: `sub` + `client_id`). */
export const VICTIM = { sub: "demo-user", client_id: "victim-client" } as const;
/** The victim's own token scope: enough to list (and so to watch the store), not to delete. */
export const VICTIM_SCOPE = "files:read files:write";
/** What a forged token claims by default: every scope there is. */
export const FORGED_SCOPE = "files:read files:write files:admin";

export type JsonRpcId = string | number | null;

/** Everything an entry may use to build its request. Fresh per entry. */
export interface AttackKit {
  config: Config;
  /** The key the RS's JWKS serves: a token it signs (unaltered) is accepted. */
  key: TestKey;
  /** A valid token of the victim (scope `VICTIM_SCOPE`). */
  victimToken: string;
  /** The victim's session, opened for this entry. */
  victim: McpTestSession;
  /** A file name unique to this entry: the write every default attack attempts. */
  marker: string;
  /** A token for the victim principal with `FORGED_SCOPE`, signed by the trusted key, then altered as asked. */
  forge(options?: MintOptions): Promise<string>;
  /** A loopback URL that counts requests: a `jku`/`x5u` pointing here must never be fetched. */
  trap: { url: string; hits(): number };
  /** The default attack body: `tools/call write-file` of `marker`. */
  writeMarker(id?: JsonRpcId): Record<string, unknown>;
}

export interface AttackRequest {
  method?: "POST" | "GET" | "DELETE" | "PUT" | "PATCH";
  /** Appended to the resource URL as is (e.g. `?access_token=…`). */
  query?: string;
  /** Header values; an array is sent as repeated header lines (which `fetch` cannot do). */
  headers?: Record<string, string | string[]>;
  /** Default: `kit.writeMarker()`. A string (or Buffer) is sent byte for byte; anything else as JSON. */
  body?: unknown;
  /** `"victim"` (default) sends the victim's `Mcp-Session-Id`; `"none"` sends none. */
  session?: "victim" | "none";
}

/** The `WWW-Authenticate` the answer must carry (R4/R5), or none. */
export type ChallengeExpectation =
  /** No `WWW-Authenticate` header at all (404, 4xx body errors, successes). */
  | { kind: "none" }
  /** R4 / RFC 6750 §3.1: no usable credentials → `resource_metadata` + `scope`, no `error`. */
  | { kind: "missing" }
  /** R4: `error="invalid_token"`, `error_description` matching, `resource_metadata`, `scope`. */
  | { kind: "invalid_token"; description: RegExp }
  /** R5: `error="insufficient_scope"`, exactly this `scope`, `resource_metadata`, `error_description`. */
  | { kind: "insufficient_scope"; scope: string; description: RegExp };

/** What the body must be. */
export type BodyExpectation =
  /** A JSON-RPC 2.0 error object (R8); `id` defaults to `null` when given as such. */
  | { rpcError: { code?: number; id?: JsonRpcId; message?: RegExp } }
  /** A JSON-RPC success whose `result` passes this check (e.g. names the acting client). */
  | { rpcResult: RegExp }
  /** A tool-level error (`result.isError: true`, MCP's own answer), text matching. */
  | { toolError: RegExp }
  /** No body (202 Accepted, Node's own 431). */
  | { empty: true };

export interface Expectation {
  status: number;
  challenge: ChallengeExpectation;
  body: BodyExpectation;
  /**
   * `"nothing"` (default): the store is unchanged and the marker absent. `"marker"`: the request was
   * rightly accepted and its write of the marker landed (acceptance entries).
   */
  effect?: "nothing" | "marker";
  /** Patterns the whole answer (status line aside) must not contain, e.g. `/files:/` for unknown tools. */
  mustNotContain?: RegExp[];
  /**
   * The refusal may reach the client as a connection reset instead of `status`: the server answers and
   * closes while the client is still sending (RFC 9112 §9.6) — Node 20's client reads the answer first,
   * Node 24's reports the reset. Either way the request was refused before any handler ran.
   */
  orReset?: true;
}

export interface RsAttack {
  /** Stable id, `<category>.<name>`, unique in the catalog. */
  id: string;
  /** Category (for the report and SECURITY.md). */
  category: string;
  title: string;
  /** Where the expected answer comes from. */
  cite: string;
  request(kit: AttackKit): AttackRequest | Promise<AttackRequest>;
  expect: Expectation;
  /** Checks beyond the generic ones (e.g. the trap was never fetched, the prototype is clean). */
  verify?(kit: AttackKit): void | Promise<void>;
}

// ---- small builders the catalogs share ----

export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

export const missing = (): Expectation => ({
  status: 401,
  challenge: { kind: "missing" },
  body: { rpcError: { code: -32000, id: null, message: /^Unauthorized/ } },
});

export const invalidToken = (description: RegExp): Expectation => ({
  status: 401,
  challenge: { kind: "invalid_token", description },
  body: { rpcError: { code: -32000, id: null, message: /^Unauthorized/ } },
});

/** Accepted: the write of the marker runs and names the victim client (R7). */
export const accepted = (): Expectation => ({
  status: 200,
  challenge: { kind: "none" },
  body: { rpcResult: new RegExp(`^wrote \\S+ \\(\\d+ bytes\\) — written by ${VICTIM.client_id} \\[`) },
  effect: "marker",
});

/** R6: a session that is not the caller's looks exactly like one that does not exist. */
export const sessionNotFound = (): Expectation => ({
  status: 404,
  challenge: { kind: "none" },
  body: { rpcError: { code: -32001, id: null, message: /^Session not found$/ } },
});

/** Group a catalog by category, in first-seen order. */
export function byCategory(attacks: readonly RsAttack[]): Map<string, RsAttack[]> {
  const groups = new Map<string, RsAttack[]>();
  for (const attack of attacks) groups.set(attack.category, [...(groups.get(attack.category) ?? []), attack]);
  return groups;
}
