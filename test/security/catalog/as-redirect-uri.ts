/**
 * Redirect-URI abuse (A3 at registration, A4 at /authorize).
 *
 * One list of hostile strings is thrown at both doors: registration must refuse each with
 * `400 invalid_redirect_uri` and register nothing; /authorize must answer each with `400` JSON and no
 * `Location` (the AS never redirects to a target it cannot trust, RFC 6749 §4.1.2.1).
 *
 * Decisions recorded here (and justified next to each entry):
 * - Only the literal hosts `127.0.0.1`, `[::1]` and `localhost` (lowercase) are loopback. Spellings a
 *   WHATWG parser would normalise to them (`127.1`, `2130706433`, `0x7f000001`, `LOCALHOST`, fullwidth
 *   digits, `%31%32%37.0.0.1`, `[0:0:0:0:0:0:0:1]`) are refused: A4 compares strings, so one host may
 *   have only one spelling, and the text must say exactly what it is (A3).
 * - `[::ffff:127.0.0.1]` (IPv4-mapped) is refused: another address family, not in A3's list.
 * - `[::1%25eth0]` (a zone id) is refused: WHATWG URLs cannot carry zone ids at all, and loopback needs none.
 * - A port is free for the IP literals only (RFC 8252 §7.3); `localhost` is a name and keeps its port.
 */
import assert from "node:assert/strict";
import { stateOf } from "../../../as/app.ts";
import { MAX_REDIRECT_URI_LENGTH } from "../../../as/redirect-uri.ts";
import { defaultClientMetadata } from "../../helpers/oauth.ts";
import { accepted, rejected, show, type AuthorizeAttack, type Ctx, type RegisterAttack } from "./as-types.ts";

export interface HostileRedirectUri {
  uri: string;
  /** What the string pretends, and why it is refused. */
  why: string;
}

const longPath = (total: number) => `http://127.0.0.1/${"a".repeat(total - "http://127.0.0.1/".length)}`;

