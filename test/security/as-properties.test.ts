/**
 * Property-based checks of the AS's pure policies, with fast-check:
 * - the redirect-URI policy (`validateRedirectUri`, A3) never accepts a URI whose host is not loopback —
 *   neither as the raw text says nor as a WHATWG parser reads it;
 * - the match rule (`redirectUriMatches`, A4) never matches another scheme, host, path or query, and
 *   lets only the port of a loopback IP literal differ;
 * - the scope algebra (`shared/scopes.ts`) obeys its set laws; scopes are independent (S1: none implies another).
 *
 * Adversarial strings are assembled from pieces (schemes, userinfo, hosts — evil ones included — ports,
 * paths, `\`, `#`, `@`, whitespace, percent-encodings), mostly-valid by default so that accepted URIs are
 * common enough for the property to bite; each property also asserts it was not vacuous.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { redirectUriMatches, validateRedirectUri } from "../../as/redirect-uri.ts";
import { isStrictScopeSuperset as isStrictSuperset } from "../../client/step-up/index.ts";
import {
  parseScope,
  satisfiesScope,
  SCOPE_CATALOG,
  scopeUnion,
} from "../../shared/scopes.ts";

const NUM_RUNS = 1000;
const LOOPBACK_HOSTS = ["127.0.0.1", "[::1]", "localhost"];

/** Half valid pieces, half hostile ones: each piece is good with probability 4/5. */
const mostly = (good: readonly string[], bad: readonly string[]) =>
  fc.oneof({ arbitrary: fc.constantFrom(...good), weight: 4 }, { arbitrary: fc.constantFrom(...bad), weight: 1 });

const scheme = mostly(
  ["http://", "https://"],
  ["HTTP://", "Http://", "http:/", "http:", "http:\\\\", "http:///", "https:\\/", "javascript:", "ftp://", "file://", "//", "", " http://", "ws://"],
);
const userinfo = mostly([""], ["user@", "user:pw@", "127.0.0.1@", "localhost@", "evil.example@", "@", ":@", "127.0.0.1\\@", "a%40b@", "[::1]@"]);
const host = mostly(LOOPBACK_HOSTS, [
  "evil.example",
  "127.0.0.1.evil.example",
  "evil127.0.0.1",
  "localhost.attacker",
  "attacker-localhost",
  "127.1",
  "2130706433",
  "0x7f.0.0.1",
  "0177.0.0.1",
  "[::ffff:127.0.0.1]",
  "[0:0:0:0:0:0:0:1]",
  "[::1%25eth0]",
  "%31%32%37.0.0.1",
  "LOCALHOST",
  "１２７.０.０.１",
  "127。0。0。1",
  "localhost.",
  "127.0.0.1.",
  "0.0.0.0",
  "[::]",
  "127.0.0.2",
  "",
]);
const port = mostly(["", ":8080", ":1", ":65535", ":3000"], [":0", ":65536", ":", ":08080", ":80@evil.example", ":8080:80", ":-1", ":0x50", ":80.evil.example"]);
const pathPiece = mostly(
  ["/", "/cb", "/callback", "?x=1", "&y=2", "a", "%20", "~", "@home"],
  ["\\", "#", "#frag", "@evil.example", " ", "\t", "\r\n", "%2e%2e", "/..", "/.", "%40", "%23", "%5C", ".evil.example", "evil.example", "%zz", "<", "\u0000", "\u2028"],
);
const path = fc.array(pathPiece, { maxLength: 5 }).map((pieces) => pieces.join(""));

const assembledUri = fc.tuple(scheme, userinfo, host, port, path).map((parts) => parts.join(""));
const adversarialUri = fc.oneof(
  { arbitrary: assembledUri, weight: 8 },
  { arbitrary: fc.webUrl({ withFragments: true, withQueryParameters: true }), weight: 1 },
  { arbitrary: fc.string({ maxLength: 60 }), weight: 1 },
);

/** What the raw text says: the authority right after `scheme://`, up to the first `/`, `?`, `#` or `\`. */
function rawAuthority(uri: string): { scheme: string; authority: string; host: string } | undefined {
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#\\]*)/.exec(uri);
  if (!match) return undefined;
  const authority = match[2]!;
  const hostAndPort = authority.slice(authority.lastIndexOf("@") + 1);
  return { scheme: match[1]!, authority, host: hostAndPort.replace(/:[0-9]*$/, "") };
}

