/**
 * Authorization server entry — `pnpm start:as` (AS_PORT, default 3001).
 *
 * What runs where: this process, on http://127.0.0.1:AS_PORT only. The MCP server (resource-server/)
 * asks it for nothing but its JWKS; the client (client/) talks to every endpoint below.
 *
 * Flow:
 *   1. client discovers /.well-known/oauth-authorization-server (RFC 8414)
 *   2. client registers at POST /register — loopback redirect URIs only (RFC 7591, RFC 8252 §7.3)
 *   3. client sends GET /authorize with PKCE S256, `resource` and `scope`; the demo user grants what policy
 *      allows (files:read, files:write) — at once, or on a consent page with AS_CONSENT=prompt (A11)
 *      → 302 with code, state, iss (RFC 9207)
 *   4. client redeems the code at POST /token → ES256 JWT access token (RFC 9068) + rotating refresh token
 *   5. step-up: a wider scope needs a new authorization (3–4); a refresh can only narrow (RFC 6749 §6)
 *   6. POST /revoke ends a grant (RFC 7009)
 *
 * Demo-only shortcuts: plain http on loopback, one demo user (consenting automatically unless
 * AS_CONSENT=prompt), in-memory stores (lost on restart, capped — unless AS_STATE_DIR keeps them, as
 * `pnpm dev` does: extras/state-file.ts), a signing key generated at start-up, DCR instead of client ID
 * metadata documents.
 */
import { loadConfig } from "../shared/config.ts";
import { listenLoopback, notReadyYet, runServerEntry, serve } from "../shared/listen.ts";
import { createLogger } from "../shared/log.ts";
import { createApp, stateFileOf } from "./app.ts";
import { asExtras } from "./extras/index.ts";
import { METADATA_PATH } from "./metadata.ts";

await runServerEntry("as", async () => {
  const requested = loadConfig();
  // Bind first, so AS_PORT=0 works: the issuer must carry the port the OS actually chose.
  const { server, address } = await listenLoopback(requested.asPort, notReadyYet);
  const config = loadConfig({ ...process.env, AS_PORT: String(address.port) });
  const logger = createLogger("[as]", undefined, { timestamps: config.logTimestamps });
  // The extras (as/extras/): consent page, pages for a person, state file, confidential clients — as configured.
  const app = await createApp(config, { logger, extras: asExtras(config, logger) });
  serve(server, app);
  // A12: every answer that depends on a change was preceded by its save (extras/state-file.ts); what is left
  // (the key of a fresh start, expiries) is written on the way out: SIGTERM, SIGINT, SIGHUP, an uncaught error.
  process.once("exit", () => stateFileOf(app)?.flush());

  // A broken AS (pnpm demo --break …) says so on every start-up line.
  const broken = config.asBreak ? ` — BROKEN ON PURPOSE: ${config.asBreak} (AS_BREAK)` : "";
  console.log(`[as] listening on http://127.0.0.1:${address.port}${broken}`);
  console.log(`[as] metadata: ${config.issuer}${METADATA_PATH}${broken}`);
  return server;
});
