/**
 * The WWW-Authenticate formatter (R4/R5): the exact shapes R4/R5 define, RFC 9110 quoting, each
 * parameter once, and values that survive a strict parser unchanged.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  formatChallenge,
  insufficientScopeChallenge,
  invalidTokenChallenge,
  missingTokenChallenge,
  quoteString,
} from "../../resource-server/challenge.ts";
import { parseChallenge } from "../helpers/rs-mcp.ts";

const PRM = "http://127.0.0.1:3000/.well-known/oauth-protected-resource/mcp";

describe("challenge shapes (R4/R5)", () => {
  test("missing token: no error code, resource_metadata and the basic scope", () => {
    assert.equal(missingTokenChallenge(PRM), `Bearer resource_metadata="${PRM}", scope="files:read"`);
  });

  test("invalid token", () => {
    assert.equal(
      invalidTokenChallenge(PRM, "access token expired"),
      `Bearer error="invalid_token", error_description="access token expired", resource_metadata="${PRM}", scope="files:read"`,
    );
  });

  test("insufficient scope", () => {
    assert.equal(
      insufficientScopeChallenge(PRM, "files:write", "write-file requires files:write"),
      `Bearer error="insufficient_scope", scope="files:write", resource_metadata="${PRM}", error_description="write-file requires files:write"`,
    );
  });
});

describe("formatChallenge", () => {
  test("refuses a repeated parameter, case-insensitively", () => {
    assert.throws(() => formatChallenge([["scope", "a"], ["Scope", "b"]]), /repeated/);
  });

  test("refuses a parameter name that is not a token", () => {
    assert.throws(() => formatChallenge([["bad name", "a"]]), /ill-formed/);
  });

  test("quotes RFC 9110 style: backslash-escapes quote and backslash", () => {
    assert.equal(quoteString('say "hi" \\o/'), '"say \\"hi\\" \\\\o/"');
  });

  test("error_description and scope keep to RFC 6750 §3's character set", () => {
    const header = formatChallenge([["error_description", 'bad "value"\\\nnext — ünïcode'], ["scope", "a\"b"]]);
    assert.equal(header, 'Bearer error_description="bad ?value???next ? ?n?code", scope="a?b"');
  });

  test("any value round-trips through a strict RFC 9110 parser (printable ASCII)", () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) }), (value) => {
        const parsed = parseChallenge(formatChallenge([["resource_metadata", value], ["realm", "x"]]));
        assert.deepEqual(parsed.names, ["resource_metadata", "realm"]);
        assert.equal(parsed.params.resource_metadata, value);
      }),
    );
  });

  test("anything at all still yields a header value Node accepts, with each parameter once", () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (description, scope) => {
        const header = insufficientScopeChallenge(PRM, scope, description);
        assert.doesNotThrow(() => new Headers({ "www-authenticate": header }));
        assert.deepEqual(parseChallenge(header).names, ["error", "scope", "resource_metadata", "error_description"]);
      }),
    );
  });
});
