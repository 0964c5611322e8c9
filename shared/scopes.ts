/**
 * Scope algebra shared by the AS and the RS (the client's own set helpers: client/step-up/scope-set.ts).
 *
 * A scope string is a space-delimited list (RFC 6749 §3.3). Sets here are arrays that keep first-seen
 * order, so what goes on the wire is predictable and readable.
 */

/** The AS's catalog, in catalog order (S1). */
export const SCOPE_CATALOG = ["files:read", "files:write", "files:admin"] as const;

/**
 * S1: files:admin ⊇ files:write ⊇ files:read — a scope also grants everything it implies.
 * A `Map`, not an object literal: a scope name is input (a token claim), and `constructor` or
 * `__proto__` must read as "implies nothing", not as an inherited `Object` member (R9).
 */
const IMPLIES: ReadonlyMap<string, readonly string[]> = new Map([
  ["files:admin", ["files:write", "files:read"]],
  ["files:write", ["files:read"]],
  ["files:read", []],
]);

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

/** Every scope the given scopes grant, the hierarchy included (S1). */
function effectiveScopes(granted: string | readonly string[] | undefined): Set<string> {
  const out = new Set<string>();
  for (const scope of parseScope(granted)) {
    out.add(scope);
    for (const implied of IMPLIES.get(scope) ?? []) out.add(implied);
  }
  return out;
}

/** Does a token holding `granted` satisfy every scope in `required`? (hierarchy-aware) */
export function satisfiesScope(
  granted: string | readonly string[] | undefined,
  required: string | readonly string[] | undefined,
): boolean {
  const have = effectiveScopes(granted);
  return parseScope(required).every((s) => have.has(s));
}

/** Sort scopes into catalog order (unknown scopes last, in their given order). */
export function inCatalogOrder(scopes: readonly string[]): string[] {
  const rank = (s: string) => {
    const i = (SCOPE_CATALOG as readonly string[]).indexOf(s);
    return i === -1 ? SCOPE_CATALOG.length : i;
  };
  return [...scopes].sort((a, b) => rank(a) - rank(b));
}
