/**
 * The AS's extras: what `pnpm dev`, browsers and real clients need around the lesson, and a learner
 * reading step-up never does. as/server.ts hands them to `createApp` (as/app.ts), which runs without.
 *
 *   consent.ts, page.ts,         A11  a consent page instead of consenting at once (AS_CONSENT=prompt),
 *   pending-consents.ts               its pending requests shared out per client
 *   error-page.ts                A12  a page, not JSON, for a person whose /authorize cannot redirect
 *   state-file.ts, -schema.ts,   A12  clients, signing key and refresh-token families kept across restarts (AS_STATE_DIR),
 *   own-file.ts                       read only from a directory and file that are the AS's own
 *   confidential-clients.ts      A13  clients registered by configuration, with a secret (AS_CLIENTS)
 *   (shared/extras/exchange-events.ts: an event per exchange for the live view, EXCHANGE_EVENTS=1)
 */
import type { Config } from "../../shared/config.ts";
import type { Logger } from "../../shared/log.ts";
import type { AsExtras } from "../app.ts";
import { authenticateWithSecret, preRegisteredClients } from "./confidential-clients.ts";
import { createConsent } from "./consent.ts";
import { informResourceOwner } from "./error-page.ts";
import { openStateDir } from "./state-file.ts";
import { exchangeEventLog } from "../../shared/extras/exchange-events.ts";

/** Every extra the configuration asks for. */
export function asExtras(config: Config, logger: Logger): AsExtras {
  const { stateDir } = config;
  return {
    consent: config.consent === "prompt" ? createConsent : undefined,
    informResourceOwner,
    openState: stateDir ? (limits) => openStateDir(stateDir, config, limits, logger) : undefined,
    confidentialClients: { clients: preRegisteredClients(config), authenticate: authenticateWithSecret },
    exchangeEvents: exchangeEventLog(config, "as"),
  };
}
