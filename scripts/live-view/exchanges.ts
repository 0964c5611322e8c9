/**
 * Reading exchange events (shared/extras/exchange-events.ts) in the protocol's terms: which endpoint, which
 * JSON-RPC call, which challenge — and a client's *moves*, what it asked the servers for and got, in
 * order. This is the one reading of the events that the step-up judge (./rules.ts), the view
 * (./view-model.ts) and `pnpm interop` (../interop/judge.ts) share.
 */
import { METADATA_PATH } from "../../as/metadata.ts";
import { findBearerChallenge, parseScope, type BearerChallenge } from "../../client/step-up/index.ts";
import { asUrls, rsUrls } from "../../shared/config.ts";
import type { ExchangeEvent } from "../../shared/extras/exchange-events.ts";

export type Endpoint = "mcp" | "prm" | "as-metadata" | "jwks" | "register" | "authorize" | "token" | "revoke" | "health" | "other";

// The paths do not depend on the port: the URLs of a port-0 stack give them.
const MCP_PATH = new URL(rsUrls(0).resource).pathname;
const PRM_PATH = new URL(rsUrls(0).resourceMetadataUrl).pathname;
const JWKS_PATH = new URL(asUrls(0).jwksUri).pathname;
const AS_ENDPOINTS: Record<string, Endpoint> = { "/register": "register", "/authorize": "authorize", "/token": "token", "/revoke": "revoke" };

export function endpointOf(e: ExchangeEvent): Endpoint {
  if (e.path === "/healthz") return "health";
  if (e.server === "rs") return e.path === MCP_PATH ? "mcp" : e.path === PRM_PATH ? "prm" : "other";
  if (e.path === METADATA_PATH) return "as-metadata";
  if (e.path === JWKS_PATH) return "jwks";
  return Object.hasOwn(AS_ENDPOINTS, e.path) ? AS_ENDPOINTS[e.path]! : "other";
}

const record = (value: unknown): Record<string, unknown> => (value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {});
const text = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined);

/** The request body as a record (a form, or a JSON object). */
export const bodyOf = (e: ExchangeEvent) => record(e.body);
/** The response body as a record (a JSON object). */
export const answerOf = (e: ExchangeEvent) => record(e.responseBody);

/** The JSON-RPC messages of an MCP POST: their methods, and for `tools/call` the tool. */
export function rpcCallsOf(e: ExchangeEvent): { method: string; tool?: string }[] {
  if (endpointOf(e) !== "mcp" || e.method !== "POST") return [];
  const messages = Array.isArray(e.body) ? e.body : e.body === undefined ? [] : [e.body];
  return messages.flatMap((message) => {
    const method = text(record(message).method);
    if (!method) return [];
    const tool = method === "tools/call" ? text(record(record(message).params).name) : undefined;
    return [tool ? { method, tool } : { method }];
  });
}

/** The response's `Bearer` challenge (RFC 6750 §3), if it has one. */
export function challengeOf(e: ExchangeEvent): BearerChallenge | undefined {
  return findBearerChallenge(e.responseHeaders["www-authenticate"]);
}

/** The `Location`'s target and query parameters (already redacted by the server). */
export function locationOf(e: ExchangeEvent): { target: string; params: Record<string, string> } | undefined {
  const location = e.responseHeaders.location;
  if (!location || !URL.canParse(location)) return undefined;
  const url = new URL(location);
  return { target: `${url.origin}${url.pathname}`, params: Object.fromEntries(url.searchParams) };
}

/** The text of an MCP tool result in the response (an SSE message or a JSON body), if any. */
export function toolResultOf(e: ExchangeEvent): string | undefined {
  const messages = Array.isArray(e.responseBody) ? e.responseBody : [e.responseBody];
  for (const message of messages) {
    const content = record(record(message).result).content;
    if (Array.isArray(content)) return content.map((part) => text(record(part).text) ?? "").join(" ").trim();
  }
  return undefined;
}

