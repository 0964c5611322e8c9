/**
 * Who this client is at the authorization server, and how it proves it at the token endpoint:
 *   - a DCR client registers once (RFC 7591) with C2's metadata and uses the method its registration
 *     response returned (RFC 7591 §3.2.1, the SDK's choice);
 *   - a pre-registered client (C7, `--client-id`) skips DCR and authenticates with the method
 *     client-auth.ts chooses from the AS metadata.
 * When the AS answers `invalid_client`, a DCR client forgets its registration (authorizer.ts registers
 * again); for a pre-registered one that is the end: its credentials are wrong.
 */
import { registerClient } from "@modelcontextprotocol/sdk/client/auth.js";
import type { OAuthClientInformationMixed } from "@modelcontextprotocol/sdk/shared/auth.js";
import type { FetchLike } from "@modelcontextprotocol/sdk/shared/transport.js";
import { chooseTokenEndpointAuthMethod, clientAuthentication, type PreRegisteredClient } from "./client-auth.ts";
import type { Discovered } from "./discovery.ts";
import type { HeadlessOAuthClientProvider } from "./provider.ts";

export class ClientRegistration {
  constructor(
    private readonly provider: HeadlessOAuthClientProvider,
    private readonly preRegistered?: PreRegisteredClient,
  ) {
    if (preRegistered) provider.saveClientInformation({ client_id: preRegistered.client_id });
  }

  /** RFC 7591 Dynamic Client Registration, once per client; the registered metadata is C2's. */
  async ensure(d: Discovered, fetchAt: FetchLike): Promise<OAuthClientInformationMixed> {
    const existing = this.provider.clientInformation();
    if (existing) return existing;
    if (!d.metadata.registration_endpoint) {
      throw new Error(
        `${d.issuer} offers no registration_endpoint (RFC 7591 Dynamic Client Registration): ` +
          `use a client registered there beforehand with --client-id ID [--client-secret SECRET]`,
      );
    }
    const registered = await registerClient(d.issuer, {
      metadata: d.metadata,
      clientMetadata: this.provider.clientMetadata,
      fetchFn: fetchAt,
    });
    this.provider.saveClientInformation(registered);
    return registered;
  }

  /**
   * How a pre-registered client authenticates at the token endpoint (client-auth.ts); undefined for a
   * DCR client, which uses the method its registration response returned (RFC 7591 §3.2.1, the SDK's choice).
   */
  tokenEndpointAuthentication(d: Discovered) {
    if (!this.preRegistered) return undefined;
    return clientAuthentication(chooseTokenEndpointAuthMethod(d.metadata, this.preRegistered), this.preRegistered);
  }

  /**
   * The AS answered `invalid_client` (RFC 6749 §5.2): forget the registration, so the next exchange
   * registers again. A pre-registered client cannot register again: its credentials are wrong, which
   * ends the run.
   */
  forget(error: unknown): void {
    if (this.preRegistered) {
      const why = error instanceof Error ? error.message : String(error);
      throw new Error(
        `the authorization server refused the pre-registered client_id ${JSON.stringify(this.preRegistered.client_id)} ` +
          `(invalid_client: ${why}); check --client-id and --client-secret`,
        { cause: error },
      );
    }
    this.provider.invalidateCredentials("client");
  }
}