export const HOSTILE_REDIRECT_URIS: readonly HostileRedirectUri[] = [
  // ---- hosts that are simply not loopback ----
  { uri: "https://attacker.example/cb", why: "a foreign host" },
  { uri: "http://attacker.example:8765/callback", why: "a foreign host on the client's own port and path" },
  { uri: "http://10.0.0.1/cb", why: "a private, non-loopback address" },
  { uri: "http://0.0.0.0/cb", why: "the unspecified address 0.0.0.0" },
  { uri: "http://127.0.0.2/cb", why: "another 127/8 address (only the literal 127.0.0.1 is accepted)" },
  { uri: "http://[::]/cb", why: "the IPv6 unspecified address" },
  // ---- spellings a WHATWG parser turns into 127.0.0.1 / localhost, but the text does not say ----
  { uri: "http://127.1/cb", why: "shorthand IPv4 (WHATWG reads 127.0.0.1)" },
  { uri: "http://2130706433/cb", why: "decimal IPv4 (WHATWG reads 127.0.0.1)" },
  { uri: "http://0x7f000001/cb", why: "hexadecimal IPv4 (WHATWG reads 127.0.0.1)" },
  { uri: "http://0177.0.0.1/cb", why: "octal IPv4 (WHATWG reads 127.0.0.1)" },
  { uri: "http://127.0.0.1./cb", why: "a trailing dot after the IP literal" },
  { uri: "http://localhost./cb", why: "a trailing dot after localhost (a different DNS name)" },
  { uri: "http://LOCALHOST/cb", why: "an upper-case host (stored and compared as a string)" },
  { uri: "http://LocalHost:8765/callback", why: "a mixed-case host" },
  // ---- hosts that merely start or end with a loopback name ----
  { uri: "http://127.0.0.1.evil.com/cb", why: "a host that starts with 127.0.0.1" },
  { uri: "http://127.0.0.1.nip.io/cb", why: "a wildcard-DNS name that resolves to 127.0.0.1 (still not the literal)" },
  { uri: "http://evil127.0.0.1/cb", why: "a host that ends with 127.0.0.1" },
  { uri: "http://evil-127.0.0.1/cb", why: "a host that ends with -127.0.0.1" },
  { uri: "http://localhost.attacker/cb", why: "a host that starts with localhost." },
  { uri: "http://attacker-localhost/cb", why: "a host that ends with -localhost" },
  { uri: "http://localhost:8765.attacker.example/callback", why: "a 'port' that continues into a foreign host" },
  { uri: "http://[::1].evil.com/cb", why: "a host that starts with [::1]" },
  // ---- userinfo: text that reads like loopback, a host that is not (or vice versa) ----
  { uri: "http://127.0.0.1@evil.example/cb", why: "userinfo 127.0.0.1 in front of a foreign host" },
  { uri: "http://127.0.0.1:8765@evil.example/callback", why: "userinfo 127.0.0.1:8765 in front of a foreign host" },
  { uri: "http://localhost@evil.example/cb", why: "userinfo localhost in front of a foreign host" },
  { uri: "http://evil@127.0.0.1/cb", why: "userinfo in front of the loopback host" },
  { uri: "http://user:pass@127.0.0.1/cb", why: "user:password in front of the loopback host" },
  { uri: "http://@127.0.0.1/cb", why: "an empty userinfo ('@' in the authority)" },
  { uri: "http://:@127.0.0.1/cb", why: "an empty user:password" },
  { uri: "http://127.0.0.1%2F@evil.example/cb", why: "a percent-encoded '/' inside userinfo" },
  { uri: "http://localhost%40evil.example/cb", why: "a percent-encoded '@' in the host" },
  // ---- backslashes: WHATWG reads '\' as '/', other parsers do not ----
  { uri: "http://127.0.0.1\\@attacker.example/cb", why: "'\\@' (WHATWG: path; others: userinfo of attacker.example)" },
  { uri: "http://evil.example\\@127.0.0.1/cb", why: "'\\@' the other way round (WHATWG host: evil.example)" },
  { uri: "http:\\\\127.0.0.1\\cb", why: "backslashes for slashes" },
  { uri: "http://127.0.0.1\\cb", why: "a backslash before the path" },
  // ---- fragments (RFC 6749 §3.1.2), bare '#' included ----
  { uri: "http://127.0.0.1/cb#", why: "a bare '#' (empty fragment)" },
  { uri: "http://127.0.0.1/cb#frag", why: "a fragment" },
  { uri: "http://127.0.0.1#@evil.example/cb", why: "'#' hiding an '@' (fragment, not userinfo)" },
  { uri: "http://127.0.0.1/cb?x=1#", why: "a bare '#' after a query" },
  // ---- schemes ----
  { uri: "javascript:alert(document.domain)", why: "a javascript: URI" },
  { uri: "javascript://127.0.0.1/%0aalert(1)", why: "a javascript: URI dressed as loopback" },
  { uri: "data:text/html,<script>alert(1)</script>", why: "a data: URI" },
  { uri: "ftp://127.0.0.1/cb", why: "an ftp: URI" },
  { uri: "file:///etc/passwd", why: "a file: URI" },
  { uri: "file://127.0.0.1/cb", why: "a file: URI with a loopback host" },
  { uri: "ws://127.0.0.1/cb", why: "a ws: URI" },
  { uri: "com.example.app:/oauth/callback", why: "a private-use (custom) scheme — http(s) only here (A3)" },
  { uri: "myapp://127.0.0.1/cb", why: "a custom scheme with a loopback host" },
  { uri: "HTTP://127.0.0.1/cb", why: "an upper-case scheme" },
  { uri: "Http://127.0.0.1/cb", why: "a mixed-case scheme" },
  { uri: "hTtPs://localhost/cb", why: "a mixed-case https scheme" },
  // ---- not absolute, or a scheme separator a parser repairs ----
  { uri: "//127.0.0.1/cb", why: "a scheme-relative reference" },
  { uri: "/callback", why: "a relative reference" },
  { uri: "127.0.0.1/cb", why: "no scheme at all" },
  { uri: "http:/127.0.0.1/cb", why: "'http:/' (WHATWG repairs it to http://127.0.0.1/cb)" },
  { uri: "http:127.0.0.1/cb", why: "'http:' without slashes" },
  { uri: "http:///127.0.0.1/cb", why: "three slashes (empty authority)" },
  { uri: "http:////127.0.0.1/cb", why: "four slashes" },
  // ---- percent-encoding and Unicode in the host ----
  { uri: "http://%31%32%37.0.0.1/cb", why: "a percent-encoded host (WHATWG decodes it to 127.0.0.1)" },
  { uri: "http://127.0.0.1%2eevil.com/cb", why: "a percent-encoded dot continuing into a foreign host" },
  { uri: "http://%6c%6f%63%61%6c%68%6f%73%74/cb", why: "localhost, percent-encoded" },
  { uri: "http://127.0.0.1%00.evil.com/cb", why: "a percent-encoded NUL in the host" },
  { uri: "http://１２７.０.０.１/cb", why: "fullwidth digits (IDNA maps them to 127.0.0.1)" },
  { uri: "http://127。0。0。1/cb", why: "ideographic full stops (IDNA maps them to dots)" },
  { uri: "http://ⓛocalhost/cb", why: "a circled letter (IDNA maps it to localhost)" },
  // ---- IPv6 forms: only the canonical [::1] is loopback here ----
  { uri: "http://[0:0:0:0:0:0:0:1]/cb", why: "::1 spelled out in full (one host, one spelling)" },
  { uri: "http://[0::1]/cb", why: "::1 with a leading zero group" },
  { uri: "http://[::ffff:127.0.0.1]/cb", why: "an IPv4-mapped IPv6 address" },
  { uri: "http://[::1%25eth0]/cb", why: "a zone id (WHATWG cannot even parse it)" },
  { uri: "http://::1/cb", why: "::1 without brackets" },
  { uri: "http://[::1]evil.com/cb", why: "text glued after the bracket" },
  // ---- whitespace, control and invisible characters ----
  { uri: " http://127.0.0.1/cb", why: "a leading space" },
  { uri: "http://127.0.0.1/cb ", why: "a trailing space" },
  { uri: "http://127.0.0.1/c b", why: "a space in the path" },
  { uri: "http://127.0.0.1\t/cb", why: "a tab (WHATWG strips it silently)" },
  { uri: "http://127.0.0.1/cb\n", why: "a trailing newline" },
  { uri: "http://127.0.0.1/cb\r\nSet-Cookie: session=attacker", why: "CRLF header injection" },
  { uri: "http://127.0.0.1/cb\u0000", why: "a NUL character" },
  { uri: "\uFEFFhttp://127.0.0.1/cb", why: "a leading byte-order mark" },
  { uri: "http://127.0.0.1/cb\u200b", why: "a zero-width space" },
  { uri: "http://127.0.0.1/cb\u2028", why: "a Unicode line separator" },
  { uri: "http://127.0.0.1/cb\u00a0", why: "a no-break space" },
  // ---- ports ----
  { uri: "http://127.0.0.1:0/cb", why: "port 0" },
  { uri: "http://127.0.0.1:65536/cb", why: "port 65536 (out of range)" },
  { uri: "http://127.0.0.1:-1/cb", why: "a negative port" },
  { uri: "http://127.0.0.1:/cb", why: "an empty port" },
  { uri: "http://127.0.0.1:08765/callback", why: "a port with a leading zero" },
  { uri: "http://127.0.0.1:8080:80/cb", why: "two ports" },
  { uri: "http://127.0.0.1:0x50/cb", why: "a hexadecimal port" },
  // ---- paths that are not what they say ----
  { uri: "http://127.0.0.1/a/../cb", why: "a '..' segment (resolved away by parsers)" },
  { uri: "http://127.0.0.1/%2e%2e/cb", why: "a percent-encoded '..' segment" },
  { uri: "http://127.0.0.1/cb<script>", why: "characters a URI may not contain" },
  { uri: "http://127.0.0.1/cb%zz", why: "a malformed percent-encoding" },
  // ---- length (A3: over-long values) ----
  { uri: longPath(MAX_REDIRECT_URI_LENGTH + 1), why: `one character over ${MAX_REDIRECT_URI_LENGTH}` },
  { uri: longPath(12_000), why: "12,000 characters" },
];

