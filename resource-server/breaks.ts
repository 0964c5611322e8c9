/**
 * The RS's rule broken on purpose, for `pnpm demo --break scope-hierarchy` only. The demo starts its RS
 * with `RS_BREAK=scope-hierarchy` (read in shared/config.ts, nowhere else), and resource-server/app.ts
 * builds the app with the scope rule below in place of `satisfiesScope`, once: the gate (R5) and every
 * tool's own check (R9) then agree that a token holding files:write may read. The correct code
 * (shared/scopes.ts) is the same in every run; docs/breaks.md shows the variant as a diff against it.
 */
import type { RsBreakRule } from "../shared/break-rules.ts";
import { satisfiesScopeHierarchically } from "../shared/scope-hierarchy.ts";
import type { ScopeRule } from "../shared/scopes.ts";

export const BROKEN_SCOPE_RULE: Record<RsBreakRule, ScopeRule> = {
  // S1 broken (with the AS's, as/breaks.ts): files:admin ⊇ files:write ⊇ files:read.
  "scope-hierarchy": satisfiesScopeHierarchically,
};
