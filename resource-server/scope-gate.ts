/**
 * R5 — may this token do *this*? The per-operation scope gate, run on the parsed JSON-RPC body
 * **before** the MCP handler: an under-scoped `tools/call` never reaches the tool, it gets
 * `403 insufficient_scope` with the scope the operation needs, which is what lets a client step up
 * (MCP "Runtime Insufficient Scope Errors", RFC 6750 §3.1).
 */
import type { RequestHandler } from "express";
import type { Config } from "../shared/config.ts";
import type { Logger } from "../shared/log.ts";
import { formatScope, inCatalogOrder, satisfiesScope, scopeUnion } from "../shared/scopes.ts";
import type { AuthenticatedRequest } from "./bearer.ts";
import { insufficientScopeChallenge } from "./challenge.ts";
import { JsonRpcCode, sendJsonRpcError, type JsonRpcId } from "./errors.ts";

/** S2: the scope each tool requires (the hierarchy is applied when comparing, not here). */
export const TOOL_SCOPES: ReadonlyMap<string, string> = new Map([
  ["list-files", "files:read"],
  ["read-file", "files:read"],
  ["write-file", "files:write"],
  ["delete-file", "files:admin"],
  ["broken-challenge", "files:read"],
]);

/**
 * S2 / D6: a deliberately broken server behaviour. It demands `files:read` even from a token
 * that has it, so no step-up can ever satisfy it — it exists to prove that a client caps its retries.
 */
export const BROKEN_CHALLENGE_TOOL = "broken-challenge";

export interface ToolCall {
  tool: string;
  scope: string;
}

export type GateDecision =
  | { allowed: true }
  | { allowed: false; scope: string; errorDescription: string; id: JsonRpcId };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The `tools/call`s of known tools in a JSON-RPC message or batch, in message order. */
export function toolCallsIn(body: unknown): ToolCall[] {
  const messages = Array.isArray(body) ? body : [body];
  const calls: ToolCall[] = [];
  for (const message of messages) {
    // Notifications included: anything that says `tools/call` is gated (fail closed).
    if (!isRecord(message) || message.method !== "tools/call" || !isRecord(message.params)) continue;
    const tool = message.params.name;
    // Unknown tools are not challenged (no scope disclosure): MCP answers them "Tool … not found".
    const scope = typeof tool === "string" ? TOOL_SCOPES.get(tool) : undefined;
    if (typeof tool === "string" && scope !== undefined) calls.push({ tool, scope });
  }
  return calls;
}

/** The scopes a message or batch needs: the union of its calls' needs, in catalog order. */
export function requiredScopes(body: unknown): string[] {
  return inCatalogOrder(scopeUnion(toolCallsIn(body).map((call) => call.scope)));
}

/** Decide R5 for a parsed body and the token's granted scopes (hierarchy-aware, S1). */
export function checkScopes(body: unknown, granted: readonly string[]): GateDecision {
  const calls = toolCallsIn(body);
  const denied = calls.filter((call) => call.tool === BROKEN_CHALLENGE_TOOL || !satisfiesScope(granted, call.scope));
  if (denied.length === 0) return { allowed: true };
  const descriptions = [...new Set(denied.map((call) => `${call.tool} requires ${call.scope}`))];
  // A batch is answered as a whole (nothing in it runs), so its JSON-RPC error has `id: null`.
  const id = !Array.isArray(body) && isRecord(body) && isJsonRpcId(body.id) ? body.id : null;
  return { allowed: false, scope: formatScope(requiredScopes(body)), errorDescription: descriptions.join("; "), id };
}

function isJsonRpcId(value: unknown): value is JsonRpcId {
  return typeof value === "string" || typeof value === "number" || value === null;
}

/** Express middleware: run after `bearerAuth` and the JSON body parser, before the MCP transport. */
export function scopeGate(config: Config, logger: Logger): RequestHandler {
  return (req, res, next) => {
    const auth = (req as AuthenticatedRequest).auth;
    const decision = checkScopes(req.body, auth?.scopes ?? []);
    if (decision.allowed) {
      // The allowed calls are logged too: with the 403 lines they count every attempt of a call.
      const tools = toolCallsIn(req.body).map((call) => call.tool);
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
