/**
 * The scoped-tools MCP resource server as an Express app (R1). Built here, listened on only in
 * `server.ts` (and by the tests, on port 0).
 *
 *   GET  /.well-known/oauth-protected-resource/mcp   RFC 9728 metadata (R2)        metadata.ts
 *   POST|GET|DELETE /mcp                              MCP Streamable HTTP, gated    mcp-endpoint.ts
 *   GET  /healthz                                     liveness + the bound address (D8)
 */
import express from "express";
import { localhostHostValidation } from "@modelcontextprotocol/sdk/server/middleware/hostHeaderValidation.js";
import type { Config } from "../shared/config.ts";
import { listeningAddressOf } from "../shared/listen.ts";
import { silentLogger, type Logger } from "../shared/log.ts";
import { createAccessTokenVerifier } from "./access-token.ts";
import { bearerAuth } from "./bearer.ts";
import { jsonRpcErrorHandler } from "./errors.ts";
import { bindSession, handleMcp, mcpJsonBody, methodNotAllowed } from "./mcp-endpoint.ts";
import { metadataHandler, metadataPath } from "./metadata.ts";
import { scopeGate } from "./scope-gate.ts";
import { SessionRegistry } from "./sessions.ts";
import { FileStore } from "./store.ts";

export interface AppOptions {
  logger?: Logger;
}

export async function createApp(config: Config, options: AppOptions = {}): Promise<express.Express> {
  const logger = options.logger ?? silentLogger;

  const store = new FileStore();
  const sessions = new SessionRegistry({ idleMs: config.sessionIdleMs, maxSessions: config.maxSessions }, logger);

  const app = express();
  app.disable("x-powered-by");
  // MCP transport security: refuse a Host that is not loopback (DNS rebinding); a 403 JSON-RPC error.
  app.use(localhostHostValidation());

  app.get("/healthz", (req, res) => {
    const address = listeningAddressOf(req);
    res.json({
      status: "ok",
      service: "rs",
      listening: address ? { address: address.address, port: address.port, family: address.family } : null,
    });
  });
  app.get(metadataPath(config), metadataHandler(config));

  const authenticate = bearerAuth(config, createAccessTokenVerifier(config), logger);
  const bind = bindSession(sessions, store, logger);
  app.post("/mcp", authenticate, ...mcpJsonBody(), bind, scopeGate(config, logger), handleMcp);
  app.get("/mcp", authenticate, bind, handleMcp);
  app.delete("/mcp", authenticate, bind, handleMcp);
  app.all("/mcp", authenticate, methodNotAllowed);

  app.use((req, res) => {
    res.status(404).json({ error: "not_found", error_description: `no route for ${req.method} ${req.path}` });
  });
  app.use(jsonRpcErrorHandler((message) => logger.warn(message)));
  return app;
}
