/**
 * Exchange events: what this server handled, one structured, redacted event per HTTP exchange — read by
 * the live view (scripts/live-view/) and by `pnpm interop`, which judge a client's step-up from them.
 *
 * Off unless `EXCHANGE_EVENTS=1` (shared/config.ts; `pnpm dev`, `pnpm demo --web` and `pnpm interop` set
 * it): then nothing here is mounted, and the server runs exactly as it does without this file.
 *
 * The channel is `GET /exchange-events` on the server itself: a server-sent event stream (HTML Living
 * Standard §9.2) that replays a bounded ring of the latest events, then follows new ones. Why not:
 *   - a JSONL file under .state/: written on every request whether anyone reads it or not, it grows
 *     until something rotates it and outlives the run on disk;
 *   - a pipe: it exists only between a parent and its child, and `pnpm dev`'s viewer is the servers'
 *     sibling (started by `concurrently`), as a viewer started later by hand would be.
 * With nobody reading, the endpoint costs one small object per exchange in a ring of RING_SIZE; a
 * viewer that starts late, restarts or reconnects resumes from the ring (`Last-Event-ID`).
 * A slow or absent reader costs the server nothing: it never waits for one, and queues nothing for it.
 * Each reader is a cursor into the ring, written to only while its socket holds less than
 * MAX_BACKLOG_BYTES unsent (the rest follows on `drain`); one that falls behind the ring — it would
 * miss events — is cut off, and resumes from the ring when it reconnects. At most MAX_SUBSCRIBERS
 * read at once (503 beyond).
 *
 * What an attacker on loopback can learn here: nothing it could not learn before. The route sits
 * behind R10 (a loopback `Host`, no foreign `Origin`) and also refuses anything a browser sends (an
 * `Origin` or `Sec-Fetch-*` header → 403), so no web page, a DNS-rebinding one included, can read it —
 * only a local process, which could register a client and get the demo user's tokens on its own. And
 * nothing secret is in an event: tokens, codes, verifiers, `state` and session ids are cut to a prefix
 * (`redact`, as in the logs), client secrets and Basic credentials to nothing; client ids are whole
 * (RFC 6749 §2.2: a client identifier is not a secret).
 */
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { RequestHandler } from "express";
import { redact, redactAuthorization, redactParams, redactUrl, scrub, SECRET_FIELDS, hideSecret, type ExchangeLog } from "../log.ts";

export const EVENTS_PATH = "/exchange-events";

/** The latest this many events are kept for a reader that (re)connects. */
export const RING_SIZE = 500;
export const MAX_SUBSCRIBERS = 4;
/** A reader's socket is written to only while it holds less than this unsent. */
export const MAX_BACKLOG_BYTES = 256 * 1024;
/** Of each response body, this much is looked at (a token response, a JSON-RPC result, a page's start). */
const CAPTURE_BYTES = 16 * 1024;
/** An event larger than this, serialized, loses its bodies (they are marked as left out). */
const MAX_EVENT_BYTES = 8 * 1024;
const MAX_STRING = 200;

const REQUEST_HEADERS = ["authorization", "mcp-session-id", "mcp-protocol-version", "content-type", "accept", "origin", "user-agent"];
const RESPONSE_HEADERS = ["www-authenticate", "location", "mcp-session-id", "content-type", "retry-after"];

export interface ExchangeEvent {
  server: "as" | "rs";
  /** This server process: a restarted server is a new instance, numbering from 1 again. */
  instance: string;
  seq: number;
  /** When the request arrived: ms since the epoch, high resolution, comparable across the processes of one machine. */
  at: number;
  /** Until the response was complete or, for an event stream, until it opened. */
  ms: number;
  method: string;
  path: string;
  /** Query parameters, decoded, secrets cut. */
  query: Record<string, string>;
  /** The request headers that matter, secrets cut (`Authorization` to `Bearer eyJ….<prefix>…`). */
  requestHeaders: Record<string, string>;
  /** The form or JSON body, secrets cut. */
  body?: unknown;
  status: number;
  responseHeaders: Record<string, string>;
  /** The response body: JSON, the messages of an event stream, or the start of a text — secrets cut. */
  responseBody?: unknown;
  /** An event stream that was still open when the event was published. */
  streaming?: true;
  /** The client the exchange is about: a verified token's, a code's, `client_id` in query or form, Basic, DCR's answer. */
  clientId?: string;
  /** RS: the verified access token on the request (R3): whose, which scopes. */
  principal?: { clientId: string; scope: string[] };
  /** AS: the scope the authorization code in `Location` grants — the policy applied (RFC 6749 §3.3). */
  granted?: string[];
  /** AS: the claims of the access token this response issued (RFC 9068 §2.2), never the token. */
  issued?: { aud?: unknown; scope?: unknown; client_id?: unknown; exp?: unknown; sub?: unknown };
}

