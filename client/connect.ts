/**
 * An MCP client whose every request goes through step-up:
 *
 *   Client → StreamableHTTPClientTransport → withStepUp(authorizer) → recorder.fetch → the network
 *
 * and **no `authProvider`** (C4): every 401/403 branch of the v1 transport is guarded by the provider,
 * so the SDK's own 403 handling (replace the scope, refresh first) never runs. The recorder is the
 * innermost fetch here and, with a timeout, the fetch of every auth primitive the authorizer sends (C6).
 * When the server no longer knows the session, the client starts a new one over the same fetch chain
 * (session.ts).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { FetchLike } from "@modelcontextprotocol/sdk/shared/transport.js";
import { Authorizer } from "./authorizer.ts";
import { ExchangeRecorder, namingTheAuthorizationServer, withTimeout } from "./recorder.ts";
import { SessionRenewingClient } from "./session.ts";
import { withStepUp, type StepUpMiddleware } from "./step-up/index.ts";

/** Deadline of each request to the AS (the SDK's auth primitives take no abort signal). */
export const DEFAULT_AUTH_TIMEOUT_MS = 10_000;

export interface ConnectOptions {
  /** The MCP endpoint, e.g. http://127.0.0.1:3000/mcp. */
  serverUrl: string;
  /** Share one recorder across clients (the story does); default: a new one. */
  recorder?: ExchangeRecorder;
  /** The client's authorizer, given the fetch its exchanges go through; default: a DCR client of `serverUrl`. */
  authorizer?: (fetch: FetchLike) => Authorizer;
  /** C4.6: "throw" disables step-up. Default "reauthorize". */
  onInsufficientScope?: "reauthorize" | "throw";
  /** C4.5: default 2. */
  maxStepUpAttempts?: number;
  /** Deadline of each MCP request (`initialize` includes the first authorization). Default: the SDK's 60 s. */
  requestTimeoutMs?: number;
  /** Deadline for each request to the AS. Default 10 s. */
  authTimeoutMs?: number;
  clientName?: string;
}

export interface McpClientHandle {
  client: SessionRenewingClient;
  /** The transport of the current MCP session (a new one after the session was renewed). */
  readonly transport: StreamableHTTPClientTransport;
  authorizer: Authorizer;
  /** The step-up middleware in the fetch chain (it keeps the requested set, C4.4). */
  stepUp?: StepUpMiddleware;
  recorder: ExchangeRecorder;
  /** Runs `initialize` (meeting the first 401, and so the whole authorization, on the way). */
  connect(): Promise<void>;
  /** Ends the MCP session (DELETE) and closes the transport. */
  close(): Promise<void>;
}

/** Build the client, its authorizer and its fetch chain, without connecting yet. */
export function createMcpClient(options: ConnectOptions): McpClientHandle {
  const { serverUrl, clientName } = options;
  const recorder = options.recorder ?? new ExchangeRecorder();
  const authFetch = namingTheAuthorizationServer(withTimeout(recorder.fetch, options.authTimeoutMs ?? DEFAULT_AUTH_TIMEOUT_MS), serverUrl);
  const authorizer = options.authorizer?.(authFetch) ?? new Authorizer({ serverUrl, fetch: authFetch, clientName });
  const stepUp = withStepUp(authorizer, {
    resource: serverUrl,
    onInsufficientScope: options.onInsufficientScope,
    maxStepUpAttempts: options.maxStepUpAttempts,
  });
  // No authProvider, on purpose (see the header). A failed connect() leaves the v1 transport unusable,
  // so each session gets a transport of its own.
  const newTransport = () => new StreamableHTTPClientTransport(new URL(serverUrl), { fetch: stepUp(recorder.fetch) });
  return sessionHandle({ ...options, recorder, authorizer, newTransport, stepUp });
}

/** `createMcpClient` + `connect()`. */
export async function connectClient(options: ConnectOptions): Promise<McpClientHandle> {
  const handle = createMcpClient(options);
  await handle.connect();
  return handle;
}

/** The handle around a transport factory: the client and its session renewal, connect and close. */
export function sessionHandle(parts: {
  recorder: ExchangeRecorder;
  authorizer: Authorizer;
  stepUp?: StepUpMiddleware;
  newTransport: () => StreamableHTTPClientTransport;
  clientName?: string;
  requestTimeoutMs?: number;
}): McpClientHandle {
  const connectOptions = parts.requestTimeoutMs ? { timeout: parts.requestTimeoutMs } : undefined;
  let transport = parts.newTransport();
  const client = new SessionRenewingClient(
    { name: parts.clientName ?? "scoped-tools headless client", version: "0.1.0" },
    { newTransport: () => (transport = parts.newTransport()), connectOptions },
  );
  return {
    client,
    get transport() {
      return transport;
    },
    authorizer: parts.authorizer,
    stepUp: parts.stepUp,
    recorder: parts.recorder,
    connect: async () => {
      try {
        await client.connect(transport, connectOptions);
      } catch (error) {
        // A v1 transport whose connect() failed cannot start again: the next attempt gets a new one.
        await transport.close().catch(() => {});
        transport = parts.newTransport();
        throw error;
      }
    },
    close: async () => {
      // MCP Streamable HTTP: a client that is done SHOULD end its session with DELETE — but a stalled
      // server must not keep it waiting: after the request timeout, closing the transport aborts the DELETE.
      if (transport.sessionId) {
        const ended = transport.terminateSession().catch(() => {});
        await Promise.race([ended, sleep(parts.requestTimeoutMs ?? DEFAULT_AUTH_TIMEOUT_MS, undefined, { ref: false })]);
      }
      await client.close().catch(() => {});
    },
  };
}
