/**
 * Scope algebra shared by the AS and the RS (the client's own set helpers: client/step-up/scope-set.ts).
 *
 * A scope string is a space-delimited list (RFC 6749 §3.3). Sets here are arrays that keep first-seen
 * order, so what goes on the wire is predictable and readable.
 */

/**
 * The AS's catalog, in catalog order. The scopes are independent: none implies another, so a token
 * has a scope only when its `scope` claim names it (`files:write` does not include `files:read`) (S1).
 */
export const SCOPE_CATALOG = ["files:read", "files:write", "files:admin"] as const;

/** Split a scope string into its distinct tokens; tolerant of any whitespace, undefined and "". */
export function parseScope(scope: string | readonly string[] | undefined | null): string[] {
  if (scope === undefined || scope === null) return [];
  const tokens = typeof scope === "string" ? scope.split(/\s+/) : scope.flatMap((s) => s.split(/\s+/));
  return [...new Set(tokens.filter(Boolean))];
}

export function formatScope(scopes: readonly string[]): string {
  return scopes.join(" ");
}

/** Order-preserving set union of any number of scope strings or lists. */
export function scopeUnion(...sets: Array<string | readonly string[] | undefined | null>): string[] {
  return parseScope(sets.flatMap((set) => parseScope(set)));
}

/**
 * Does a token holding `granted` satisfy every scope in `required`? Independent scopes: each required
 * scope must be named in `granted` itself (RFC 6749 §3.3 defines no hierarchy, and this demo adds none).
 */
export function satisfiesScope(
  granted: string | readonly string[] | undefined,
  required: string | readonly string[] | undefined,
): boolean {
  const have = new Set(parseScope(granted));
  return parseScope(required).every((s) => have.has(s));
}

/** R5's question, "does this token allow that?" — `satisfiesScope`, or under `--break scope-hierarchy` the RS's broken one. */
export type ScopeRule = typeof satisfiesScope;

/** Sort scopes into catalog order (unknown scopes last, in their given order). */
export function inCatalogOrder(scopes: readonly string[]): string[] {
  const rank = (s: string) => {
    const i = (SCOPE_CATALOG as readonly string[]).indexOf(s);
    return i === -1 ? SCOPE_CATALOG.length : i;
  };
  return [...scopes].sort((a, b) => rank(a) - rank(b));
}
