/**
 * R10 — the `Host` and `Origin` rules both servers apply to every request, before any route runs.
 *
 * - `Host` must name a loopback address exactly: `127.0.0.1`, `localhost` or `[::1]`, optionally with a
 *   port — compared as text, so nothing a URL parser would repair (`evil.example@127.0.0.1`) passes.
 *   A page whose own name resolves to 127.0.0.1 (DNS rebinding) still sends its own name, and is refused.
 *   More than one `Host` header is a bad request (RFC 9112 §3.2); Node keeps only the first.
 * - `Origin`, when present, must be a loopback origin: `http` or `https`, host `127.0.0.1`, `localhost`
 *   or `[::1]`, any port (RFC 6454 serialization: lower case, no path). MCP Streamable HTTP ("Security
 *   Warning"): servers MUST validate `Origin` and answer an invalid one with 403. A page served from
 *   loopback (e.g. the MCP Inspector at http://localhost:6274) is local code, as trusted as any local
 *   process; a page from anywhere else — `null` (sandboxed, `file:`) included — is refused. No
 *   `Origin` at all is fine: non-browser clients do not send one.
 *
 * Each server renders the verdict in its own error shape (OAuth JSON at the AS, JSON-RPC at the RS).
 */
import type { IncomingMessage } from "node:http";
import { hostAlternation, isLoopbackAuthority, LOOPBACK_HOSTS } from "./loopback.ts";

/** RFC 6454 §6.2: an origin serializes as `scheme://host[:port]` — no userinfo, no path. */
const LOOPBACK_ORIGIN = new RegExp(`^https?://${hostAlternation(LOOPBACK_HOSTS)}(?::\\d+)?$`);

/** How many times a header (lower-case name) occurs in the raw request. */
function occurrences(req: IncomingMessage, name: string): number {
  let count = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i]!.toLowerCase() === name) count++;
  return count;
}

/** How the AS (and the live view) answer each refusal: RFC 9112 §3.2 → 400, RFC 9110 §15.5.20 misdirected → 421, a foreign Origin → 403. */
export const REFUSAL_STATUS = { "duplicate-host": 400, host: 421, origin: 403 } as const;

export type HeaderVerdict = { ok: true } | { ok: false; problem: "duplicate-host" | "host" | "origin"; description: string };

/** The R10 verdict on a request's `Host` and `Origin` headers. */
export function checkLoopbackHeaders(req: IncomingMessage): HeaderVerdict {
  const hosts = occurrences(req, "host");
  if (hosts > 1) return { ok: false, problem: "duplicate-host", description: "more than one Host header (RFC 9112 section 3.2)" };
  if (!isLoopbackAuthority(req.headers.host ?? "")) {
    return { ok: false, problem: "host", description: "Host must name this loopback server (127.0.0.1, localhost or [::1])" };
  }
  const origins = occurrences(req, "origin");
  if (origins > 1 || (origins === 1 && !LOOPBACK_ORIGIN.test(req.headers.origin ?? ""))) {
    return { ok: false, problem: "origin", description: "Origin must be a loopback origin (http://127.0.0.1, localhost or [::1])" };
  }
  return { ok: true };
}
