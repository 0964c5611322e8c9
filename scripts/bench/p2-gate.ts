/**
 * P2 — what the auth gate costs: authorized `tools/call` throughput of the RS with the full bearer +
 * scope gate (R3–R5), divided by the throughput of the same pieces without that gate
 * (`rs-without-gate.ts`, benchmark only).
 *
 * Set-up (not measured): a real AS child; two RS children from `scripts/bench/rs-under-test.ts`, one with the
 * gate on, one off, trusting that AS. Each load worker registers its own client, gets a `files:read`
 * token, and opens one MCP session on each RS with it (initialize → notifications/initialized) — the
 * same requests against both, the `Authorization` header included (the gate-off RS ignores it).
 *
 * Measured: `list-files` calls (a fresh JSON-RPC id each), closed loop, `workers` at a time over
 * keep-alive sockets. Both RSs are warmed up, then measured in blocks of four short rounds, ABBA
 * (on, off, off, on — the next block off, on, on, off): the machine is shared, its load drifts, and
 * within an ABBA block a linear drift falls on both sides equally. Each block gives a ratio (calls
 * per second with the gate over calls per second without, within the block); the figure is the median
 * of the block ratios, which one disturbed block cannot move. The aggregate rates are reported too.
 */
import { rsUrls, type Config } from "../../shared/config.ts";
import { freeLoopbackPort } from "../processes.ts";
import { SCOPE_CATALOG } from "../../shared/scopes.ts";
import { cpuTimeMs, freshConfig, startAuthorizationServer, startServer } from "./children.ts";
import { runLoad, type LoadRequest, type LoadResult } from "./load.ts";
import { obtainTokens } from "./oauth.ts";
import { UNGATED_CLIENT_ID } from "./rs-without-gate.ts";
import { median, perSecond } from "./stats.ts";

export interface P2Options {
  workers: number;
  warmupMs: number;
  roundMs: number;
  /** ABBA blocks of four rounds each. */
  blocks: number;
}

export interface P2Result {
  /** The median of the block ratios (the figure). */
  ratio: number;
  blockRatios: number[];
  /** All gate-on calls per second over all gate-off calls per second. */
  aggregateRatio: number;
  /**
   * CPU time the RS process spent per call (all its threads, from procfs; NaN elsewhere): a cross-check
   * that other load on a shared machine hardly disturbs — off/on is what the ratio would be if the RS
   * had its core to itself.
   */
  cpuUsPerCall: { on: number; off: number };
  gateOnPerS: number;
  gateOffPerS: number;
  /** Median call latency under load (the mean of the rounds' medians). */
  gateOnMedianLatencyMs: number;
  gateOffMedianLatencyMs: number;
  calls: { on: number; off: number };
  options: P2Options;
}

const ACCEPT = "application/json, text/event-stream";

interface Session {
  token: string;
  sessionId: string;
  protocolVersion: string;
}

/** initialize → `Mcp-Session-Id` → notifications/initialized (MCP lifecycle), over fetch. */
async function openSession(resource: string, token: string): Promise<Session> {
  const headers = { accept: ACCEPT, "content-type": "application/json", authorization: `Bearer ${token}` };
  const init = await fetch(resource, {
    method: "POST",
    headers,
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "bench", version: "0" } },
    }),
    signal: AbortSignal.timeout(10_000),
  });
  // The RS answers a request with a short SSE stream (one `data:` line per JSON-RPC response).
  const text = await init.text();
  const data = init.headers.get("content-type")?.startsWith("text/event-stream")
    ? text.split("\n").find((line) => line.startsWith("data:"))?.slice(5) ?? "{}"
    : text;
  const body = JSON.parse(data) as { result?: { protocolVersion?: string } };
  const sessionId = init.headers.get("mcp-session-id");
  if (init.status !== 200 || !sessionId || !body.result?.protocolVersion) {
    throw new Error(`initialize at ${resource} failed: ${init.status} ${JSON.stringify(body)}`);
  }
  const protocolVersion = body.result.protocolVersion;
  const initialized = await fetch(resource, {
    method: "POST",
    headers: { ...headers, "mcp-session-id": sessionId, "mcp-protocol-version": protocolVersion },
    body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }),
    signal: AbortSignal.timeout(10_000),
  });
  await initialized.body?.cancel();
  if (initialized.status !== 202) throw new Error(`notifications/initialized at ${resource}: ${initialized.status}`);
  return { token, sessionId, protocolVersion };
}

/** A `tools/call list-files` on the worker's session, with the session's next JSON-RPC id. */
function listFilesCall(path: string, session: Session & { nextId: number }): LoadRequest {
  return {
    method: "POST",
    path,
    headers: {
      accept: ACCEPT,
      "content-type": "application/json",
      authorization: `Bearer ${session.token}`,
      "mcp-session-id": session.sessionId,
      "mcp-protocol-version": session.protocolVersion,
    },
    // MCP: a request id is never reused within a session.
    body: JSON.stringify({ jsonrpc: "2.0", id: session.nextId++, method: "tools/call", params: { name: "list-files" } }),
  };
}

