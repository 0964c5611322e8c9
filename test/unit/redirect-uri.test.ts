import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { MAX_REDIRECT_URI_LENGTH, redirectUriMatches, validateRedirectUri } from "../../as/redirect-uri.ts";

const accepted = [
  "http://127.0.0.1/cb",
  "http://127.0.0.1:8080/callback",
  "http://127.0.0.1:65535/a/b%20c",
  "http://[::1]/cb",
  "http://[::1]:8080/cb",
  "http://localhost:3000/callback",
  "https://localhost/cb",
  "https://127.0.0.1:8443/cb",
  "http://127.0.0.1",
  "http://127.0.0.1:8080?x=1",
  "http://127.0.0.1/cb?client=cli&v=2",
  "http://127.0.0.1/cb@home", // '@' in the path is not userinfo
];

test("loopback http(s) redirect URIs are accepted", () => {
  for (const uri of accepted) {
    const verdict = validateRedirectUri(uri);
    assert.equal(verdict.ok, true, `${uri}: ${verdict.ok ? "" : verdict.reason}`);
  }
  assert.deepEqual(validateRedirectUri("http://[::1]:8080/cb"), { ok: true });
  assert.deepEqual(validateRedirectUri("https://localhost/cb"), { ok: true });
});

const rejected: Array<[uri: string, reason: RegExp]> = [
  // what a repairing parser would quietly fix
  ["http:/127.0.0.1/cb", /must start with/],
  ["http:127.0.0.1/cb", /must start with/],
  ["http:///127.0.0.1/cb", /host must be/],
  ["http://127.0.0.1\\@attacker.example/cb", /backslash/],
  ["http://127.0.0.1\\cb", /backslash/],
  ["http://127.0.0.1/cb#", /fragment/],
  ["http://127.0.0.1/cb#frag", /fragment/],
  ["http://127.0.0.1/a/../cb", /'\.\.'/],
  ["http://127.0.0.1/./cb", /'\.'/],
  ["http://127.0.0.1/a/%2e%2E/cb", /'\.\.'/],
  ["http://127.0.0.1/a/.%2e", /'\.\.'/],
  // look-alike hosts
  ["http://127.0.0.1.evil.com/cb", /host must be/],
  ["http://localhost.evil/cb", /host must be/],
  ["http://evil-127.0.0.1/cb", /host must be/],
  ["http://127.0.0.2/cb", /host must be/],
  ["http://127.1/cb", /host must be/],
  ["http://2130706433/cb", /host must be/], // WHATWG would read this as 127.0.0.1
  ["http://0x7f.0.0.1/cb", /host must be/],
  ["http://[0:0:0:0:0:0:0:1]/cb", /host must be/],
  ["http://[::ffff:127.0.0.1]/cb", /host must be/],
  ["http://LOCALHOST/cb", /host must be/],
  ["http://127.0.0.1%2eevil.com/cb", /host must be/],
  ["https://attacker.example/cb", /host must be/],
  // userinfo
  ["http://user@127.0.0.1/cb", /userinfo/],
  ["http://user:pass@127.0.0.1/cb", /userinfo/],
  ["http://127.0.0.1@attacker.example/cb", /userinfo/],
  ["http://127.0.0.1:80@attacker.example/cb", /userinfo/],
  // ports
  ["http://127.0.0.1:/cb", /host must be/],
  ["http://127.0.0.1:0/cb", /host must be/],
  ["http://127.0.0.1:08080/cb", /host must be/],
  ["http://127.0.0.1:65536/cb", /port is out of range/],
  ["http://127.0.0.1:http/cb", /host must be/],
  // whitespace, control and non-ASCII characters
  [" http://127.0.0.1/cb", /whitespace/],
  ["http://127.0.0.1/cb ", /whitespace/],
  ["http://127.0.0.1/c b", /whitespace/],
  ["http://127.0.0.1/cb\n", /whitespace/],
  ["http://127.0.0.1/\tcb", /whitespace/],
  ["http://127.0.0.1/cb\u0000", /whitespace/],
  ["http://127.0.0.1/café", /non-ASCII/],
  // schemes
  ["ftp://127.0.0.1/cb", /must start with/],
  ["HTTP://127.0.0.1/cb", /must start with/],
  ["Http://127.0.0.1/cb", /must start with/],
  ["javascript:alert(1)//127.0.0.1", /must start with/],
  ["com.example.app:/callback", /must start with/],
  ["file:///etc/passwd", /must start with/],
  ["//127.0.0.1/cb", /must start with/],
  ["/cb", /must start with/],
  // characters a URI may not contain, malformed escapes, length
  ["http://127.0.0.1/cb<script>", /not allowed/],
  ['http://127.0.0.1/"cb"', /not allowed/],
  ["http://127.0.0.1/cb%zz", /percent-encoding/],
  ["http://127.0.0.1/cb%2", /percent-encoding/],
  ["", /empty/],
  [`http://127.0.0.1/${"a".repeat(MAX_REDIRECT_URI_LENGTH)}`, /longer than/],
];

test("everything else is rejected, with a reason", () => {
  for (const [uri, reason] of rejected) {
    const verdict = validateRedirectUri(uri);
    assert.equal(verdict.ok, false, `${JSON.stringify(uri)} should be rejected`);
    if (!verdict.ok) assert.match(verdict.reason, reason, JSON.stringify(uri));
  }
});

