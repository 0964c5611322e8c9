/**
 * The exchange recorder (C6): the innermost fetch of the transport and the `fetchFn` of every SDK auth
 * primitive, so every HTTP request the client makes is written down — the evidence the story verifies
 * and the transcript prints. Secrets never enter a record whole: tokens, codes, verifiers and `state`
 * keep a short prefix (`redact`, shared/log.ts); a client secret (a form field, or inside Basic
 * credentials) keeps nothing at all. An SSE response body is never read or cloned.
 */
import { decodeJwt } from "jose";
import type { FetchLike } from "@modelcontextprotocol/sdk/shared/transport.js";
import { redact } from "../shared/log.ts";

export interface RecordedExchange {
  seq: number;
  /** The story's label for the step this request belongs to (D1…D8), "" outside the story. */
  step: string;
  method: string;
  /** The request URL, query secrets redacted. */
  url: string;
  origin: string;
  path: string;
  /** Query parameters (secrets redacted): the authorization request's are the evidence for C3. */
  query: Record<string, string>;
  /** ms since the recorder was created, and until the response headers arrived. */
  startedMs: number;
  durationMs: number;
  status?: number;
  /** Set when no response arrived (refused connection, timeout, abort). */
  error?: string;
  request: {
    /** `Bearer <prefix>…` */
    authorization?: string;
    mcpSessionId?: string;
    /** Form fields of a token request, secrets redacted. */
    form?: Record<string, string>;
    /** JSON body that is not JSON-RPC (e.g. DCR metadata), secrets redacted. */
    json?: unknown;
    /** JSON-RPC method, tool name for `tools/call`. */
    rpcMethod?: string;
    tool?: string;
  };
  response: {
    wwwAuthenticate?: string;
    location?: string;
    /** The `Location`'s query parameters (secrets redacted): an authorization response's evidence. */
    locationQuery?: Record<string, string>;
    mcpSessionId?: string;
    contentType?: string;
    /** A JSON body (never an SSE stream), secrets redacted, long strings cut. */
    json?: unknown;
    /** The claims of an access token the body issued (RFC 9068 §2.2) — never the token itself. */
    tokenClaims?: TokenClaims;
  };
}

/** What an access token says about itself, for `--verbose`: who it is for, what it allows, until when. */
export interface TokenClaims {
  iss?: string;
  sub?: string;
  aud?: string | string[];
  client_id?: string;
  scope?: string;
  iat?: number;
  exp?: number;
}

/** The claims of a JWT `access_token` in a token response; undefined for anything else. */
function tokenClaimsOf(body: unknown): TokenClaims | undefined {
  const token = (body as { access_token?: unknown } | null)?.access_token;
  if (typeof token !== "string") return undefined;
  try {
    const { iss, sub, aud, client_id, scope, iat, exp } = decodeJwt(token);
    return { iss, sub, aud, client_id: typeof client_id === "string" ? client_id : undefined, scope: typeof scope === "string" ? scope : undefined, iat, exp };
  } catch {
    return undefined; // not a JWT: nothing to decode
  }
}

/** Values never kept whole — in query strings, forms and JSON bodies alike. */
const SECRET_FIELDS = new Set([
  "access_token", "refresh_token", "id_token", "code", "code_verifier", "code_challenge",
  "state", "client_secret", "registration_access_token", "assertion",
]);

/** A long-lived credential that no prefix of may be shown (RFC 6749 §2.3.1 client password). */
const hide = (name: string, value: string) => (name === "client_secret" ? "…" : redact(value));

function redactParams(params: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of params) out[name] = SECRET_FIELDS.has(name) ? hide(name, value) : value;
  return out;
}

/** For reading, not for sending: the query is shown decoded, secrets cut to a prefix. */
function redactUrl(url: URL): string {
  const base = `${url.origin}${url.pathname}`;
  if (!url.search) return base;
  return `${base}?${Object.entries(redactParams(url.searchParams)).map(([k, v]) => `${k}=${v}`).join("&")}`;
}

