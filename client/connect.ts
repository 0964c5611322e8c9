/**
 * Wiring: an MCP `Client` over `StreamableHTTPClientTransport` whose `fetch` is
 *
 *   withStepUp(authorizer)  →  recorder.fetch  →  the network
 *
 * and **no `authProvider`** (SPEC §5.1): every 401/403 branch of the v1 transport is guarded by the
 * provider, so the SDK's own 403 handling (replace the scope, refresh first) can never run. The
 * recorder is the innermost fetch here and, with a timeout, the `fetchFn` of every auth primitive.
 * Nothing here assumes the demo's servers: any MCP endpoint whose AS supports DCR and PKCE will do.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { Authorizer } from "./authorizer.ts";
import { HeadlessOAuthClientProvider } from "./provider.ts";
import { ExchangeRecorder, withTimeout } from "./recorder.ts";
import { withStepUp } from "./step-up.ts";

export interface ConnectOptions {
  /** The MCP endpoint, e.g. http://127.0.0.1:3000/mcp. */
  serverUrl: string;
  /** Share one recorder across clients (the story does); default: a new one. */
  recorder?: ExchangeRecorder;
  /** C4.6: "throw" disables step-up. Default "reauthorize". */
  onInsufficientScope?: "reauthorize" | "throw";
  /** C4.5: default 2. */
  maxStepUpAttempts?: number;
  /** Deadline of `initialize` (which includes the first authorization). Default: the SDK's 60 s. */
  requestTimeoutMs?: number;
  /** Deadline for each request to the AS (the primitives take no abort signal). Default 10 s. */
  authTimeoutMs?: number;
  redirectUri?: string;
  clientName?: string;
}

export interface McpClientHandle {
  client: Client;
  transport: StreamableHTTPClientTransport;
  authorizer: Authorizer;
  recorder: ExchangeRecorder;
  /** Runs initialize (meeting the first 401, and so the whole authorization, on the way). */
  connect(): Promise<void>;
  /** Ends the MCP session (DELETE) and closes the transport. */
  close(): Promise<void>;
}

export const DEFAULT_AUTH_TIMEOUT_MS = 10_000;

/** Build the client, its authorizer and its fetch chain, without connecting yet. */
export function createMcpClient(options: ConnectOptions): McpClientHandle {
  const recorder = options.recorder ?? new ExchangeRecorder();
  const authFetch = withTimeout(recorder.fetch, options.authTimeoutMs ?? DEFAULT_AUTH_TIMEOUT_MS);
  const provider = new HeadlessOAuthClientProvider({
    fetchFn: authFetch,
    redirectUri: options.redirectUri,
    clientName: options.clientName,
  });
  const authorizer = new Authorizer({ serverUrl: options.serverUrl, provider, fetchFn: authFetch });
  const fetchWithStepUp = withStepUp(authorizer, {
    resource: options.serverUrl,
    onInsufficientScope: options.onInsufficientScope,
    maxStepUpAttempts: options.maxStepUpAttempts,
  })(recorder.fetch);

  // No authProvider, on purpose (see the header). A failed connect() leaves the v1 transport
  // unusable, so a retry needs a new client from this function.
  const transport = new StreamableHTTPClientTransport(new URL(options.serverUrl), { fetch: fetchWithStepUp });
  const client = new Client({ name: options.clientName ?? "scoped-tools headless client", version: "0.1.0" });
  return {
    client,
    transport,
    authorizer,
    recorder,
    connect: async () => {
      try {
        await client.connect(transport, options.requestTimeoutMs ? { timeout: options.requestTimeoutMs } : undefined);
      } catch (error) {
        await transport.close().catch(() => {});
        throw error;
      }
    },
    close: async () => {
      // MCP Streamable HTTP: a client that is done SHOULD end its session with DELETE.
      if (transport.sessionId) await transport.terminateSession().catch(() => {});
      await client.close().catch(() => {});
    },
  };
}

/** `createMcpClient` + `connect()`. */
export async function connectClient(options: ConnectOptions): Promise<McpClientHandle> {
  const handle = createMcpClient(options);
  await handle.connect();
  return handle;
}

/** Did a request fail because nothing answered at that address (as opposed to a protocol error)? */
export function isConnectionError(error: unknown): boolean {
  for (let e = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && CONNECTION_ERRORS.has(code)) return true;
  }
  return false;
}
const CONNECTION_ERRORS = new Set(["ECONNREFUSED", "ECONNRESET", "EHOSTUNREACH", "ENOTFOUND", "EAI_AGAIN", "UND_ERR_CONNECT_TIMEOUT"]);
