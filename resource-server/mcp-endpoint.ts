/**
 * The `/mcp` endpoint (MCP Streamable HTTP, stateful). A POST goes through all five steps; a GET (the
 * SSE stream) and a DELETE (end of session) carry no body, so they skip steps 2 and 4:
 *
 *   1. bearerAuth      — R3/R4: a valid access token, or 401 + challenge          (bearer.ts)
 *   2. mcpJsonBody     — R8/R9: POST bodies parsed here, bounded; 415/400/413 as JSON-RPC errors
 *   3. bindSession     — R6: route by Mcp-Session-Id; another principal's session → 404
 *   4. scopeGate       — R5: under-scoped tools/call → 403 insufficient_scope     (scope-gate.ts)
 *   5. handleMcp       — the session's transport gets the *same* parsed body the gate judged
 *
 * Steps 2 and 5 belong together (R5): without a parsed body the transport would read the stream
 * itself and the gate would have judged nothing, so a POST without a JSON body is refused (fail closed).
 */
import { randomUUID } from "node:crypto";
import express, { type RequestHandler, type Response } from "express";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { isInitializeRequest } from "@modelcontextprotocol/sdk/types.js";
import type { Logger } from "../shared/log.ts";
import type { ScopeRule } from "../shared/scopes.ts";
import { principalOf, type AuthenticatedRequest, type Principal } from "./bearer.ts";
import { ambiguousKeyPath } from "./ambiguous-keys.ts";
import { JsonRpcCode, sendJsonRpcError } from "./errors.ts";
import { samePrincipal, type McpSession, type SessionRegistry } from "./sessions.ts";
import type { FileStore } from "./store.ts";
import { createMcpServer } from "./tools.ts";

/** Largest accepted POST body. With a pre-parsed body the SDK's own limit no longer applies; this does. */
export const MAX_BODY_BYTES = 64 * 1024;

/** The media type of a Content-Type value, lower-cased, parameters dropped. */
function mediaType(header: string | undefined): string {
  return (header ?? "").split(";", 1)[0]!.trim().toLowerCase();
}

/** The `charset` parameter of a Content-Type value, lower-cased and unquoted; `undefined` when absent. */
function charsetOf(header: string | undefined): string | undefined {
  for (const parameter of (header ?? "").split(";").slice(1)) {
    const [name = "", ...value] = parameter.split("=");
    if (name.trim().toLowerCase() === "charset") return value.join("=").trim().replace(/^"(.*)"$/, "$1").toLowerCase();
  }
  return undefined;
}

const isJsonRequest = (req: { headers: { "content-type"?: string } }) =>
  mediaType(req.headers["content-type"]) === "application/json";

/** What is wrong with a parsed body as JSON-RPC 2.0, or `undefined` when it is a message or a batch. */
export function jsonRpcShapeProblem(body: unknown): string | undefined {
  const describe = (value: unknown) =>
    value === null ? "null" : Array.isArray(value) ? "an array" : typeof value === "object" ? "an object" : `a ${typeof value}`;
  if (!Array.isArray(body)) return describe(body) === "an object" ? undefined : describe(body);
  // JSON-RPC 2.0 §6: an empty array is not a batch, and each element must be a Request object.
  if (body.length === 0) return "an empty batch";
  const index = body.findIndex((message) => describe(message) !== "an object");
  return index === -1 ? undefined : `a batch holding ${describe(body[index])} at index ${index}`;
}

/**
 * Step 2, in three parts:
 * - the media type must be `application/json` and the charset, if given, UTF-8 (RFC 8259 §8.1) —
 *   body-parser itself would decode any `utf-*` (UTF-16 included) into garbage that then reads as a
 *   parse error; checked before a byte of the body is read;
 * - parse, bounded; body-parser turns an empty body into `{}`, so `verify` flags it to be answered 400;
 * - the parsed value must be a JSON-RPC message (an object) or a batch (a non-empty array of objects):
 *   valid JSON of another shape is `-32600 Invalid Request` (JSON-RPC 2.0 §5.1, §6), not a parse error;
 *   and it must hold no `__proto__`, `constructor` or `prototype` key at any depth (R9, ambiguous-keys.ts).
 */
