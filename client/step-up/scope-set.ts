/**
 * Scope sets for step-up, with no knowledge of any scope catalog: a scope string is a space-delimited
 * list of tokens (RFC 6749 §3.3), and a set here is an array that keeps first-seen order, so what goes
 * on the wire is predictable and readable.
 */

/** A scope string (space-delimited, RFC 6749 §3.3) or a list of scopes. */
export type ScopeInput = string | readonly string[] | undefined | null;

/** Split a scope string (or list) into its distinct tokens; tolerant of any whitespace, undefined and "". */
export function parseScope(scope: ScopeInput): string[] {
  if (scope === undefined || scope === null) return [];
  const tokens = typeof scope === "string" ? scope.split(/\s+/) : scope.flatMap((s) => s.split(/\s+/));
  return [...new Set(tokens.filter(Boolean))];
}

/** The `scope` parameter value: tokens joined by one space (RFC 6749 §3.3). */
export function formatScope(scopes: readonly string[]): string {
  return scopes.join(" ");
}

/**
 * C4.1: the scope to ask for on step-up — requested ∪ granted ∪ challenged, set semantics, first-seen
 * order, whitespace-tolerant. Pass `granted = requested` when the token response omitted `scope`.
 */
export function computeScopeUnion(requested: ScopeInput, granted: ScopeInput, challenged: ScopeInput): string[] {
  return parseScope([requested, granted, challenged].flatMap((set) => parseScope(set)));
}

/** C4.2: does `candidate` hold every scope of `held` and at least one more? (then only a new grant helps) */
export function isStrictScopeSuperset(candidate: ScopeInput, held: ScopeInput): boolean {
  const c = new Set(parseScope(candidate));
  const h = new Set(parseScope(held));
  return c.size > h.size && [...h].every((s) => c.has(s));
}
