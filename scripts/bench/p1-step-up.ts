/**
 * P1 — step-up latency: from the client receiving the `403 insufficient_scope` to the client receiving
 * the successful retried response, with the project's real client (client/connect.ts: the SDK's
 * transport, the step-up middleware, the authorizer, the recorder) against a real AS and a real RS,
 * each in its own child process on loopback.
 *
 * One sample = one fresh client (its own DCR registration — hence a raised `AS_DCR_RATE_LIMIT`):
 * connect with `files:read` and call `list-files` (not measured), then `write-file`, which meets
 * `403 insufficient_scope scope="files:write"` and steps up: fresh authorization for
 * `files:read files:write` (GET /authorize → 302, POST /token) and the retried call. The timestamps
 * come from the innermost fetch (under the recorder): when the 403's headers arrived, and when the
 * retried call's 200 headers arrived. Every sample is checked: exactly that sequence of exchanges, no
 * refresh, and a tool result written with the new scopes — a benchmark that measured a failure would
 * be worse than none.
 */
import type { FetchLike } from "@modelcontextprotocol/sdk/shared/transport.js";
import { createMcpClient } from "../../client/connect.ts";
import { ExchangeRecorder } from "../../client/recorder.ts";
import { loadConfig, rsUrls } from "../../shared/config.ts";
import { isLoopbackUrl } from "../../shared/loopback.ts";
import { freshConfig, portEnv, startAuthorizationServer, startServer } from "./children.ts";
import { median, p95 } from "./stats.ts";

export interface P1Options {
  /** Measured step-ups (≥ 50 for the figure). */
  samples: number;
  /** Step-ups run first and not counted (JIT, connection pools, JWKS fetch). */
  warmup: number;
}

/** Where one step-up's time went, in ms, from the 403's arrival. */
export interface StepUpBreakdown {
  total: number;
  /** 403 received → authorization request sent (challenge parsing, scope union, PKCE, state). */
  beforeAuthorize: number;
  /** GET /authorize round trip (302). */
  authorize: number;
  /** 302 received → token request sent (the iss/state checks). */
  betweenAuthorizeAndToken: number;
  /** POST /token round trip (code exchange, ES256 signing). */
  token: number;
  /** token response received → retried call sent. */
  beforeRetry: number;
  /** The retried POST /mcp round trip (JWT verification of the new token, the tool). */
  retry: number;
}

export interface P1Result {
  medianMs: number;
  p95Ms: number;
  minMs: number;
  maxMs: number;
  samples: number;
  warmup: number;
  /** Medians of each part. */
  breakdown: StepUpBreakdown;
}

interface Timed {
  method: string;
  path: string;
  status: number;
  sentAt: number;
  receivedAt: number;
}

/** Run one step-up with a fresh client; returns its breakdown (throws if anything but a clean step-up happened). */
async function oneStepUp(resource: string, timings: Timed[]): Promise<StepUpBreakdown> {
  const timedFetch: FetchLike = async (url, init) => {
    const sentAt = performance.now();
    const response = await fetch(url, init);
    const { pathname } = new URL(String(url));
    timings.push({ method: init?.method ?? "GET", path: pathname, status: response.status, sentAt, receivedAt: performance.now() });
    return response;
  };
  const recorder = new ExchangeRecorder({
    fetch: timedFetch,
    refuse: (url) => (isLoopbackUrl(url) ? undefined : "the benchmark talks to loopback only"),
  });
  const handle = createMcpClient({ serverUrl: resource, recorder, clientName: "bench step-up client", requestTimeoutMs: 10_000 });
  try {
    await handle.connect();
    const listed = await handle.client.callTool({ name: "list-files" }, undefined, { timeout: 10_000 });
    if (listed.isError) throw new Error(`list-files failed: ${JSON.stringify(listed.content)}`);

    timings.length = 0;
    const written = await handle.client.callTool(
      { name: "write-file", arguments: { name: "bench.txt", content: "step-up benchmark" } },
      undefined,
      { timeout: 10_000 },
    );
    const text = JSON.stringify(written.content);
    if (written.isError || !text.includes("[files:read files:write]")) throw new Error(`write-file after step-up: ${text}`);

    // From the 403 on: exactly 302 from /authorize → 200 from /token → 200 on /mcp — no refresh, no
    // retry loop. (The transport's standalone SSE stream, GET /mcp, opens in the background: not ours.)
    const exchanges = timings.filter((t) => !(t.method === "GET" && t.path === "/mcp"));
    const shape = exchanges.map((t) => `${t.method} ${t.path} ${t.status}`);
    const expected = ["POST /mcp 403", "GET /authorize 302", "POST /token 200", "POST /mcp 200"];
    if (shape.join(", ") !== expected.join(", ")) throw new Error(`unexpected step-up exchanges: ${shape.join(", ")}`);
    const [challenge, authorize, token, retry] = exchanges;
    return {
      total: retry!.receivedAt - challenge!.receivedAt,
      beforeAuthorize: authorize!.sentAt - challenge!.receivedAt,
      authorize: authorize!.receivedAt - authorize!.sentAt,
      betweenAuthorizeAndToken: token!.sentAt - authorize!.receivedAt,
      token: token!.receivedAt - token!.sentAt,
      beforeRetry: retry!.sentAt - token!.receivedAt,
      retry: retry!.receivedAt - retry!.sentAt,
    };
  } finally {
    await handle.close();
  }
}

export async function runP1(options: P1Options, progress: (line: string) => void): Promise<P1Result> {
  // Every sample registers a client: lift the DCR rate limit (A9) for this AS only.
  const dcrEnv = { AS_DCR_RATE_LIMIT: "100000" };
  const config = await freshConfig(dcrEnv);
  await Promise.all([
    startAuthorizationServer(config, dcrEnv),
    startServer("rs", "resource-server/server.ts", portEnv(config), rsUrls(config.rsPort).healthUrl),
  ]);
  const resource = loadConfig(portEnv(config)).resource;
  progress(`P1: AS and RS children up; ${options.warmup} warm-up + ${options.samples} measured step-ups`);

  const timings: Timed[] = [];
  const samples: StepUpBreakdown[] = [];
  for (let i = 0; i < options.warmup + options.samples; i++) {
    const breakdown = await oneStepUp(resource, timings);
    if (i >= options.warmup) samples.push(breakdown);
  }
  const totals = samples.map((s) => s.total);
  const part = (key: keyof StepUpBreakdown) => median(samples.map((s) => s[key]));
  return {
    medianMs: median(totals),
    p95Ms: p95(totals),
    minMs: Math.min(...totals),
    maxMs: Math.max(...totals),
    samples: samples.length,
    warmup: options.warmup,
    breakdown: {
      total: part("total"),
      beforeAuthorize: part("beforeAuthorize"),
      authorize: part("authorize"),
      betweenAuthorizeAndToken: part("betweenAuthorizeAndToken"),
      token: part("token"),
      beforeRetry: part("beforeRetry"),
      retry: part("retry"),
    },
  };
}
