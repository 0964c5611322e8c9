import { test } from "node:test";
import assert from "node:assert/strict";
import { isCodeVerifier, isS256CodeChallenge, s256, verifyS256 } from "../../as/pkce.ts";
import { pkcePair } from "../helpers/oauth.ts";

// RFC 7636 Appendix B.
const code_verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const code_challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

test("S256 matches the RFC 7636 Appendix B test vector", () => {
  assert.equal(s256(code_verifier), code_challenge);
  assert.equal(verifyS256(code_verifier, code_challenge), true);
});

test("a different or malformed verifier does not verify", () => {
  assert.equal(verifyS256(code_verifier.replace("d", "e"), code_challenge), false);
  assert.equal(verifyS256(code_challenge, code_challenge), false);
  assert.equal(verifyS256(code_verifier, code_verifier), false);
  assert.equal(verifyS256("", code_challenge), false);
});

test("RFC 7636 §4.1: a verifier is 43–128 unreserved characters", () => {
  assert.equal(isCodeVerifier("a".repeat(43)), true);
  assert.equal(isCodeVerifier("A-._~".repeat(25) + "abc"), true); // 128
  assert.equal(isCodeVerifier("a".repeat(42)), false);
  assert.equal(isCodeVerifier("a".repeat(129)), false);
  assert.equal(isCodeVerifier("a".repeat(42) + "+"), false);
  assert.equal(isCodeVerifier("a".repeat(42) + "="), false);
  // a verifier that is too short never verifies, even against its own hash
  assert.equal(verifyS256("short", s256("short")), false);
});

test("RFC 7636 §4.2: an S256 challenge is 43 base64url characters", () => {
  assert.equal(isS256CodeChallenge(code_challenge), true);
  assert.equal(isS256CodeChallenge(code_challenge + "="), false);
  assert.equal(isS256CodeChallenge(code_challenge.slice(1)), false);
  assert.equal(isS256CodeChallenge(code_challenge.replace("-", "+")), false);
});

test("the test helper's pairs are valid S256 pairs", () => {
  const pair = pkcePair();
  assert.equal(isCodeVerifier(pair.code_verifier), true);
  assert.equal(verifyS256(pair.code_verifier, pair.code_challenge), true);
});
