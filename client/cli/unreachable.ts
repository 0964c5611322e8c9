/**
 * Network failures, named after the server that could not be reached. A bare `TypeError: fetch
 * failed` says neither which server nor which exchange: the client talks to two (the MCP server and
 * its authorization server), and "cannot reach the MCP server" is the wrong advice when the AS is down.
 */
import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js";
import { AuthorizationServerUnreachableError, connectionErrorCode, FetchTimeoutError, type RecordedExchange } from "../recorder.ts";

/**
 * One line saying which server could not be reached, or undefined when `error` is not a connection
 * failure: the authorization server when an AS exchange failed, else the MCP server itself.
 */
export function unreachableServerMessage(error: unknown, mcpServerUrl: string): string | undefined {
  for (let e = error, depth = 0; e && depth < 6; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof AuthorizationServerUnreachableError) return e.message;
  }
  const code = connectionErrorCode(error);
  return code ? `cannot reach the MCP server ${mcpServerUrl} (${code})` : undefined;
}

/**
 * A timeout, in one line: the MCP operation that timed out, after how long, and the HTTP request that
 * never got its answer — so a stalled authorization server is not taken for a stalled MCP server.
 * Two timers can fire: the SDK's per-request timeout (an `McpError` RequestTimeout, whose request may
 * have been waiting on the AS inside the step-up middleware), or the deadline of one AS request
 * (`FetchTimeoutError`, client/recorder.ts). `exchanges` is the client's record of the operation: its
 * first request that got no response is what it was waiting for (a later one, such as the
 * cancellation the SDK sends on a timeout, was cut short when it gave up). Undefined when not a timeout.
 */
export function timeoutMessage(
  error: unknown,
  operation: string,
  exchanges: readonly RecordedExchange[],
  mcpServerUrl: string,
): string | undefined {
  for (let e = error, depth = 0; e && depth < 6; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof FetchTimeoutError) return `${operation} timed out: ${e.message}`;
    if (e instanceof McpError && e.code === ErrorCode.RequestTimeout) {
      const ms = (e.data as { timeout?: unknown } | undefined)?.timeout;
      const after = typeof ms === "number" ? ` after ${ms} ms` : "";
      // Unanswered, whether still pending or aborted since (closing the transport aborts its requests).
      const pending = exchanges.find((x) => x.status === undefined);
      if (!pending) return `${operation} timed out${after}`;
      const server = pending.origin === new URL(mcpServerUrl).origin ? "the MCP server" : "the authorization server";
      return `${operation} timed out${after}: ${pending.method} ${pending.origin}${pending.path} got no answer from ${server}`;
    }
  }
  return undefined;
}
