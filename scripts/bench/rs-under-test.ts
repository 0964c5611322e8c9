/**
 * BENCHMARK ONLY — the resource server under test for P2 (what the auth gate costs).
 *
 * What runs where: this process, on http://127.0.0.1:$RS_PORT, serves exactly the app that
 * `resource-server/server.ts` serves, built by the same `createApp(config, …)` — or, with
 * `BENCH_AUTH_GATE=off`, the same pieces without the bearer check and the scope gate
 * (`rs-without-gate.ts`): anyone may call any tool. `pnpm bench` starts two of these side by side and
 * loads both with the same generator and the same sessions, so the ratio of their rates is the gate's
 * cost. Never run it for anything else; `pnpm start:rs` is the real server.
 *
 * Logging is off (a benchmark should not measure stderr), except the one warning line that says the
 * gate is off.
 */
import { ConfigError, loadConfig } from "../../shared/config.ts";
import { listenLoopback, notReadyYet, runServerEntry, serve } from "../../shared/listen.ts";
import { createLogger, silentLogger } from "../../shared/log.ts";
import { createApp } from "../../resource-server/app.ts";
import { createAppWithoutGate } from "./rs-without-gate.ts";

await runServerEntry("rs-bench", async () => {
  const gate = process.env.BENCH_AUTH_GATE ?? "on";
  if (gate !== "on" && gate !== "off") throw new ConfigError(`BENCH_AUTH_GATE must be "on" or "off", got ${JSON.stringify(gate)}`);
  const requested = loadConfig();
  const { server, address } = await listenLoopback(requested.rsPort, notReadyYet);
  const config = loadConfig({ ...process.env, RS_PORT: String(address.port) });
  if (gate === "off") createLogger("[rs-bench]").warn("auth gate OFF (benchmark only): /mcp accepts any caller");
  serve(server, gate === "on" ? await createApp(config, { logger: silentLogger }) : createAppWithoutGate(config));
  console.log(`[rs-bench] listening on ${config.resource} (auth gate ${gate})`);
  return server;
});