/** What a client asked the servers for and got, one move per exchange that matters to step-up. */
export type Move =
  /** The RS answered `/mcp` with 401 (R4): no token, or one it does not accept. */
  | { kind: "unauthorized"; event: ExchangeEvent; scope?: string[] }
  | { kind: "prm"; event: ExchangeEvent; scopesSupported?: string[] }
  | { kind: "registration"; event: ExchangeEvent; ok: boolean }
  /** An authorization request's outcome: a code (for `granted`), an error, or a refusal without redirect. */
  | { kind: "authorization"; event: ExchangeEvent; request: ExchangeEvent; requested: string[]; granted?: string[]; error?: string }
  | { kind: "token"; event: ExchangeEvent; grantType: string; scope?: string[]; ok: boolean; granted?: string[]; error?: string; refreshToken: boolean }
  /** A `tools/call` POST: which tools, the answer, the verified token's scope (R3), an `insufficient_scope` challenge (R5). */
  | { kind: "call"; event: ExchangeEvent; tools: string[]; status: number; held?: string[]; insufficient?: string[] };

/** The moves in `events` (in their order). A consent page (A11) is no move; the form's answer is the authorization's outcome. */
export function movesOf(events: readonly ExchangeEvent[]): Move[] {
  const moves: Move[] = [];
  const awaitingConsent = new Map<string, ExchangeEvent>();
  for (const event of events) {
    const body = bodyOf(event);
    const answer = answerOf(event);
    switch (endpointOf(event)) {
      case "mcp": {
        const tools = rpcCallsOf(event).flatMap((call) => (call.tool ? [call.tool] : []));
        if (event.status === 401) moves.push({ kind: "unauthorized", event, scope: scopeOrUndefined(challengeOf(event)?.scope) });
        else if (tools.length > 0) {
          const challenge = challengeOf(event);
          const insufficient = event.status === 403 && challenge?.error === "insufficient_scope" ? parseScope(challenge.scope) : undefined;
          moves.push({ kind: "call", event, tools, status: event.status, held: event.principal?.scope, ...(insufficient ? { insufficient } : {}) });
        }
        break;
      }
      case "prm":
        if (event.status === 200) moves.push({ kind: "prm", event, scopesSupported: Array.isArray(answer.scopes_supported) ? answer.scopes_supported.map(String) : undefined });
        break;
      case "register":
        if (event.method === "POST") moves.push({ kind: "registration", event, ok: event.status === 201 });
        break;
      case "authorize": {
        const key = event.clientId ?? "";
        if (event.method === "GET" && event.status === 200) {
          awaitingConsent.set(key, event); // A11: the user decides on the page; POST /authorize answers
          break;
        }
        const request = event.method === "POST" ? (awaitingConsent.get(key) ?? [...awaitingConsent.values()].at(-1)) : event;
        if (!request) break;
        awaitingConsent.delete(request.clientId ?? "");
        const location = locationOf(event)?.params ?? {};
        const error = event.status === 302 ? location.error : (text(answer.error) ?? `HTTP ${event.status}`);
        moves.push({ kind: "authorization", event, request, requested: parseScope(request.query.scope), ...(event.granted ? { granted: event.granted } : {}), ...(error ? { error } : {}) });
        break;
      }
      case "token": {
        const grantType = text(body.grant_type) ?? "";
        const ok = event.status === 200;
        moves.push({
          kind: "token",
          event,
          grantType,
          ...(typeof body.scope === "string" ? { scope: parseScope(body.scope) } : {}),
          ok,
          ...(ok && typeof answer.scope === "string" ? { granted: parseScope(answer.scope) } : {}),
          ...(typeof answer.error === "string" ? { error: answer.error } : {}),
          refreshToken: ok && typeof answer.refresh_token === "string",
        });
        break;
      }
    }
  }
  return moves;
}

const scopeOrUndefined = (scope: string | undefined) => (scope === undefined ? undefined : parseScope(scope));
