/**
 * The AS's rules broken on purpose, for `pnpm demo --break lenient-redirect|no-pkce|scope-hierarchy` only.
 * The demo starts its AS with `AS_BREAK=RULE` (read in shared/config.ts, nowhere else), and as/app.ts
 * builds the app with the variant below in place of the correct policy, once. The correct code
 * (redirect-uri.ts, pkce.ts, authorize.ts, grants/refresh-token.ts) is the same in every run;
 * docs/breaks.md shows each variant as a diff against it.
 */
import type { AsBreakRule } from "../shared/break-rules.ts";
import { grantHierarchically, narrowHierarchically } from "../shared/scope-hierarchy.ts";
import type { AsPolicy } from "./state.ts";

export const BROKEN_POLICY: Record<AsBreakRule, Partial<AsPolicy>> = {
  // A3 and A4 broken: any redirect URI registers, and /authorize redirects wherever the request says.
  "lenient-redirect": {
    validateRedirectUri: () => ({ ok: true }),
    redirectUriMatches: () => true,
  },
  // A6 broken: /token redeems a code whatever its code_verifier, or without one.
  "no-pkce": {
    verifyCodeVerifier: () => "verified",
  },
  // S1 broken (with the RS's, resource-server/breaks.ts): files:admin ⊇ files:write ⊇ files:read.
  "scope-hierarchy": {
    grantScope: grantHierarchically,
    narrowScope: narrowHierarchically,
  },
};
