/**
 * The fixture of the fault and load tests: the real AS and RS apps in this process, each on its own
 * loopback port chosen once (port 0 at first start), so either side can be **stopped and started
 * again on the same port** — a restarted AS is a new app (new signing key, no registered clients), a
 * restarted RS a new app (no sessions, an empty JWKS cache), exactly as after a process restart.
 *
 * Each side writes down every request it receives (method and path, never a header or body), so a
 * test can count what the client sent without trusting the client's own recorder, and the AS can be
 * slowed per request (`delay`) to play a slow authorization server.
 */
import type http from "node:http";
import { loadConfig, type Config } from "../../../shared/config.ts";
import { closeServer, listenLoopback } from "../../../shared/listen.ts";
import type { Logger } from "../../../shared/log.ts";
import { createApp as createAuthorizationServer } from "../../../as/app.ts";
import { createApp as createResourceServer } from "../../../resource-server/app.ts";

export interface Received {
  method: string;
  path: string;
}

export interface Side {
  readonly name: "as" | "rs";
  readonly port: number;
  /** Requests received since the fixture started, in arrival order (all incarnations). */
  readonly received: Received[];
  /** How many times this side has been started. */
  readonly starts: number;
  running(): boolean;
  /** Stop listening and drop every connection (in-flight requests included). */
  stop(): Promise<void>;
  /** Start a brand-new app on the same port. */
  start(): Promise<void>;
}

export interface RestartableStack {
  config: Config;
  as: Side;
  rs: Side;
  /** Delay (ms) before the AS handles a request; 0 = at once. Replace it at any time. */
  delay: (req: http.IncomingMessage) => number;
  close(): Promise<void>;
}

export interface StackOptions {
  env?: Record<string, string>;
  asLogger?: Logger;
  rsLogger?: Logger;
}

export async function startRestartableStack({ env = {}, asLogger, rsLogger }: StackOptions = {}): Promise<RestartableStack> {
  // Bind both first: each app's config needs both ports (issuer and resource).
  const first = { as: await listenLoopback(0), rs: await listenLoopback(0) };
  const config = loadConfig({ ...env, AS_PORT: String(first.as.address.port), RS_PORT: String(first.rs.address.port) });
  const timers = new Set<NodeJS.Timeout>();

  const stack: RestartableStack = {
    config,
    delay: () => 0,
    as: undefined!,
    rs: undefined!,
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      await Promise.all([stack.as.stop(), stack.rs.stop()]);
    },
  };

  /** One side, serving its first app on the socket bound above once `attachFirst` ran. */
  function side(name: "as" | "rs", initial: http.Server): { side: Side; attachFirst: () => Promise<void> } {
    let server: http.Server | undefined = initial;
    let starts = 0;
    const received: Received[] = [];
    const build = () =>
      name === "as" ? createAuthorizationServer(config, { logger: asLogger }) : createResourceServer(config, { logger: rsLogger });
    /** A new app (new key / no sessions), wrapped to record and, for the AS, delay each request. */
    const newHandler = async (): Promise<http.RequestListener> => {
      const app = await build();
      starts++;
      return (req, res) => {
        received.push({ method: req.method ?? "", path: (req.url ?? "").split("?")[0]! });
        const ms = name === "as" ? stack.delay(req) : 0;
        if (ms <= 0) return void app(req, res);
        const timer = setTimeout(() => {
          timers.delete(timer);
          if (!res.destroyed) app(req, res);
        }, ms);
        timer.unref();
        timers.add(timer);
      };
    };
    const port = (initial.address() as { port: number }).port;
    const result: Side = {
      name,
      port,
      received,
      get starts() {
        return starts;
      },
      running: () => server !== undefined,
      stop: async () => {
        const current = server;
        server = undefined;
        if (current) await closeServer(current);
      },
      start: async () => {
        if (server) throw new Error(`${name} is already running`);
        // The app exists before the socket listens: no request ever meets a port without a handler.
        server = (await listenLoopback(port, await newHandler())).server;
      },
    };
    return { side: result, attachFirst: async () => void initial.on("request", await newHandler()) };
  }

  const as = side("as", first.as.server);
  const rs = side("rs", first.rs.server);
  stack.as = as.side;
  stack.rs = rs.side;
  await as.attachFirst();
  await rs.attachFirst();
  return stack;
}

/** Requests of `side` received after index `from` (use `side.received.length` as a mark). */
export function receivedSince(side: Side, from: number): Received[] {
  return side.received.slice(from);
}

/** A logger that keeps every line (for log audits and "(N open)" counts). */
export function capturingLogger(prefix: string, lines: string[]): Logger {
  return {
    info: (message) => lines.push(`${prefix} ${message}`),
    warn: (message) => lines.push(`${prefix} warn: ${message}`),
  };
}
