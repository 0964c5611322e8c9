/**
 * P3 — token issuance throughput of the AS: token responses per second (ES256-signed RFC 9068 access
 * tokens + rotating refresh tokens) under concurrent load, the AS in its own child process.
 *
 * Per batch (the AS keeps at most 1000 live codes, A9, so codes are made in batches below that):
 *   1. not measured: GET /authorize for `batchSize` codes (PKCE S256, `resource`), spread over a few
 *      registered clients (the DCR rate limit is raised through `AS_DCR_RATE_LIMIT` for this AS);
 *   2. measured: redeem every code (grant_type=authorization_code), `workers` requests at a time;
 *   3. measured: refresh every refresh token from step 2 once (grant_type=refresh_token, rotation).
 * The figure is all 200 token responses over the measured time of steps 2 and 3; every response is
 * checked (status 200, an access token, a refresh token from the code exchange).
 */
import type { Config } from "../../shared/config.ts";
import { freshConfig, startAuthorizationServer } from "./children.ts";
import { runLoad, type LoadRequest, type LoadResult } from "./load.ts";
import {
  authorizationRequest,
  codeExchangeRequest,
  codeFrom,
  refreshRequest,
  registerClient,
  tokensFrom,
  type PendingCode,
} from "./oauth.ts";
import { perSecond } from "./stats.ts";

export interface P3Options {
  batches: number;
  /** Codes per batch (< 1000, the AS's cap on live codes). */
  batchSize: number;
  workers: number;
  /** Clients the codes are spread over. */
  clients: number;
}

export interface P3Result {
  tokensPerS: number;
  codeExchangesPerS: number;
  refreshesPerS: number;
  tokens: number;
  measuredMs: number;
  /** Median latency of one token request under this load (the mean of the phases' medians). */
  medianLatencyMs: number;
  options: P3Options;
}

/** A bound on each phase, whatever happens (the counts end them long before). */
const PHASE_TIMEOUT_MS = 60_000;

/** Send every request of `queue` once, `workers` at a time; `onOk` sees each accepted answer. */
function drain(
  config: Config,
  workers: number,
  queue: LoadRequest[],
  accept: (body: string, request: LoadRequest, status: number, location?: string) => boolean,
): Promise<LoadResult> {
  let next = 0;
  return runLoad({
    port: config.asPort,
    workers,
    durationMs: PHASE_TIMEOUT_MS,
    maxRequests: queue.length,
    next: () => queue[next++],
    accept: (response, request) => accept(response.body, request, response.status, response.headers.location),
  });
}

export async function runP3(options: P3Options, progress: (line: string) => void): Promise<P3Result> {
  if (options.batchSize >= 1000) throw new RangeError("batchSize must stay below the AS's 1000 live codes");
  const dcrEnv = { AS_DCR_RATE_LIMIT: "100000" };
  const config = await freshConfig(dcrEnv);
  await startAuthorizationServer(config, dcrEnv);
  const clients: string[] = [];
  for (let i = 0; i < options.clients; i++) clients.push(await registerClient(config, `bench token client ${i}`));
  progress(`P3: AS child up; ${options.batches} batch(es) of ${options.batchSize} codes, ${options.workers} workers`);

  const totals = { exchanges: 0, exchangeMs: 0, refreshes: 0, refreshMs: 0, latency: [] as number[] };
  for (let batch = 0; batch < options.batches; batch++) {
    // 1. codes (not measured): each authorization request remembers its PKCE verifier.
    const pendingOf = new Map<LoadRequest, PendingCode>();
    for (let i = 0; i < options.batchSize; i++) {
      const { request, pending } = authorizationRequest(config, clients[i % clients.length]!, "files:read files:write");
      pendingOf.set(request, pending);
    }
    const codes: Array<Required<PendingCode>> = [];
    const made = await drain(config, options.workers, [...pendingOf.keys()], (body, request, status, location) => {
      const code = codeFrom({ status, headers: { location }, body });
      if (code) codes.push({ ...pendingOf.get(request)!, code });
      return code !== undefined;
    });
    if (made.failed > 0) throw new Error(`P3 batch ${batch + 1}: authorization failed: ${made.firstFailure}`);

    // 2. code exchanges (measured)
    const clientOf = new Map<LoadRequest, string>();
    for (const code of codes) clientOf.set(codeExchangeRequest(config, code), code.client_id);
    const refreshes: LoadRequest[] = [];
    const exchanged = await drain(config, options.workers, [...clientOf.keys()], (body, request, status) => {
      const tokens = tokensFrom({ status, headers: {}, body }, true);
      if (tokens) refreshes.push(refreshRequest(config, clientOf.get(request)!, tokens.refresh_token!));
      return tokens !== undefined;
    });
    if (exchanged.failed > 0) throw new Error(`P3 batch ${batch + 1}: code exchange failed: ${exchanged.firstFailure}`);

    // 3. refreshes (measured)
    const refreshed = await drain(
      config,
      options.workers,
      refreshes,
      (body, _request, status) => tokensFrom({ status, headers: {}, body }, true) !== undefined,
    );
    if (refreshed.failed > 0) throw new Error(`P3 batch ${batch + 1}: refresh failed: ${refreshed.firstFailure}`);

    totals.exchanges += exchanged.ok;
    totals.exchangeMs += exchanged.elapsedMs;
    totals.refreshes += refreshed.ok;
    totals.refreshMs += refreshed.elapsedMs;
    totals.latency.push(exchanged.medianLatencyMs, refreshed.medianLatencyMs);
    progress(
      `P3 batch ${batch + 1}/${options.batches}: ${Math.round(exchanged.rate)} code exchanges/s, ${Math.round(refreshed.rate)} refreshes/s`,
    );
  }
  const tokens = totals.exchanges + totals.refreshes;
  const measuredMs = totals.exchangeMs + totals.refreshMs;
  return {
    tokensPerS: perSecond(tokens, measuredMs),
    codeExchangesPerS: perSecond(totals.exchanges, totals.exchangeMs),
    refreshesPerS: perSecond(totals.refreshes, totals.refreshMs),
    tokens,
    measuredMs,
    medianLatencyMs: totals.latency.reduce((a, b) => a + b, 0) / Math.max(1, totals.latency.length),
    options,
  };
}
