/**
 * Redirect-URI policy — pure functions, no I/O.
 *
 * Registration (A3): only loopback redirect URIs (RFC 8252 §7.3), judged on the RAW string. A repairing
 * parser (WHATWG `new URL`) turns `http:/127.0.0.1/cb` or `http://127.0.0.1\@attacker.example/cb` into
 * something harmless, but another parser (or a browser, or a log reader) may not agree — so a URI is
 * accepted only when the text itself says exactly what it is, and it is then stored exactly as submitted.
 *
 * Authorization (A4): exact string comparison, except that for the loopback IP literals the port is
 * ignored (RFC 8252 §7.3; OAuth 2.1 §8.4.2: the AS "MUST allow any port" for loopback IP redirect URIs).
 */
import { hostAlternation, LOOPBACK_HOSTS, LOOPBACK_IP_HOSTS } from "../shared/loopback.ts";

export const MAX_REDIRECT_URI_LENGTH = 2000;

export type RedirectUriVerdict = { ok: true } | { ok: false; reason: string };

// `http://` or `https://`, in lowercase: RFC 3986 §3.1 makes schemes case-insensitive, but the URI is
// stored and compared as a string (A4), so only the canonical lowercase spelling is accepted.
const SCHEME = /^(https?):\/\//;
// The authority: a loopback host literally, then an optional port 1–65535 without leading zeros.
const AUTHORITY = new RegExp(`^(${hostAlternation(LOOPBACK_HOSTS)})(?::([1-9][0-9]{0,4}))?$`);
// RFC 3986 §3.3 / §3.4: path and query characters (pchar, "/" and "?"), percent-encoding checked below.
const PATH_AND_QUERY = /^(?:\/[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*)?(?:\?[A-Za-z0-9\-._~!$&'()*+,;=:@%/?]*)?$/;

/** Check one `redirect_uris` entry against the loopback-only policy (A3). */
export function validateRedirectUri(raw: string): RedirectUriVerdict {
  const reject = (reason: string): RedirectUriVerdict => ({ ok: false, reason });

  if (raw.length === 0) return reject("is empty");
  if (raw.length > MAX_REDIRECT_URI_LENGTH) return reject(`is longer than ${MAX_REDIRECT_URI_LENGTH} characters`);
  // Visible ASCII only: no whitespace, control characters or raw non-ASCII text.
  if (!/^[\x21-\x7e]+$/.test(raw)) return reject("contains whitespace, control or non-ASCII characters");
  if (raw.includes("\\")) return reject("contains a backslash");
  // RFC 6749 §3.1.2: "The endpoint URI MUST NOT include a fragment component" — not even an empty one.
  if (raw.includes("#")) return reject("contains a fragment ('#')");

  const scheme = SCHEME.exec(raw);
  if (!scheme) return reject("must start with 'http://' or 'https://' (lowercase)");

  const rest = raw.slice(scheme[0].length);
  const authorityEnd = rest.search(/[/?]/);
  const authority = authorityEnd === -1 ? rest : rest.slice(0, authorityEnd);
  const pathAndQuery = authorityEnd === -1 ? "" : rest.slice(authorityEnd);

  // RFC 3986 §3.2.1: userinfo ("user@host") can make a URI look like it points somewhere it does not.
  if (authority.includes("@")) return reject("contains userinfo ('@' in the authority)");
  const host = AUTHORITY.exec(authority);
  if (!host) return reject("host must be exactly 127.0.0.1, [::1] or localhost, optionally followed by :port");
  if (host[2] !== undefined && Number(host[2]) > 65535) return reject("port is out of range");

  if (!PATH_AND_QUERY.test(pathAndQuery)) return reject("path or query contains characters not allowed in a URI");
  if (/%(?![0-9A-Fa-f]{2})/.test(pathAndQuery)) return reject("contains a malformed percent-encoding");
  const path = pathAndQuery.split("?")[0]!;
  // RFC 3986 §5.2.4: parsers remove dot segments (WHATWG also decodes "%2e"), so "/a/../cb" is not
  // the path it claims to be.
  const isDotSegment = (segment: string) => [".", ".."].includes(segment.replace(/%2e/gi, "."));
  if (path.split("/").some(isDotSegment)) return reject("contains '.' or '..' path segments");

  // Belt and braces: a standard parser must see the same scheme and host, and no userinfo.
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    return reject("is not an absolute URL");
  }
  if (parsed.protocol !== `${scheme[1]}:` || parsed.hostname !== host[1]) return reject("does not parse to the host it names");
  if (parsed.username !== "" || parsed.password !== "") return reject("contains userinfo");

  return { ok: true };
}

// A redirect URI whose host is a loopback IP literal, split around its optional port.
const LOOPBACK_IP_URI = new RegExp(`^(https?://${hostAlternation(LOOPBACK_IP_HOSTS)})(?::([1-9][0-9]{0,4}))?([/?].*)?$`, "s");

/** `uri` without its port when its host is a loopback IP literal; `undefined` for any other URI. */
function withoutLoopbackPort(uri: string): string | undefined {
  const match = LOOPBACK_IP_URI.exec(uri);
  if (!match || (match[2] !== undefined && Number(match[2]) > 65535)) return undefined;
  return match[1]! + (match[3] ?? "");
}

/**
 * Does the `redirect_uri` of an authorization request match a registered one (A4)? Exact string
 * comparison; for `127.0.0.1` / `[::1]` the port is ignored (RFC 8252 §7.3) — scheme, host, path and
 * query still compare exactly. `localhost` gets no such exception (RFC 8252 §8.3 discourages it).
 */
export function redirectUriMatches(registered: string, requested: string): boolean {
  if (registered === requested) return true;
  const a = withoutLoopbackPort(registered);
  return a !== undefined && a === withoutLoopbackPort(requested);
}
