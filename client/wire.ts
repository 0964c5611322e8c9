/**
 * Reading the recorded wire (recorder.ts): who each request went to (client → AS or RS), the queries the
 * story's assertions are written in, and a one-line description of an exchange for the narration, the
 * `--verbose` output and the transcript — in which everything the wire chose (a challenge's scope, a
 * `Location`, an `error` code) is shown with its control characters escaped (B4).
 */
import { terminalText } from "../shared/terminal-text.ts";
import { findBearerChallenge, parseScope } from "./step-up/index.ts";
import type { RecordedExchange, TokenClaims } from "./recorder.ts";

export interface Parties {
  /** The MCP endpoint (the protected resource). */
  serverUrl: string;
  /** From discovery, once known. */
  issuer?: string;
  authorizationEndpoint?: string;
  tokenEndpoint?: string;
  registrationEndpoint?: string;
}

export type Party = "AS" | "RS" | "other";

export function partyOf(exchange: RecordedExchange, parties: Parties): Party {
  if (exchange.origin === new URL(parties.serverUrl).origin) return "RS";
  if (parties.issuer && exchange.origin === new URL(parties.issuer).origin) return "AS";
  return "other";
}

const endpointIs = (exchange: RecordedExchange, endpoint: string | undefined) =>
  endpoint !== undefined && `${exchange.origin}${exchange.path}` === new URL(endpoint).origin + new URL(endpoint).pathname;

/** Some recorded exchanges (a step's, or the whole run's), with the queries the assertions need. */
export class Wire {
  readonly exchanges: RecordedExchange[];
  readonly parties: Parties;
  constructor(exchanges: RecordedExchange[], parties: Parties) {
    this.exchanges = exchanges;
    this.parties = parties;
  }

  toAs(): RecordedExchange[] {
    return this.exchanges.filter((e) => partyOf(e, this.parties) === "AS");
  }
  authorizations(): RecordedExchange[] {
    return this.exchanges.filter((e) => e.method === "GET" && endpointIs(e, this.parties.authorizationEndpoint));
  }
  registrations(): RecordedExchange[] {
    return this.exchanges.filter((e) => e.method === "POST" && endpointIs(e, this.parties.registrationEndpoint));
  }
  /** Token requests, optionally of one grant type. */
  tokenRequests(grantType?: string): RecordedExchange[] {
    return this.exchanges.filter(
      (e) =>
        e.method === "POST" &&
        endpointIs(e, this.parties.tokenEndpoint) &&
        (grantType === undefined || e.request.form?.grant_type === grantType),
    );
  }
  /** POSTs to the MCP endpoint: of one tool (`tools/call`), one JSON-RPC method, or all. */
  mcpPosts(operation?: { tool?: string; method?: string }): RecordedExchange[] {
    return this.exchanges.filter(
      (e) =>
        e.method === "POST" &&
        endpointIs(e, this.parties.serverUrl) &&
        (operation?.tool === undefined || e.request.tool === operation.tool) &&
        (operation?.method === undefined || e.request.rpcMethod === operation.method),
    );
  }
}

/** The `<client_id> [<scopes>]` an RS tool result names as the actor (R7), if any. */
export function actorOf(text: string): { clientId: string; scopes: string[] } | undefined {
  const match = / by (\S+) \[([^\]]*)\]/.exec(text);
  return match ? { clientId: match[1]!, scopes: parseScope(match[2]) } : undefined;
}

/** The JSON body an exchange's response carried (already redacted), as a record. */
export function responseJson(exchange: RecordedExchange): Record<string, unknown> {
  const json = exchange.response.json;
  return json && typeof json === "object" && !Array.isArray(json) ? (json as Record<string, unknown>) : {};
}

/** An issued access token, by its claims (never the token): `aud=… scope="…" client_id=… exp in 300 s`. */
export function describeTokenClaims(claims: TokenClaims, nowSeconds = Date.now() / 1000): string {
  const exp = claims.exp === undefined ? "no exp" : `exp in ${Math.round(claims.exp - nowSeconds)} s`;
  return terminalText(`access token claims: aud=${[claims.aud ?? "none"].flat().join(",")} scope="${claims.scope ?? ""}" client_id=${claims.client_id ?? "none"} ${exp}`);
}

/** One line per exchange: `POST /token grant_type=refresh_token → 200 scope="files:read"`. */
export function describeExchange(exchange: RecordedExchange, parties: Parties): string {
  return `${describeRequest(exchange, parties)} → ${describeOutcome(exchange)}`;
}

/** The request half: method, path and what matters about it. */
export function describeRequest(exchange: RecordedExchange, parties: Parties): string {
  const { request, query } = exchange;
  const party = partyOf(exchange, parties);
  const parts: string[] = [`${exchange.method} ${exchange.path}`];
  if (request.rpcMethod) parts.push(request.tool ? `tools/call ${request.tool}` : request.rpcMethod);
  else if (party === "RS" && exchange.path === new URL(parties.serverUrl).pathname) {
    parts.push(exchange.method === "GET" ? "(SSE stream)" : exchange.method === "DELETE" ? "(end session)" : "");
  }
  if (query.scope !== undefined) parts.push(`scope="${query.scope}"`);
  if (query.code_challenge_method) parts.push(query.code_challenge_method);
  if (query.redirect_uri && !endpointIs(exchange, parties.tokenEndpoint)) parts.push(`redirect_uri=${query.redirect_uri}`);
  if (request.form?.grant_type) parts.push(`grant_type=${request.form.grant_type}`);
  if (request.form?.scope !== undefined) parts.push(`scope="${request.form.scope}"`);
  if (request.form?.refresh_token) parts.push(`refresh_token=${request.form.refresh_token}`);
  const body = request.json as { redirect_uris?: unknown } | undefined;
  if (body && Array.isArray(body.redirect_uris)) parts.push(`redirect_uris=${JSON.stringify(body.redirect_uris)}`);
  if (party === "RS" && exchange.path === new URL(parties.serverUrl).pathname) {
    parts.push(request.authorization ? `(${request.authorization})` : "(no token)");
  }
  return terminalText(parts.filter(Boolean).join(" "));
}

/** The response half: status and what matters about it. */
export function describeOutcome(exchange: RecordedExchange): string {
  if (exchange.status === undefined) return terminalText(`failed: ${exchange.error ?? "no response"}`);
  const notes: string[] = [String(exchange.status)];
  const challenge = findBearerChallenge(exchange.response.wwwAuthenticate);
  if (challenge) {
    notes.push(challenge.error ?? "Bearer challenge");
    if (challenge.scope !== undefined) notes.push(`scope="${challenge.scope}"`);
  }
  if (exchange.response.location) {
    const [target, query = ""] = exchange.response.location.split("?", 2);
    const keys = query.split("&").map((pair) => pair.split("=")[0]).filter(Boolean);
    notes.push(`to ${target}${keys.length ? ` with ${keys.join(", ")}` : ""}`);
  }
  const json = responseJson(exchange);
  if (typeof json.error === "string") notes.push(json.error);
  if (typeof json.scope === "string") notes.push(`scope="${json.scope}"`);
  if (typeof json.refresh_token === "string") notes.push("+ refresh_token");
  if (typeof json.client_id === "string" && exchange.status === 201) notes.push(`client_id=${json.client_id}`);
  const listening = json.listening as { address?: string; port?: number } | undefined;
  if (listening?.address) notes.push(`listening on ${listening.address}:${listening.port}`);
  if (exchange.response.mcpSessionId && exchange.request.rpcMethod === "initialize") notes.push("session opened");
  return terminalText(notes.join(" "));
}