/**
 * A tool result (not a JSON-RPC or tool error) that names the expected actor (R7): the worker's
 * client with the gate on, the ungated principal with it off — so each child is proven to run the mode it claims.
 */
const isToolResult = (status: number, body: string, actor: string) =>
  status === 200 && body.includes('"result"') && body.includes(`read by ${actor}`) && !body.includes('"isError":true');

export async function runP2(options: P2Options, progress: (line: string) => void): Promise<P2Result> {
  const config: Config = await freshConfig();
  await startAuthorizationServer(config);
  // The AS issues tokens for one resource: the gate-on RS's. The gate-off RS checks nothing.
  const onPort = config.rsPort;
  const offPort = await freeLoopbackPort();
  const offResource = rsUrls(offPort).resource;
  const startRs = (gate: "on" | "off", port: number) =>
    startServer(
      `rs-gate-${gate}`,
      "scripts/bench/rs-under-test.ts",
      { AS_PORT: String(config.asPort), RS_PORT: String(port), BENCH_AUTH_GATE: gate },
      rsUrls(port).healthUrl,
    );
  const [onChild, offChild] = await Promise.all([startRs("on", onPort), startRs("off", offPort)]);
  progress(`P2: AS and two RS children up (gate on :${onPort}, gate off :${offPort}); opening ${options.workers} sessions on each`);

  // One client, token and session per worker, on each RS: the gate-off RS gets the very same headers.
  type WorkerSession = Session & { nextId: number; actor: string };
  const sessions: Array<Record<"on" | "off", WorkerSession>> = [];
  for (let w = 0; w < options.workers; w++) {
    const { access_token, client_id } = await obtainTokens(config, "files:read");
    sessions.push({
      on: { ...(await openSession(config.resource, access_token)), nextId: 2, actor: `${client_id} [files:read]` },
      off: { ...(await openSession(offResource, access_token)), nextId: 2, actor: `${UNGATED_CLIENT_ID} [${SCOPE_CATALOG.join(" ")}]` },
    });
  }

  const load = (side: "on" | "off", durationMs: number): Promise<LoadResult> =>
    runLoad({
      port: side === "on" ? onPort : offPort,
      workers: options.workers,
      durationMs,
      maxRequests: Math.ceil(durationMs * 50), // ≤ 50k calls/s: a bound, far above what one process serves
      next: (worker) => listFilesCall("/mcp", sessions[worker]![side]),
      accept: (response, _request, worker) => isToolResult(response.status, response.body, sessions[worker]![side].actor),
    });

  for (const side of ["on", "off"] as const) {
    const warm = await load(side, options.warmupMs);
    if (warm.failed > 0) throw new Error(`P2 warm-up (gate ${side}) failed: ${warm.firstFailure}`);
  }

  const child = { on: onChild, off: offChild };
  const totals = {
    on: { ok: 0, ms: 0, cpuMs: 0, latency: [] as number[] },
    off: { ok: 0, ms: 0, cpuMs: 0, latency: [] as number[] },
  };
  const blockRatios: number[] = [];
  for (let block = 0; block < options.blocks; block++) {
    const order = block % 2 === 0 ? (["on", "off", "off", "on"] as const) : (["off", "on", "on", "off"] as const);
    const inBlock = { on: { ok: 0, ms: 0 }, off: { ok: 0, ms: 0 } };
    for (const side of order) {
      const cpuBefore = cpuTimeMs(child[side]);
      const result = await load(side, options.roundMs);
      totals[side].cpuMs += (cpuTimeMs(child[side]) ?? Number.NaN) - (cpuBefore ?? Number.NaN);
      if (result.failed > 0) throw new Error(`P2 block ${block + 1} (gate ${side}) failed: ${result.firstFailure}`);
      for (const sum of [totals[side], inBlock[side]]) {
        sum.ok += result.ok;
        sum.ms += result.elapsedMs;
      }
      totals[side].latency.push(result.medianLatencyMs);
    }
    const ratio = perSecond(inBlock.on.ok, inBlock.on.ms) / perSecond(inBlock.off.ok, inBlock.off.ms);
    blockRatios.push(ratio);
    progress(
      `P2 block ${block + 1}/${options.blocks}: gate on ${Math.round(perSecond(inBlock.on.ok, inBlock.on.ms))} calls/s, ` +
        `off ${Math.round(perSecond(inBlock.off.ok, inBlock.off.ms))} calls/s, ratio ${ratio.toFixed(3)}`,
    );
  }
  const gateOnPerS = perSecond(totals.on.ok, totals.on.ms);
  const gateOffPerS = perSecond(totals.off.ok, totals.off.ms);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  return {
    ratio: median(blockRatios),
    blockRatios,
    aggregateRatio: gateOnPerS / gateOffPerS,
    cpuUsPerCall: { on: (totals.on.cpuMs * 1000) / totals.on.ok, off: (totals.off.cpuMs * 1000) / totals.off.ok },
    gateOnPerS,
    gateOffPerS,
    gateOnMedianLatencyMs: mean(totals.on.latency),
    gateOffMedianLatencyMs: mean(totals.off.latency),
    calls: { on: totals.on.ok, off: totals.off.ok },
    options,
  };
}
