/**
 * BENCHMARK ONLY — P2's baseline: the resource server's own pieces (`resource-server/`: the JSON body
 * parser, sessions, tools, error handler) wired as `resource-server/app.ts` wires them, minus its two
 * gates (`bearerAuth`, R3/R4, and `scopeGate`, R5). Every caller acts as one fixed principal that holds
 * every scope, so the tools run exactly as they do behind the gate. The teaching server has no switch
 * for this: the baseline is assembled here, and nothing outside `bench/` can start it.
 */
import express from "express";
import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import type { Config } from "../../shared/config.ts";
import { listeningAddressOf } from "../../shared/listen.ts";
import { silentLogger } from "../../shared/log.ts";
import { SCOPE_CATALOG } from "../../shared/scopes.ts";
import type { AuthenticatedRequest } from "../../resource-server/bearer.ts";
import { jsonRpcErrorHandler } from "../../resource-server/errors.ts";
import { bindSession, handleMcp, mcpJsonBody } from "../../resource-server/mcp-endpoint.ts";
import { SessionRegistry } from "../../resource-server/sessions.ts";
import { FileStore } from "../../resource-server/store.ts";

/** Who every caller is without the gate (what the tools say acted, R7). */
export const UNGATED_CLIENT_ID = "ungated-bench";

const ungated: AuthInfo = {
  token: "ungated",
  clientId: UNGATED_CLIENT_ID,
  scopes: [...SCOPE_CATALOG],
  extra: { sub: UNGATED_CLIENT_ID },
};

/** The RS app without `bearerAuth` and `scopeGate`: anyone may call any tool. Benchmarks only. */
export function createAppWithoutGate(config: Config): express.Express {
  const sessions = new SessionRegistry({ idleMs: config.sessionIdleMs, maxSessions: config.maxSessions }, silentLogger);
  const bind = bindSession(sessions, new FileStore(), silentLogger);
  const asUngated: express.RequestHandler = (req, _res, next) => {
    (req as AuthenticatedRequest).auth = ungated;
    next();
  };
  const app = express();
  app.disable("x-powered-by");
  app.get("/healthz", (req, res) => {
    const address = listeningAddressOf(req);
    res.json({ status: "ok", service: "rs-without-gate", pid: process.pid, listening: address ? { address: address.address, port: address.port } : null });
  });
  app.post("/mcp", asUngated, ...mcpJsonBody(), bind, handleMcp);
  app.get("/mcp", asUngated, bind, handleMcp);
  app.delete("/mcp", asUngated, bind, handleMcp);
  app.use(jsonRpcErrorHandler(() => {}));
  return app;
}
