/**
 * `pnpm dev`'s live view (started by `concurrently` beside the AS and the RS): follows both servers'
 * exchange events (shared/extras/exchange-events.ts, `EXCHANGE_EVENTS=1`), groups them per client, judges
 * each client's step-up (./rules.ts) and serves the page on http://127.0.0.1:VIEW_PORT/ (default 3002).
 *
 * Point any client at the RS — `pnpm client --call …`, the MCP Inspector, your own — and watch it.
 * The servers may start before or after this, and restart under it: it reconnects and keeps what it saw
 * (the newest MAX_EVENTS exchanges).
 */
import { asUrls, ConfigError, loadViewConfig, rsUrls } from "../../shared/config.ts";
import { collectStackEvents } from "./collect.ts";
import { startLiveView } from "./server.ts";
import { buildView, type ViewModel } from "./view-model.ts";

const MAX_EVENTS = 1000;
/** Exchanges arrive in bursts (a step-up is a handful): the model is rebuilt at most this often. */
const REBUILD_MS = 100;

let config;
try {
  config = loadViewConfig();
} catch (error) {
  console.error(`[view] ${error instanceof ConfigError ? error.message : String(error)}`);
  process.exit(1);
}
const { issuer } = asUrls(config.asPort);
const { resource } = rsUrls(config.rsPort);
const connected = { as: false, rs: false };

const model = (): ViewModel => {
  const waiting = (["as", "rs"] as const).filter((server) => !connected[server]).map((server) => (server === "as" ? `the AS (${issuer})` : `the RS (${resource})`));
  return buildView(events?.all() ?? [], {
    title: "pnpm dev",
    subtitle: `AS ${issuer} · RS ${resource}${waiting.length ? ` — waiting for ${waiting.join(" and ")} (EXCHANGE_EVENTS=1)` : ""}`,
    mode: "live",
  });
};

let events: ReturnType<typeof collectStackEvents> | undefined;
let view;
try {
  view = await startLiveView(config.viewPort, model());
} catch (error) {
  console.error(`[view] cannot listen on 127.0.0.1:${config.viewPort} (VIEW_PORT): ${(error as Error).message}`);
  process.exit(1);
}
let timer: NodeJS.Timeout | undefined;
const rebuild = () => (timer ??= setTimeout(() => ((timer = undefined), view.show(model())), REBUILD_MS));
events = collectStackEvents(config, {
  max: MAX_EVENTS,
  onEvent: rebuild,
  onConnection: (server, open) => {
    connected[server] = open;
    rebuild();
  },
});
console.log(`Live view: ${view.url}`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, async () => {
    events?.close();
    await view.close();
    process.exit(0);
  });
}
