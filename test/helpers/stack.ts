/**
 * Start the real AS and RS in this process on free loopback ports (port 0), for integration tests.
 *
 * The AS must know the RS's resource and the RS must know the AS's issuer, so both sockets are bound
 * first and the apps are built from a config that carries the ports the OS chose. The AS gets the extras
 * its configuration asks for (consent page, confidential clients), as `as/server.ts` does.
 */
import type { Express } from "express";
import { loadConfig, type Config } from "../../shared/config.ts";
import { listenLoopback, closeServer } from "../../shared/listen.ts";
import { createApp as createAuthorizationServer } from "../../as/app.ts";
import { asExtras } from "../../as/extras/index.ts";
import { silentLogger } from "../../shared/log.ts";
import { createApp as createResourceServer } from "../../resource-server/app.ts";
import { exchangeEventLog } from "../../shared/extras/exchange-events.ts";

export interface Stack {
  config: Config;
  /** The two apps, for tests that look at what they keep (e.g. `locals.exchangeEvents`). */
  apps: { as: Express; rs: Express };
  close(): Promise<void>;
}

/** `env` overrides the environment for this stack only (e.g. `{ AS_GRANTABLE_SCOPES: "files:read files:write files:admin" }`). */
export async function startStack(env: Record<string, string> = {}): Promise<Stack> {
  const as = await listenLoopback(0);
  const rs = await listenLoopback(0);
  const config = loadConfig({ ...env, AS_PORT: String(as.address.port), RS_PORT: String(rs.address.port) });
  const apps = { as: await createAuthorizationServer(config, { extras: asExtras(config, silentLogger) }), rs: await createResourceServer(config, { exchangeEvents: exchangeEventLog(config, "rs") }) };
  as.server.on("request", apps.as);
  rs.server.on("request", apps.rs);
  return {
    config,
    apps,
    close: async () => {
      await Promise.all([closeServer(as.server), closeServer(rs.server)]);
    },
  };
}
