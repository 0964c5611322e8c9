/**
 * R5 — may this token do *this*? The per-operation scope gate, run on the parsed JSON-RPC body
 * **before** the MCP handler: an under-scoped `tools/call` never reaches the tool, it gets
 * `403 insufficient_scope` with the scope the operation needs, which is what lets a client step up
 * (MCP "Runtime Insufficient Scope Errors", RFC 6750 §3.1).
 */
import type { RequestHandler } from "express";
import type { Config } from "../shared/config.ts";
import type { Logger } from "../shared/log.ts";
import { formatScope, inCatalogOrder, satisfiesScope, scopeUnion, type ScopeRule } from "../shared/scopes.ts";
import type { AuthenticatedRequest } from "./bearer.ts";
import { insufficientScopeChallenge } from "./challenge.ts";
import { JsonRpcCode, sendJsonRpcError, type JsonRpcId } from "./errors.ts";
import { TOOLS, type ScopedTool } from "./tools.ts";

/** The tools by name (an own-property lookup, R9): what each requires, as declared in tools.ts (S2). */
const TOOLS_BY_NAME: ReadonlyMap<string, ScopedTool> = new Map(TOOLS.map((tool) => [tool.name, tool]));

export type GateDecision =
  | { allowed: true }
  | { allowed: false; scope: string; errorDescription: string; id: JsonRpcId };

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);
const isJsonRpcId = (value: unknown): value is JsonRpcId => typeof value === "string" || typeof value === "number" || value === null;

/** The known tools a JSON-RPC message or batch calls, in message order — notifications too (fail closed). */
export function toolCallsIn(body: unknown): ScopedTool[] {
  return (Array.isArray(body) ? body : [body]).flatMap((message) => {
    if (!isRecord(message) || message.method !== "tools/call" || !isRecord(message.params)) return [];
    // Unknown tools are not challenged (no scope disclosure): MCP answers them "Tool … not found".
    const tool = typeof message.params.name === "string" ? TOOLS_BY_NAME.get(message.params.name) : undefined;
    return tool ? [tool] : [];
  });
}

/** The scopes a message or batch needs: the union of its calls' needs, in catalog order. */
export function requiredScopes(body: unknown, calls = toolCallsIn(body)): string[] {
  return inCatalogOrder(scopeUnion(calls.map((call) => call.scope)));
}

/**
 * Decide R5 for a parsed body and the token's granted scopes (independent scopes: each must be named, S1).
 * `calls` are the body's tool calls, when the caller has read them already; `satisfies` is the app's scope rule.
 */
export function checkScopes(body: unknown, granted: readonly string[], calls = toolCallsIn(body), satisfies: ScopeRule = satisfiesScope): GateDecision {
  const denied = calls.filter((call) => call.challengesAlways || !satisfies(granted, call.scope));
  if (denied.length === 0) return { allowed: true };
  const descriptions = [...new Set(denied.map((call) => `${call.name} requires ${call.scope}`))];
  // A batch is answered as a whole (nothing in it runs), so its JSON-RPC error has `id: null`.
  const id = !Array.isArray(body) && isRecord(body) && isJsonRpcId(body.id) ? body.id : null;
  return { allowed: false, scope: formatScope(requiredScopes(body, calls)), errorDescription: descriptions.join("; "), id };
}

/** Express middleware: run after `bearerAuth` and the JSON body parser, before the MCP transport. */
export function scopeGate(config: Config, logger: Logger, satisfies: ScopeRule = satisfiesScope): RequestHandler {
  return (req, res, next) => {
    const auth = (req as AuthenticatedRequest).auth;
    const calls = toolCallsIn(req.body);
    const decision = checkScopes(req.body, auth?.scopes ?? [], calls, satisfies);
    if (decision.allowed) {
      // The allowed calls are logged too: with the 403 lines they count every attempt of a call.
      const tools = calls.map((call) => call.name);
      if (tools.length > 0) logger.info(`tools/call ${tools.join(",")} allowed for ${auth?.clientId ?? "?"} [${formatScope(auth?.scopes ?? [])}]`);
      return next();
    }
    logger.info(`403 insufficient_scope for ${auth?.clientId ?? "?"}: ${decision.errorDescription}`);
    sendJsonRpcError(res, 403, JsonRpcCode.ServerError, `Forbidden: ${decision.errorDescription}`, {
      id: decision.id,
      headers: {
        "WWW-Authenticate": insufficientScopeChallenge(config.resourceMetadataUrl, decision.scope, decision.errorDescription),
      },
      data: { error: "insufficient_scope", scope: decision.scope, error_description: decision.errorDescription },
    });
  };
}