test("the longest accepted URI is exactly the limit", () => {
  const prefix = "http://127.0.0.1/";
  assert.equal(validateRedirectUri(prefix + "a".repeat(MAX_REDIRECT_URI_LENGTH - prefix.length)).ok, true);
  assert.equal(validateRedirectUri(prefix + "a".repeat(MAX_REDIRECT_URI_LENGTH - prefix.length + 1)).ok, false);
});

test("property: whatever is accepted, a WHATWG parser reads as a loopback http(s) URL with no userinfo or fragment", () => {
  const loopbackish = fc
    .tuple(
      fc.constantFrom("http://", "https://", "http:/", "HTTP://", "http:\\\\", ""),
      fc.constantFrom("127.0.0.1", "[::1]", "localhost", "127.0.0.1.evil", "evil@127.0.0.1", "127.0.0.1@evil", ""),
      fc.string({ maxLength: 30 }),
    )
    .map(([scheme, host, rest]) => scheme + host + rest);
  const pathChars = fc.constantFrom(..."abc/.%2eE@:;=?&'!$()*+,~-_\\#<> ".split(""));
  const withPath = fc
    .tuple(fc.constantFrom("http://127.0.0.1", "https://[::1]:8080", "http://localhost:1"), fc.string({ unit: pathChars, maxLength: 20 }))
    .map(([base, path]) => `${base}/${path}`);
  fc.assert(
    fc.property(fc.oneof(loopbackish, withPath, fc.webUrl({ withFragments: true, withQueryParameters: true }), fc.string()), (uri) => {
      const verdict = validateRedirectUri(uri);
      if (!verdict.ok) return;
      const url = new URL(uri);
      assert.ok(["127.0.0.1", "[::1]", "localhost"].includes(url.hostname), uri);
      assert.ok(url.protocol === "http:" || url.protocol === "https:", uri);
      assert.equal(url.username + url.password + url.hash, "", uri);
      // the path is the one written: no dot segments resolved, nothing re-encoded
      const rawPath = /^https?:\/\/[^/?]*([^?]*)/.exec(uri)![1] || "/";
      assert.equal(url.pathname, rawPath, uri);
    }),
    { numRuns: 2000 },
  );
});

test("A4 matching: exact, except any port for the loopback IP literals (RFC 8252 §7.3)", () => {
  // port ignored for 127.0.0.1 and [::1] — whether the registered URI had a port or not
  assert.equal(redirectUriMatches("http://127.0.0.1/cb", "http://127.0.0.1:5555/cb"), true);
  assert.equal(redirectUriMatches("http://127.0.0.1:1234/cb", "http://127.0.0.1:5555/cb"), true);
  assert.equal(redirectUriMatches("http://127.0.0.1:1234/cb", "http://127.0.0.1/cb"), true);
  assert.equal(redirectUriMatches("http://[::1]:1234/cb?x=1", "http://[::1]:49152/cb?x=1"), true);
  assert.equal(redirectUriMatches("https://127.0.0.1/cb", "https://127.0.0.1:8443/cb"), true);
  // exact string still matches everywhere
  assert.equal(redirectUriMatches("http://localhost:3000/cb", "http://localhost:3000/cb"), true);
  // localhost is a name, not an IP literal: its port counts
  assert.equal(redirectUriMatches("http://localhost:3000/cb", "http://localhost:3001/cb"), false);
  assert.equal(redirectUriMatches("http://localhost/cb", "http://localhost:3001/cb"), false);
  // scheme, host, path and query compare exactly
  assert.equal(redirectUriMatches("http://127.0.0.1/cb", "https://127.0.0.1:5555/cb"), false);
  assert.equal(redirectUriMatches("http://127.0.0.1/cb", "http://[::1]:5555/cb"), false);
  assert.equal(redirectUriMatches("http://127.0.0.1/cb", "http://127.0.0.1:5555/cb/"), false);
  assert.equal(redirectUriMatches("http://127.0.0.1/cb", "http://127.0.0.1:5555/CB"), false);
  assert.equal(redirectUriMatches("http://127.0.0.1/cb", "http://127.0.0.1:5555/cbevil"), false);
  assert.equal(redirectUriMatches("http://127.0.0.1/cb?a=1", "http://127.0.0.1:5555/cb?a=2"), false);
  assert.equal(redirectUriMatches("http://127.0.0.1/cb", "http://127.0.0.1:5555/cb?a=1"), false);
  assert.equal(redirectUriMatches("http://127.0.0.1/cb", "http://127.0.0.1:5555/cb#x"), false);
  // only a well-formed port is stripped
  assert.equal(redirectUriMatches("http://127.0.0.1/cb", "http://127.0.0.1:0/cb"), false);
  assert.equal(redirectUriMatches("http://127.0.0.1/cb", "http://127.0.0.1:65536/cb"), false);
  assert.equal(redirectUriMatches("http://127.0.0.1/cb", "http://127.0.0.1:/cb"), false);
  assert.equal(redirectUriMatches("http://127.0.0.1/cb", "http://127.0.0.1:5555@attacker.example/cb"), false);
  assert.equal(redirectUriMatches("http://127.0.0.1/cb", "http://127.0.0.1.evil.com/cb"), false);
});
