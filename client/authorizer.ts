/**
 * Talking to the authorization server, one block per protocol exchange, with the SDK's exported
 * primitives rather than `auth()` (which refreshes whenever it can, re-authorizes silently on some
 * refresh failures and registers with the initial scope — SPEC §5.1):
 *
 *   discoverOAuthServerInfo (RFC 9728 PRM → RFC 8414 AS metadata) → registerClient (RFC 7591)
 *   → startAuthorization (PKCE S256, state, resource) → headless follow (provider.ts)
 *   → exchangeAuthorization | refreshAuthorization (with `resource`, RFC 8707)
 *
 * It implements `StepUpAuthorizer`: step-up.ts decides *when* to authorize or refresh, this file *how*.
 */
import {
  discoverOAuthServerInfo,
  exchangeAuthorization,
  refreshAuthorization,
  registerClient,
  selectResourceURL,
  startAuthorization,
} from "@modelcontextprotocol/sdk/client/auth.js";
import type { AuthorizationServerMetadata, OAuthClientInformationMixed, OAuthTokens } from "@modelcontextprotocol/sdk/shared/auth.js";
import { OAuthError } from "@modelcontextprotocol/sdk/server/auth/errors.js";
import type { FetchLike } from "@modelcontextprotocol/sdk/shared/transport.js";
import { formatScope, parseScope } from "../shared/scopes.ts";
import type { HeadlessOAuthClientProvider, NativeClientMetadata } from "./provider.ts";
import type { StepUpAuthorizer } from "./step-up.ts";

/** What discovery established, fixed for the life of the client. */
export interface Discovered {
  issuer: string;
  metadata: AuthorizationServerMetadata;
  /** The PRM's `resource`, sent unchanged (`URL.href` would add a trailing `/`). */
  resource: string;
  resourceMetadataUrl?: string;
  scopesSupported: string[];
}

export interface AuthorizerOptions {
  /** The MCP endpoint the client connects to. */
  serverUrl: string;
  provider: HeadlessOAuthClientProvider;
  /** Recorded, with a timeout: used by every primitive. */
  fetchFn: FetchLike;
}

export class Authorizer implements StepUpAuthorizer {
  private readonly serverUrl: string;
  private readonly provider: HeadlessOAuthClientProvider;
  private readonly fetchFn: FetchLike;
  private discovered?: Discovered;
  private requested: string[] = [];
  private granted: string[] = [];

  constructor(options: AuthorizerOptions) {
    this.serverUrl = options.serverUrl;
    this.provider = options.provider;
    this.fetchFn = options.fetchFn;
  }

  accessToken(): string | undefined {
    return this.provider.tokens()?.access_token || undefined;
  }
  grantedScope(): string[] {
    return [...this.granted];
  }
  requestedScope(): string[] {
    return [...this.requested];
  }
  setRequestedScope(scope: string[]): void {
    this.requested = parseScope(scope);
  }
  canRefresh(): boolean {
    return Boolean(this.provider.tokens()?.refresh_token);
  }

  /** Discovery results, once known (for narration and verification). */
  get discovery(): Discovered | undefined {
    return this.discovered;
  }
  get client(): OAuthClientInformationMixed | undefined {
    return this.provider.clientInformation();
  }
  get tokens(): OAuthTokens | undefined {
    return this.provider.tokens();
  }
  /** The RFC 7591 metadata this client registers with (C2). */
  get clientMetadata(): NativeClientMetadata {
    return this.provider.clientMetadata;
  }

  /** Forget the access token but keep the grant (the refresh token): the next call meets a 401 (D4). */
  forgetAccessToken(): void {
    const tokens = this.provider.tokens();
    if (tokens) this.provider.saveTokens({ ...tokens, access_token: "" });
  }

  async authorize(scope: string[], hint: { resourceMetadataUrl?: string } = {}): Promise<void> {
    const d = await this.discover(hint.resourceMetadataUrl);
    const clientInformation = await this.register(d);
    // C3: the challenge's scope (carried in `scope`), else the PRM's scopes_supported, else none.
    const requested = scope.length > 0 ? parseScope(scope) : d.scopesSupported;
    const { authorizationUrl, codeVerifier } = await startAuthorization(d.issuer, {
      metadata: d.metadata,
      clientInformation,
      redirectUrl: this.provider.redirectUrl,
      scope: formatScope(requested) || undefined,
      state: this.provider.state(),
      resource: d.resource, // RFC 8707 §2.1
    });
    this.provider.saveCodeVerifier(codeVerifier);
    await this.provider.redirectToAuthorization(authorizationUrl);
    const tokens = await exchangeAuthorization(d.issuer, {
      metadata: d.metadata,
      clientInformation,
      authorizationCode: this.provider.takeAuthorizationCode(),
      codeVerifier: this.provider.codeVerifier(),
      redirectUri: this.provider.redirectUrl,
      resource: d.resource,
      fetchFn: this.fetchFn,
    });
    this.requested = requested;
    // RFC 6749 §5.1: a response without `scope` granted exactly what was requested.
    this.granted = tokens.scope !== undefined ? parseScope(tokens.scope) : requested;
    this.provider.saveTokens(tokens);
  }

