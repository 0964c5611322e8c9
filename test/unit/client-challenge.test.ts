import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { findBearerChallenge, parseWWWAuthenticate } from "../../client/step-up/index.ts";

const PRM = "http://127.0.0.1:3000/.well-known/oauth-protected-resource/mcp";

test("a step-up challenge: error, scope and resource_metadata", () => {
  const header = `Bearer error="insufficient_scope", scope="files:read files:write", resource_metadata="${PRM}"`;
  assert.deepEqual(findBearerChallenge(header), {
    error: "insufficient_scope",
    errorDescription: undefined,
    scope: "files:read files:write",
    resourceMetadata: PRM,
    realm: undefined,
  });
});

test("quoted values keep escaped quotes and commas; an error_description mentioning scope= does not steer scope", () => {
  const header =
    'Bearer error="insufficient_scope", error_description="needs \\"scope=files:admin\\", sorry, ask again", ' +
    'scope="files:write", resource_metadata="' + PRM + '"';
  const challenge = findBearerChallenge(header);
  assert.equal(challenge?.scope, "files:write");
  assert.equal(challenge?.errorDescription, 'needs "scope=files:admin", sorry, ask again');
  assert.equal(challenge?.resourceMetadata, PRM);
  // The description first, unquoted-looking text inside it, and no scope parameter at all:
  const tricky = findBearerChallenge('Bearer error_description="try scope=files:admin", error="insufficient_scope"');
  assert.equal(tricky?.scope, undefined);
  assert.equal(tricky?.error, "insufficient_scope");
});

test('scope="" is the empty string, not two quote characters', () => {
  assert.equal(findBearerChallenge('Bearer error="insufficient_scope", scope=""')?.scope, "");
});

test("odd spacing, tabs, empty list elements and unquoted values (leniently up to space or comma)", () => {
  const [challenge] = parseWWWAuthenticate('  Bearer   error =\t"insufficient_scope" ,scope= files:read ,, ,realm=demo  ');
  assert.deepEqual(challenge, {
    scheme: "bearer",
    params: { error: "insufficient_scope", scope: "files:read", realm: "demo" },
  });
});

test("several challenges in one header, schemes and names case-insensitive", () => {
  const challenges = parseWWWAuthenticate(
    'Basic realm="files, and more", BEARER Scope="files:read", Error="insufficient_scope", DPoP algs="ES256 PS256"',
  );
  assert.deepEqual(
    challenges.map((c) => [c.scheme, c.params]),
    [
      ["basic", { realm: "files, and more" }],
      ["bearer", { scope: "files:read", error: "insufficient_scope" }],
      ["dpop", { algs: "ES256 PS256" }],
    ],
  );
  assert.equal(findBearerChallenge('Basic realm="x", Bearer scope="a"')?.scope, "a", "the Bearer one, wherever it is");
});

test("token68 challenges, and a bare scheme", () => {
  const challenges = parseWWWAuthenticate("Negotiate YIIC3gYGKwYBBQUC==, Bearer, Basic abc=");
  assert.deepEqual(challenges, [
    { scheme: "negotiate", token68: "YIIC3gYGKwYBBQUC==", params: {} },
    { scheme: "bearer", params: {} },
    { scheme: "basic", token68: "abc=", params: {} },
  ]);
  assert.deepEqual(findBearerChallenge("Bearer"), {
    error: undefined,
    errorDescription: undefined,
    scope: undefined,
    resourceMetadata: undefined,
    realm: undefined,
  });
});

test("a repeated parameter keeps its first value (RFC 9110 §11.2 allows it once)", () => {
  assert.equal(findBearerChallenge('Bearer scope="files:read", scope="files:admin"')?.scope, "files:read");
});

test("no header, no Bearer challenge, or garbage: nothing, and no exception", () => {
  assert.deepEqual(parseWWWAuthenticate(null), []);
  assert.deepEqual(parseWWWAuthenticate(undefined), []);
  assert.equal(findBearerChallenge('Basic realm="x"'), undefined);
  for (const garbage of ['"', 'Bearer "', 'Bearer scope="unterminated', ",,,", "=", "Bearer =x", "Bearer scope=", "é Bearer", "Bearer a=b=c"]) {
    assert.doesNotThrow(() => parseWWWAuthenticate(garbage), garbage);
  }
  assert.equal(findBearerChallenge('Bearer scope="unterminated')?.scope, "unterminated");
  assert.equal(findBearerChallenge('@@@, Bearer scope="x"')?.scope, "x", "an unreadable element is skipped");
});

test("property: never throws on any input", () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 200 }), (header) => {
      parseWWWAuthenticate(header);
      findBearerChallenge(header);
    }),
    { numRuns: 500 },
  );
});

test("property: any printable value survives quoting and parsing, among other parameters", () => {
  const quote = (v: string) => `"${v.replace(/["\\]/g, (c) => `\\${c}`)}"`;
  fc.assert(
    fc.property(
      fc.string({ unit: fc.constantFrom(..." !\"#$%&'(),-./:;<=>?@[\\]^_`{|}~azAZ09") as fc.Arbitrary<string>, maxLength: 40 }),
      fc.string({ unit: fc.constantFrom(..." ,=\"\\scope:files") as fc.Arbitrary<string>, maxLength: 40 }),
      (scope, description) => {
        const header = `Bearer error_description=${quote(description)}, scope=${quote(scope)}, error="insufficient_scope"`;
        const challenge = findBearerChallenge(header);
        assert.equal(challenge?.scope, scope);
        assert.equal(challenge?.errorDescription, description);
        assert.equal(challenge?.error, "insufficient_scope");
      },
    ),
    { numRuns: 300 },
  );
});

