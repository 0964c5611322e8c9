/**
 * `pnpm client` when a server stalls (C7): every timeout is one line on stderr that names what timed
 * out, after how long and which request got no answer — exit 2, never a stack trace. A JSON-RPC or HTTP
 * error from the server (a numeric `code`) is the server's message, exit 1.
 *
 * The real AS and RS run in this process; either can stall like a stopped process (SIGSTOP): from the
 * first request that matches, that request and every later one is accepted and never answered. The
 * client runs as a child process, as a user runs it, with CLIENT_TIMEOUT_MS=1500.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import type http from "node:http";
import path from "node:path";
import { after, before, beforeEach, describe, test } from "node:test";
import { createApp as createAuthorizationServer } from "../../as/app.ts";
import { createApp as createResourceServer } from "../../resource-server/app.ts";
import { loadConfig, type Config } from "../../shared/config.ts";
import { closeServer, listenLoopback, type Listening } from "../../shared/listen.ts";

const MAIN = path.resolve(import.meta.dirname, "../../client/main.ts");
const TIMEOUT_MS = 1_500;

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** Asynchronous on purpose: the servers live in this process's event loop. */
function client(args: string[]): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", MAIN, ...args],
      { env: { ...process.env, CLIENT_TIMEOUT_MS: String(TIMEOUT_MS), NO_COLOR: "1" }, timeout: 30_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** One line on stderr, matching `expected`, and nothing that looks like a crash. */
function assertOneLine(outcome: Outcome, code: number, expected: RegExp): void {
  assert.equal(outcome.code, code, outcome.stderr);
  assert.match(outcome.stderr, expected);
  assert.equal(outcome.stderr.trimEnd().split("\n").length, 1, `one line:\n${outcome.stderr}`);
  assert.doesNotMatch(outcome.stderr, /TypeError|\n\s+at /, "no stack trace");
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

/** A server that stalls, from the request `when` matches on (counting with `nth`), like a stopped process. */
function stallable(app: http.RequestListener) {
  let when: ((req: http.IncomingMessage) => boolean) | undefined;
  let stalled = false;
  return {
    stallFrom(predicate: ((req: http.IncomingMessage) => boolean) | undefined) {
      when = predicate;
      stalled = false;
    },
    handler: (req: http.IncomingMessage, res: http.ServerResponse) => {
      if (!stalled && when?.(req)) stalled = true;
      if (!stalled) app(req, res); // else: accepted, never answered (closeServer drops it)
    },
  };
}

/** True from the `n`-th request that matches `match` on. */
function nth(n: number, match: (req: http.IncomingMessage) => boolean) {
  let seen = 0;
  return (req: http.IncomingMessage) => match(req) && ++seen >= n;
}
const tokenRequest = (req: http.IncomingMessage) => req.method === "POST" && req.url === "/token";

describe("timeouts against a stalled server", () => {
  let as: Listening;
  let rs: Listening;
  let config: Config;
  let asSide: ReturnType<typeof stallable>;
  let rsSide: ReturnType<typeof stallable>;

  before(async () => {
    as = await listenLoopback(0);
    rs = await listenLoopback(0);
    config = loadConfig({ AS_PORT: String(as.address.port), RS_PORT: String(rs.address.port) });
    asSide = stallable(await createAuthorizationServer(config));
    rsSide = stallable(await createResourceServer(config));
    as.server.on("request", asSide.handler);
    rs.server.on("request", rsSide.handler);
  });
  beforeEach(() => {
    asSide.stallFrom(undefined);
    rsSide.stallFrom(undefined);
    // Drop the stalled requests of the test before (a real stopped server would keep them forever).
    as.server.closeAllConnections();
    rs.server.closeAllConnections();
  });
  after(async () => {
    await Promise.all([closeServer(as.server), closeServer(rs.server)]);
  });

  const fromAs = (method: string, endpoint: string) =>
    `${method} ${escape(`${config.issuer}${endpoint}`)} got no answer from the authorization server \\(CLIENT_TIMEOUT_MS\\)\n$`;

  test("discovery: the AS stalls on its metadata", { timeout: 30_000 }, async () => {
    asSide.stallFrom((req) => req.url === "/.well-known/oauth-authorization-server");
    const outcome = await client(["--call", "list-files", config.resource]);
    assertOneLine(outcome, 2, new RegExp(`^client: connecting \\(initialize\\) timed out after ${TIMEOUT_MS} ms: ${fromAs("GET", "/.well-known/oauth-authorization-server")}`));
  });

  test("the connect token request: the AS stalls on the code exchange", { timeout: 30_000 }, async () => {
    asSide.stallFrom(tokenRequest);
    const outcome = await client(["--call", "list-files", config.resource]);
    assertOneLine(outcome, 2, new RegExp(`^client: connecting \\(initialize\\) timed out after ${TIMEOUT_MS} ms: ${fromAs("POST", "/token")}`));
  });

  test("the step-up token request: the AS stalls on the second code exchange", { timeout: 30_000 }, async () => {
    asSide.stallFrom(nth(2, tokenRequest));
    const outcome = await client(["--call", "write-file", "--args", '{"name":"t.txt","content":"-"}', config.resource]);
    assertOneLine(outcome, 2, new RegExp(`^client: tools/call write-file timed out after ${TIMEOUT_MS} ms: ${fromAs("POST", "/token")}`));
  });

  test("a stalled MCP server: from its first request", { timeout: 30_000 }, async () => {
    rsSide.stallFrom(() => true);
    const outcome = await client(["--call", "list-files", config.resource]);
    assertOneLine(
      outcome,
      2,
      new RegExp(`^client: connecting \\(initialize\\) timed out after ${TIMEOUT_MS} ms: POST ${escape(config.resource)} got no answer from the MCP server \\(CLIENT_TIMEOUT_MS\\)\n$`),
    );
  });

  test("a stalled MCP server: on the tool call, after a good connect", { timeout: 30_000 }, async () => {
    // In a session, the first POST is notifications/initialized, the second the tools/call.
    rsSide.stallFrom(nth(2, (req) => req.method === "POST" && req.headers["mcp-session-id"] !== undefined));
    const outcome = await client(["--call", "list-files", config.resource]);
    assertOneLine(
      outcome,
      2,
      new RegExp(`^client: tools/call list-files timed out after ${TIMEOUT_MS} ms: POST ${escape(config.resource)} got no answer from the MCP server \\(CLIENT_TIMEOUT_MS\\)\n$`),
    );
  });

  test("the story: a stalled AS at connect is one line, exit 2, and D1 says so in the JSON report", { timeout: 30_000 }, async () => {
    asSide.stallFrom(tokenRequest);
    const outcome = await client(["--server", config.resource, "--json"]);
    assert.equal(outcome.code, 2, outcome.stderr);
    const line = new RegExp(`^client: D1 connect: 401 → discovery → DCR → authorize → token timed out after ${TIMEOUT_MS} ms: ${fromAs("POST", "/token").replace("\\n$", "")}`, "m");
    assert.match(outcome.stderr, line);
    assert.doesNotMatch(outcome.stderr, /TypeError|\n\s+at /);
    const report = JSON.parse(outcome.stdout) as { ok: boolean; checks: Array<{ id: string; ok: boolean; detail: string }> };
    assert.equal(report.ok, false);
    assert.match(report.checks[0]!.detail, /timed out after 1500 ms: POST .*\/token got no answer from the authorization server/);
  });
});

describe("errors with a numeric code from the server", () => {
  /** An MCP server without auth whose tools/call answers with `reply` (status, JSON-RPC error or text). */
  async function startMcpServer(reply: (id: unknown) => { status: number; body: string }) {
    const listening = await listenLoopback(0);
    listening.server.on("request", async (req, res) => {
      let body = "";
      for await (const chunk of req) body += chunk;
      const message = req.method === "POST" ? (JSON.parse(body) as { id?: unknown; method: string; params?: { protocolVersion?: string } }) : undefined;
      const json = (status: number, payload: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(payload));
      };
      if (!message) return json(405, { error: "POST only" });
      if (message.method === "initialize") {
        const result = { protocolVersion: message.params?.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: "errors", version: "0" } };
        return json(200, { jsonrpc: "2.0", id: message.id, result });
      }
      if (message.id === undefined) return void res.writeHead(202).end(); // a notification
      const { status, body: text } = reply(message.id);
      res.writeHead(status, { "content-type": status === 200 ? "application/json" : "text/plain" });
      res.end(text);
    });
    return { url: `${listening.url}/mcp`, close: () => closeServer(listening.server) };
  }

  test("a JSON-RPC error (numeric code): the server's message, exit 1, no crash", { timeout: 30_000 }, async () => {
    const server = await startMcpServer((id) => ({
      status: 200,
      body: JSON.stringify({ jsonrpc: "2.0", id, error: { code: -32602, message: "Unknown tool: no-such-tool" } }),
    }));
    try {
      const outcome = await client(["--call", "no-such-tool", server.url]);
      assertOneLine(outcome, 1, /^client: MCP error -32602: Unknown tool: no-such-tool\n$/);
    } finally {
      await server.close();
    }
  });

  test("an HTTP error status: the status and the server's message, exit 1, no crash", { timeout: 30_000 }, async () => {
    const server = await startMcpServer(() => ({ status: 500, body: "the tool store is offline" }));
    try {
      const outcome = await client(["--call", "list-files", server.url]);
      assertOneLine(outcome, 1, /^client: HTTP 500: .*the tool store is offline\n$/);
    } finally {
      await server.close();
    }
  });
});