/** Deep copy with secret fields redacted and strings capped (a record, not a dump). */
function scrub(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return value.length > 400 ? `${value.slice(0, 400)}…` : value;
  if (value === null || typeof value !== "object" || depth > 6) return value;
  if (Array.isArray(value)) return value.slice(0, 20).map((v) => scrub(v, depth + 1));
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, SECRET_FIELDS.has(k) && typeof v === "string" ? hide(k, v) : scrub(v, depth + 1)]),
  );
}

function describeBody(body: RequestInit["body"], record: RecordedExchange["request"]): void {
  if (body instanceof URLSearchParams) {
    record.form = redactParams(body);
    return;
  }
  if (typeof body !== "string") return;
  try {
    const parsed: unknown = JSON.parse(body);
    const first = (Array.isArray(parsed) ? parsed[0] : parsed) as { method?: unknown; params?: { name?: unknown } };
    if (first && typeof first.method === "string") {
      record.rpcMethod = Array.isArray(parsed) ? `batch(${parsed.length}) ${first.method}` : first.method;
      if (first.method === "tools/call" && typeof first.params?.name === "string") record.tool = first.params.name;
    } else {
      record.json = scrub(parsed);
    }
  } catch {
    record.form = redactParams(new URLSearchParams(body)); // a form sent as a string
  }
}

export interface RecorderOptions {
  /** The fetch that really sends (default: the global fetch). */
  fetch?: FetchLike;
  /** Refuse a request before it is sent (the story allows loopback only). Return a reason to refuse. */
  refuse?: (url: URL, init?: RequestInit) => string | undefined;
  /** Called when a request completes (response headers in, or failed). */
  onExchange?: (exchange: RecordedExchange) => void;
}

/** The record keeps the newest this many exchanges: a long-lived client must not grow. */
const MAX_EXCHANGES = 5000;

export class ExchangeRecorder {
  readonly exchanges: RecordedExchange[] = [];
  /** Label for the requests that follow (set by the story). */
  step = "";
  private readonly t0 = performance.now();
  private sent = 0;
  private readonly base: FetchLike;
  private readonly options: RecorderOptions;

  constructor(options: RecorderOptions = {}) {
    this.options = options;
    this.base = options.fetch ?? ((url, init) => fetch(url, init));
  }

  /** A position in the record: `since(mark())` is what happens from now on. */
  mark(): number {
    return this.sent;
  }
  /** Exchanges sent after `mark`. */
  since(mark: number): RecordedExchange[] {
    return this.exchanges.filter((e) => e.seq > mark);
  }

  readonly fetch: FetchLike = async (input, init) => {
    const url = new URL(String(input));
    const refused = this.options.refuse?.(url, init);
    if (refused) throw new Error(`refusing to send ${init?.method ?? "GET"} ${url.origin}: ${refused}`);
    const headers = new Headers(init?.headers);
    const exchange: RecordedExchange = {
      seq: ++this.sent,
      step: this.step,
      method: init?.method ?? "GET",
      url: redactUrl(url),
      origin: url.origin,
      path: url.pathname,
      query: redactParams(url.searchParams),
      startedMs: Math.round(performance.now() - this.t0),
      durationMs: 0,
      request: {},
      response: {},
    };
    const authorization = headers.get("authorization");
    if (authorization) {
      const [scheme, credentials] = authorization.split(" ", 2);
      // RFC 7617: Basic credentials are the client id and secret, merely base64-encoded — keep none of it.
      exchange.request.authorization = /^basic$/i.test(scheme ?? "") ? `${scheme} …` : `${scheme} ${redact(credentials ?? "")}`;
    }
    exchange.request.mcpSessionId = headers.get("mcp-session-id") ?? undefined;
    describeBody(init?.body, exchange.request);
    this.exchanges.push(exchange); // in send order, so concurrent requests keep their real sequence
    if (this.exchanges.length > MAX_EXCHANGES) this.exchanges.shift();
    const started = performance.now();
    try {
      const response = await this.base(url, init);
      exchange.status = response.status;
      const h = response.headers;
      exchange.response.wwwAuthenticate = h.get("www-authenticate") ?? undefined;
      const location = h.get("location");
      if (location && URL.canParse(location, url)) {
        const target = new URL(location, url);
        exchange.response.location = redactUrl(target);
        exchange.response.locationQuery = redactParams(target.searchParams);
      } else if (location) {
        exchange.response.location = location.slice(0, 200);
      }
      exchange.response.mcpSessionId = h.get("mcp-session-id") ?? undefined;
      exchange.response.contentType = h.get("content-type") ?? undefined;
      // Only a JSON body is read (from a clone); an SSE stream is left alone.
      if (exchange.response.contentType?.includes("application/json")) {
        const body: unknown = await response.clone().json().catch(() => undefined);
        exchange.response.json = scrub(body);
        exchange.response.tokenClaims = tokenClaimsOf(body);
      }
      return response;
    } catch (error) {
      exchange.error = error instanceof Error ? error.message : String(error);
      throw error;
    } finally {
      exchange.durationMs = Math.round(performance.now() - started);
      this.options.onExchange?.(exchange);
    }
  };
}

