/**
 * Talking to the authorization server, one block per protocol exchange, with the SDK's exported
 * primitives rather than `auth()` (which refreshes whenever it can, re-authorizes silently on some
 * refresh failures and registers with the initial scope — all of which would blur D4–D6):
 *
 *   discovery.ts (RFC 9728 PRM → RFC 8414 AS metadata) → registration.ts (RFC 7591, or C7's client)
 *   → startAuthorization (PKCE S256, state, resource) → headless follow (provider.ts)
 *   → exchangeAuthorization | refresh.ts (with `resource`, RFC 8707)
 *
 * It implements `StepUpAuthorizer`: client/step-up/step-up.ts decides *when* to authorize or refresh, this file *how*.
 *
 * An AS that restarted has forgotten this client, its grants and its signing key; it answers the
 * stale `client_id` with `invalid_client` (RFC 6749 §5.2 at the token endpoint; as a 400 JSON error at
 * /authorize, which must not redirect for an unknown client, §4.1.2.1). The registration and its
 * refresh token are then dropped and the client registers again — once per refresh or authorization,
 * never for a registration made in the same call, so a confused AS cannot keep it registering.
 *
 * A pre-registered client (C7, `--client-id`) skips DCR (registration.ts): an `invalid_client` is the
 * end for it (wrong credentials), never a reason to register.
 */
import { exchangeAuthorization, startAuthorization } from "@modelcontextprotocol/sdk/client/auth.js";
import type { OAuthClientInformationMixed, OAuthTokens } from "@modelcontextprotocol/sdk/shared/auth.js";
import { OAuthError } from "@modelcontextprotocol/sdk/server/auth/errors.js";
import type { FetchLike } from "@modelcontextprotocol/sdk/shared/transport.js";
import { formatScope, parseScope, type StepUpAuthorizer } from "../step-up/index.ts";
import { AuthorizationResponseError } from "./authorization-response.ts";
import type { PreRegisteredClient } from "./client-auth.ts";
import { discoverAuthorizationServer, type Discovered } from "./discovery.ts";
import { requestRefresh } from "./refresh.ts";
import { ClientRegistration } from "./registration.ts";
import { reachingAuthorizationServer } from "./unreachable.ts";
import type { HeadlessOAuthClientProvider, NativeClientMetadata } from "./provider.ts";

export interface AuthorizerOptions {
  /** The MCP endpoint the client connects to. */
  serverUrl: string;
  provider: HeadlessOAuthClientProvider;
  /** Recorded, with a timeout: used by every primitive. */
  fetchFn: FetchLike;
  /** C7: credentials registered with the AS beforehand; no DCR then. */
  preRegistered?: PreRegisteredClient;
}

export class Authorizer implements StepUpAuthorizer {
  private readonly serverUrl: string;
  private readonly provider: HeadlessOAuthClientProvider;
  private readonly fetchFn: FetchLike;
  private readonly registration: ClientRegistration;
  private discovered?: Discovered;
  private granted: string[] = [];

  constructor(options: AuthorizerOptions) {
    this.serverUrl = options.serverUrl;
    this.provider = options.provider;
    this.fetchFn = options.fetchFn;
    this.registration = new ClientRegistration(options.provider, options.preRegistered);
  }

