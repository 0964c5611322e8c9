/**
 * `pnpm client --call TOOL [--args JSON] [URL]` (C7): one tool call against any MCP server, through the
 * same client as the story — discovery, DCR, step-up — plus what real servers need: a person's login
 * (`--browser`), a client registered beforehand (`--client-id`), and one-line failures.
 *
 * Exit codes: 0 the call succeeded · 1 it failed (a JSON-RPC or HTTP error, `isError`, a refused step-up)
 * · 2 a server could not be reached, or not in time (the line says which and how long).
 *
 * Everything this mode prints goes through `print`: the servers chose most of it (tool results, error
 * messages and descriptions, the exchanges of `--verbose`), so control characters are shown escaped (B4).
 */
import { StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { ClientConfig } from "../../shared/config.ts";
import { Authorizer } from "../authorizer.ts";
import { connectClient, type McpClientHandle } from "../connect.ts";
import { ExchangeRecorder, type RecordedExchange } from "../recorder.ts";
import { terminalText } from "../../shared/terminal-text.ts";
import { InsufficientScopeError } from "../step-up/index.ts";
import { describeExchange } from "../wire.ts";
import { BrowserLoginTimeoutError } from "./browser-login.ts";
import { startLogin, type LoginValues } from "./login-options.ts";
import { preRegisteredClient } from "./pre-registered.ts";
import { timeoutMessage, unreachableServerMessage } from "./unreachable.ts";

export interface CallArgs extends LoginValues {
  serverUrl: string;
  tool: string;
  toolArgs: Record<string, unknown>;
  verbose?: boolean;
}

/** One line (or, with `lines`, a block of text a tool returned) on stdout or stderr, nothing raw (B4). */
function print(stream: "stdout" | "stderr", text: string, { lines = false }: { lines?: boolean } = {}): void {
  process[stream].write(`${terminalText(text, { lines })}\n`);
}

export async function callTool(args: CallArgs, settings: ClientConfig): Promise<number> {
  const { serverUrl, tool } = args;
  const recorder = new ExchangeRecorder({
    onExchange: args.verbose ? (e) => print("stderr", `  ${e.origin} ${describeExchange(e, { serverUrl })}`) : undefined,
  });
  const login = await startLogin(args, settings, (line) => print("stderr", line));
  const { browser, preRegistered, requestTimeoutMs } = login;
  // What bounds a request, for a timeout's message: with a browser, the person's waits count too.
  const timeoutSetting = browser ? "CLIENT_TIMEOUT_MS + CLIENT_BROWSER_TIMEOUT_MS" : "CLIENT_TIMEOUT_MS";
  const authorizer = (fetch: ConstructorParameters<typeof Authorizer>[0]["fetch"]) =>
    new Authorizer({
      serverUrl,
      fetch,
      redirectUri: browser?.redirectUri,
      userAgent: browser ? (url) => browser.waitForRedirect(url) : undefined,
      registeredClient: preRegistered ? preRegisteredClient(preRegistered) : undefined,
    });
  let handle: McpClientHandle;
  try {
    handle = await connectClient({ serverUrl, recorder, authorizer, authTimeoutMs: settings.clientTimeoutMs, requestTimeoutMs });
  } catch (error) {
    await login.close();
    return failed(error, "connecting (initialize)", recorder.exchanges, serverUrl, timeoutSetting);
  }
  const mark = recorder.mark();
  let answering = true;
  try {
    const result = await handle.client.callTool({ name: tool, arguments: args.toolArgs }, undefined, { timeout: requestTimeoutMs });
    for (const item of Array.isArray(result.content) ? result.content : []) {
      print("stdout", item.type === "text" ? item.text : JSON.stringify(item), { lines: true });
    }
    if (result.structuredContent !== undefined) print("stdout", JSON.stringify(result.structuredContent, null, 2), { lines: true });
    if (result.isError === true) {
      print("stderr", `client: ${tool} reported an error (isError)`);
      return 1;
    }
    return 0;
  } catch (error) {
    if (!(error instanceof InsufficientScopeError)) {
      const code = failed(error, `tools/call ${tool}`, recorder.since(mark), serverUrl, timeoutSetting);
      answering = code !== 2;
      return code;
    }
    print(
      "stderr",
      `client: ${tool} refused — insufficient_scope (${error.reason}): needs "${error.requiredScope}", ` +
        `the token has "${error.grantedScope}" after ${error.attempts} step-up attempt(s)` +
        `${error.errorDescription ? `; server says: ${error.errorDescription}` : ""}` +
        `${(error.cause as { error?: unknown } | undefined)?.error === "access_denied" ? "; the authorization was denied (access_denied)" : ""}`,
    );
    return 1;
  } finally {
    // Ending the session (DELETE) is a courtesy; a server that did not answer in time is not asked again.
    await (answering ? handle.close() : handle.client.close());
    await login.close();
  }
}

/**
 * `operation` failed: one line on stderr, never a stack trace (C7). A server that could not be reached,
 * or not in time, is exit 2 — say which one, and for a timeout which request and how long; anything
 * else (a JSON-RPC error, an HTTP error status, a refused discovery) is the server's message, exit 1.
 */
function failed(error: unknown, operation: string, exchanges: RecordedExchange[], serverUrl: string, setting: string): number {
  const unreachable = unreachableServerMessage(error, serverUrl);
  const timedOut = timeoutMessage(error, operation, exchanges, serverUrl);
  if (unreachable || timedOut || error instanceof BrowserLoginTimeoutError) {
    print("stderr", `client: ${unreachable ?? (timedOut ? `${timedOut} (${setting})` : (error as Error).message)}`);
    return 2;
  }
  const status = error instanceof StreamableHTTPError && (error.code ?? 0) > 0 ? `HTTP ${error.code}: ` : "";
  const message = (error instanceof Error ? error.message : String(error)).trim().replace(/\s*\n+\s*/g, " — ");
  print("stderr", `client: ${status}${message}`);
  return 1;
}