/** Redirect URIs the policy accepts: controls that prove the hostile list is not refused wholesale. */
export const ACCEPTED_REDIRECT_URIS: readonly HostileRedirectUri[] = [
  { uri: "http://127.0.0.1:8765/callback", why: "the IPv4 loopback literal with a port" },
  { uri: "http://[::1]/cb", why: "the IPv6 loopback literal [::1]" },
  { uri: "http://localhost:3000/cb", why: "localhost with a port" },
  { uri: "https://127.0.0.1/cb", why: "https on loopback" },
  { uri: "http://127.0.0.1/cb@home", why: "an '@' in the path, not in the authority" },
  { uri: "http://127.0.0.1/cb?next=%2F&x=1", why: "a query of its own" },
  { uri: longPath(MAX_REDIRECT_URI_LENGTH), why: `exactly ${MAX_REDIRECT_URI_LENGTH} characters` },
];

const withRedirects = (...redirect_uris: unknown[]) => ({ json: { ...defaultClientMetadata(), redirect_uris } });

// ---- registration (A3) ----

const registrationAttacks: RegisterAttack[] = [
  ...HOSTILE_REDIRECT_URIS.map(({ uri, why }): RegisterAttack => ({
    kind: "register",
    category: "redirect-uri-registration",
    name: `DCR refuses ${why}: ${show(uri)}`,
    cite: "A3, RFC 8252 §7.3, RFC 6749 §3.1.2",
    body: withRedirects(uri),
    expect: rejected(400, "invalid_redirect_uri"),
  })),
  ...ACCEPTED_REDIRECT_URIS.map(({ uri, why }): RegisterAttack => ({
    kind: "register",
    category: "redirect-uri-registration",
    control: true,
    name: `control: DCR accepts ${why}, stored exactly as submitted: ${show(uri)}`,
    cite: "A3",
    body: withRedirects(uri),
    expect: accepted(201),
    afterwards: (_ctx, registered) => assert.deepEqual(registered.redirect_uris, [uri]),
  })),
  {
    kind: "register",
    category: "redirect-uri-registration",
    name: "DCR refuses a list where one entry of three is foreign",
    cite: "A3",
    body: withRedirects("http://127.0.0.1/a", "https://attacker.example/cb", "http://[::1]/b"),
    expect: rejected(400, "invalid_redirect_uri"),
  },
  {
    kind: "register",
    category: "redirect-uri-registration",
    name: "DCR refuses redirect_uris missing",
    cite: "A3, RFC 7591 §2",
    body: { json: { ...defaultClientMetadata(), redirect_uris: undefined } },
    expect: rejected(400, "invalid_redirect_uri"),
  },
  {
    kind: "register",
    category: "redirect-uri-registration",
    name: "DCR refuses an empty redirect_uris array",
    cite: "A3",
    body: withRedirects(),
    expect: rejected(400, "invalid_redirect_uri"),
  },
  {
    kind: "register",
    category: "redirect-uri-registration",
    name: "DCR refuses redirect_uris as a bare string",
    cite: "A3",
    body: { json: { ...defaultClientMetadata(), redirect_uris: "http://127.0.0.1/cb" } },
    expect: rejected(400, "invalid_client_metadata"),
  },
  {
    kind: "register",
    category: "redirect-uri-registration",
    name: "DCR refuses redirect_uris as an array-like object",
    cite: "A3",
    body: { json: { ...defaultClientMetadata(), redirect_uris: { 0: "http://127.0.0.1/cb", length: 1 } } },
    expect: rejected(400, "invalid_client_metadata"),
  },
  {
    kind: "register",
    category: "redirect-uri-registration",
    name: "DCR refuses redirect_uris: null",
    cite: "A3",
    body: { json: { ...defaultClientMetadata(), redirect_uris: null } },
    expect: rejected(400, "invalid_client_metadata"),
  },
  ...(
    [
      ["a number", 42],
      ["null", null],
      ["a boolean", true],
      ["a nested array", ["http://127.0.0.1/cb"]],
      ["an object with href", { href: "http://127.0.0.1/cb" }],
    ] as const
  ).map(
    ([what, value]): RegisterAttack => ({
      kind: "register",
      category: "redirect-uri-registration",
      name: `DCR refuses a redirect_uris entry that is ${what}`,
      cite: "A3",
      body: withRedirects(value),
      expect: rejected(400, "invalid_redirect_uri"),
    }),
  ),
  {
    kind: "register",
    category: "redirect-uri-registration",
    name: "DCR refuses eleven redirect URIs (at most ten)",
    cite: "A3, A9",
    body: withRedirects(...Array.from({ length: 11 }, (_, i) => `http://127.0.0.1/cb${i}`)),
    expect: rejected(400, "invalid_client_metadata"),
  },
  {
    kind: "register",
    category: "redirect-uri-registration",
    name: "DCR refuses a web client with http: loopback redirect URIs",
    cite: "A3, OIDC Registration §2",
    body: { json: { ...defaultClientMetadata(), application_type: "web" } },
    expect: rejected(400, "invalid_client_metadata"),
  },
];

