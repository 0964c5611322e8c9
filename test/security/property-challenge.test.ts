/**
 * Property-based tests across the two ends of a `WWW-Authenticate` challenge:
 *
 *   resource-server/challenge.ts (formats what the RS sends)  →  client/step-up/challenge.ts (parses it)
 *
 * 1. The client's parser never throws and always returns well-formed results, on arbitrary strings and
 *    on strings assembled from challenge-like pieces (quotes, backslashes, commas, `=`, token68, spaces).
 * 2. Whatever scope list and description the RS puts in a challenge, the client reads back each
 *    parameter exactly — alone, and with other challenges before and after it in the same header.
 *    (RFC 6750 §3 limits `scope` and `error_description` to %x20-21 / %x23-5B / %x5D-7E; the formatter
 *    replaces anything else with "?", so for arbitrary text the client reads that replacement.)
 *
 * The unit tests of each module hold their own properties; these hold the *pair* to each other.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { findBearerChallenge, parseWWWAuthenticate } from "../../client/step-up/index.ts";
import {
  formatChallenge,
  insufficientScopeChallenge,
  invalidTokenChallenge,
  missingTokenChallenge,
} from "../../resource-server/challenge.ts";
import { formatScope, parseScope } from "../../shared/scopes.ts";

const RUNS = { numRuns: 300 };

const TCHAR = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/; // RFC 9110 §5.6.2 token

/** Every result the parser returns, whatever the input, has this shape. */
function assertWellFormed(header: string): void {
  const challenges = parseWWWAuthenticate(header);
  assert.ok(Array.isArray(challenges));
  for (const challenge of challenges) {
    assert.match(challenge.scheme, TCHAR, `scheme of ${JSON.stringify(header)}`);
    assert.equal(challenge.scheme, challenge.scheme.toLowerCase());
    for (const [name, value] of Object.entries(challenge.params)) {
      assert.match(name, TCHAR);
      assert.equal(name, name.toLowerCase());
      assert.equal(typeof value, "string");
    }
    if (challenge.token68 !== undefined) assert.equal(typeof challenge.token68, "string");
  }
  findBearerChallenge(header); // and the Bearer view of it never throws either
}

// ---- 1. never throws ----

test("the client's parser never throws on arbitrary strings (UTF-16 units, full Unicode, ASCII)", () => {
  fc.assert(
    fc.property(
      fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: "binary", maxLength: 200 }), fc.string({ unit: "grapheme-ascii", maxLength: 300 })),
      assertWellFormed,
    ),
    RUNS,
  );
});

/** Pieces a challenge is made of, and the characters that break naive parsers. */
const PIECES = [
  "Bearer", "bearer", "Basic", "DPoP", "Negotiate", "realm", "scope", "error", "error_description",
  "resource_metadata", "insufficient_scope", "files:read files:write", "=", "==", '"', '\\"', "\\", "\\\\",
  ",", ", ", " ", "  ", "\t", "abc==", "YWJj", "a/b+c=", "scope=", 'scope="', '"files:admin"', "=,",
  "http://127.0.0.1:1/.well-known/oauth-protected-resource/mcp", "\r\n", "\u0000", "é", "🙂",
];

test("the client's parser never throws on strings assembled from challenge-like pieces", () => {
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...PIECES), { maxLength: 40 }).map((parts) => parts.join("")), assertWellFormed),
    { numRuns: 1000 },
  );
});

test("the client's parser never throws on structured but corrupted challenges", () => {
  const param = fc.tuple(fc.constantFrom("scope", "error", "realm", "x", ""), fc.constantFrom("=", " = ", "", "=="), fc.string({ maxLength: 20 }), fc.boolean());
  const challenge = fc.tuple(fc.constantFrom("Bearer", "Basic", "", "Bearer,"), fc.array(param, { maxLength: 5 })).map(
    ([scheme, params]) => `${scheme} ${params.map(([name, eq, value, quoted]) => `${name}${eq}${quoted ? `"${value}` : value}`).join(", ")}`,
  );
  fc.assert(fc.property(fc.array(challenge, { maxLength: 4 }).map((list) => list.join(", ")), assertWellFormed), RUNS);
});

// ---- 2. parse(format(x)) recovers every parameter ----

/** RFC 6749 §3.3 scope-token = 1*NQCHAR; NQCHAR = %x21 / %x23-5B / %x5D-7E. */
const NQCHAR = fc.integer({ min: 0x21, max: 0x7e }).filter((c) => c !== 0x22 && c !== 0x5c).map((c) => String.fromCharCode(c));
const scopeToken = fc.string({ unit: NQCHAR, minLength: 1, maxLength: 16 });
const scopeList = fc.uniqueArray(fc.oneof(fc.constantFrom("files:read", "files:write", "files:admin"), scopeToken), { maxLength: 6 });

/** RFC 6750 §3: the characters `scope` and `error_description` may hold. */
const RFC6750_CHAR = fc.integer({ min: 0x20, max: 0x7e }).filter((c) => c !== 0x22 && c !== 0x5c).map((c) => String.fromCharCode(c));
const allowedText = fc.string({ unit: RFC6750_CHAR, maxLength: 80 });
/** What the RS formatter sends for arbitrary text: RFC 6750 §3's set, anything else as "?". */
const restricted = (value: string) => value.replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, "?");
const anyText = fc.oneof(allowedText, fc.string({ maxLength: 80 }), fc.string({ unit: "binary", maxLength: 40 }));