  accessToken(): string | undefined {
    return this.provider.tokens()?.access_token || undefined;
  }
  grantedScope(): string[] {
    return [...this.granted];
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

  /**
   * A fresh authorization-code flow for `scope` (C4.2). If the AS answers `invalid_client` for a
   * registration older than this call, register again and run the flow once more, with the same scope.
   */
  async authorize(scope: string[], hint: { resourceMetadataUrl?: string } = {}): Promise<void> {
    const d = await this.discover(hint.resourceMetadataUrl);
    const registeredEarlier = this.provider.clientInformation() !== undefined;
    try {
      await this.authorizationCodeFlow(d, scope);
    } catch (error) {
      if (!registeredEarlier || oauthErrorCode(error) !== "invalid_client") throw error;
      this.forgetRegistration(error);
      await this.authorizationCodeFlow(d, scope);
    }
  }

  /**
   * Refresh grant without `scope` (same scope); false when only a new authorization can help. A wider
   * `scope` is sent only to show the AS refusing it (RFC 6749 §6): by D8, and by the refresh-to-widen break.
   */
  async refresh(scope?: string[]): Promise<boolean> {
    const refreshToken = this.provider.tokens()?.refresh_token;
    if (!refreshToken) return false;
    const d = await this.discover();
    let tokens: OAuthTokens;
    try {
      const clientInformation = await this.register(d);
      const addClientAuthentication = this.registration.tokenEndpointAuthentication(d);
      tokens = await requestRefresh({ d, clientInformation, refreshToken, addClientAuthentication, fetchAt: this.fetchAt(d) }, scope);
    } catch (error) {
      switch (oauthErrorCode(error)) {
        case "invalid_grant":
          // RFC 6749 §5.2 invalid_grant: the refresh token is expired, revoked or already used.
          this.dropRefreshToken();
          return false;
        case "invalid_client":
          // RFC 6749 §5.2 invalid_client: the AS does not know this client (any more), nor its grants.
          this.forgetRegistration(error);
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
    const { resourceMetadata: prm, authorizationServerUrl, metadata } = await discoverAuthorizationServer(
      this.serverUrl,
      this.provider,
      this.fetchFn,
      resourceMetadataUrl,
    );
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
      authorizationServerUrl,
      authorizationServerMetadata: metadata,
      resourceMetadata: prm,
      resourceMetadataUrl: this.discovered.resourceMetadataUrl,
    });
    return this.discovered;
  }

  /** One authorization-code flow: PKCE S256, `state`, `resource`, the headless follow, the code exchange. */
  private async authorizationCodeFlow(d: Discovered, scope: string[]): Promise<void> {
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
    // RFC 6749 §4.1.2.1 access_denied rejects here: the AS granted none of it; the held grant stays.
    await this.provider.redirectToAuthorization(authorizationUrl);
    const tokens = await exchangeAuthorization(d.issuer, {
      metadata: d.metadata,
      clientInformation,
      authorizationCode: this.provider.takeAuthorizationCode(),
      codeVerifier: this.provider.codeVerifier(),
      redirectUri: this.provider.redirectUrl,
      resource: d.resource,
      addClientAuthentication: this.registration.tokenEndpointAuthentication(d),
      fetchFn: this.fetchAt(d),
    });
    // RFC 6749 §5.1: a response without `scope` granted exactly what was requested.
    this.granted = tokens.scope !== undefined ? parseScope(tokens.scope) : requested;
    this.provider.saveTokens(tokens); // RFC 6749 §3.3: the AS may have granted less (step-up.ts reacts, C4.4)
  }

  /**
   * The AS answered `invalid_client`: forget the registration and the refresh token (the grant died
   * with the client). The access token stays until a new one replaces it: it is a self-contained JWT
   * that the RS may still accept (only the RS can say, with a 401), and dropping it would make a
   * concurrent request take "the token changed" for "another request already recovered". The held
   * grant's scope stays too, so the next authorization (step-up.ts's union) asks for no less (C5).
   * A pre-registered client cannot register again: its credentials are wrong, which ends the run.
   */
  private forgetRegistration(error: unknown): void {
    this.registration.forget(error);
    this.dropRefreshToken();
  }

  private dropRefreshToken(): void {
    const held = this.provider.tokens();
    if (held) this.provider.saveTokens({ ...held, refresh_token: undefined });
  }

  /** Requests to the AS: recorded, with a timeout, and a connection failure names the issuer. */
  private fetchAt(d: Discovered): FetchLike {
    return reachingAuthorizationServer(this.fetchFn, d.issuer);
  }

  /** The client's registration at the AS (registration.ts): DCR once, or the pre-registered client. */
  private register(d: Discovered): Promise<OAuthClientInformationMixed> {
    return this.registration.ensure(d, this.fetchAt(d));
  }
}

/** The OAuth `error` code of a failed exchange: a token-endpoint error (RFC 6749 §5.2) or /authorize's. */
function oauthErrorCode(error: unknown): string | undefined {
  if (error instanceof OAuthError) return error.errorCode;
  if (error instanceof AuthorizationResponseError) return error.error;
  return undefined;
}
