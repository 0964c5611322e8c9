/**
 * `WWW-Authenticate: Bearer …` challenges (RFC 6750 §3, RFC 9728 §5.1) in the exact shapes of R4/R5.
 *
 * Each builder fixes the parameter order R4/R5 show, and the formatter guarantees what a client's
 * parser relies on: RFC 9110 §11.2 syntax (`auth-param = token BWS "=" BWS ( token / quoted-string )`,
 * here always a quoted-string), each parameter at most once, nothing a header cannot carry.
 */
import { restrictedText } from "../shared/error-text.ts";

/** The minimal scope for basic use, advertised on every 401 (R4) and in the PRM (R2). */
export const BASIC_SCOPE = "files:read";

export type ChallengeParams = ReadonlyArray<readonly [name: string, value: string]>;

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/; // RFC 9110 §5.6.2 `token`

/** RFC 9110 §5.6.4 quoted-string: escape `"` and `\`; drop what `qdtext` cannot hold. */
export function quoteString(value: string): string {
  const safe = value.replace(/[^\t\x20-\x7E]/g, "?");
  return `"${safe.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/** `Bearer name="value", …` — throws on a repeated or ill-formed parameter name (a programming error). */
export function formatChallenge(params: ChallengeParams): string {
  const seen = new Set<string>();
  const parts = params.map(([name, value]) => {
    const key = name.toLowerCase(); // RFC 9110 §11.2: parameter names are case-insensitive
    if (!TOKEN.test(name) || seen.has(key)) throw new Error(`challenge parameter ${name} ill-formed or repeated`);
    seen.add(key);
    const restricted = key === "error_description" || key === "scope" || key === "error";
    return `${name}=${quoteString(restricted ? restrictedText(value) : value)}`;
  });
  return parts.length === 0 ? "Bearer" : `Bearer ${parts.join(", ")}`;
}

/** R4, RFC 6750 §3.1: no credentials → no `error` code, just where to learn how to get some. */
export function missingTokenChallenge(resourceMetadataUrl: string): string {
  return formatChallenge([["resource_metadata", resourceMetadataUrl], ["scope", BASIC_SCOPE]]);
}

/** R4, RFC 6750 §3.1 `invalid_token`: expired, revoked, malformed or meant for someone else. */
export function invalidTokenChallenge(resourceMetadataUrl: string, errorDescription: string): string {
  return formatChallenge([["error", "invalid_token"], ["error_description", errorDescription], ["resource_metadata", resourceMetadataUrl], ["scope", BASIC_SCOPE]]);
}

/** R5, RFC 6750 §3.1 `insufficient_scope`: `scope` is what this operation needs (MCP step-up). */
export function insufficientScopeChallenge(resourceMetadataUrl: string, scope: string, errorDescription: string): string {
  return formatChallenge([["error", "insufficient_scope"], ["scope", scope], ["resource_metadata", resourceMetadataUrl], ["error_description", errorDescription]]);
}
