/**
 * Wiring: an MCP `Client` over `StreamableHTTPClientTransport` whose `fetch` is
 *
 *   withStepUp(authorizer)  →  recorder.fetch  →  the network
 *
 * and **no `authProvider`** (C4): every 401/403 branch of the v1 transport is guarded by the
 * provider, so the SDK's own 403 handling (replace the scope, refresh first) can never run. The
 * recorder is the innermost fetch here and, with a timeout, the `fetchFn` of every auth primitive.
 * The `Client` starts a new MCP session when the server no longer knows its own (session.ts),
 * over a new transport on the same fetch chain.
 * What it needs from a server (C7): RFC 9728 metadata that names the AS, and an AS with PKCE S256 and
 * either DCR (RFC 7591) or a pre-registered client (`--client-id`). Headless by default, which needs
 * an `/authorize` that approves at once with a `302` (provider.ts has no browser: a login or consent
 * page is "not a 302"); `--browser` lets a person log in instead.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { Authorizer } from "./authorizer.ts";
import type { BrowserLogin } from "./browser-login.ts";
import type { PreRegisteredClient } from "./client-auth.ts";
import { HeadlessOAuthClientProvider } from "./provider.ts";
import { ExchangeRecorder, withTimeout } from "./recorder.ts";
import { SessionRenewingClient } from "./session.ts";
import { withStepUp, type StepUpMiddleware } from "../step-up/index.ts";
import type { StepUpTeaching } from "../step-up/step-up.ts"; // teaching only: the --break switches, not the public API

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
  /** C7 `--browser`: a person authorizes in a browser, the redirect comes back to its loopback listener. */
  browser?: BrowserLogin;
  /** C7 `--client-id`/`--client-secret`: a client registered with the AS beforehand (no DCR). */
  preRegistered?: PreRegisteredClient;
  /**
   * Teaching only (`pnpm demo --break RULE`): break one step-up rule on purpose, or, with "stock-sdk",
   * let the v1 SDK's own `authProvider` path handle 401 and 403 instead of the step-up middleware.
   */
  breakRule?: StepUpTeaching["breakRule"] | "stock-sdk";
}

export interface McpClientHandle {
  client: SessionRenewingClient;
  /** The transport of the current MCP session (a new one after the session was renewed). */
  readonly transport: StreamableHTTPClientTransport;
  authorizer: Authorizer;
  /** The step-up middleware in the fetch chain (it keeps the requested set, C4.4). */
  stepUp: StepUpMiddleware;
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
    browser: options.browser,
  });
  const authorizer = new Authorizer({
    serverUrl: options.serverUrl,
    provider,
    fetchFn: authFetch,
    preRegistered: options.preRegistered,
  });
  const { breakRule } = options;
  const stockSdk = breakRule === "stock-sdk";
  const stepUp = withStepUp(
    authorizer,
    { resource: options.serverUrl, onInsufficientScope: options.onInsufficientScope, maxStepUpAttempts: options.maxStepUpAttempts },
    { breakRule: stockSdk ? undefined : breakRule }, // teaching only (pnpm demo --break RULE)
  );
  const fetchWithStepUp = stepUp(recorder.fetch);

  // No authProvider, on purpose (see the header). A failed connect() leaves the v1 transport
  // unusable, so a retry needs a new client from this function.
  // BROKEN under --break stock-sdk: the SDK's own authProvider path, whose 403 branch replaces the scope.
  const transportOptions = stockSdk ? { authProvider: provider, fetch: recorder.fetch } : { fetch: fetchWithStepUp };
  const newTransport = () => new StreamableHTTPClientTransport(new URL(options.serverUrl), transportOptions);
  const connectOptions = options.requestTimeoutMs ? { timeout: options.requestTimeoutMs } : undefined;
  let transport = newTransport();
  const client = new SessionRenewingClient(
    { name: options.clientName ?? "scoped-tools headless client", version: "0.1.0" },
    { newTransport: () => (transport = newTransport()), connectOptions },
  );
  return {
    client,
    get transport() {
      return transport;
    },
    authorizer,
    stepUp,
    recorder,
    connect: async () => {
      try {
        await client.connect(transport, connectOptions);
      } catch (error) {
        await transport.close().catch(() => {});
        if (!stockSdk || !(error instanceof UnauthorizedError)) throw error;
        // The v1 SDK's own flow: its auth() "redirected" (the headless provider followed the 302 and kept
        // the code), so the code goes to finishAuth and a new transport connects with the tokens.
        await transport.finishAuth(provider.takeAuthorizationCode());
        transport = newTransport();
        await client.connect(transport, connectOptions);
        await authorizer.discover(); // what the SDK found is not shared: the story's checks need it too
      }
    },
    close: async () => {
      // MCP Streamable HTTP: a client that is done SHOULD end its session with DELETE — but a stalled
      // server must not keep it waiting: after the request timeout, closing the transport aborts the DELETE.
      if (transport.sessionId) {
        const ended = transport.terminateSession().catch(() => {});
        await Promise.race([ended, sleep(options.requestTimeoutMs ?? DEFAULT_AUTH_TIMEOUT_MS, undefined, { ref: false })]);
      }
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
