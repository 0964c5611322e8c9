/**
 * Scoped-tools MCP server — the protected resource of the step-up demo (R1–R8).
 *
 * What runs where: this process, on http://127.0.0.1:$RS_PORT (default 3000, 0 = any free port), serves
 * MCP over Streamable HTTP at `/mcp` and its RFC 9728 metadata. It trusts the authorization server at
 * http://127.0.0.1:$AS_PORT (default 3001): tokens must be ES256 JWTs from that issuer, for this resource,
 * verified with the keys at its `jwks_uri`. Run it with `pnpm start:rs` (or both servers: `pnpm dev`).
 *
 * Flow (what a client sees):
 *   1. POST /mcp without a token → 401, `WWW-Authenticate: Bearer resource_metadata="…", scope="files:read"`.
 *   2. GET the resource metadata → `authorization_servers`, `scopes_supported: ["files:read"]`.
 *   3. (at the AS: register, authorize with `scope=files:read` and `resource`, redeem the code)
 *   4. POST /mcp `initialize` with the token → a session bound to (sub, client_id); `list-files`,
 *      `read-file` succeed and say who acted with which scopes.
 *   5. `write-file` → 403 `insufficient_scope`, `scope="files:write"`; the tool does not run.
 *   6. The client steps up (fresh authorization for files:read files:write) and retries on the same
 *      session: the write succeeds, and the result shows the new scopes.
 *   7. `delete-file` needs files:admin (never granted to the demo user); `broken-challenge` always
 *      answers 403, deliberately, to prove the client caps its retries.
 *
 * Demo-only shortcuts: plain http on loopback only; the file store and the sessions live in memory;
 * JWT access tokens stay valid here until `exp` even if revoked at the AS (no introspection).
 */
import { loadConfig } from "../shared/config.ts";
import { listenLoopback, notReadyYet, runServerEntry, serve } from "../shared/listen.ts";
import { createLogger } from "../shared/log.ts";
import { exchangeEventLog } from "../shared/extras/exchange-events.ts";
import { createApp } from "./app.ts";

await runServerEntry("rs", async () => {
  const requested = loadConfig();
  // Bind first, so RS_PORT=0 works: the resource URL (the token audience) needs the real port.
  const { server, address } = await listenLoopback(requested.rsPort, notReadyYet);
  const config = loadConfig({ ...process.env, RS_PORT: String(address.port) });
  const logger = createLogger("[rs]", undefined, { timestamps: config.logTimestamps });
  // EXCHANGE_EVENTS=1 (pnpm dev): an event per exchange for the live view (shared/extras/).
  serve(server, await createApp(config, { logger, exchangeEvents: exchangeEventLog(config, "rs") }));

  // A broken RS (pnpm demo --break scope-hierarchy) says so on every start-up line.
  const broken = config.rsBreak ? ` — BROKEN ON PURPOSE: ${config.rsBreak} (RS_BREAK)` : "";
  console.log(`[rs] listening on ${config.resource}${broken}`);
  console.log(`[rs] protected resource metadata: ${config.resourceMetadataUrl}${broken}`);
  return server;
});