// ---- authorization (A4) ----

/** A4: a target the AS cannot trust gets 400 JSON — never a redirect. */
const untrusted = rejected(400, "invalid_request");

const authorizeWith = (name: string, redirect_uri: string | undefined, client: AuthorizeAttack["client"] = "ip", cite = "A4"): AuthorizeAttack => ({
  kind: "authorize",
  category: "redirect-uri-authorization",
  name,
  cite,
  client,
  params: { redirect_uri },
  expect: untrusted,
});

const allowedPort = (name: string, redirect_uri: string, client: AuthorizeAttack["client"]): AuthorizeAttack => ({
  kind: "authorize",
  category: "redirect-uri-authorization",
  control: true,
  name,
  cite: "A4, RFC 8252 §7.3",
  client,
  params: { redirect_uri },
  expect: accepted(302),
  afterwards: (ctx: Ctx, location: URL) => {
    // the code is bound to the exact URI the request used: /token will compare against it (A5)
    assert.ok(location.href.startsWith(`${redirect_uri}${redirect_uri.includes("?") ? "&" : "?"}code=`), location.href);
    const code = location.searchParams.get("code")!;
    ctx.secrets.add(code);
    assert.equal(stateOf(ctx.as.app).codes.get(code)?.redirect_uri, redirect_uri);
  },
});