test("property: validateRedirectUri never accepts a non-loopback host — as the raw text says it, or as WHATWG parses it", () => {
  let acceptedCount = 0;
  fc.assert(
    fc.property(adversarialUri, (uri) => {
      const verdict = validateRedirectUri(uri);
      if (!verdict.ok) return;
      acceptedCount++;
      // the raw text
      const raw = rawAuthority(uri);
      assert.ok(raw, `accepted without a scheme://authority: ${JSON.stringify(uri)}`);
      assert.ok(raw.scheme === "http" || raw.scheme === "https", uri);
      assert.ok(!raw.authority.includes("@"), `userinfo accepted: ${uri}`);
      assert.ok(LOOPBACK_HOSTS.includes(raw.host), `raw host ${raw.host} accepted: ${uri}`);
      assert.doesNotMatch(uri, /[\s\\#]/, `whitespace, backslash or '#' accepted: ${JSON.stringify(uri)}`);
      // what a WHATWG parser (a browser) makes of it
      const url = new URL(uri);
      assert.ok(url.protocol === "http:" || url.protocol === "https:", uri);
      assert.ok(LOOPBACK_HOSTS.includes(url.hostname), `WHATWG host ${url.hostname} accepted: ${uri}`);
      assert.equal(url.username + url.password + url.hash, "", uri);
    }),
    { numRuns: NUM_RUNS },
  );
  assert.ok(acceptedCount >= NUM_RUNS / 20, `the property must not be vacuous: only ${acceptedCount} accepted`);
});

// ---- redirectUriMatches (A4) ----

/** A registered URI: valid by construction (and checked), so the match rule sees only what DCR lets in. */
const registeredUri = fc
  .tuple(
    fc.constantFrom("http://", "https://"),
    fc.constantFrom(...LOOPBACK_HOSTS),
    fc.constantFrom("", ":8080", ":1", ":65535"),
    fc.constantFrom("", "/", "/cb", "/callback", "/a/b", "/cb@home"),
    fc.constantFrom("", "?x=1", "?x=1&y=2", "?next=%2F"),
  )
  .map((parts) => parts.join(""))
  .filter((uri) => validateRedirectUri(uri).ok);

/** Ways to change a registered URI a little: the matcher must see through each. */
const mutation = fc.constantFrom(
  (u: string) => u.replace(/^http:/, "https:"),
  (u: string) => u.replace(/^https:/, "http:"),
  (u: string) => u.replace(/^http/, "HTTP"),
  (u: string) => u.replace("127.0.0.1", "[::1]"),
  (u: string) => u.replace("[::1]", "127.0.0.1"),
  (u: string) => u.replace("localhost", "127.0.0.1"),
  (u: string) => u.replace("127.0.0.1", "localhost"),
  (u: string) => u.replace(/\/\/([^/?]+)/, "//$1.evil.example"),
  (u: string) => u.replace(/\/\/([^/?]+)/, "//user@$1"),
  (u: string) => u.replace(/\/\/([^/?]+)/, "//$1@evil.example"),
  (u: string) => u.replace(/\/\/(\[::1\]|[^:/?]+)(:\d+)?/, "//$1:4242"),
  (u: string) => u.replace(/\/\/(\[::1\]|[^:/?]+)(:\d+)?/, "//$1"),
  (u: string) => u.replace(/\/\/(\[::1\]|[^:/?]+)(:\d+)?/, "//$1:0"),
  (u: string) => u.replace(/\/\/(\[::1\]|[^:/?]+)(:\d+)?/, "//$1:65536"),
  (u: string) => u.replace(/\/\/(\[::1\]|[^:/?]+)(:\d+)?/, "//$1:08080"),
  (u: string) => u.replace(/\/\/(\[::1\]|[^:/?]+)(:\d+)?/, "//$1:"),
  (u: string) => `${u}/`,
  (u: string) => `${u}x`,
  (u: string) => `${u}#`,
  (u: string) => `${u}#frag`,
  (u: string) => `${u}?z=1`,
  (u: string) => `${u}&z=1`,
  (u: string) => u.replace(/\/cb/, "/CB"),
  (u: string) => u.replace(/\/cb/, "/%63b"),
  (u: string) => u.replace(/\?.*$/, ""),
  (u: string) => u.replace("x=1", "x=2"),
  (u: string) => u.replace(/(\/[^/?]*)(\?|$)/, "$1/..$2"),
  (u: string) => `${u}\r\n`,
  (u: string) => ` ${u}`,
  (u: string) => u.replace(/\//g, "\\"),
);

const requestedFor = (registered: string) =>
  fc.oneof(
    { arbitrary: fc.array(mutation, { minLength: 1, maxLength: 3 }).map((ms) => ms.reduce((u, m) => m(u), registered)), weight: 6 },
    { arbitrary: adversarialUri, weight: 2 },
    { arbitrary: fc.constant(registered), weight: 1 },
  );

/** The URI as the raw text has it, with the port of a loopback IP literal removed. */
const withoutPort = (uri: string) => uri.replace(/^(https?:\/\/(?:127\.0\.0\.1|\[::1\]))(?::\d+)?/, "$1");

test("property: redirectUriMatches never matches another scheme, host, path or query — only a loopback IP literal's port may differ", () => {
  let differentButMatched = 0;
  fc.assert(
    fc.property(
      registeredUri.chain((registered) => fc.tuple(fc.constant(registered), requestedFor(registered))),
      ([registered, requested]) => {
        if (!redirectUriMatches(registered, requested)) return;
        if (requested === registered) return;
        differentButMatched++;
        // only the port differs, and only on an IP literal
        const r = new URL(registered);
        const q = new URL(requested);
        assert.ok(r.hostname === "127.0.0.1" || r.hostname === "[::1]", `${requested} matched ${registered} on a name host`);
        assert.equal(q.protocol, r.protocol, `${requested} vs ${registered}`);
        assert.equal(q.hostname, r.hostname, `${requested} vs ${registered}`);
        assert.equal(q.pathname, r.pathname, `${requested} vs ${registered}`);
        assert.equal(q.search, r.search, `${requested} vs ${registered}`);
        assert.equal(q.username + q.password + q.hash, "", requested);
        // … and as raw text: identical once the port is stripped
        assert.equal(withoutPort(requested), withoutPort(registered));
        assert.match(requested, /^https?:\/\/(127\.0\.0\.1|\[::1\])(:[1-9][0-9]{0,4})?([/?]|$)/);
      },
    ),
    { numRuns: NUM_RUNS },
  );
  assert.ok(differentButMatched > 0, "the property must not be vacuous: some port variants should match");
});

test("property: any port 1–65535 matches a loopback IP literal; a changed port never matches localhost", () => {
  fc.assert(
    fc.property(registeredUri, fc.integer({ min: 1, max: 65535 }), (registered, p) => {
      const requested = registered.replace(/\/\/(\[::1\]|[^:/?]+)(:\d+)?/, `//$1:${p}`);
      if (registered.includes("//localhost")) {
        assert.equal(redirectUriMatches(registered, requested), requested === registered, `${requested} vs ${registered}`);
      } else {
        assert.equal(redirectUriMatches(registered, requested), true, `${requested} vs ${registered}`);
      }
    }),
    { numRuns: NUM_RUNS },
  );
});

// ---- scope algebra (shared/scopes.ts) ----

const scopeToken = fc.oneof(
  { arbitrary: fc.constantFrom(...SCOPE_CATALOG), weight: 3 },
  { arbitrary: fc.constantFrom("openid", "files:*", "a", "b:c", "FILES:READ"), weight: 1 },
  { arbitrary: fc.string({ unit: fc.constantFrom(..."abcxyz:_-.*"), minLength: 1, maxLength: 6 }), weight: 1 },
);
const whitespace = fc.constantFrom(" ", "  ", "\t", "\n", " \r\n ");
/** A scope as it arrives: a string with arbitrary whitespace (duplicates allowed), or an array. */
const scopeInput = fc.oneof(
  fc
    .tuple(fc.array(fc.tuple(scopeToken, whitespace), { maxLength: 6 }), fc.constantFrom("", " ", "\t"))
    .map(([pairs, lead]) => lead + pairs.map(([token, ws]) => token + ws).join("")),
  fc.array(scopeToken, { maxLength: 6 }),
);
const asSet = (scope: string | readonly string[]) => new Set(parseScope(scope));
const sameSet = (a: Set<string>, b: Set<string>) => a.size === b.size && [...a].every((s) => b.has(s));

test("property: scopeUnion is idempotent, commutative and associative as a set, and holds exactly both inputs", () => {
  fc.assert(
    fc.property(scopeInput, scopeInput, scopeInput, (a, b, c) => {
      const ab = scopeUnion(a, b);
      assert.deepEqual(scopeUnion(a, a), parseScope(a), "idempotent");
      assert.deepEqual(scopeUnion(ab, b), ab, "absorbs what it already holds");
      assert.ok(sameSet(new Set(ab), new Set(scopeUnion(b, a))), "commutative as a set");
      assert.deepEqual(scopeUnion(scopeUnion(a, b), c), scopeUnion(a, scopeUnion(b, c)), "associative");
      assert.equal(new Set(ab).size, ab.length, "no duplicates");
      assert.deepEqual(ab.slice(0, parseScope(a).length), parseScope(a), "order-preserving: a first");
      assert.ok(sameSet(new Set(ab), new Set([...asSet(a), ...asSet(b)])), "exactly the scopes of a and b");
      assert.ok(ab.every((s) => s.length > 0 && !/\s/.test(s)), "no empty or whitespace tokens");
    }),
    { numRuns: NUM_RUNS },
  );
});

test("property: isStrictSuperset is irreflexive, asymmetric and transitive, and agrees with scopeUnion", () => {
  fc.assert(
    fc.property(scopeInput, scopeInput, scopeInput, (a, b, c) => {
      assert.equal(isStrictSuperset(a, a), false, "irreflexive");
      if (isStrictSuperset(a, b)) assert.equal(isStrictSuperset(b, a), false, "asymmetric");
      // a chain by construction, so transitivity is exercised, not just vacuously true
      const mid = scopeUnion(c, b);
      const top = scopeUnion(mid, a);
      if (isStrictSuperset(top, mid) && isStrictSuperset(mid, c)) assert.equal(isStrictSuperset(top, c), true, "transitive");
      if (isStrictSuperset(a, b) && isStrictSuperset(b, c)) assert.equal(isStrictSuperset(a, c), true, "transitive");
      // C4.2: the union is a strict superset of the held scope exactly when the other side adds something
      const adds = [...asSet(b)].some((s) => !asSet(a).has(s));
      assert.equal(isStrictSuperset(scopeUnion(a, b), a), adds);
      assert.equal(isStrictSuperset(a, scopeUnion(a, b)), false);
    }),
    { numRuns: NUM_RUNS },
  );
});

/** S1 as a model: independent scopes — every scope grants only itself. */
const modelSatisfies = (granted: Set<string>, scope: string) => granted.has(scope);

test("property: satisfiesScope is set inclusion, is monotone, and splits over a union of requirements", () => {
  fc.assert(
    fc.property(scopeInput, scopeInput, scopeInput, (granted, required, more) => {
      const g = asSet(granted);
      assert.equal(satisfiesScope(granted, required), parseScope(required).every((s) => modelSatisfies(g, s)), "set inclusion");
      assert.equal(satisfiesScope(granted, granted), true, "reflexive");
      assert.equal(satisfiesScope(granted, ""), true, "nothing required");
      if (satisfiesScope(granted, required)) assert.equal(satisfiesScope(scopeUnion(granted, more), required), true, "monotone in the grant");
      assert.equal(
        satisfiesScope(granted, scopeUnion(required, more)),
        satisfiesScope(granted, required) && satisfiesScope(granted, more),
        "splits over a union",
      );
    }),
    { numRuns: NUM_RUNS },
  );
  // no scope implies another, in either direction
  assert.equal(satisfiesScope("files:read", "files:write"), false);
  assert.equal(satisfiesScope("files:write", "files:read"), false);
  assert.equal(satisfiesScope("files:admin", "files:read files:write files:admin"), false);
});