test("RFC 9110 §11.2: any token is a parameter name — constructor and __proto__ included, as own properties", () => {
  // Names are lower-cased, so these two are the Object.prototype members a parameter can collide with.
  const [challenge] = parseWWWAuthenticate('Bearer constructor="c", __proto__=p, scope="files:read"');
  const params = challenge!.params;
  for (const [name, value] of [["constructor", "c"], ["__proto__", "p"], ["scope", "files:read"]]) {
    assert.ok(Object.hasOwn(params, name!), `${name} was read`);
    assert.equal(params[name!], value);
  }
  assert.equal(Object.getPrototypeOf(params), Object.prototype, "__proto__ did not replace the prototype");
  assert.deepEqual(Object.keys(params), ["constructor", "__proto__", "scope"]);
  // The first value still wins, for these names as for any other.
  const [repeated] = parseWWWAuthenticate('Bearer constructor="first", Constructor="second", __proto__="a", __PROTO__="b"');
  assert.equal(repeated!.params.constructor, "first");
  assert.equal(Object.getOwnPropertyDescriptor(repeated!.params, "__proto__")?.value, "a");
  // An absent name reads as absent, not as Object.prototype's member of that name.
  assert.equal(Object.hasOwn(parseWWWAuthenticate('Bearer scope="x"')[0]!.params, "constructor"), false);
});

test("RFC 9110 §11.2: a token68 has at least one character before its padding — a bare = is none", () => {
  assert.deepEqual(parseWWWAuthenticate("Bearer =,"), [{ scheme: "bearer", params: {} }]);
  assert.deepEqual(parseWWWAuthenticate("Bearer =="), [{ scheme: "bearer", params: {} }]);
  assert.deepEqual(parseWWWAuthenticate("Negotiate ==abc, Basic realm=\"x\""), [
    { scheme: "negotiate", params: {} },
    { scheme: "basic", params: { realm: "x" } },
  ]);
  for (const header of ["Bearer scope = ", "Basic =", "Bearer = , Basic ="]) {
    for (const c of parseWWWAuthenticate(header)) assert.equal(c.token68, undefined, header);
  }
  // Real token68 values, padded or not, are still read.
  assert.deepEqual(
    parseWWWAuthenticate("Negotiate a, Basic YWJj==, Other a-._~+/b=").map((c) => c.token68),
    ["a", "YWJj==", "a-._~+/b="],
  );
});

// ---- error recovery and the edges of each token, each pinned (a mutation run showed them untested) ----

test("an unquoted value may contain '=' (base64 padding, a=b): it runs to the next space or comma", () => {
  const challenge = findBearerChallenge("Bearer error_description=a=b, realm=c2lnbg==, scope=files:read");
  assert.equal(challenge?.errorDescription, "a=b");
  assert.equal(challenge?.realm, "c2lnbg==");
  assert.equal(challenge?.scope, "files:read");
});

test("a backslash that ends an unterminated quoted string is kept as a backslash", () => {
  assert.equal(findBearerChallenge('Bearer realm="abc\\')?.realm, "abc\\");
  assert.equal(findBearerChallenge('Bearer realm="a\\"b\\\\')?.realm, 'a"b\\');
});

test("junk after a value is skipped to the next comma — a quoted comma inside the junk included — and parameters go on", () => {
  assert.equal(findBearerChallenge('Bearer error="x"junk, scope="after-junk"')?.scope, "after-junk");
  // Were the quoted comma a separator, `scope=evil` would be read first (and a repeated name keeps its first value).
  const header = 'Bearer error="insufficient_scope"junk"a, scope=evil", scope="good"';
  assert.equal(findBearerChallenge(header)?.scope, "good");
  assert.equal(findBearerChallenge(header)?.error, "insufficient_scope");
});

test("junk glued to a scheme is no token68 and no parameter: skipped to the next challenge", () => {
  assert.deepEqual(parseWWWAuthenticate("Bearer/abc"), [{ scheme: "bearer", params: {} }]);
  assert.deepEqual(parseWWWAuthenticate('Bearer/abc, Basic realm="r"'), [
    { scheme: "bearer", params: {} },
    { scheme: "basic", params: { realm: "r" } },
  ]);
});

test("the parameters are an ordinary record: each can be changed or removed like any assigned property", () => {
  const [challenge] = parseWWWAuthenticate('Bearer constructor="c", scope="s"');
  const params = challenge!.params;
  const name: string = "constructor"; // a string key, not Object's member of that name
  params[name] = "changed";
  params.scope = "changed too";
  assert.deepEqual({ ...params }, { constructor: "changed", scope: "changed too" });
  delete (params as Record<string, string | undefined>).scope;
  assert.equal(Object.hasOwn(params, "scope"), false);
});

test("a token68 followed by spaces is still the challenge's token68, and the next challenge follows", () => {
  assert.deepEqual(parseWWWAuthenticate("Negotiate abc==   , Bearer realm=x"), [
    { scheme: "negotiate", token68: "abc==", params: {} },
    { scheme: "bearer", params: { realm: "x" } },
  ]);
});
