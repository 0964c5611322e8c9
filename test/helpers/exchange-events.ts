/**
 * Exchange events (shared/extras/exchange-events.ts) as the AS and the RS publish them, built by hand for the
 * judges' unit tests: each builder gives the fields the servers fill in for that exchange, redacted as
 * they redact them. Times increase with every event built, so the order of the calls is the order.
 */
import type { ExchangeEvent } from "../../shared/extras/exchange-events.ts";

let clock = 1_800_000_000_000;
let seq = 0;

type Parts = Partial<ExchangeEvent> & Pick<ExchangeEvent, "server" | "method" | "path" | "status">;

function event(parts: Parts): ExchangeEvent {
  return { instance: "test", seq: ++seq, at: (clock += 10), ms: 1, query: {}, requestHeaders: { "user-agent": "node" }, responseHeaders: {}, ...parts };
}

const CLIENT = "c1";
const RESOURCE = "http://127.0.0.1:3000/mcp";

/** RS: POST /mcp without a token → 401 with the R4 challenge. */
export const unauthorized = (scope = "files:read") =>
  event({ server: "rs", method: "POST", path: "/mcp", status: 401, responseHeaders: { "www-authenticate": `Bearer resource_metadata="http://127.0.0.1:3000/.well-known/oauth-protected-resource/mcp", scope="${scope}"` } });

export const prm = () => event({ server: "rs", method: "GET", path: "/.well-known/oauth-protected-resource/mcp", status: 200, responseBody: { resource: RESOURCE, scopes_supported: ["files:read"] } });

export const register = (clientId = CLIENT) =>
  event({ server: "as", method: "POST", path: "/register", status: 201, body: { redirect_uris: ["http://127.0.0.1:8976/callback"], client_name: "test client" }, responseBody: { client_id: clientId }, clientId });

/** AS: GET /authorize → 302 with a code granting `granted` (the policy applied), or a redirected `error`. */
export function authorized(requested: string, granted: string | undefined = requested, { error, clientId = CLIENT }: { error?: string; clientId?: string } = {}): ExchangeEvent {
  const location = error ? `http://127.0.0.1:8976/callback?error=${error}&state=st4te…` : "http://127.0.0.1:8976/callback?code=c0de12…&state=st4te…&iss=http://127.0.0.1:3001";
  return event({
    server: "as",
    method: "GET",
    path: "/authorize",
    status: 302,
    query: { response_type: "code", client_id: clientId, scope: requested, state: "st4te…", code_challenge: "ch4ll…", code_challenge_method: "S256", resource: RESOURCE },
    responseHeaders: { location },
    clientId,
    ...(granted !== undefined && !error ? { granted: granted.split(" ") } : {}),
  });
}

/** AS: POST /token → 200 with `scope` (and a refresh token), or 400 with `error`. */
export function token(grantType: "authorization_code" | "refresh_token", scope: string, { error, asked, clientId = CLIENT }: { error?: string; asked?: string; clientId?: string } = {}): ExchangeEvent {
  const body = { grant_type: grantType, client_id: clientId, ...(asked !== undefined ? { scope: asked } : {}) };
  return event({
    server: "as",
    method: "POST",
    path: "/token",
    status: error ? 400 : 200,
    requestHeaders: { "content-type": "application/x-www-form-urlencoded", "user-agent": "node" },
    body,
    responseBody: error ? { error } : { access_token: "eyJ….s1gn4t…", token_type: "Bearer", scope, refresh_token: "r3fr3s…" },
    clientId,
    ...(error ? {} : { issued: { aud: RESOURCE, scope, client_id: clientId, exp: 1_800_000_300, sub: "demo-user" } }),
  });
}

/** RS: POST /mcp tools/call `tool` with a token holding `held` → 200, or 403 insufficient_scope for `needs`. */
export function call(tool: string, held: string, needs?: string, clientId = CLIENT): ExchangeEvent {
  return event({
    server: "rs",
    method: "POST",
    path: "/mcp",
    status: needs ? 403 : 200,
    requestHeaders: { authorization: "Bearer eyJ….s1gn4t…", "content-type": "application/json", "user-agent": "node" },
    body: { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: tool, arguments: {} } },
    responseHeaders: needs ? { "www-authenticate": `Bearer error="insufficient_scope", scope="${needs}", error_description="${tool} requires ${needs}"` } : {},
    clientId,
    principal: { clientId, scope: held.split(" ") },
  });
}
