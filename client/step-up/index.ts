/**
 * The liftable step-up module's public API: everything a client needs to add SEP-2350 step-up to a
 * `StreamableHTTPClientTransport` (step-up.ts has the rules; README "Lifting step-up into your client").
 */
export { DEFAULT_MAX_STEP_UP_ATTEMPTS, operationOf, withStepUp, type AuthorizationHint, type StepUpAuthorizer, type StepUpMiddleware, type StepUpOptions } from "./step-up.ts";
export { InsufficientScopeError, type InsufficientScopeDetails, type InsufficientScopeReason } from "./insufficient-scope-error.ts";
export { findBearerChallenge, parseWWWAuthenticate, type BearerChallenge, type Challenge } from "./challenge.ts";
export { computeScopeUnion, formatScope, isStrictScopeSuperset, parseScope, type ScopeInput } from "./scope-set.ts";
