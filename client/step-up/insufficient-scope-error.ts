/**
 * `InsufficientScopeError` — how step-up (step-up.ts, SEP-2350) ends when it cannot get a token
 * good enough for the operation. Not the SDK's server-side `InsufficientScopeError` (an OAuth
 * error-response class of the same name): import this one.
 */

export type InsufficientScopeReason = "declined" | "retry-limit" | "throw-mode";

/** What an `InsufficientScopeError` carries (C4). */
export interface InsufficientScopeDetails {
  /** declined: the AS granted less (or nothing) · retry-limit: the cap was reached · throw-mode: step-up disabled. */
  reason: InsufficientScopeReason;
  /** The challenge's `scope`: what the operation needs. */
  requiredScope: string;
  /** The scope of the token now held. */
  grantedScope: string;
  /** Step-ups run for this (resource, operation) since it last succeeded. */
  attempts: number;
  /** The challenge's `resource_metadata` (RFC 9728 §5.1). */
  resourceMetadataUrl?: string;
  /** The challenge's `error_description`. */
  errorDescription?: string;
  /** The cap key: `tools/call:<name>` or the JSON-RPC method. */
  operation: string;
}

const WHY: Record<InsufficientScopeReason, (attempts: number) => string> = {
  declined: () => "the authorization server granted less than the challenge requires",
  "retry-limit": (n) => `still refused after ${n} step-up attempt(s)`,
  "throw-mode": () => "step-up is disabled (onInsufficientScope: throw)",
};

/** Step-up ended without a token good enough for the operation (C4: declined, retry-limit, throw-mode). */
export class InsufficientScopeError extends Error implements InsufficientScopeDetails {
  override name = "InsufficientScopeError";
  declare readonly reason: InsufficientScopeReason;
  declare readonly requiredScope: string;
  declare readonly grantedScope: string;
  declare readonly attempts: number;
  declare readonly resourceMetadataUrl?: string;
  declare readonly errorDescription?: string;
  declare readonly operation: string;

  constructor(details: InsufficientScopeDetails, options?: ErrorOptions) {
    super(`${details.operation} needs scope "${details.requiredScope}" (held: "${details.grantedScope}"): ${WHY[details.reason](details.attempts)}`, options);
    Object.assign(this, details);
  }
}
