/**
 * `pnpm demo --break scope-hierarchy` only: scope semantics this demo does NOT use (S1 — its scopes are
 * independent, shared/scopes.ts), shared by the AS (as/breaks.ts) and the RS (resource-server/breaks.ts)
 * when both are started broken. Many real APIs nest their scopes like this; with it, a client that
 * replaces its scope with the challenged one (the v1 SDK's bug, C4.1) loses nothing anyone can see.
 *
 *   files:admin ⊇ files:write ⊇ files:read
 */
import { inCatalogOrder, parseScope } from "./scopes.ts";

/** Each scope and the scopes it directly includes. */
const INCLUDES: ReadonlyMap<string, readonly string[]> = new Map([
  ["files:admin", ["files:write"]],
  ["files:write", ["files:read"]],
]);

/** `scopes` and everything they include, transitively. */
export function withIncludedScopes(scopes: string | readonly string[] | undefined): string[] {
  const all = parseScope(scopes);
  for (let i = 0; i < all.length; i++) for (const included of INCLUDES.get(all[i]!) ?? []) if (!all.includes(included)) all.push(included);
  return all;
}

/** The RS's R5 under the hierarchy: a token holding `files:write` may also read. */
export function satisfiesScopeHierarchically(granted: string | readonly string[] | undefined, required: string | readonly string[] | undefined): boolean {
  const held = withIncludedScopes(granted);
  return parseScope(required).every((s) => held.includes(s));
}

/**
 * The AS's S3 under the hierarchy: each requested scope the user may grant is granted; one she may not
 * (files:admin) is granted as the widest scope it includes that she may (files:write) — a partial grant.
 */
export function grantHierarchically(requested: readonly string[], grantable: readonly string[]): string[] {
  const granted = requested.filter((s) => grantable.includes(s));
  for (const scope of requested.filter((s) => !grantable.includes(s))) {
    const widest = withIncludedScopes([scope]).find((s) => grantable.includes(s));
    if (widest && !withIncludedScopes(granted).includes(widest)) granted.push(widest);
  }
  return inCatalogOrder(granted);
}

/** The AS's refresh (RFC 6749 §6) under the hierarchy: narrowing to anything the grant includes is allowed. */
export function narrowHierarchically(requested: readonly string[], granted: readonly string[]): { beyond: string[]; scope: string[] } {
  const held = withIncludedScopes(granted);
  return { beyond: requested.filter((s) => !held.includes(s)), scope: [...requested] };
}
