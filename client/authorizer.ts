/**
 * The client's side of OAuth, as one object. It is the `StepUpAuthorizer` of client/step-up/: the
 * middleware decides *when* to authorize or refresh and *what* to ask for, this decides *how* — one
 * block per protocol exchange, on the SDK's exported primitives rather than `auth()` (which refreshes
 * whenever it can, re-authorizes silently on some refresh failures and registers with the initial scope,
 * all of which would blur D4–D6):
 *
 *   discover()    RFC 9728 protected resource metadata → its authorization server's RFC 8414 metadata
 *   register()    RFC 7591 Dynamic Client Registration, once (C2) — or a client registered beforehand (C7)
 *   authorize()   PKCE S256, `state`, `resource` → the user agent → C1's checks → the code exchange (C3)
 *   refresh()     the refresh-token grant, same scope (RFC 6749 §6), with `resource` (RFC 8707)
 *
 * An AS that restarted has forgotten this client, its grants and its key; it answers the stale client_id
 * with `invalid_client` (RFC 6749 §5.2 at /token; a 400 JSON error at /authorize, which must not redirect
 * for an unknown client, §4.1.2.1). The registration and its refresh token are then dropped and the client
 * registers again — at most once per call, so a confused AS cannot keep it registering.
 */
import { randomBytes } from "node:crypto";
import {
  discoverAuthorizationServerMetadata,
  parseErrorResponse,
  discoverOAuthProtectedResourceMetadata,
  exchangeAuthorization,
  refreshAuthorization,
  registerClient,
  startAuthorization,
} from "@modelcontextprotocol/sdk/client/auth.js";
import type { AuthorizationServerMetadata, OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from "@modelcontextprotocol/sdk/shared/auth.js";
import { checkResourceAllowed } from "@modelcontextprotocol/sdk/shared/auth-utils.js";
import { OAuthError } from "@modelcontextprotocol/sdk/server/auth/errors.js";
import type { FetchLike } from "@modelcontextprotocol/sdk/shared/transport.js";
import { AuthorizationResponseError, checkAuthorizationRedirect, headlessUserAgent, issuerExpectation, type UserAgent } from "./authorization-response.ts";
import { formatScope, parseScope, type AuthorizationHint, type StepUpAuthorizer } from "./step-up/index.ts";

/**
 * RFC 8252 §7.3: a native app's loopback redirect URI; the AS must accept any port for a loopback IP
 * literal. Nothing listens on this one: the headless user agent reads the redirect, never follows it.
 */
export const DEFAULT_REDIRECT_URI = "http://127.0.0.1:8976/callback";

/** What discovery established, fixed for the life of the client. */
export interface Discovery {
  issuer: string;
  metadata: AuthorizationServerMetadata;
  /** The PRM's `resource`, sent unchanged (`URL.href` would add a trailing `/`). */
  resource: string;
  resourceMetadataUrl?: string;
  scopesSupported: string[];
}

/** A client registered with the AS beforehand (C7, client/cli/pre-registered.ts): no DCR. */
export interface RegisteredClient {
  client_id: string;
  /**
   * The issuer identifier of the AS it is registered with. When set, discovery uses that AS only and
   * refuses a resource whose metadata does not name it — before any request goes to another AS.
   */
  issuer?: string;
  /** How it authenticates at the token endpoint, once the AS metadata is known (undefined: a public client). */
  tokenEndpointAuthentication(metadata: AuthorizationServerMetadata): ((headers: Headers, params: URLSearchParams) => void) | undefined;
}

export interface AuthorizerOptions {
  /** The MCP endpoint the client connects to. */
  serverUrl: string;
  /** Every request of every exchange goes through it (recorded, with a timeout). */
  fetch: FetchLike;
  redirectUri?: string;
  clientName?: string;
  /** Who opens the authorization URL: headless by default; a person's browser with `--browser`. */
  userAgent?: UserAgent;
  registeredClient?: RegisteredClient;
}

/** RFC 7591 client metadata with SEP-837's `application_type` (not in the v1 SDK's type). */
export type NativeClientMetadata = OAuthClientMetadata & { application_type: "native" };

export class Authorizer implements StepUpAuthorizer {
  readonly serverUrl: string;
  readonly redirectUri: string;
  /** Set by `discover()`. */
  discovery?: Discovery;
  /** The registration (RFC 7591 §3.2.1 response), or the registered client's id. */
  client?: OAuthClientInformationMixed;
  tokens?: OAuthTokens;
  private granted: string[] = [];
  protected readonly options: AuthorizerOptions;

  constructor(options: AuthorizerOptions) {
    this.options = options;
    this.serverUrl = options.serverUrl;
    this.redirectUri = options.redirectUri ?? DEFAULT_REDIRECT_URI;
    if (options.registeredClient) this.client = { client_id: options.registeredClient.client_id };
  }

  // ---- what the step-up middleware reads ----

  accessToken(): string | undefined {
    return this.tokens?.access_token || undefined;
  }
  grantedScope(): string[] {
    return [...this.granted];
  }
  canRefresh(): boolean {
    return Boolean(this.tokens?.refresh_token);
  }

  /** C2: a public native client on a loopback redirect URI, asking for refresh tokens. */
  get clientMetadata(): NativeClientMetadata {
    return {
      client_name: this.options.clientName ?? "scoped-tools headless client",
      redirect_uris: [this.redirectUri],
      application_type: "native",
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  }

  /** Forget the access token but keep the grant (the refresh token): the next call meets a 401 (D4). */
  forgetAccessToken(): void {
    if (this.tokens) this.tokens = { ...this.tokens, access_token: "" };
  }

  // ---- discovery: RFC 9728, then RFC 8414 ----

  /** Once per client; `resourceMetadataUrl` comes from a challenge's `resource_metadata` (RFC 9728 §5.1). */
  async discover(resourceMetadataUrl?: string): Promise<Discovery> {
    if (this.discovery && (!resourceMetadataUrl || resourceMetadataUrl === this.discovery.resourceMetadataUrl)) return this.discovery;
    const { serverUrl, fetch } = this.options;
    let prm;
    try {
      prm = await discoverOAuthProtectedResourceMetadata(serverUrl, { resourceMetadataUrl }, fetch);
    } catch (error) {
      throw new Error(`${serverUrl} publishes no RFC 9728 protected resource metadata`, { cause: error });
    }
    // RFC 9728 §3.3, §7.3: the metadata must be about the resource this client talks to.
    if (!checkResourceAllowed({ requestedResource: serverUrl, configuredResource: prm.resource })) {
      throw new Error(`Protected resource ${prm.resource} does not match expected ${serverUrl} (or origin)`);
    }
    const named = prm.authorization_servers ?? [];
    // RFC 9700 §4.4 (mix-up): a registered client's credentials belong to one AS, and go nowhere else.
    const bound = this.options.registeredClient?.issuer;
    if (bound !== undefined && !named.includes(bound)) {
      throw new Error(
        `the RFC 9728 metadata of ${prm.resource} names ${named.length ? `the authorization server ${named.join(", ")}` : "no authorization server"}, ` +
          `not ${bound} (--issuer), where the client ${JSON.stringify(this.options.registeredClient!.client_id)} is registered: ` +
          `refusing to take its credentials anywhere else`,
      );
    }
    const issuer = bound ?? named[0]; // RFC 9728 §2: the client picks one of the named servers
    if (!issuer) throw new Error(`the RFC 9728 metadata of ${prm.resource} names no authorization_servers`);
    const metadata = await discoverAuthorizationServerMetadata(issuer, { fetchFn: fetch });
    if (!metadata) throw new Error(`no RFC 8414 metadata at ${issuer}`);
    // RFC 8414 §3.3: the issuer is identical to the URL the metadata was discovered from.
    if (metadata.issuer !== issuer) throw new Error(`RFC 8414 §3.3: issuer ${metadata.issuer} is not ${issuer}`);
    // OAuth 2.1 §7.5.2, MCP: no advertised S256 means no PKCE — refuse to go on.
    if (!metadata.code_challenge_methods_supported?.includes("S256")) {
      throw new Error(`${metadata.issuer} does not advertise PKCE S256 (code_challenge_methods_supported)`);
    }
    if (this.discovery && this.discovery.issuer !== metadata.issuer) {
      throw new Error(`the resource moved to another authorization server (${metadata.issuer}); reconnect`);
    }
    this.discovery = {
      issuer,
      metadata,
      resource: prm.resource,
      resourceMetadataUrl: resourceMetadataUrl ?? this.discovery?.resourceMetadataUrl,
      scopesSupported: parseScope(prm.scopes_supported),
    };
    return this.discovery;
  }

  // ---- registration: RFC 7591, once ----

  private async register(discovery: Discovery): Promise<OAuthClientInformationMixed> {
    if (this.client) return this.client;
    if (!discovery.metadata.registration_endpoint) {
      throw new Error(
        `${discovery.issuer} offers no registration_endpoint (RFC 7591 Dynamic Client Registration): ` +
          `use a client registered there beforehand with --client-id ID [--issuer ${discovery.issuer} --client-secret SECRET]`,
      );
    }
    this.client = await registerClient(discovery.issuer, {
      metadata: discovery.metadata,
      clientMetadata: this.clientMetadata,
      fetchFn: this.options.fetch,
    });
    return this.client;
  }

  // ---- authorization: the code flow (RFC 6749 §4.1, PKCE RFC 7636, resource RFC 8707, iss RFC 9207) ----

  async authorize(scope: string[], hint: AuthorizationHint = {}): Promise<void> {
    const discovery = await this.discover(hint.resourceMetadataUrl);
    const registeredEarlier = this.client !== undefined;
    try {
      await this.authorizationCodeFlow(discovery, scope);
    } catch (error) {
      if (!registeredEarlier || oauthErrorCode(error) !== "invalid_client") throw error;
      this.forgetRegistration(error); // RFC 6749 §5.2: the AS no longer knows this client — register again, once
      await this.authorizationCodeFlow(discovery, scope);
    }
  }

  private async authorizationCodeFlow(discovery: Discovery, scope: string[]): Promise<void> {
    const client = await this.register(discovery);
    // C3: the challenge's scope (what the middleware passes), else the PRM's scopes_supported, else none.
    const requested = scope.length > 0 ? parseScope(scope) : discovery.scopesSupported;
    const state = randomBytes(16).toString("base64url"); // RFC 6749 §10.12: fresh and unguessable, per request
    const { authorizationUrl, codeVerifier } = await startAuthorization(discovery.issuer, {
      metadata: discovery.metadata,
      clientInformation: client,
      redirectUrl: this.redirectUri,
      scope: formatScope(requested) || undefined,
      state,
      resource: discovery.resource, // RFC 8707 §2.1, sent as the PRM says it
    });
    // C1: only http(s) is ever opened — never a `javascript:`, `file:` or custom-scheme URL from metadata.
    if (authorizationUrl.protocol !== "http:" && authorizationUrl.protocol !== "https:") {
      throw new AuthorizationResponseError(`refusing to open a ${authorizationUrl.protocol} authorization URL`);
    }
    const userAgent = this.options.userAgent ?? headlessUserAgent(this.options.fetch);
    // C1: our redirect_uri, our state, and the iss table; an `access_denied` rejects here, the held grant unchanged.
    const { code } = checkAuthorizationRedirect(await userAgent(authorizationUrl), {
      redirectUri: this.redirectUri,
      expectedState: state,
      issuer: issuerExpectation(discovery.metadata),
    });
    const tokens = await exchangeAuthorization(discovery.issuer, {
      metadata: discovery.metadata,
      clientInformation: client,
      authorizationCode: code,
      codeVerifier, // RFC 7636 §4.5
      redirectUri: this.redirectUri,
      resource: discovery.resource,
      addClientAuthentication: this.options.registeredClient?.tokenEndpointAuthentication(discovery.metadata),
      fetchFn: this.options.fetch,
    });
    // RFC 6749 §3.3, §5.1: the AS may grant less than asked (the middleware reacts, C4.4); no `scope` = all of it.
    this.granted = tokens.scope !== undefined ? parseScope(tokens.scope) : requested;
    this.tokens = tokens;
  }

  // ---- refresh: RFC 6749 §6 ----

  /** Without `scope`: the new token has the original grant's scope. False when only a new grant can help. */
  async refresh(): Promise<boolean> {
    const refreshToken = this.tokens?.refresh_token;
    if (!refreshToken) return false;
    const discovery = await this.discover();
    let tokens: OAuthTokens;
    try {
      tokens = await refreshAuthorization(discovery.issuer, {
        metadata: discovery.metadata,
        clientInformation: await this.register(discovery),
        refreshToken,
        resource: discovery.resource, // RFC 8707 §2.2
        addClientAuthentication: this.options.registeredClient?.tokenEndpointAuthentication(discovery.metadata),
        fetchFn: this.options.fetch,
      });
    } catch (error) {
      switch (oauthErrorCode(error)) {
        case "invalid_grant": // RFC 6749 §5.2: expired, revoked or already used
          this.dropRefreshToken();
          return false;
        case "invalid_client": // RFC 6749 §5.2: the AS does not know this client (any more), nor its grants
          this.forgetRegistration(error);
          return false;
      }
      throw error;
    }
    if (tokens.scope !== undefined) this.granted = parseScope(tokens.scope); // RFC 6749 §5.1: omitted = unchanged
    this.tokens = tokens;
    return true;
  }

  /**
   * The AS answered `invalid_client`: forget the registration and the refresh token (the grant died with
   * the client). The access token and the granted scope stay until a new grant replaces them: the JWT
   * may still be accepted (only the RS can say, with a 401), and the next union asks for no less (C5).
   * A registered client cannot register again: its credentials are wrong, which ends the run.
   */
  private forgetRegistration(error: unknown): void {
    const registered = this.options.registeredClient;
    if (registered) {
      throw new Error(
        `the authorization server refused the pre-registered client_id ${JSON.stringify(registered.client_id)} ` +
          `(invalid_client: ${error instanceof Error ? error.message : String(error)}); check --client-id and --client-secret`,
        { cause: error },
      );
    }
    this.client = undefined;
    this.dropRefreshToken();
  }

  private dropRefreshToken(): void {
    if (this.tokens) this.tokens = { ...this.tokens, refresh_token: undefined };
  }
}

/**
 * A POST /token grant_type=refresh_token asking for `scope` (RFC 6749 §6: it may only narrow), which the
 * SDK's primitive cannot send: D8 shows the AS refusing a widening one (and `refresh-to-widen` tries it).
 */
export async function refreshAsking(authorizer: Authorizer, scope: string[], fetch: FetchLike): Promise<OAuthTokens> {
  const discovery = await authorizer.discover();
  const body = new URLSearchParams({
    grant_type: "refresh_token",
    refresh_token: authorizer.tokens?.refresh_token ?? "",
    scope: formatScope(scope),
    resource: discovery.resource,
    client_id: authorizer.client?.client_id ?? "", // RFC 6749 §3.2.1: a public client names itself
  });
  const response = await fetch(discovery.metadata.token_endpoint, { method: "POST", body });
  if (!response.ok) throw await parseErrorResponse(response);
  return (await response.json()) as OAuthTokens;
}

/** The OAuth `error` code of a failed exchange: a token-endpoint error (RFC 6749 §5.2), or /authorize's. */
function oauthErrorCode(error: unknown): string | undefined {
  if (error instanceof OAuthError) return error.errorCode;
  if (error instanceof AuthorizationResponseError) return error.error;
  return undefined;
}