export function mcpJsonBody(): RequestHandler[] {
  const requireJson: RequestHandler = (req, res, next) => {
    if (!isJsonRequest(req)) {
      return sendJsonRpcError(res, 415, JsonRpcCode.ServerError, "Unsupported Media Type: Content-Type must be application/json");
    }
    const charset = charsetOf(req.headers["content-type"]);
    if (charset !== undefined && charset !== "utf-8") {
      return sendJsonRpcError(res, 415, JsonRpcCode.ServerError, "Unsupported Media Type: charset must be utf-8");
    }
    next();
  };
  const parse = express.json({
    limit: MAX_BODY_BYTES,
    type: isJsonRequest,
    strict: false, // scalars are parsed, so that they are answered -32600 below rather than "not valid JSON"
    inflate: false, // a compressed body is refused (415), so the limit is a limit on what is parsed
    verify: (_req, _res, buffer) => {
      if (buffer.length === 0) throw Object.assign(new Error("empty body"), { type: "entity.empty" });
    },
  });
  const requireJsonRpc: RequestHandler = (req, res, next) => {
    if (req.body === undefined) {
      return sendJsonRpcError(res, 400, JsonRpcCode.InvalidRequest, "Bad Request: empty body, expected a JSON-RPC message");
    }
    const problem = jsonRpcShapeProblem(req.body);
    if (problem) {
      return sendJsonRpcError(
        res,
        400,
        JsonRpcCode.InvalidRequest,
        `Invalid Request: expected a JSON-RPC message (an object) or a batch (a non-empty array of objects), got ${problem}`,
      );
    }
    // R9: a key another parser could read as the prototype would make the gate and the tool see two
    // different messages — refused before the gate, however it is spelled in the JSON text.
    const ambiguous = ambiguousKeyPath(req.body);
    if (ambiguous !== undefined) {
      return sendJsonRpcError(res, 400, JsonRpcCode.InvalidRequest, `Invalid Request: object key not allowed at ${ambiguous.slice(0, 200)}`);
    }
    next();
  };
  return [requireJson, parse, requireJsonRpc];
}

/** The session's server and transport a request is handed to, set by `bindSession` for `handleMcp`. */
interface SessionLocals {
  mcp?: Pick<McpSession, "server" | "transport">;
}

function sessionNotFound(res: Response): void {
  sendJsonRpcError(res, 404, JsonRpcCode.SessionNotFound, "Session not found");
}

/**
 * Step 3. An existing session is served only to its own principal (R6); a POST of `initialize` without
 * a session id opens a new one, owned by the caller. A step-up token has the same `sub` + `client_id`,
 * so it continues the session, and the tools see its new scopes through `req.auth` (R7). A new session's
 * tools judge scope by `satisfies`, the app's scope rule (R9), or by default `satisfiesScope` (S1).
 */
export function bindSession(sessions: SessionRegistry, store: FileStore, logger: Logger, satisfies?: ScopeRule): RequestHandler {
  return async (req, res, next) => {
    const principal = principalOf((req as AuthenticatedRequest).auth);
    const sessionId = req.headers["mcp-session-id"];
    const locals = res.locals as SessionLocals;

    if (sessionId !== undefined) {
      const session = typeof sessionId === "string" ? sessions.find(sessionId) : undefined;
      if (!session) return sessionNotFound(res);
      if (!samePrincipal(session.principal, principal)) {
        // Not 401 (the client would refresh) nor 403 (it would step up): this session is not theirs.
        logger.info(`404 session ${session.id.slice(0, 8)}… is not bound to ${principal.clientId}`);
        return sessionNotFound(res);
      }
      sessions.touch(session);
      locals.mcp = session;
      return next();
    }

    if (req.method === "POST" && isInitializeRequest(req.body)) {
      locals.mcp = await openSession(principal, sessions, store, satisfies);
      return next();
    }
    sendJsonRpcError(res, 400, JsonRpcCode.ServerError, "Bad Request: Mcp-Session-Id header is required");
  };
}

/** A fresh server + transport; it joins the registry once the SDK has assigned the session id. */
async function openSession(
  principal: Principal,
  sessions: SessionRegistry,
  store: FileStore,
  satisfies?: ScopeRule,
): Promise<Pick<McpSession, "server" | "transport">> {
  const server = createMcpServer(store, satisfies);
  const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
    sessionIdGenerator: () => randomUUID(),
    // Responses go out as SSE streams (the SDK's default). Not `enableJsonResponse`: in SDK 1.32.2 that
    // mode keeps one stream-mapping entry per request for the session's lifetime (memory grows with
    // every call, https://github.com/modelcontextprotocol/typescript-sdk/issues/2559), while SSE streams are released when done.
    // The principal is recorded when the session comes into being (R6).
    onsessioninitialized: (id) => {
      sessions.add({ id, principal, server, transport });
    },
  });
  // DELETE, eviction or expiry closed the transport: forget the session. Set before `connect`, which chains it.
  transport.onclose = () => {
    if (transport.sessionId) sessions.remove(transport.sessionId);
  };
  await server.connect(transport);
  return { server, transport };
}

/** Step 5: hand the request, its verified auth (`req.auth`) and the gated body to the transport. */
export const handleMcp: RequestHandler = async (req, res) => {
  const { mcp } = res.locals as SessionLocals;
  if (!mcp) return sessionNotFound(res); // unreachable: bindSession always sets it or answers
  await mcp.transport.handleRequest(req as AuthenticatedRequest, res, req.body);
  // An initialize the transport refused (e.g. 406) never got a session id: nothing may keep it alive.
  if (!mcp.transport.sessionId) await mcp.server.close();
};

/** `/mcp` answers GET, POST and DELETE only (MCP Streamable HTTP). */
export const methodNotAllowed: RequestHandler = (_req, res) => {
  sendJsonRpcError(res, 405, JsonRpcCode.ServerError, "Method not allowed.", { headers: { Allow: "GET, POST, DELETE" } });
};