/** Thrown when an auth request took too long (deliberately not a TypeError, which the SDK retries). */
export class FetchTimeoutError extends Error {
  override name = "FetchTimeoutError";
}

/** The SDK's auth primitives take no abort signal: give their fetch a deadline of its own. */
export function withTimeout(fetchFn: FetchLike, ms: number): FetchLike {
  return async (url, init) => {
    const timeout = AbortSignal.timeout(ms);
    const signal = init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    try {
      return await fetchFn(url, { ...init, signal });
    } catch (error) {
      if (!timeout.aborted) throw error;
      // The URL as the recorder shows it (fetch accepted it, so it parses): `state`, `code_challenge` cut short.
      throw new FetchTimeoutError(`${init?.method ?? "GET"} ${redactUrl(new URL(String(url)))} got no answer within ${ms} ms`);
    }
  };
}

/** Errno-style codes that mean nothing answered at that address (as opposed to a protocol error). */
const CONNECTION_ERRORS = new Set(["ECONNREFUSED", "ECONNRESET", "EHOSTUNREACH", "ENOTFOUND", "EAI_AGAIN", "UND_ERR_CONNECT_TIMEOUT"]);

/** The connection error code in `error` or its `cause` chain (`fetch failed` ← `connect ECONNREFUSED …`). */
export function connectionErrorCode(error: unknown): string | undefined {
  for (let e = error, depth = 0; e && depth < 6; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && CONNECTION_ERRORS.has(code)) return code;
  }
  return undefined;
}

/**
 * A request to the authorization server got no answer at all (refused, reset, unresolvable). The
 * original network error is the `cause`. Deliberately not a `TypeError`: the SDK's metadata discovery
 * retries a `TypeError` (taking it for a CORS failure), which would only send the same request again.
 */
export class AuthorizationServerUnreachableError extends Error {
  override name = "AuthorizationServerUnreachableError";
  /** The issuer (RFC 8414 §2) the client was talking to: the origin of the request that failed. */
  readonly issuer: string;
  /** The exchange that failed: method and endpoint URL (without its query). */
  readonly endpoint: string;
  constructor(issuer: string, endpoint: string, cause: unknown) {
    const code = connectionErrorCode(cause);
    super(`cannot reach the authorization server ${issuer}: ${endpoint} failed${code ? ` (${code})` : ""}`, { cause });
    this.issuer = issuer;
    this.endpoint = endpoint;
  }
}

/**
 * The fetch of the auth exchanges: a connection failure of a request to anywhere but the MCP server —
 * the authorization server — names it (the PRM is the MCP server's own).
 */
export function namingTheAuthorizationServer(fetchFn: FetchLike, mcpServerUrl: string): FetchLike {
  const mcpOrigin = new URL(mcpServerUrl).origin;
  return async (url, init) => {
    try {
      return await fetchFn(url, init);
    } catch (error) {
      const target = new URL(String(url));
      if (connectionErrorCode(error) === undefined || target.origin === mcpOrigin) throw error;
      throw new AuthorizationServerUnreachableError(target.origin, `${init?.method ?? "GET"} ${target.origin}${target.pathname}`, error);
    }
  };
}
