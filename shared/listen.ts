/**
 * Listening on loopback, for the two server entries (A1, R1). The address the OS actually bound is
 * read back from the listening socket and checked, and is what `/healthz` reports (D8).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { RequestListener } from "node:http";
import { LOOPBACK_HOST } from "./config.ts";

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
