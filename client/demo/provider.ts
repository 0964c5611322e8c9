/**
 * A headless `OAuthClientProvider` (C1, C2): the SDK's provider shape — storage for the registration,
 * tokens, PKCE verifier and discovery state — plus a `redirectToAuthorization` that needs no browser.
 * It "opens" the authorization URL by fetching it with `redirect: "manual"` and reads the AS's `302`
 * (authorization-response.ts checks it); the redirect is never followed, so nothing listens on the loopback
 * redirect URI. The demo AS consents automatically; a real AS would show a login page instead, which
 * this provider reports as "not a 302". With a `BrowserLogin` (`--browser`, C7) a person opens the URL
 * instead, and the redirect their browser brings back goes through the same checks.
 */
import { randomBytes } from "node:crypto";
import type { OAuthClientProvider, OAuthDiscoveryState } from "@modelcontextprotocol/sdk/client/auth.js";
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from "@modelcontextprotocol/sdk/shared/auth.js";
import type { FetchLike } from "@modelcontextprotocol/sdk/shared/transport.js";
import {
  AuthorizationResponseError,
  checkAuthorizationRedirect,
  readAuthorizationResponse,
  type AuthorizationExpectation,
} from "./authorization-response.ts";
import type { BrowserLogin } from "./browser-login.ts";
import { reachingAuthorizationServer } from "./unreachable.ts";

/**
 * RFC 8252 §7.3: a native app's loopback redirect URI. The AS must accept any port for a loopback IP
 * literal; nothing listens on this one, because the redirect is read from `Location`, never followed.
 */
export const DEFAULT_REDIRECT_URI = "http://127.0.0.1:8976/callback";

/** RFC 7591 client metadata, with SEP-837's `application_type` (not in the v1 SDK's type). */
export type NativeClientMetadata = OAuthClientMetadata & { application_type: "native" };

export interface HeadlessProviderOptions {
  /** Sends the authorization request (recorded, with a timeout). */
  fetchFn: FetchLike;
  redirectUri?: string;
  clientName?: string;
  /** C7 `--browser`: a person authorizes in a browser; the redirect URI is its loopback listener's. */
  browser?: BrowserLogin;
}

export class HeadlessOAuthClientProvider implements OAuthClientProvider {
  private readonly fetchFn: FetchLike;
  private readonly redirectUri: string;
  private readonly clientName: string;
  private readonly browser?: BrowserLogin;
  private client?: OAuthClientInformationMixed;
  private tokenSet?: OAuthTokens;
  private verifier?: string;
  private pendingState?: string;
  private code?: string;
  private discovery?: OAuthDiscoveryState;

  constructor(options: HeadlessProviderOptions) {
    this.fetchFn = options.fetchFn;
    this.browser = options.browser;
    this.redirectUri = options.redirectUri ?? options.browser?.redirectUri ?? DEFAULT_REDIRECT_URI;
    this.clientName = options.clientName ?? "scoped-tools headless client";
  }

  get redirectUrl(): string {
    return this.redirectUri;
  }

  /** C2: a public native client on a loopback redirect, asking for refresh tokens. */
  get clientMetadata(): NativeClientMetadata {
    return {
      client_name: this.clientName,
      redirect_uris: [this.redirectUri],
      application_type: "native",
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  }

  /** A fresh, unguessable `state` per authorization request (RFC 6749 §10.12). */
  state(): string {
    this.pendingState = randomBytes(16).toString("base64url");
    return this.pendingState;
  }

  clientInformation(): OAuthClientInformationMixed | undefined {
    return this.client;
  }
  saveClientInformation(client: OAuthClientInformationMixed): void {
    this.client = client;
  }

  tokens(): OAuthTokens | undefined {
    return this.tokenSet;
  }
  saveTokens(tokens: OAuthTokens): void {
    this.tokenSet = tokens;
  }

  saveCodeVerifier(codeVerifier: string): void {
    this.verifier = codeVerifier;
  }
  codeVerifier(): string {
    if (!this.verifier) throw new Error("no PKCE code_verifier saved for this authorization");
    return this.verifier;
  }

  saveDiscoveryState(state: OAuthDiscoveryState): void {
    this.discovery = state;
  }
  discoveryState(): OAuthDiscoveryState | undefined {
    return this.discovery;
  }

  invalidateCredentials(scope: "all" | "client" | "tokens" | "verifier" | "discovery"): void {
    if (scope === "all" || scope === "client") this.client = undefined;
    if (scope === "all" || scope === "tokens") this.tokenSet = undefined;
    if (scope === "all" || scope === "verifier") this.verifier = undefined;
    if (scope === "all" || scope === "discovery") this.discovery = undefined;
  }

  /**
   * The user agent: headless, fetch the authorization URL without following the redirect; with a
   * browser, wait for the redirect at the loopback listener. Then check the authorization response
   * (our redirect_uri, state, RFC 9207 iss) and keep the `code`.
   */
  async redirectToAuthorization(authorizationUrl: URL): Promise<void> {
    // C1: only http(s) is ever opened — never a `javascript:`, `file:` or custom-scheme URL from metadata.
    if (authorizationUrl.protocol !== "http:" && authorizationUrl.protocol !== "https:") {
      throw new AuthorizationResponseError(`refusing to open a ${authorizationUrl.protocol} authorization URL`);
    }
    const metadata = this.discovery?.authorizationServerMetadata;
    const expectedState = this.pendingState;
    if (!metadata || !expectedState) throw new Error("redirectToAuthorization before discovery and state()");
    this.pendingState = undefined; // single use
    this.code = undefined;
    const expected: AuthorizationExpectation = {
      redirectUri: this.redirectUri,
      expectedState,
      issuer: {
        issuer: metadata.issuer,
        issParameterSupported:
          (metadata as { authorization_response_iss_parameter_supported?: unknown })
            .authorization_response_iss_parameter_supported === true,
      },
    };
    if (this.browser) {
      this.code = checkAuthorizationRedirect(await this.browser.waitForRedirect(authorizationUrl), expected).code;
      return;
    }

    const fetchFn = reachingAuthorizationServer(this.fetchFn, metadata.issuer);
    const response = await fetchFn(authorizationUrl, { method: "GET", redirect: "manual" });
    const bodyText = response.status === 302 ? undefined : await response.text().catch(() => undefined);
    await response.body?.cancel().catch(() => {});
    const { code } = readAuthorizationResponse({
      ...expected,
      status: response.status,
      location: response.headers.get("location"),
      authorizationUrl,
      bodyText,
    });
    this.code = code;
  }

  /** The code from the last authorization response; it can be taken once. */
  takeAuthorizationCode(): string {
    const code = this.code;
    this.code = undefined;
    if (!code) throw new Error("no authorization code: redirectToAuthorization did not complete");
    return code;
  }
}
