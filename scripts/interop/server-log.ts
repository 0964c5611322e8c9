/**
 * What the demo's servers log about a client, read back as events. The judge (./judge.ts) decides from
 * these alone: what a client *asked* the servers for, not what it says about itself.
 *
 * The lines (one per request that matters; both servers prefix their own name):
 *   [as] registered client_id=… redirect_uris=… grant_types=…
 *   [as] authorized client_id=… sub=… requested="files:read files:write" scope="files:read files:write" code=…
 *   [as] authorization refused client_id=… error=access_denied
 *   [as] consent denied client_id=…                              (AS_CONSENT=prompt: the user said no)
 *   [as] issued tokens grant_type=refresh_token client_id=… scope="files:read" refresh_token=yes expires_in=300
 *   [as] refused POST /token grant_type=refresh_token error=invalid_scope
 *   [rs] 401 POST /mcp: no bearer token
 *   [rs] tools/call list-files allowed for … [files:read]
 *   [rs] 403 insufficient_scope for …: write-file requires files:write
 */

export type ServerEvent =
  | { kind: "register" }
  | { kind: "authorize"; requested: string[]; granted: string[] }
  | { kind: "authorize-refused"; error: string }
  | { kind: "token"; grantType: string; scope: string[] }
  | { kind: "token-refused"; grantType: string | undefined; error: string }
  | { kind: "unauthorized" }
  | { kind: "call"; tool: string; status: 200 | 403 };

const scopes = (text: string) => text.split(" ").filter(Boolean);

/** One log line → its events (none for a line that is not about a client request). */
export function parseServerLine(line: string): ServerEvent[] {
  let match: RegExpExecArray | null;
  if (/^\[as\] registered client_id=/.test(line)) return [{ kind: "register" }];
  if ((match = /^\[as\] authorized client_id=\S+ sub=\S+ requested="([^"]*)" scope="([^"]*)"/.exec(line))) {
    return [{ kind: "authorize", requested: scopes(match[1]!), granted: scopes(match[2]!) }];
  }
  if ((match = /^\[as\] authorization refused client_id=\S+ error=(\S+)/.exec(line))) return [{ kind: "authorize-refused", error: match[1]! }];
  if ((match = /^\[as\] refused GET \/authorize error=(\S+)/.exec(line))) return [{ kind: "authorize-refused", error: match[1]! }];
  if (/^\[as\] consent denied client_id=/.test(line)) return [{ kind: "authorize-refused", error: "access_denied" }];
  if ((match = /^\[as\] issued tokens grant_type=(\S+) client_id=\S+ scope="([^"]*)"/.exec(line))) {
    return [{ kind: "token", grantType: match[1]!, scope: scopes(match[2]!) }];
  }
  if ((match = /^\[as\] refused POST \/token(?: grant_type=(\S+))? error=(\S+)/.exec(line))) {
    return [{ kind: "token-refused", grantType: match[1], error: match[2]! }];
  }
  if (/^\[rs\] 401 /.test(line)) return [{ kind: "unauthorized" }];
  if ((match = /^\[rs\] tools\/call (\S+) allowed for /.exec(line))) {
    return match[1]!.split(",").map((tool) => ({ kind: "call", tool, status: 200 }));
  }
  if ((match = /^\[rs\] 403 insufficient_scope for [^:]*: (.*)$/.exec(line))) {
    // "write-file requires files:write; list-files requires files:read" (a batch names each tool once)
    return match[1]!.split("; ").map((part) => ({ kind: "call", tool: part.split(" ")[0]!, status: 403 }));
  }
  return [];
}

export function parseServerLog(lines: readonly string[]): ServerEvent[] {
  return lines.flatMap(parseServerLine);
}
