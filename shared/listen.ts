/**
 * Listening on loopback, for the two server entries (A1, R1). The address the OS actually bound is
 * read back from the listening socket and checked, and is what `/healthz` reports (D8).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { RequestListener } from "node:http";
import { ConfigError } from "./config.ts";
import { LOOPBACK_HOST } from "./loopback.ts";

export interface Listening {
  server: http.Server;
  address: AddressInfo;
  url: string;
}

/** Bind an http server to 127.0.0.1:`port` (0 = any free port). The handler can be attached later. */
export async function listenLoopback(port: number, handler?: RequestListener): Promise<Listening> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, LOOPBACK_HOST, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  if (address.address !== LOOPBACK_HOST) {
    server.close();
    throw new Error(`refusing to serve: bound ${address.address}, expected ${LOOPBACK_HOST}`);
  }
  return { server, address, url: `http://${LOOPBACK_HOST}:${address.port}` };
}

/**
 * What a server entry answers between binding and attaching its app (which takes a moment to build):
 * `503` with `Retry-After` (RFC 9110 §15.6.4), never a request left hanging — a launcher polling
 * `/healthz` then simply asks again.
 */
export const notReadyYet: RequestListener = (_req, res) => {
  // B1: a JSON error like any other, not to be sniffed (shared/no-sniff.ts).
  res.writeHead(503, { "content-type": "application/json", "retry-after": "1", "x-content-type-options": "nosniff", connection: "close" });
  res.end(JSON.stringify({ error: "temporarily_unavailable", error_description: "starting" }));
};

/** Replace `notReadyYet` with the app, once it is built. */
export function serve(server: http.Server, app: RequestListener): void {
  server.off("request", notReadyYet);
  server.on("request", app);
}

/** Close a server and every connection it holds (keep-alive and SSE streams included). */
export function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/**
 * The address of the socket a request came in on — the server's own listening socket, not the
 * connection — so `/healthz` can prove the process listens on 127.0.0.1 only (D8).
 */
export function listeningAddressOf(req: http.IncomingMessage): AddressInfo | undefined {
  // Node sets `socket.server` on every socket a net.Server accepts.
  const server = (req.socket as typeof req.socket & { server?: http.Server }).server;
  const address = server?.address();
  return address && typeof address === "object" ? address : undefined;
}

/**
 * The life of a server entry (`as/server.ts`, `resource-server/server.ts`): `start` binds and builds
 * the app; then serve until SIGTERM/SIGINT/SIGHUP (close every connection, exit 0). A start-up failure — a
 * refused bind address, a port in use — is one clear line on stderr and exit 1, never a stack trace.
 */
export async function runServerEntry(name: string, start: () => Promise<http.Server>): Promise<void> {
  let server: http.Server;
  try {
    server = await start();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`[${name}] ${error instanceof ConfigError ? message : `failed to start: ${message}`}`);
    process.exit(1);
  }
  const stop = async () => {
    await closeServer(server);
    process.exit(0);
  };
  // SIGHUP (the terminal went away) ends a server as cleanly as SIGTERM: its exit handlers run (the AS's
  // last save among them) — Node's default for SIGHUP would end the process without them.
  for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.once(signal, stop);
}