/** A resource_metadata URL, with quotes and backslashes that quoted-string must escape. */
const metadataUrl = fc
  .string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 30 })
  .map((path) => `http://127.0.0.1:3000/.well-known/oauth-protected-resource/${path}`);

/** Other challenges a server may send in the same header (RFC 9110 §11.6.1: a list of challenges). */
const neighbour = fc.constantFrom(
  'Basic realm="demo"',
  'DPoP algs="ES256 PS256", error="invalid_token"',
  "Negotiate YWJjZGVm==",
  'Digest realm="x", nonce="a,b", qop="auth"',
  'Custom scope="files:admin", error="insufficient_scope"',
);

function bearerAmong(header: string, before: string[], after: string[]) {
  return findBearerChallenge([...before, header, ...after].join(", "));
}

test("insufficient_scope: the client reads back exactly the scope list, description and metadata URL the RS sent", () => {
  fc.assert(
    fc.property(scopeList, anyText, metadataUrl, fc.array(neighbour, { maxLength: 2 }), fc.array(neighbour, { maxLength: 2 }), (scopes, description, url, before, after) => {
      const header = insufficientScopeChallenge(url, formatScope(scopes), description);
      const parsed = bearerAmong(header, before, after);
      assert.ok(parsed, header);
      assert.equal(parsed.error, "insufficient_scope");
      assert.deepEqual(parseScope(parsed.scope), scopes, header);
      assert.equal(parsed.scope, formatScope(scopes));
      assert.equal(parsed.errorDescription, restricted(description), header);
      assert.equal(parsed.resourceMetadata, url, header);
    }),
    RUNS,
  );
});

test("text within RFC 6750 §3's character set survives unchanged", () => {
  fc.assert(
    fc.property(allowedText, scopeList, (description, scopes) => {
      const parsed = findBearerChallenge(insufficientScopeChallenge("http://127.0.0.1:3000/prm", formatScope(scopes), description));
      assert.equal(parsed?.errorDescription, description);
      assert.deepEqual(parseScope(parsed?.scope), scopes);
    }),
    RUNS,
  );
});

test("invalid_token and missing-token challenges round-trip too", () => {
  fc.assert(
    fc.property(anyText, metadataUrl, fc.array(neighbour, { maxLength: 2 }), (description, url, before) => {
      const invalid = bearerAmong(invalidTokenChallenge(url, description), before, []);
      assert.deepEqual(invalid, {
        error: "invalid_token",
        errorDescription: restricted(description),
        scope: "files:read",
        resourceMetadata: url,
        realm: undefined,
      });
      const missing = bearerAmong(missingTokenChallenge(url), [], before);
      assert.deepEqual(missing, { error: undefined, errorDescription: undefined, scope: "files:read", resourceMetadata: url, realm: undefined });
    }),
    RUNS,
  );
});

test("an error_description that imitates parameters (scope=…, quotes, commas) never steers the others", () => {
  const sneaky = fc
    .array(fc.constantFrom('scope="files:admin"', ", ", "scope=files:admin", '\\"', '"', "error=invalid_token", "resource_metadata=", "="), { maxLength: 8 })
    .map((parts) => parts.join(""));
  fc.assert(
    fc.property(sneaky, scopeList, (description, scopes) => {
      const parsed = findBearerChallenge(insufficientScopeChallenge("http://127.0.0.1:3000/prm", formatScope(scopes), description));
      assert.equal(parsed?.scope, formatScope(scopes));
      assert.equal(parsed?.error, "insufficient_scope");
      assert.equal(parsed?.errorDescription, restricted(description));
    }),
    RUNS,
  );
});

// RFC 9110 §11.2: an auth-param name is any token. The RS formatter emits any token name; the client
// should read each one back — names that are also members of Object.prototype ("constructor",
// "__proto__") included (client/step-up/challenge.ts checks `Object.hasOwn`, not `in`).
test(
  "any token-named parameter the RS formatter emits is read back by the client",
  () => {
    const name = fc.oneof(fc.constantFrom("constructor", "__proto__", "realm", "x-extension"), fc.string({ unit: NQCHAR, minLength: 1, maxLength: 10 }).filter((n) => TCHAR.test(n)));
    fc.assert(
      fc.property(fc.uniqueArray(name, { selector: (n) => n.toLowerCase(), minLength: 1, maxLength: 4 }), allowedText, (names, value) => {
        const params = names.map((n) => [n, value] as const);
        const [challenge] = parseWWWAuthenticate(formatChallenge(params));
        for (const n of names) assert.ok(Object.hasOwn(challenge!.params, n.toLowerCase()), `${n} was dropped`);
      }),
      RUNS,
    );
  },
);

// RFC 9110 §11.2: token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" — at least one
// character before the padding, so `Bearer =,` or `Bearer scope = ` carries no token68 "=".
test(
  "token68 values the client returns obey RFC 9110's grammar",
  () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...PIECES), { maxLength: 40 }).map((parts) => parts.join("")), (header) => {
        for (const challenge of parseWWWAuthenticate(header)) {
          if (challenge.token68 !== undefined) assert.match(challenge.token68, /^[A-Za-z0-9\-._~+/]+=*$/, header);
        }
      }),
      { numRuns: 1000, examples: [["Bearer =,"], ["Bearer scope = "]] },
    );
  },
);
