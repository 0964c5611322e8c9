/**
 * R8 / B1: bad input on `/mcp` gets a clear 4xx in JSON-RPC error shape — never a 5xx, a hang or a
 * crash — with a valid token, so the request gets past authentication and reaches the body checks.
 */
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import {
  initializeRequest,
  mcpRequest,
  McpTestSession,
  mintToken,
  startTestResourceServer,
  toolCall,
  type McpResponse,
  type TestResourceServer,
} from "../helpers/rs-mcp.ts";

let rs: TestResourceServer;
let token: string;
let session: McpTestSession;

before(async () => {
  rs = await startTestResourceServer();
  token = await mintToken(rs.config, rs.key, { claims: { scope: "files:read files:write" } });
  session = await McpTestSession.open(rs.config, token);
});

after(() => rs.close());

function assertJsonRpcError(response: McpResponse, status: number, message?: RegExp): void {
  assert.equal(response.status, status, response.text);
  assert.match(response.headers.get("content-type") ?? "", /^application\/json/);
  assert.equal(response.body.jsonrpc, "2.0");
  assert.equal(typeof response.body.error.code, "number");
  assert.equal(response.body.id, null);
  if (message) assert.match(response.body.error.message, message);
}

/** A raw HTTP/1.1 request, for what fetch cannot send (no body framing at all, a foreign Host). */
function rawRequest(port: number, head: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => socket.write(head)); // Connection: close ends it
    let data = "";
    socket.on("data", (chunk) => (data += chunk));
    socket.on("end", () => resolve({ status: Number(data.slice(9, 12)), text: data }));
    socket.on("error", reject);
  });
}

describe("R8 bodies that are not one JSON-RPC message", () => {
  test("malformed JSON → 400 Parse error (-32700)", async () => {
    const response = await session.post('{"jsonrpc":"2.0","id":1,"method":');
    assertJsonRpcError(response, 400, /Parse error/);
    assert.equal(response.body.error.code, -32700);
  });

  test("a JSON scalar → 400 Invalid Request (-32600): valid JSON, but not a JSON-RPC message", async () => {
    const response = await session.post("42");
    assertJsonRpcError(response, 400, /Invalid Request/);
    assert.equal(response.body.error.code, -32600);
  });

  test("an empty body (Content-Length: 0) → 400", async () => {
    assertJsonRpcError(await session.post(""), 400, /empty body/);
  });

  test("a POST with no body at all → 400", async () => {
    const { status, text } = await rawRequest(
      rs.config.rsPort,
      `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\n` +
        `Accept: application/json, text/event-stream\r\nMcp-Session-Id: ${session.sessionId}\r\nConnection: close\r\n\r\n`,
    );
    assert.equal(status, 400);
    assert.match(text, /"jsonrpc":"2\.0".*empty body/);
  });

  test("a JSON object that is not JSON-RPC → 400 from the transport, not a crash", async () => {
    assertJsonRpcError(await session.post({ hello: "world" }), 400, /Invalid JSON-RPC message/);
  });

  test("a batch over the SDK's 100-message bound → 400", async () => {
    const batch = Array.from({ length: 101 }, (_, i) => toolCall(i, "list-files"));
    assertJsonRpcError(await session.post(batch), 400, /Batch must not exceed/);
  });
});

describe("R8 content type, encoding and size", () => {
  test("text/plain → 415, even when the text is valid JSON", async () => {
    assertJsonRpcError(await session.post(toolCall(1, "list-files"), { headers: { "content-type": "text/plain" } }), 415);
  });

  test("no Content-Type → 415", async () => {
    const response = await fetch(rs.config.resource, {
      method: "POST",
      headers: { accept: "application/json, text/event-stream", authorization: `Bearer ${token}`, "mcp-session-id": session.sessionId },
      body: new Blob([JSON.stringify(toolCall(1, "list-files"))]), // a Blob without type: no Content-Type
    });
    assert.equal(response.headers.get("content-type")?.startsWith("application/json"), true);
    assert.equal(response.status, 415);
  });

  test("a charset other than UTF-8 → 415", async () => {
    const response = await session.post(toolCall(1, "list-files"), { headers: { "content-type": "application/json; charset=latin1" } });
    assertJsonRpcError(response, 415, /charset/);
  });

  test("a compressed body → 415 (the size limit must bound what is parsed)", async () => {
    const response = await session.post(toolCall(1, "list-files"), { headers: { "content-encoding": "gzip" } });
    assertJsonRpcError(response, 415, /encoding/);
  });

  test("a body over 64 KiB → 413, and the connection stays usable", async () => {
    const huge = toolCall(1, "write-file", { name: "huge.txt", content: "x".repeat(64 * 1024) });
    assertJsonRpcError(await session.post(huge), 413, /Payload Too Large/);
    const read = await session.call("read-file", { name: "huge.txt" });
    assert.equal(read.body.result.isError, true, "the oversized write never ran");
  });
});

describe("R8 methods, hosts and paths", () => {
  test("PUT /mcp → 405 with Allow", async () => {
    const response = await session.post(toolCall(1, "list-files"), { method: "PUT" });
    assertJsonRpcError(response, 405);
    assert.equal(response.headers.get("allow"), "GET, POST, DELETE");
  });

  test("a non-loopback Host header → 403 (DNS rebinding protection)", async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const request = http.request(
        { host: "127.0.0.1", port: rs.config.rsPort, path: "/mcp", method: "POST", headers: { host: "attacker.example" } },
        (response) => (response.resume(), resolve(response.statusCode ?? 0)),
      );
      request.on("error", reject);
      request.end("{}");
    });
    assert.equal(status, 403);
  });

  test("an unknown path → 404 JSON", async () => {
    const response = await fetch(`http://127.0.0.1:${rs.config.rsPort}/nope`);
    assert.equal(response.status, 404);
    assert.equal((await response.json()).error, "not_found");
  });
});

describe("B1 never a 5xx", () => {
  test("arbitrary JSON bodies on a live session", async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 3 }), async (value) => {
        const response = await session.post(JSON.stringify(value));
        assert.ok(response.status < 500, `${response.status} for ${JSON.stringify(value)}: ${response.text}`);
      }),
      { numRuns: 150 },
    );
  });

  test("arbitrary tools/call params (names, arguments) on a live session", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string(), fc.jsonValue({ maxDepth: 2 }), async (name, args) => {
        const response = await session.post({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name, arguments: args } });
        assert.ok(response.status < 500, `${response.status}: ${response.text}`);
      }),
      { numRuns: 150 },
    );
  });

  test("arbitrary Authorization header values", async () => {
    const headerValue = fc.string({ unit: fc.constantFrom(..."Bearer Basic abc.-_~+/=, \t\"\\".split("")) });
    await fc.assert(
      fc.asyncProperty(headerValue, async (authorization) => {
        const response = await mcpRequest(rs.config, initializeRequest(), { headers: { authorization } });
        assert.ok(response.status === 401, `${response.status} for ${JSON.stringify(authorization)}: ${response.text}`);
      }),
      { numRuns: 150 },
    );
  });
});
