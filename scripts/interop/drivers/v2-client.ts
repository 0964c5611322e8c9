/**
 * Interop driver for the official v2 client package, `@modelcontextprotocol/client` — used as its
 * documentation tells a host application to use it, nothing more:
 *
 * - `StreamableHTTPClientTransport` with an `OAuthClientProvider` (defaults everywhere: the transport's
 *   own step-up, `onInsufficientScope: "reauthorize"`, its own retry cap);
 * - the provider's `redirectToAuthorization(url)` is where a host opens the browser: here the loopback
 *   opener navigates to the client's `redirect_uri`, as an embedded browser would;
 * - when a call rejects with `UnauthorizedError` and an authorization was opened, the host finishes it
 *   (`transport.finishAuth(callback parameters)`) and retries the call once.
 *
 * Usage: `node --import tsx scripts/interop/drivers/v2-client.ts RESOURCE_URL STEP_TIMEOUT_MS`.
 * Prints step marks on stdout (see ../steps.ts); the harness judges from the servers' exchange events.
 */
import {
  Client,
  StreamableHTTPClientTransport,
  UnauthorizedError,
  type OAuthClientMetadata,
  type OAuthClientProvider,
  type OAuthDiscoveryState,
  type StoredOAuthClientInformation,
  type StoredOAuthTokens,
} from "@modelcontextprotocol/client";
import { navigateLoopback } from "../opener.ts";
import { runSteps, toolResultText, type DrivenClient } from "../steps.ts";

const [resourceUrl, stepTimeout] = process.argv.slice(2);
if (!resourceUrl || !stepTimeout) {
  process.stderr.write("usage: v2-client.ts RESOURCE_URL STEP_TIMEOUT_MS\n");
  process.exit(2);
}

// RFC 8252 §7.3: a loopback redirect URI; the AS accepts any port. Nothing listens on it: the opener
// stops there and hands the parameters to the host, which is what an embedded browser does.
const REDIRECT_URI = "http://127.0.0.1:8976/callback";

/** An in-memory provider: one user, one server, as a desktop host keeps it for a session. */
class HostProvider implements OAuthClientProvider {
  #client?: StoredOAuthClientInformation;
  #tokens?: StoredOAuthTokens;
  #codeVerifier?: string;
  #discovery?: OAuthDiscoveryState;
  /** The callback URL of the authorization the "browser" last completed, until the host finishes it. */
  pendingCallback?: URL;

  get redirectUrl(): string {
    return REDIRECT_URI;
  }
  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: "pnpm interop (@modelcontextprotocol/client)",
      redirect_uris: [REDIRECT_URI],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  }
  clientInformation() {
    return this.#client;
  }
  saveClientInformation(info: StoredOAuthClientInformation) {
    this.#client = info;
  }
  tokens() {
    return this.#tokens;
  }
  saveTokens(tokens: StoredOAuthTokens) {
    this.#tokens = tokens;
  }
  saveCodeVerifier(verifier: string) {
    this.#codeVerifier = verifier;
  }
  codeVerifier() {
    if (!this.#codeVerifier) throw new Error("no code_verifier saved");
    return this.#codeVerifier;
  }
  saveDiscoveryState(state: OAuthDiscoveryState) {
    this.#discovery = state;
  }
  discoveryState() {
    return this.#discovery;
  }
  async redirectToAuthorization(authorizationUrl: URL) {
    const stopAtRedirect = (url: URL) => url.origin + url.pathname === new URL(REDIRECT_URI).origin + new URL(REDIRECT_URI).pathname;
    const { finalUrl } = await navigateLoopback(authorizationUrl.href, stopAtRedirect);
    this.pendingCallback = stopAtRedirect(finalUrl) ? finalUrl : undefined;
  }
}

function driven(url: URL): DrivenClient {
  const provider = new HostProvider();
  let transport = new StreamableHTTPClientTransport(url, { authProvider: provider });
  let client = new Client({ name: "pnpm-interop", version: "1.0.0" });

  /** Finish the authorization the browser completed, if any; false when there is none to finish. */
  async function finishPendingAuthorization(): Promise<boolean> {
    const callback = provider.pendingCallback;
    provider.pendingCallback = undefined;
    if (!callback) return false;
    await transport.finishAuth(callback.searchParams);
    return true;
  }

  return {
    async connect() {
      try {
        await client.connect(transport);
      } catch (error) {
        if (!(error instanceof UnauthorizedError) || !(await finishPendingAuthorization())) throw error;
        // A transport whose connect failed is not restarted: a new one, with the tokens just saved.
        transport = new StreamableHTTPClientTransport(url, { authProvider: provider });
        client = new Client({ name: "pnpm-interop", version: "1.0.0" });
        await client.connect(transport);
      }
    },
    async callTool(name, args) {
      const call = () => client.callTool({ name, arguments: args });
      let result;
      try {
        result = await call();
      } catch (error) {
        if (!(error instanceof UnauthorizedError) || !(await finishPendingAuthorization())) throw error;
        result = await call(); // the host retries once after the user authorized
      }
      return toolResultText(result);
    },
    async close() {
      await client.close();
    },
  };
}

const client = driven(new URL(resourceUrl));
await runSteps(client, Number(stepTimeout));
await client.close().catch(() => {});
process.exit(0);