  async refresh(): Promise<boolean> {
    const refreshToken = this.provider.tokens()?.refresh_token;
    if (!refreshToken) return false;
    const d = await this.discover();
    let tokens: OAuthTokens;
    try {
      // No `scope` parameter: RFC 6749 §6, the new token has the scope of the original grant.
      tokens = await refreshAuthorization(d.issuer, {
        metadata: d.metadata,
        clientInformation: await this.register(d),
        refreshToken,
        resource: d.resource,
        fetchFn: this.fetchFn,
      });
    } catch (error) {
      // RFC 6749 §5.2 invalid_grant: the refresh token is expired, revoked or already used.
      if (error instanceof OAuthError && error.errorCode === "invalid_grant") {
        const held = this.provider.tokens();
        if (held) this.provider.saveTokens({ ...held, refresh_token: undefined });
        return false;
      }
      throw error;
    }
    // RFC 6749 §5.1 + §6: an omitted `scope` means the scope of the original grant.
    if (tokens.scope !== undefined) this.granted = parseScope(tokens.scope);
    this.provider.saveTokens(tokens);
    return true;
  }

  /** RFC 9728 PRM → RFC 8414 AS metadata, once; `resourceMetadataUrl` comes from a challenge (RFC 9728 §5.1). */
  async discover(resourceMetadataUrl?: string): Promise<Discovered> {
    if (this.discovered && (!resourceMetadataUrl || resourceMetadataUrl === this.discovered.resourceMetadataUrl)) {
      return this.discovered;
    }
    const info = await discoverOAuthServerInfo(this.serverUrl, {
      resourceMetadataUrl: resourceMetadataUrl ? new URL(resourceMetadataUrl) : undefined,
      fetchFn: this.fetchFn,
    });
    const prm = info.resourceMetadata;
    if (!prm) throw new Error(`${this.serverUrl} publishes no RFC 9728 protected resource metadata`);
    // RFC 9728 §3.3 / §7.3: the metadata must be about the resource we talk to (the SDK's check).
    await selectResourceURL(this.serverUrl, this.provider, prm);
    const metadata = info.authorizationServerMetadata;
    if (!metadata) throw new Error(`no RFC 8414 metadata at ${info.authorizationServerUrl}`);
    // RFC 8414 §3.3: the issuer must be identical to the URL the metadata was discovered from.
    if (metadata.issuer !== info.authorizationServerUrl) {
      throw new Error(`RFC 8414 §3.3: issuer ${metadata.issuer} is not ${info.authorizationServerUrl}`);
    }
    // OAuth 2.1 §7.5.2 / MCP: no advertised S256 means no PKCE — refuse to proceed.
    if (!metadata.code_challenge_methods_supported?.includes("S256")) {
      throw new Error(`${metadata.issuer} does not advertise PKCE S256 (code_challenge_methods_supported)`);
    }
    if (this.discovered && this.discovered.issuer !== metadata.issuer) {
      throw new Error(`the resource moved to another authorization server (${metadata.issuer}); reconnect`);
    }
    this.discovered = {
      issuer: metadata.issuer,
      metadata,
      resource: prm.resource,
      resourceMetadataUrl: resourceMetadataUrl ?? this.discovered?.resourceMetadataUrl,
      scopesSupported: parseScope(prm.scopes_supported),
    };
    this.provider.saveDiscoveryState({
      authorizationServerUrl: info.authorizationServerUrl,
      authorizationServerMetadata: metadata,
      resourceMetadata: prm,
      resourceMetadataUrl: this.discovered.resourceMetadataUrl,
    });
    return this.discovered;
  }

  /** RFC 7591 Dynamic Client Registration, once per client; the registered metadata is C2's. */
  private async register(d: Discovered): Promise<OAuthClientInformationMixed> {
    const existing = this.provider.clientInformation();
    if (existing) return existing;
    if (!d.metadata.registration_endpoint) {
      throw new Error(`${d.issuer} offers no registration_endpoint; this client registers dynamically (RFC 7591)`);
    }
    const registered = await registerClient(d.issuer, {
      metadata: d.metadata,
      clientMetadata: this.provider.clientMetadata,
      fetchFn: this.fetchFn,
    });
    this.provider.saveClientInformation(registered);
    return registered;
  }
}
