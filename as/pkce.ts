/**
 * PKCE (RFC 7636), S256 only — OAuth 2.1 §7.5.2 and the MCP authorization spec require it, and `plain`
 * would put the verifier on the front channel.
 */
import { createHash, timingSafeEqual } from "node:crypto";

/** RFC 7636 §4.1: 43–128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~". */
const CODE_VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;
/** RFC 7636 §4.2: BASE64URL(SHA256(verifier)) without padding is always 43 characters. */
const S256_CODE_CHALLENGE = /^[A-Za-z0-9\-_]{43}$/;

export function isCodeVerifier(value: string): boolean {
  return CODE_VERIFIER.test(value);
}

export function isS256CodeChallenge(value: string): boolean {
  return S256_CODE_CHALLENGE.test(value);
}

/** RFC 7636 §4.2: code_challenge = BASE64URL-ENCODE(SHA256(ASCII(code_verifier))). */
export function s256(code_verifier: string): string {
  return createHash("sha256").update(code_verifier, "ascii").digest("base64url");
}

/** What a code redemption's `code_verifier` proves (RFC 7636 §4.6): the token endpoint's verdict. */
export type PkceVerdict = "verified" | "missing" | "mismatch";

/**
 * RFC 7636 §4.6: the code was issued for `code_challenge`, so a redemption must send the `code_verifier`
 * whose S256 hash it is. (AS policy `verifyCodeVerifier`; `--break no-pkce` swaps it, as/breaks.ts.)
 */
export function checkCodeVerifier(code_verifier: string | undefined, code_challenge: string): PkceVerdict {
  if (code_verifier === undefined) return "missing";
  return verifyS256(code_verifier, code_challenge) ? "verified" : "mismatch";
}

/** RFC 7636 §4.6: does `code_verifier` hash to the `code_challenge` recorded with the code? */
export function verifyS256(code_verifier: string, code_challenge: string): boolean {
  if (!isCodeVerifier(code_verifier)) return false;
  const expected = Buffer.from(code_challenge);
  const actual = Buffer.from(s256(code_verifier));
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