const authorizationAttacks: AuthorizeAttack[] = [
  ...HOSTILE_REDIRECT_URIS.map(({ uri, why }) => authorizeWith(`/authorize refuses, without redirecting, ${why}: ${show(uri)}`, uri, "ip", "A4, RFC 6749 §4.1.2.1")),
  // the registered URI is http://127.0.0.1:8765/callback — every change but the port is refused
  authorizeWith("/authorize refuses the registered path plus a trailing slash", "http://127.0.0.1:8765/callback/"),
  authorizeWith("/authorize refuses the registered path in another case", "http://127.0.0.1:8765/Callback"),
  authorizeWith("/authorize refuses the registered path with a suffix (/callbackevil)", "http://127.0.0.1:8765/callbackevil"),
  authorizeWith("/authorize refuses an extra path segment", "http://127.0.0.1:8765/callback/extra"),
  authorizeWith("/authorize refuses a path that resolves back to the registered one", "http://127.0.0.1:8765/x/../callback"),
  authorizeWith("/authorize refuses a '.' segment after the path", "http://127.0.0.1:8765/callback/."),
  authorizeWith("/authorize refuses a percent-encoded letter in the path (%63allback)", "http://127.0.0.1:8765/%63allback"),
  authorizeWith("/authorize refuses a matrix parameter on the path", "http://127.0.0.1:8765/callback;x=1"),
  authorizeWith("/authorize refuses the origin alone (path dropped)", "http://127.0.0.1:8765"),
  authorizeWith("/authorize refuses an added query", "http://127.0.0.1:8765/callback?x=1"),
  authorizeWith("/authorize refuses an added empty query ('?')", "http://127.0.0.1:8765/callback?"),
  authorizeWith("/authorize refuses an added bare fragment", "http://127.0.0.1:8765/callback#"),
  authorizeWith("/authorize refuses an added fragment", "http://127.0.0.1:8765/callback#x"),
  authorizeWith("/authorize refuses the https variant of a registered http URI", "https://127.0.0.1:8765/callback"),
  authorizeWith("/authorize refuses [::1] for a client registered with 127.0.0.1", "http://[::1]:8765/callback"),
  authorizeWith("/authorize refuses localhost for a client registered with 127.0.0.1", "http://localhost:8765/callback"),
  authorizeWith("/authorize refuses 127.0.0.1 for a client registered with localhost", "http://127.0.0.1:8765/callback", "localhost"),
  authorizeWith("/authorize refuses a changed port for localhost (a name, not an IP literal)", "http://localhost:9999/callback", "localhost"),
  authorizeWith("/authorize refuses a dropped port for localhost", "http://localhost/callback", "localhost"),
  authorizeWith("/authorize refuses port 0 on the IP literal", "http://127.0.0.1:0/callback"),
  authorizeWith("/authorize refuses port 65536 on the IP literal", "http://127.0.0.1:65536/callback"),
  authorizeWith("/authorize refuses an empty port on the IP literal", "http://127.0.0.1:/callback"),
  authorizeWith("/authorize refuses a zero-padded port on the IP literal", "http://127.0.0.1:008765/callback"),
  authorizeWith("/authorize refuses a signed port on the IP literal", "http://127.0.0.1:+8765/callback"),
  authorizeWith("/authorize refuses a port followed by userinfo-style '@host'", "http://127.0.0.1:8765@attacker.example/callback"),
  authorizeWith("/authorize refuses another value of the registered query", "http://127.0.0.1:8765/callback?tenant=b", "query"),
  authorizeWith("/authorize refuses a parameter added to the registered query", "http://127.0.0.1:8765/callback?tenant=a&x=1", "query"),
  authorizeWith("/authorize refuses the registered query in another case", "http://127.0.0.1:8765/callback?TENANT=a", "query"),
  authorizeWith("/authorize refuses the registered query percent-encoded differently", "http://127.0.0.1:8765/callback?tenant=%61", "query"),
  authorizeWith("/authorize refuses the registered URI with its query dropped", "http://127.0.0.1:8765/callback", "query"),
  authorizeWith("/authorize refuses a redirect URI registered by another client", "http://127.0.0.1:8765/other"),
  authorizeWith("/authorize refuses a missing redirect_uri (required, so /token can compare it)", undefined),
  {
    kind: "authorize",
    category: "redirect-uri-authorization",
    name: "/authorize refuses an empty redirect_uri",
    cite: "A4, RFC 6749 §3.1",
    rawQuery: (query) => query.replace(/redirect_uri=[^&]*/, "redirect_uri="),
    expect: untrusted,
  },
  {
    kind: "authorize",
    category: "redirect-uri-authorization",
    name: "/authorize refuses a '+' (decoded as a space) after the registered URI",
    cite: "A4",
    rawQuery: (query) => query.replace(/redirect_uri=[^&]*/, "redirect_uri=http://127.0.0.1:8765/callback+"),
    expect: untrusted,
  },
  {
    kind: "authorize",
    category: "redirect-uri-authorization",
    name: "/authorize refuses the registered URI double-percent-encoded",
    cite: "A4",
    rawQuery: (query) =>
      query.replace(/redirect_uri=[^&]*/, `redirect_uri=${encodeURIComponent(encodeURIComponent("http://127.0.0.1:8765/callback"))}`),
    expect: untrusted,
  },
  {
    kind: "authorize",
    category: "redirect-uri-authorization",
    name: "/authorize refuses a malformed percent-encoding in redirect_uri",
    cite: "A4",
    rawQuery: (query) => query.replace(/redirect_uri=[^&]*/, "redirect_uri=http://127.0.0.1:8765/callback%zz"),
    expect: untrusted,
  },
  {
    kind: "authorize",
    category: "redirect-uri-authorization",
    name: "/authorize refuses an unknown client_id, even with a loopback redirect_uri",
    cite: "A4",
    params: { client_id: "no-such-client" },
    expect: rejected(400, "invalid_client"),
  },
  {
    kind: "authorize",
    category: "redirect-uri-authorization",
    name: "/authorize refuses a missing client_id, even with a registered redirect_uri",
    cite: "A4",
    params: { client_id: undefined },
    expect: untrusted,
  },
  {
    kind: "authorize",
    category: "redirect-uri-authorization",
    name: "/authorize refuses a client_id that names an Object.prototype property (__proto__)",
    cite: "A4",
    params: { client_id: "__proto__" },
    expect: rejected(400, "invalid_client"),
  },
  // ---- controls: the port is free for the loopback IP literals, and only there ----
  allowedPort("control: /authorize allows another port on 127.0.0.1 (RFC 8252 §7.3)", "http://127.0.0.1:9999/callback", "ip"),
  allowedPort("control: /authorize allows the port dropped on 127.0.0.1", "http://127.0.0.1/callback", "ip"),
  allowedPort("control: /authorize allows another port on [::1]", "http://[::1]:1/callback", "ipv6"),
  allowedPort("control: /authorize allows another port on a registered URI with a query", "http://127.0.0.1:65535/callback?tenant=a", "query"),
];

export const REDIRECT_URI_ATTACKS = [...registrationAttacks, ...authorizationAttacks];
