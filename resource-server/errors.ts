/**
 * Every error the RS answers on `/mcp` is JSON-RPC 2.0 shaped (R8), so an MCP client can always parse it:
 * `{ "jsonrpc": "2.0", "error": { code, message, data? }, "id": … }`. OAuth errors (401/403) carry
 * their RFC 6750 `error` / `error_description` in `data` as well as in `WWW-Authenticate`.
 */
import type { ErrorRequestHandler, Response } from "express";

/** JSON-RPC 2.0 §5.1 codes, plus the implementation-defined ones the MCP SDK's transport uses. */
export const JsonRpcCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  InternalError: -32603,
  /** The SDK's generic transport/server error (406, 415, 400 "Bad Request: …"). */
  ServerError: -32000,
  /** The SDK's "Session not found" (404). */
  SessionNotFound: -32001,
} as const;

export type JsonRpcId = string | number | null;

export interface JsonRpcErrorOptions {
  id?: JsonRpcId;
  data?: Record<string, unknown>;
  headers?: Record<string, string>;
}

export function sendJsonRpcError(
  res: Response,
  status: number,
  code: number,
  message: string,
  { id = null, data, headers = {} }: JsonRpcErrorOptions = {},
): void {
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.status(status).json({ jsonrpc: "2.0", error: data ? { code, message, data } : { code, message }, id });
}

/** The `type`s body-parser (via `express.json`) tags its errors with, and how each is answered (R8). */
const BODY_ERRORS: Record<string, { status: number; code: number; message: string }> = {
  "entity.parse.failed": { status: 400, code: JsonRpcCode.ParseError, message: "Parse error: body is not valid JSON" },
  "entity.too.large": { status: 413, code: JsonRpcCode.ServerError, message: "Payload Too Large" },
  /** Our own `verify` hook's type (see `mcp-endpoint.ts`): body-parser would parse "" as `{}`. */
  "entity.empty": { status: 400, code: JsonRpcCode.InvalidRequest, message: "Bad Request: empty body, expected a JSON-RPC message" },
  "encoding.unsupported": { status: 415, code: JsonRpcCode.ServerError, message: "Unsupported Media Type: content encoding not supported" },
  "request.aborted": { status: 400, code: JsonRpcCode.ServerError, message: "Bad Request: request aborted" },
  "request.size.invalid": { status: 400, code: JsonRpcCode.ServerError, message: "Bad Request: body size does not match Content-Length" },
  "stream.encoding.set": { status: 400, code: JsonRpcCode.ServerError, message: "Bad Request: unreadable body" },
};

/**
 * Express 5 answers an error in HTML by default; this maps body-parser's errors, and any
 * other client error (`http-errors` with a 4xx status), to JSON-RPC JSON. Input never reaches the
 * last branch; if a bug does, it is answered honestly as a 500 and logged.
 */
export function jsonRpcErrorHandler(warn: (message: string) => void): ErrorRequestHandler {
  return (err, req, res, next) => {
    if (res.headersSent) return next(err);
    const type = typeof err?.type === "string" ? err.type : "";
    const known = Object.hasOwn(BODY_ERRORS, type) ? BODY_ERRORS[type] : undefined; // R9: own keys only
    if (known) {
      const message = type === "entity.too.large" ? `${known.message}: body exceeds ${err.limit} bytes` : known.message;
      return sendJsonRpcError(res, known.status, known.code, message);
    }
    const status = Number(err?.status ?? err?.statusCode);
    if (Number.isInteger(status) && status >= 400 && status < 500) {
      return sendJsonRpcError(res, status, JsonRpcCode.ServerError, `Bad Request (${type || status})`);
    }
    // Log the class of error only, never its payload or message (either might quote a token).
    warn(`internal error on ${req.method} ${req.path}: ${err?.name ?? typeof err}`);
    sendJsonRpcError(res, 500, JsonRpcCode.InternalError, "Internal error");
  };
}
