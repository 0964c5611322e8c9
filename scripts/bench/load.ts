/**
 * A small closed-loop HTTP load generator for the throughput benchmarks (P2, P3): `workers` concurrent
 * loops, each sending its next request as soon as the previous answer is read, over one keep-alive
 * `http.Agent` to 127.0.0.1 (never anywhere else). It stops at whichever comes first: the duration,
 * the request budget, the request source running dry, or too many failures — every loop is bounded
 * in count and time.
 *
 * Why not autocannon: P3 needs a different body for every request (each code and refresh token is
 * single use) and P2 needs per-worker sessions; a 100-line loop over `http.request` does both, adds
 * no dependency, and measures the same thing.
 */
import http from "node:http";
import { LOOPBACK_HOST } from "../../shared/loopback.ts";
import { median, perSecond } from "./stats.ts";

export interface LoadRequest {
  method: "GET" | "POST";
  path: string;
  headers?: http.OutgoingHttpHeaders;
  body?: string;
}

export interface LoadResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface LoadOptions {
  /** The port on 127.0.0.1 to load. */
  port: number;
  /** Concurrent request loops (and keep-alive sockets). */
  workers: number;
  /** Stop issuing requests after this long. */
  durationMs: number;
  /** Stop issuing requests after this many, across all workers. */
  maxRequests: number;
  /** The next request for worker `w`, or `undefined` when that worker has nothing left to send. */
  next: (worker: number) => LoadRequest | undefined;
  /** Is this answer to `request` a success? (Default: status 200.) */
  accept?: (response: LoadResponse, request: LoadRequest, worker: number) => boolean;
  /** Give up on one request after this long (default 10 s). */
  requestTimeoutMs?: number;
  /** Stop early after this many failures (default 20): a broken run should end quickly and say why. */
  maxFailures?: number;
}

export interface LoadResult {
  /** Answers received and accepted. */
  ok: number;
  /** Refused answers, errors and timeouts. */
  failed: number;
  /** From the first request sent to the last answer read. */
  elapsedMs: number;
  /** Accepted answers per second. */
  rate: number;
  /** Median latency of accepted requests, in ms. */
  medianLatencyMs: number;
  /** What the first failure was (status and a prefix of its body, or the error message). */
  firstFailure?: string;
}

const MAX_LATENCY_SAMPLES = 200_000;
/** Our servers answer a few hundred bytes; anything this large is a broken run, not a response. */
const MAX_BODY_CHARS = 1_000_000;

/** A failure report never carries a token: JWTs and token fields are cut out before the body is shortened. */
function describeBody(body: string): string {
  return body
    .slice(0, 10_000)
    .replace(/eyJ[\w-]*(\.[\w-]*){0,2}/g, "<jwt>")
    .replace(/"(access_token|refresh_token|code)":"[^"]*"?/g, '"$1":"…"')
    .slice(0, 200);
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const { port, workers, durationMs, maxRequests, next } = options;
  const accept = options.accept ?? ((response) => response.status === 200);
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const maxFailures = options.maxFailures ?? 20;
  const agent = new http.Agent({ keepAlive: true, maxSockets: workers, maxFreeSockets: workers });

  let issued = 0;
  let ok = 0;
  let failed = 0;
  let firstFailure: string | undefined;
  const latencies: number[] = [];
  const started = performance.now();
  const deadline = started + durationMs;

  const fail = (reason: string) => {
    failed++;
    firstFailure ??= reason;
  };

  const send = (request: LoadRequest): Promise<LoadResponse> =>
    new Promise((resolve, reject) => {
      const headers = { ...request.headers };
      if (request.body !== undefined) headers["content-length"] = Buffer.byteLength(request.body);
      const req = http.request(
        { host: LOOPBACK_HOST, port, method: request.method, path: request.path, headers, agent },
        (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            body += chunk;
            if (body.length > MAX_BODY_CHARS) res.destroy(new Error(`response body over ${MAX_BODY_CHARS} characters`));
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
          res.on("error", reject);
        },
      );
      req.setTimeout(requestTimeoutMs, () => req.destroy(new Error(`no answer within ${requestTimeoutMs} ms`)));
      req.on("error", reject);
      req.end(request.body);
    });

  const loop = async (worker: number) => {
    while (issued < maxRequests && failed < maxFailures && performance.now() < deadline) {
      const request = next(worker);
      if (!request) return;
      issued++;
      const t0 = performance.now();
      try {
        const response = await send(request);
        if (accept(response, request, worker)) {
          ok++;
          if (latencies.length < MAX_LATENCY_SAMPLES) latencies.push(performance.now() - t0);
        } else {
          fail(`${request.method} ${request.path.split("?")[0]} → ${response.status} ${describeBody(response.body)}`);
        }
      } catch (error) {
        fail(`${request.method} ${request.path.split("?")[0]} → ${(error as Error).message}`);
      }
    }
  };

  try {
    await Promise.all(Array.from({ length: workers }, (_, worker) => loop(worker)));
  } finally {
    agent.destroy();
  }
  const elapsedMs = performance.now() - started;
  return { ok, failed, elapsedMs, rate: perSecond(ok, elapsedMs), medianLatencyMs: median(latencies), firstFailure };
}
