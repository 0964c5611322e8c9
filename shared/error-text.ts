/**
 * OAuth's `error_description` (RFC 6749 §4.1.2.1, §5.2) and the `WWW-Authenticate` values of
 * RFC 6750 §3 may hold only %x20-21 / %x23-5B / %x5D-7E: no `"`, no `\`, no controls, no non-ASCII.
 * Both servers build such text from input (a scope, a tool name), so both replace anything else.
 */
export function restrictedText(value: string): string {
  return value.replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, "?");
}
