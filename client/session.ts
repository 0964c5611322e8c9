/**
 * An MCP `Client` whose session survives the server forgetting it (MCP Streamable HTTP, "Session
 * Management"): "When a client receives HTTP 404 in response to a request containing an
 * `Mcp-Session-Id`, it MUST start a new session by sending a new `InitializeRequest` without a
 * session ID attached."
 *
 * A server forgets a session when it restarts, and the demo RS also answers 404 when a session is
 * used by another principal (R6) — which is what a client that had to register again has become.
 * The v1 `StreamableHTTPClientTransport` only throws `StreamableHTTPError(404)`, and a used transport
 * cannot be started again, so the renewal happens one level up, here: close the
 * transport, connect a new one over the same fetch chain (same grant, same step-up counts — no AS
 * traffic), and send the request again.
 *
 * Bounded: a request is resent at most once; one renewal serves every request that met the lost
 * session (requests in flight when it started are resent on the new session too). The normal path
 * sends nothing extra. If the renewal itself fails (the server is down, or refuses `initialize`),
 * the requests waiting for it get that error and the client stays closed: connect a new one.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { RequestOptions } from "@modelcontextprotocol/sdk/shared/protocol.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { AnySchema, SchemaOutput } from "@modelcontextprotocol/sdk/server/zod-compat.js";
import { ErrorCode, McpError, type ClientRequest, type Implementation, type Request } from "@modelcontextprotocol/sdk/types.js";

export interface SessionRenewalOptions {
  /** A new transport over the same fetch chain, for the new session. */
  newTransport: () => Transport;
  /** Options of the new session's `initialize` (its timeout). */
  connectOptions?: RequestOptions;
}

/** MCP Streamable HTTP: the server does not know the session the request carried. */
export function isSessionNotFound(error: unknown): boolean {
  return error instanceof StreamableHTTPError && error.code === 404;
}

export class SessionRenewingClient extends Client {
  /** Bumped when a renewal starts: a request sent under an older generation was on the lost session. */
  private generation = 0;
  private renewal?: Promise<void>;

  private readonly renewalOptions: SessionRenewalOptions;

  constructor(clientInfo: Implementation, renewalOptions: SessionRenewalOptions) {
    super(clientInfo);
    this.renewalOptions = renewalOptions;
  }

  override async request<T extends AnySchema>(
    request: ClientRequest | Request,
    resultSchema: T,
    options?: RequestOptions,
  ): Promise<SchemaOutput<T>> {
    // A request made while the session is being renewed waits for the new one. (`initialize` is the
    // renewal's own request: it must not wait for itself.)
    if (this.renewal && request.method !== "initialize") await this.renewal.catch(() => {});
    const generation = this.generation;
    const sessionId = this.transport?.sessionId;
    try {
      return await super.request(request, resultSchema, options);
    } catch (error) {
      // Only a request that carried a session: a 404 for it, or closed under it by a renewal.
      const lost = isSessionNotFound(error) || (generation !== this.generation && isConnectionClosed(error));
      if (sessionId === undefined || !lost) throw error;
      await this.renewSession(generation);
      return super.request(request, resultSchema, options); // once: a second failure is the caller's
    }
  }

  /** Start a new session, once per lost session; every request that lost it waits for the same one. */
  private renewSession(generation: number): Promise<void> {
    if (generation !== this.generation && this.renewal) return this.renewal; // another request renewed it
    this.generation++;
    this.renewal = (async () => {
      await this.close(); // the server no longer knows the session: there is nothing to DELETE
      await this.connect(this.renewalOptions.newTransport(), this.renewalOptions.connectOptions);
    })();
    return this.renewal;
  }
}

/** The SDK's answer to a request whose transport was closed before a response came. */
function isConnectionClosed(error: unknown): boolean {
  return error instanceof McpError && error.code === ErrorCode.ConnectionClosed;
}
