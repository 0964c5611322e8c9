/**
 * Logging for the three processes. One line per event, to stderr, never a whole secret:
 * anything that is a token, code or verifier goes through `redact` first. A message may hold text a
 * request chose (a path, a client's name, a token's claim): every control character in it — a newline
 * that would forge a second line, an ESC sequence that would steer the terminal — is shown escaped (B4).
 */
import type { RequestHandler } from "express";
import { terminalText } from "./terminal-text.ts";

/**
 * Keep a short prefix so a reader can correlate lines, never enough to replay the value. Every JWT
 * starts `eyJhbG…` (its header), so for a JWT the prefix is taken from the signature instead: two
 * tokens stay distinguishable in a log or transcript and neither can be replayed.
 */
export function redact(secret: string | undefined | null, keep = 6): string {
  if (!secret) return "<none>";
  const parts = secret.split(".");
  if (parts.length === 3 && parts[0]!.startsWith("eyJ")) return `eyJ….${redact(parts[2], keep)}`;
  return secret.length <= keep ? "…" : `${secret.slice(0, keep)}…`;
}

/** Values never kept whole — in query strings, forms and JSON bodies alike. */
export const SECRET_FIELDS: ReadonlySet<string> = new Set([
  "access_token", "refresh_token", "id_token", "code", "code_verifier", "code_challenge",
  "state", "client_secret", "registration_access_token", "assertion",
  "token", // RFC 7009 §2.1: the token being revoked
  "request_id", // the consent form's binding to its pending request (as/extras/consent.ts)
]);

/** A secret field's value as shown: a long-lived credential keeps nothing (RFC 6749 §2.3.1 client password). */
export function hideSecret(name: string, value: string): string {
  return name === "client_secret" ? "…" : redact(value);
}

/** Query or form parameters, decoded, secrets cut to a prefix; a repeated name keeps every value, comma-separated. */
export function redactParams(params: URLSearchParams): Record<string, string> {
  const out = new Map<string, string>();
  for (const [name, value] of params) {
    const shown = SECRET_FIELDS.has(name) ? hideSecret(name, value) : value;
    out.set(name, out.has(name) ? `${out.get(name)}, ${shown}` : shown);
  }
  return Object.fromEntries(out);
}

/** For reading, not for sending: the query is shown decoded, secrets cut to a prefix. */
export function redactUrl(url: URL): string {
  const base = `${url.origin}${url.pathname}`;
  if (!url.search) return base;
  return `${base}?${Object.entries(redactParams(url.searchParams)).map(([k, v]) => `${k}=${v}`).join("&")}`;
}

/** An `Authorization` header as shown: `Bearer eyJ….<prefix>…`; Basic credentials (RFC 7617: id and secret, merely base64) keep nothing. */
export function redactAuthorization(value: string): string {
  const [scheme = "", credentials] = value.split(" ", 2);
  if (credentials === undefined) return redact(scheme); // no scheme: all of it is the credential
  return /^basic$/i.test(scheme) ? `${scheme} …` : `${scheme.slice(0, 20)} ${redact(credentials)}`;
}

/** A JWS in compact serialization (RFC 7515 §7.1) whose header is JSON: three base64url parts, `eyJ…`. */
const JWT = /^eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** Deep copy with secret fields redacted and strings capped at `maxString` (a record, not a dump). */
export function scrub(value: unknown, { maxString = 400, depth = 0 }: { maxString?: number; depth?: number } = {}): unknown {
  if (typeof value === "string") {
    if (JWT.test(value)) return redact(value); // a token under a name not listed above
    return value.length > maxString ? `${value.slice(0, maxString)}…` : value;
  }
  if (value === null || typeof value !== "object") return value;
  if (depth > 6) return "(nested too deep to show)"; // never passed on unread: it may hold a secret
  const inner = { maxString, depth: depth + 1 };
  if (Array.isArray(value)) return value.slice(0, 20).map((v) => scrub(v, inner));
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, SECRET_FIELDS.has(k) && typeof v === "string" ? hideSecret(k, v) : scrub(v, inner)]),
  );
}

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
}

/**
 * The optional stamp at the start of a line (`LOG_TIMESTAMPS=1`): `@<ms since the epoch, 3 decimals> `.
 * `performance.timeOrigin + performance.now()` is a high-resolution wall clock, so stamps written by
 * different processes on one machine compare; `pnpm demo --verbose` orders the lines by them.
 */
const STAMP = /^@(\d+\.\d{3}) /;

export function stamp(ms = performance.timeOrigin + performance.now()): string {
  return `@${ms.toFixed(3)} `;
}

/** The stamp's time and the line without it; `time` is undefined for an unstamped line. */
export function parseStamp(line: string): { time: number | undefined; text: string } {
  const match = STAMP.exec(line);
  return match ? { time: Number(match[1]), text: line.slice(match[0].length) } : { time: undefined, text: line };
}

export function createLogger(
  name: string,
  write: (line: string) => void = (l) => process.stderr.write(l),
  { timestamps = false }: { timestamps?: boolean } = {},
): Logger {
  const emit = (level: string, message: string) => write(`${timestamps ? stamp() : ""}${name}${level} ${terminalText(message)}\n`);
  return {
    info: (message) => emit("", message),
    warn: (message) => emit(" warn:", message),
  };
}

/** A logger that drops everything (the default inside tests that build apps in-process). */
export const silentLogger: Logger = { info() {}, warn() {} };

/**
 * Structured events of the exchanges a server handles, for the live view (shared/extras/exchange-events.ts,
 * `EXCHANGE_EVENTS=1`): a server entry hands one to its `createApp`, which mounts `record` before every
 * route and serves `stream`. Without one, nothing is mounted.
 */
export interface ExchangeLog<Context> {
  /** Where `stream` is served (`GET`). */
  readonly path: string;
  record(context: Context): RequestHandler;
  stream: RequestHandler;
}
