/**
 * Loopback, defined once for every process: the address the servers bind (A1, R1), and the names
 * that mean "this machine" in a URL's host or a `Host` header — where the AS accepts redirect URIs
 * (A3, RFC 8252 §7.3), which requests the AS serves (DNS-rebinding defence, RFC 9110 §7.2), and which
 * servers the client's story talks to.
 */

/** The one address both servers bind: the IPv4 loopback, never reachable from another machine. */
export const LOOPBACK_HOST = "127.0.0.1";

/** The loopback IP literals as a URL spells its host (IPv6 in brackets): RFC 8252 §7.3 lets their redirect port vary. */
export const LOOPBACK_IP_HOSTS = [LOOPBACK_HOST, "[::1]"] as const;

/** Every loopback name: the IP literals and `localhost` (RFC 8252 §8.3 discourages it, but it is loopback). */
export const LOOPBACK_HOSTS = [...LOOPBACK_IP_HOSTS, "localhost"] as const;

/** A regular-expression alternation of `hosts`, escaped: `(?:127\.0\.0\.1|\[::1\])`. */
export function hostAlternation(hosts: readonly string[]): string {
  return `(?:${hosts.map((h) => h.replace(/[.[\]]/g, "\\$&")).join("|")})`;
}

/** Does this URL's host name a loopback address? (`URL.hostname` keeps the brackets of IPv6.) */
export function isLoopbackUrl(url: URL): boolean {
  return (LOOPBACK_HOSTS as readonly string[]).includes(url.hostname);
}

const LOOPBACK_AUTHORITY = new RegExp(`^${hostAlternation(LOOPBACK_HOSTS)}(?::\\d+)?$`);

/** Does a `Host` header value (RFC 9110 §7.2: host and optional port) name a loopback address? */
export function isLoopbackAuthority(authority: string): boolean {
  return LOOPBACK_AUTHORITY.test(authority);
}
