/**
 * The scoped-tools MCP resource server as an Express app (R1). Built here, listened on only in
 * `server.ts` (and by the tests, on port 0).
 *
 *   GET  /.well-known/oauth-protected-resource/mcp   RFC 9728 metadata (R2)        metadata.ts
 *   POST|GET|DELETE /mcp                              MCP Streamable HTTP, gated    mcp-endpoint.ts
 *   GET  /healthz                                     liveness + the bound address (D8)
 *
 * Scope is judged by `satisfiesScope` (S1: independent scopes), or — `pnpm demo --break scope-hierarchy`
 * only (RS_BREAK) — by the broken rule of resource-server/breaks.ts, chosen here once.
 */
import express from "express";
import type { Config } from "../shared/config.ts";
import { listeningAddressOf } from "../shared/listen.ts";
import { checkLoopbackHeaders } from "../shared/loopback-headers.ts";
import { silentLogger, type ExchangeLog, type Logger } from "../shared/log.ts";
import { noSniff } from "../shared/no-sniff.ts";
import { satisfiesScope } from "../shared/scopes.ts";
import { createAccessTokenVerifier } from "./access-token.ts";
import { bearerAuth, type AuthenticatedRequest } from "./bearer.ts";
import { BROKEN_SCOPE_RULE } from "./breaks.ts";
import { JsonRpcCode, jsonRpcErrorHandler, sendJsonRpcError } from "./errors.ts";
import { bindSession, handleMcp, mcpJsonBody, methodNotAllowed } from "./mcp-endpoint.ts";
import { metadataHandler, metadataPath } from "./metadata.ts";
import { scopeGate } from "./scope-gate.ts";
import { SessionRegistry } from "./sessions.ts";
import { FileStore } from "./store.ts";

export interface AppOptions {
  logger?: Logger;
  /** `EXCHANGE_EVENTS=1` (pnpm dev): an event per exchange, for the live view (shared/extras/exchange-events.ts). */
  exchangeEvents?: ExchangeLog<{ principal(req: unknown): { clientId: string; scope: string[] } | undefined }>;
}

export async function createApp(config: Config, options: AppOptions = {}): Promise<express.Express> {
  const logger = options.logger ?? silentLogger;
  const satisfies = config.rsBreak ? BROKEN_SCOPE_RULE[config.rsBreak] : satisfiesScope;

  const store = new FileStore();
  const sessions = new SessionRegistry({ idleMs: config.sessionIdleMs, maxSessions: config.maxSessions }, logger);

  const app = express();
  app.disable("x-powered-by");
  // EXCHANGE_EVENTS=1 (pnpm dev): an event per exchange for the live view, first so refusals show too,
  // with the verified token's client and scopes.
  const events = options.exchangeEvents;
  app.locals.exchangeEvents = events;
  if (events) {
    const principal = (req: unknown) => {
      const auth = (req as AuthenticatedRequest).auth;
      return auth && { clientId: auth.clientId, scope: auth.scopes };
    };
    app.use(events.record({ principal }));
  }
  app.use(noSniff); // B1: every JSON-RPC error, the 404 and what the MCP SDK answers itself
  // R10, on every route: a loopback Host only (DNS rebinding; text, not what `new URL` repairs) → 403
  // as the MCP SDK answers it, one Host header (RFC 9112 §3.2) → 400, no foreign Origin (MCP Streamable
  // HTTP: a present, invalid Origin → 403).
  app.use((req, res, next) => {
    const verdict = checkLoopbackHeaders(req);
    if (verdict.ok) return next();
    const [status, reason] = verdict.problem === "duplicate-host" ? [400, "Bad Request"] : [403, "Forbidden"];
    sendJsonRpcError(res, status, JsonRpcCode.ServerError, `${reason}: ${verdict.description}`);
  });
  if (events) app.get(events.path, events.stream);

  app.get("/healthz", (req, res) => {
    const address = listeningAddressOf(req);
    res.json({
      status: "ok",
      service: "rs",
      pid: process.pid, // lets a launcher tell its own child from another process on the port
      listening: address ? { address: address.address, port: address.port, family: address.family } : null,
      ...(config.rsBreak ? { broken: `${config.rsBreak} (RS_BREAK): a rule is broken on purpose` } : {}),
    });
  });
  app.get(metadataPath(config), metadataHandler(config));

  const authenticate = bearerAuth(config, createAccessTokenVerifier(config), logger);
  const bind = bindSession(sessions, store, logger, satisfies);
  app.post("/mcp", authenticate, ...mcpJsonBody(), bind, scopeGate(config, logger, satisfies), handleMcp);
  app.get("/mcp", authenticate, bind, handleMcp);
  app.delete("/mcp", authenticate, bind, handleMcp);
  app.all("/mcp", authenticate, methodNotAllowed);

  app.use((req, res) => {
    res.status(404).json({ error: "not_found", error_description: `no route for ${req.method} ${req.path}` });
  });
  app.use(jsonRpcErrorHandler((message) => logger.warn(message)));
  return app;
}