/** What only the server can tell about a request (mounted by its `createApp`). */
export interface ExchangeContext {
  /** RS: the verified token on the request, once `bearerAuth` ran. */
  principal?(req: IncomingMessage): { clientId: string; scope: string[] } | undefined;
  /** AS: the client and scope an authorization code it issued is bound to. */
  codeGrant?(code: string): { clientId: string; scope: string[] } | undefined;
}

const cut = (text: string, max = MAX_STRING) => (text.length > max ? `${text.slice(0, max)}…` : text);
const cutAll = (record: Record<string, string>) => Object.fromEntries(Object.entries(record).slice(0, 30).map(([k, v]) => [cut(k, 60), cut(v)]));

/** RFC 7617 / RFC 6749 §2.3.1: the client id of Basic credentials (form-urlencoded, then base64). */
function basicClientId(authorization: string | undefined): string | undefined {
  const match = /^basic +([A-Za-z0-9+/=]+)$/i.exec(authorization ?? "");
  if (!match) return undefined;
  const user = Buffer.from(match[1]!, "base64").toString("utf8").split(":", 1)[0]!;
  try {
    return decodeURIComponent(user.replace(/\+/g, " "));
  } catch {
    return undefined;
  }
}

/** The claims of a JWT the AS just issued, decoded (not verified: it signed it itself). */
function claimsOf(jwt: string): ExchangeEvent["issued"] {
  try {
    const payload = JSON.parse(Buffer.from(jwt.split(".")[1] ?? "", "base64url").toString("utf8")) as Record<string, unknown>;
    const { aud, scope, client_id, exp, sub } = payload;
    return scrub({ aud, scope, client_id, exp, sub }, { maxString: MAX_STRING }) as ExchangeEvent["issued"];
  } catch {
    return undefined;
  }
}

/** A form (string values, from `express.urlencoded`) or a parsed JSON body, secrets cut. */
function bodyOf(body: unknown, contentType: string): unknown {
  if (body === undefined || body === null || typeof body !== "object") return undefined;
  if (!contentType.includes("x-www-form-urlencoded")) return scrub(body, { maxString: MAX_STRING });
  const form: Record<string, string> = {};
  for (const [name, value] of Object.entries(body).slice(0, 30)) {
    const text = Array.isArray(value) ? value.map(String).join(", ") : String(value);
    form[cut(name, 60)] = SECRET_FIELDS.has(name) ? hideSecret(name, text) : cut(text);
  }
  return form;
}

/** A response body as an event holds it: JSON scrubbed, an event stream's messages, or a text's start. */
function responseBodyOf(raw: string, contentType: string): { body?: unknown; json?: unknown } {
  if (raw === "") return {};
  if (contentType.includes("json")) {
    try {
      const json: unknown = JSON.parse(raw);
      return { body: scrub(json, { maxString: MAX_STRING }), json };
    } catch {
      return { body: cut(raw) };
    }
  }
  if (contentType.includes("text/event-stream")) {
    const messages = raw
      .split("\n")
      .filter((line) => line.startsWith("data:"))
      .slice(0, 5)
      .map((line) => {
        try {
          return scrub(JSON.parse(line.slice(5)), { maxString: MAX_STRING });
        } catch {
          return cut(line.slice(5).trim());
        }
      });
    return messages.length > 0 ? { body: messages } : {};
  }
  return { body: cut(raw.replace(/\s+/g, " ")) };
}

function pickHeaders(source: Record<string, unknown>, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const raw = source[name];
    if (raw === undefined) continue;
    const value = Array.isArray(raw) ? raw.join(", ") : String(raw);
    if (name === "authorization") out[name] = redactAuthorization(value);
    else if (name === "mcp-session-id") out[name] = redact(value, 8);
    // A relative Location (RFC 9110 §10.2.2) is read against a dummy base, so its query is redacted too.
    else if (name === "location") out[name] = cut(URL.canParse(value, "http://relative.invalid") ? redactUrl(new URL(value, "http://relative.invalid")).replace(/^http:\/\/relative\.invalid/, "") : "(unparseable)", 400);
    else out[name] = cut(value, name === "www-authenticate" ? 400 : MAX_STRING);
  }
  return out;
}

/** The headers given to `writeHead(status, [message], headers)`, lower-cased (they bypass `getHeaders()`). */
function writeHeadHeaders(args: unknown[]): Record<string, unknown> {
  const headers = args.find((arg, i) => i > 0 && typeof arg === "object" && arg !== null);
  if (!headers) return {};
  const entries: [string, unknown][] = Array.isArray(headers)
    ? Array.from({ length: Math.floor(headers.length / 2) }, (_, i) => [String(headers[2 * i]), headers[2 * i + 1]])
    : Object.entries(headers);
  return Object.fromEntries(entries.map(([k, v]) => [k.toLowerCase(), v]));
}

