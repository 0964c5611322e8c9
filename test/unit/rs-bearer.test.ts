/**
 * R3/R4: reading credentials from the Authorization header — what counts as missing (→ no error
 * code) and what is ill-formed (→ invalid_token) before any cryptography runs.
 */
import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { describe, test } from "node:test";
import { principalOf, readBearerCredentials } from "../../resource-server/bearer.ts";

/** A request as Node's parser would present it: `headers` keeps the first Authorization, `rawHeaders` all. */
function request(...authorization: string[]): IncomingMessage {
  const rawHeaders = authorization.flatMap((value) => ["Authorization", value]);
  const headers = authorization.length > 0 ? { authorization: authorization[0]!.trim() } : {};
  return { rawHeaders: ["Host", "127.0.0.1", ...rawHeaders], headers } as unknown as IncomingMessage;
}

describe("readBearerCredentials", () => {
  test("a bearer token", () => {
    assert.deepEqual(readBearerCredentials(request("Bearer abc.DEF-_~+/=")), { kind: "bearer", token: "abc.DEF-_~+/=" });
  });

  test("the scheme is case-insensitive (RFC 9110 §11.1)", () => {
    assert.deepEqual(readBearerCredentials(request("bearer abc")), { kind: "bearer", token: "abc" });
    assert.deepEqual(readBearerCredentials(request("BEARER  abc")), { kind: "bearer", token: "abc" });
  });

  test("missing: no header, an empty header, another scheme", () => {
    for (const req of [request(), request(""), request("Basic ZGVtbzpwdw=="), request("Digest x"), request("Bearerabc")]) {
      assert.deepEqual(readBearerCredentials(req), { kind: "missing" });
    }
  });

  test("ill-formed: empty token, two tokens, joined headers, characters outside b64token", () => {
    for (const value of ["Bearer", "Bearer abc def", "Bearer abc, Bearer def", 'Bearer "abc"', "Bearer a=b", "Bearer\tabc"]) {
      assert.equal(readBearerCredentials(request(value)).kind, "ill-formed", value);
    }
  });

  test("two Authorization headers are ill-formed, even when the first alone would be fine", () => {
    assert.deepEqual(readBearerCredentials(request("Bearer abc", "Bearer def")), {
      kind: "ill-formed",
      description: "more than one Authorization header",
    });
  });
});

describe("principalOf", () => {
  test("sub + client_id from the verified token; no token is a wiring error, never an anonymous principal", () => {
    const auth = { token: "t", clientId: "c1", scopes: [], extra: { sub: "demo-user" } };
    assert.deepEqual(principalOf(auth), { sub: "demo-user", clientId: "c1" });
    assert.throws(() => principalOf(undefined), /no verified access token/);
  });
});
