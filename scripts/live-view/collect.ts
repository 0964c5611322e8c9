/**
 * Reading a server's exchange events (shared/extras/exchange-events.ts) from another process: `GET
 * /exchange-events` over node:http, read as server-sent events (HTML Living Standard §9.2), resumed
 * with `Last-Event-ID` after a drop, and tried again while the server is down or restarting — `pnpm
 * dev`'s servers may come up after the view, or be restarted under it.
 */
import http from "node:http";
import { asUrls, rsUrls } from "../../shared/config.ts";
import { EVENTS_PATH, type ExchangeEvent } from "../../shared/extras/exchange-events.ts";

/** A message that grows past this without ending is not one of ours: the connection is dropped. */
const MAX_MESSAGE_CHARS = 1024 * 1024;

export interface Feed {
  /** True while the stream is open. */
  readonly connected: boolean;
  close(): void;
}

export interface FollowOptions {
  /** Wait this long before trying again (default 500 ms). */
  retryMs?: number;
  /** Told when the stream opens or drops (the view shows it). */
  onConnection?: (connected: boolean) => void;
}

/** Follow the exchange events of the server at `origin` (e.g. http://127.0.0.1:3001) until `close()`. */
export function followEvents(origin: string, onEvent: (event: ExchangeEvent) => void, options: FollowOptions = {}): Feed {
  const retryMs = options.retryMs ?? 500;
  let lastId = "";
  let closed = false;
  let connected = false;
  let request: http.ClientRequest | undefined;
  let timer: NodeJS.Timeout | undefined;

  const setConnected = (value: boolean) => {
    if (connected === value) return;
    connected = value;
    options.onConnection?.(value);
  };
  const retry = () => {
    setConnected(false);
    if (!closed) timer = setTimeout(connect, retryMs);
  };
  const connect = () => {
    // One retry per connection, whichever of its error or close comes first.
    let over = false;
    const fail = () => {
      if (over) return;
      over = true;
      retry();
    };
    const headers: http.OutgoingHttpHeaders = { accept: "text/event-stream", ...(lastId ? { "last-event-id": lastId } : {}) };
    request = http.get(new URL(EVENTS_PATH, origin), { headers, agent: false }, (response) => {
      if (response.statusCode !== 200) {
        response.resume();
        return fail();
      }
      setConnected(true);
      response.setEncoding("utf8");
      let buffer = "";
      response.on("data", (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf("\n\n")) !== -1) {
          const message = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields = parseMessage(message);
          if (fields.id) lastId = fields.id;
          if (fields.event === "message" && fields.data) {
            try {
              onEvent(JSON.parse(fields.data) as ExchangeEvent);
            } catch {
              // Not an event of ours: skipped.
            }
          }
        }
        if (buffer.length > MAX_MESSAGE_CHARS) response.destroy();
      });
      response.on("close", fail);
    });
    request.on("error", fail);
  };
  connect();
  return {
    get connected() {
      return connected;
    },
    close() {
      closed = true;
      clearTimeout(timer);
      request?.destroy();
    },
  };
}

/** One server-sent event's fields; `event` defaults to "message" (§9.2.6). */
function parseMessage(message: string): { id?: string; event: string; data?: string } {
  const out: { id?: string; event: string; data?: string } = { event: "message" };
  const data: string[] = [];
  for (const line of message.split("\n")) {
    const colon = line.indexOf(":");
    if (colon === 0) continue; // a comment
    const [name, value] = colon === -1 ? [line, ""] : [line.slice(0, colon), line.slice(colon + 1).replace(/^ /, "")];
    if (name === "id") out.id = value;
    else if (name === "event") out.event = value;
    else if (name === "data") data.push(value);
  }
  if (data.length > 0) out.data = data.join("\n");
  return out;
}

/** Both servers' events, in arrival order per server, kept in memory (bounded by `max`, oldest dropped). */
export interface StackEvents {
  as: ExchangeEvent[];
  rs: ExchangeEvent[];
  /** Both, ordered by when each request arrived. */
  all(): ExchangeEvent[];
  /** Resolves once both streams are open. */
  ready: Promise<void>;
  close(): void;
}

export function collectStackEvents(ports: { asPort: number; rsPort: number }, options: { max?: number; onEvent?: (event: ExchangeEvent) => void; onConnection?: (server: "as" | "rs", connected: boolean) => void } = {}): StackEvents {
  const max = options.max ?? 5000;
  const kept = { as: [] as ExchangeEvent[], rs: [] as ExchangeEvent[] };
  const opened = { as: false, rs: false };
  let resolveReady!: () => void;
  const ready = new Promise<void>((resolve) => (resolveReady = resolve));
  const follow = (server: "as" | "rs", origin: string) =>
    followEvents(
      origin,
      (event) => {
        kept[server].push(event);
        if (kept[server].length > max) kept[server].shift();
        options.onEvent?.(event);
      },
      {
        onConnection: (connected) => {
          opened[server] ||= connected;
          if (opened.as && opened.rs) resolveReady();
          options.onConnection?.(server, connected);
        },
      },
    );
  const feeds = [follow("as", asUrls(ports.asPort).issuer), follow("rs", new URL(rsUrls(ports.rsPort).resource).origin)];
  return {
    ...kept,
    all: () => byArrival([...kept.as, ...kept.rs]),
    ready,
    close: () => feeds.forEach((feed) => feed.close()),
  };
}

/** Events ordered by when their requests arrived (`at`), then by server and number. */
export function byArrival(events: readonly ExchangeEvent[]): ExchangeEvent[] {
  return [...events].sort((a, b) => a.at - b.at || a.server.localeCompare(b.server) || a.seq - b.seq);
}