interface Kept {
  event: ExchangeEvent;
  /** The event as sent: serialized once, whatever the number of readers. */
  message: string;
}

export class ExchangeEventLog implements ExchangeLog<ExchangeContext> {
  readonly path = EVENTS_PATH;
  readonly server: "as" | "rs";
  readonly instance = randomBytes(4).toString("hex");
  readonly #ring: Kept[] = [];
  /** Each reader, with the `seq` of the next event it is to be sent. */
  readonly #readers = new Map<ServerResponse, { next: number }>();
  #seq = 0;

  constructor(server: "as" | "rs") {
    this.server = server;
  }

  /** Events still in the ring, oldest first (for tests and in-process readers). */
  events(): ExchangeEvent[] {
    return this.#ring.map((kept) => kept.event);
  }

  publish(event: Omit<ExchangeEvent, "server" | "instance" | "seq">): void {
    let full: ExchangeEvent = { server: this.server, instance: this.instance, seq: ++this.#seq, ...event };
    let json = JSON.stringify(full);
    if (json.length > MAX_EVENT_BYTES) {
      // Too large (every string is capped, but a body has many): the bodies go, then all but the exchange's line.
      const { body, responseBody, ...rest } = full;
      full = { ...rest, ...(body !== undefined ? { body: "(left out: too large)" } : {}), ...(responseBody !== undefined ? { responseBody: "(left out: too large)" } : {}) };
      json = JSON.stringify(full);
      if (json.length > MAX_EVENT_BYTES) {
        const { server, instance, seq, at, ms, method, path, status } = full;
        full = { server, instance, seq, at, ms, method, path, query: {}, requestHeaders: {}, status, responseHeaders: {} };
        json = JSON.stringify(full);
      }
    }
    const kept = { event: full, message: `id: ${full.instance}:${full.seq}\ndata: ${json}\n\n` };
    this.#ring.push(kept);
    if (this.#ring.length > RING_SIZE) this.#ring.shift();
    for (const reader of this.#readers.keys()) this.#pump(reader);
  }

  /** Send `reader` what it has not had yet, as far as its socket takes it now. */
  #pump(reader: ServerResponse): void {
    const cursor = this.#readers.get(reader);
    if (!cursor) return;
    const first = this.#ring[0]?.event.seq ?? this.#seq + 1;
    if (cursor.next < first) {
      this.#readers.delete(reader);
      reader.destroy(); // it fell behind the ring: it resumes from the ring when it reconnects
      return;
    }
    while (cursor.next <= this.#seq && reader.writableLength < MAX_BACKLOG_BYTES) reader.write(this.#ring[cursor.next++ - first]!.message);
  }

  /** Mounted first in `createApp`: publishes an event for every exchange once its response is complete. */
  record(context: ExchangeContext = {}): RequestHandler {
    return (req, res, next) => {
      if (req.path === EVENTS_PATH) return next();
      const at = performance.timeOrigin + performance.now();
      const started = performance.now();
      const chunks: Buffer[] = [];
      let captured = 0;
      let headers: Record<string, unknown> = {};
      const capture = (chunk: unknown, encoding: unknown) => {
        if (captured >= CAPTURE_BYTES || chunk === undefined || chunk === null || typeof chunk === "function") return;
        try {
          const bytes = typeof chunk === "string" ? Buffer.from(chunk, Buffer.isEncoding(String(encoding)) ? (encoding as BufferEncoding) : "utf8") : chunk instanceof Uint8Array ? Buffer.from(chunk) : undefined;
          if (!bytes) return;
          chunks.push(bytes.subarray(0, CAPTURE_BYTES - captured));
          captured += bytes.length;
        } catch {
          // Whatever the write was, it is the response's business, not the record's.
        }
      };
      const write = res.write.bind(res) as (...args: unknown[]) => boolean;
      const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
      const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => ServerResponse;
      res.write = ((...args: unknown[]) => (capture(args[0], args[1]), write(...args))) as typeof res.write;
      res.end = ((...args: unknown[]) => (capture(args[0], args[1]), end(...args))) as typeof res.end;
      res.writeHead = ((...args: unknown[]) => {
        headers = writeHeadHeaders(args);
        const result = writeHead(...args);
        // A GET that opens an event stream (the MCP SSE stream) is shown when it opens, not when it ends.
        if (req.method === "GET" && String(headers["content-type"] ?? res.getHeader("content-type") ?? "").includes("text/event-stream")) done(true);
        return result;
      }) as typeof res.writeHead;

      let published = false;
      const done = (streaming: boolean) => {
        if (published) return;
        published = true;
        try {
          this.publish(this.#describe(req, res, { at, ms: performance.now() - started, headers, body: Buffer.concat(chunks).toString("utf8"), streaming, context }));
        } catch {
          // The view must never break a request: an event that cannot be described is left out.
        }
      };
      res.once("finish", () => done(false));
      res.once("close", () => done(false));
      next();
    };
  }

  #describe(
    req: IncomingMessage & { body?: unknown },
    res: ServerResponse,
    seen: { at: number; ms: number; headers: Record<string, unknown>; body: string; streaming: boolean; context: ExchangeContext },
  ): Omit<ExchangeEvent, "server" | "instance" | "seq"> {
    const [rawPath = "", rawQuery = ""] = (req.url ?? "").split("?", 2);
    const responseHeaders = { ...Object.fromEntries(Object.entries(res.getHeaders()).map(([k, v]) => [k.toLowerCase(), v])), ...seen.headers };
    const requestType = String(req.headers["content-type"] ?? "");
    const responseType = String(responseHeaders["content-type"] ?? "");
    const { body: responseBody, json } = seen.streaming ? {} : responseBodyOf(seen.body, responseType);
    const answer = (json ?? {}) as Record<string, unknown>;
    const location = String(responseHeaders.location ?? "");
    const code = URL.canParse(location) ? new URL(location).searchParams.get("code") : null;
    const grant = code ? seen.context.codeGrant?.(code) : undefined;
    const principal = seen.context.principal?.(req);
    const query = new URLSearchParams(rawQuery);
    const form = (req.body ?? {}) as Record<string, unknown>;
    const clientId = [
      principal?.clientId,
      grant?.clientId,
      query.get("client_id"),
      typeof form.client_id === "string" ? form.client_id : undefined,
      basicClientId(req.headers.authorization),
      res.statusCode < 300 && typeof answer.client_id === "string" ? answer.client_id : undefined,
    ].find((id): id is string => typeof id === "string" && id !== "");
    return {
      at: seen.at,
      ms: Math.round(seen.ms * 10) / 10,
      method: cut(req.method ?? "", 10),
      path: cut(rawPath),
      query: cutAll(redactParams(query)),
      requestHeaders: pickHeaders(req.headers, REQUEST_HEADERS),
      ...(req.body !== undefined ? { body: bodyOf(req.body, requestType) } : {}),
      status: res.statusCode,
      responseHeaders: pickHeaders(responseHeaders, RESPONSE_HEADERS),
      ...(responseBody !== undefined ? { responseBody } : {}),
      ...(seen.streaming ? { streaming: true as const } : {}),
      ...(clientId ? { clientId: cut(clientId, 100) } : {}),
      ...(principal ? { principal: { clientId: cut(principal.clientId, 100), scope: principal.scope.slice(0, 20).map((s) => cut(s, 60)) } } : {}),
      ...(grant ? { granted: grant.scope } : {}),
      ...(typeof answer.access_token === "string" ? { issued: claimsOf(answer.access_token) } : {}),
    };
  }

  /** `GET /exchange-events`, mounted after R10: the ring since `Last-Event-ID` (or `?after=`), then every new event. */
  readonly stream: RequestHandler = (req, res) => {
    if (req.headers.origin !== undefined || Object.keys(req.headers).some((name) => name.startsWith("sec-fetch-"))) {
      res.status(403).json({ error: "forbidden", error_description: "the exchange events are read by the live view's process, never by a page" });
      return;
    }
    if (this.#readers.size >= MAX_SUBSCRIBERS) {
      res.status(503).set("Retry-After", "5").json({ error: "busy", error_description: `at most ${MAX_SUBSCRIBERS} readers of the exchange events at once` });
      return;
    }
    // `<instance>:<seq>`: a reader of an earlier instance (this server restarted) gets the whole ring.
    const resume = String(req.headers["last-event-id"] ?? new URLSearchParams((req.url ?? "").split("?", 2)[1] ?? "").get("after") ?? "");
    const [instance, seq] = resume.split(":");
    const after = instance === this.instance ? Number(seq) || 0 : 0;
    res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff" });
    res.write(`event: hello\ndata: ${JSON.stringify({ server: this.server, instance: this.instance })}\n\n`);
    const first = this.#ring[0]?.event.seq ?? this.#seq + 1;
    this.#readers.set(res, { next: Math.min(Math.max(after + 1, first), this.#seq + 1) });
    res.on("drain", () => this.#pump(res));
    res.on("close", () => this.#readers.delete(res));
    this.#pump(res);
  };
}

/** The event log a server entry hands its `createApp` when `EXCHANGE_EVENTS=1`, or undefined (nothing mounted). */
export function exchangeEventLog(config: { exchangeEvents: boolean }, server: "as" | "rs"): ExchangeEventLog | undefined {
  return config.exchangeEvents ? new ExchangeEventLog(server) : undefined;
}
