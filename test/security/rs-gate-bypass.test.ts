/**
 * R9 — the gate decides on exactly the message that will run. The attack: a `files:read` token hides the
 * tool name under a `__proto__` key, the gate (reading `JSON.parse`'s own properties) sees no tool, and
 * an executor that turns `__proto__` into the prototype runs `write-file`. Each layer of the defence is
 * tested on its own, so removing any one of them turns a test red:
 *
 *   1. the ambiguous-key refusal before the gate, against an executor that *does* honour `__proto__`;
 *   2. each tool handler's own scope check, with no gate in front of it at all;
 *   3. the SDK's own message parse (zod 4.6): it no longer turns a `__proto__` key into the prototype
 *      (zod 3.25's bundled `zod/v4` did, which is what made the attack work end to end);
 * and the whole RS, with the payloads as an attacker sends them.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import express from "express";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import { CallToolRequestSchema, JSONRPCMessageSchema, type JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { loadConfig } from "../../shared/config.ts";
import { closeServer, listenLoopback } from "../../shared/listen.ts";
import { silentLogger } from "../../shared/log.ts";
import { mcpJsonBody } from "../../resource-server/mcp-endpoint.ts";
import { scopeGate } from "../../resource-server/scope-gate.ts";
import { FileStore } from "../../resource-server/store.ts";
import { createMcpServer } from "../../resource-server/tools.ts";
import { initializeRequest, McpTestSession, mintToken, startTestResourceServer } from "../helpers/rs-mcp.ts";

const WRITE = { name: "write-file", arguments: { name: "pwned.txt", content: "x" } };
const DELETE = { name: "delete-file", arguments: { name: "notes.txt" } };
const call = (params: string, id = 3) => `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":${params}}`;

/** The attack bodies, as JSON text: each hides a forbidden call from a gate that reads own properties. */
const BYPASSES: Array<[string, string]> = [
  ["params.__proto__ names write-file", call(`{"__proto__":${JSON.stringify(WRITE)}}`)],
  ["params.__proto__ names delete-file", call(`{"__proto__":${JSON.stringify(DELETE)}}`)],
  ["the key spelled with JSON escapes", call(`{"\\u005f\\u005fproto\\u005f\\u005f":${JSON.stringify(WRITE)}}`)],
  ["inside a batch, after an allowed call", `[${call('{"name":"list-files"}', 1)},${call(`{"__proto__":${JSON.stringify(WRITE)}}`, 2)}]`],
  ["at the top level of the message", `{"jsonrpc":"2.0","id":3,"__proto__":{"method":"tools/call","params":${JSON.stringify(WRITE)}}}`],
  ["a constructor key deep in the arguments", call(`{"name":"list-files","arguments":{"a":[{"b":{"constructor":{"prototype":{"x":1}}}}]}}`)],
  ["a prototype key", call(`{"name":"list-files","prototype":${JSON.stringify(WRITE)}}`)],
];

// ---- 1. the key refusal, in front of an executor that honours `__proto__` ----

/**
 * A deliberately naive executor: it copies `params` with `Object.assign`, which *sets* `__proto__` (the
 * setter makes the value the prototype) — as a schema library or a merge helper might. It records what
 * it would have run and answers 200.
 */
function naiveExecutor(ran: string[]): express.RequestHandler {
  return (req, res) => {
    const messages = Array.isArray(req.body) ? req.body : [req.body];
    for (const message of messages) {
      const envelope = Object.assign({}, message) as { method?: string; params?: unknown };
      const params = Object.assign({}, envelope.params) as { name?: unknown };
      if (envelope.method === "tools/call" && typeof params.name === "string") ran.push(params.name);
    }
    res.json({ jsonrpc: "2.0", id: null, result: { ran } });
  };
}

async function withGatedExecutor(
  body: express.RequestHandler[],
  run: (post: (text: string) => Promise<{ status: number; json: any }>, ran: string[]) => Promise<void>,
): Promise<void> {
  const config = loadConfig({ AS_PORT: "1", RS_PORT: "2" });
  const ran: string[] = [];
  const app = express();
  const auth: AuthInfo = { token: "t", clientId: "reader", scopes: ["files:read"], extra: { sub: "demo-user" } };
  app.post("/mcp", (req, _res, next) => ((req as express.Request & { auth?: AuthInfo }).auth = auth, next()), ...body, scopeGate(config, silentLogger), naiveExecutor(ran));
  const { server, url } = await listenLoopback(0, app);
  try {
    await run(async (text) => {
      const response = await fetch(`${url}/mcp`, { method: "POST", headers: { "content-type": "application/json" }, body: text });
      return { status: response.status, json: await response.json() };
    }, ran);
  } finally {
    await closeServer(server);
  }
}

test("R9 layer 1 (control): without the key refusal, the gate passes what a naive executor runs as write-file", async () => {
  // requireJson + parse only: the JSON-RPC checks (and with them the key refusal) left out
  await withGatedExecutor(mcpJsonBody().slice(0, 2), async (post, ran) => {
    const answer = await post(BYPASSES[0]![1]);
    assert.equal(answer.status, 200, "the gate saw no tool name");
    assert.deepEqual(ran, ["write-file"], "the executor read the tool name through the prototype");
  });
});

test("R9 layer 1: every ambiguous key is refused with 400 -32600 before the gate, and the executor runs nothing", async () => {
  await withGatedExecutor(mcpJsonBody(), async (post, ran) => {
    for (const [what, text] of BYPASSES) {
      const answer = await post(text);
      assert.equal(answer.status, 400, what);
      assert.equal(answer.json.error.code, -32600, what);
      assert.match(answer.json.error.message, /^Invalid Request: object key not allowed at /, what);
    }
    assert.deepEqual(ran, []);
    // the same executor still serves an honest message
    assert.equal((await post(call('{"name":"list-files"}'))).status, 200);
    assert.deepEqual(ran, ["list-files"]);
  });
});

// ---- 2. each tool handler's own scope check, with no gate at all ----

/** An MCP server over an in-memory transport: messages carry `authInfo` as the HTTP transport would. */
async function toolServer() {
  const store = new FileStore();
  const server = createMcpServer(store);
  const [client, serverSide] = InMemoryTransport.createLinkedPair();
  const answers = new Map<unknown, any>();
  client.onmessage = (message) => void ("id" in message && answers.set(message.id, message));
  await server.connect(serverSide);
  await client.start();
  let id = 0;
  const send = async (message: Record<string, unknown>, authInfo?: AuthInfo) => {
    const request = { jsonrpc: "2.0", id: ++id, ...message } as JSONRPCMessage;
    await client.send(request, { authInfo });
    for (let i = 0; i < 100 && !answers.has(id); i++) await new Promise((resolve) => setImmediate(resolve));
    return answers.get(id);
  };
  await send(initializeRequest() as Record<string, unknown>);
  const callTool = (name: string, args: Record<string, unknown> | undefined, scopes?: string[]) =>
    send(
      { method: "tools/call", params: args ? { name, arguments: args } : { name } },
      scopes && { token: "t", clientId: "caller", scopes, extra: { sub: "demo-user" } },
    );
  return { store, callTool, close: () => server.close() };
}

test("R9 layer 2: with no gate in front, each handler refuses a token without its scope, and the store is untouched", async () => {
  const { store, callTool, close } = await toolServer();
  try {
    const before = store.list();
    for (const [name, args] of [
      ["write-file", { name: "pwned.txt", content: "x" }],
      ["delete-file", { name: "notes.txt" }],
    ] as const) {
      const answer = await callTool(name, args, ["files:read"]);
      assert.equal(answer.result.isError, true, name);
      assert.match(answer.result.content[0].text, new RegExp(`^insufficient_scope: ${name} requires files:`), name);
    }
    // and a call with no verified token at all
    assert.equal((await callTool("list-files", undefined)).result.isError, true);
    assert.deepEqual(store.list(), before);
    // each tool needs only its own scope, named in the token (independent scopes, S1)
    assert.match((await callTool("write-file", { name: "ok.txt", content: "y" }, ["files:write"])).result.content[0].text, /^wrote ok\.txt/);
    assert.match((await callTool("list-files", undefined, ["files:read"])).result.content[0].text, /^listed \d+ files/);
  } finally {
    await close();
  }
});

// ---- 3. the SDK's parse of a tools/call ----

test("R9 layer 3: the SDK's two parses (transport, then tools/call) do not read a tool name through __proto__ (zod 4.6)", () => {
  for (const [what, text] of BYPASSES.slice(0, 3)) {
    // the transport parses the message, the server then parses the request it handed on
    const parsed = CallToolRequestSchema.safeParse(JSONRPCMessageSchema.parse(JSON.parse(text)));
    assert.equal(parsed.success, false, `${what}: no tool name, so not a valid tools/call`);
  }
  const plain = CallToolRequestSchema.parse(JSON.parse(call(JSON.stringify(WRITE))));
  assert.equal(plain.params.name, "write-file");
});

// ---- the whole RS, as the attacker sends it ----

test("R9: a files:read token cannot run write-file or delete-file through __proto__ (single, batch, escaped, nested)", async () => {
  const rs = await startTestResourceServer();
  try {
    const token = await mintToken(rs.config, rs.key, { claims: { client_id: "attacker", scope: "files:read" } });
    const session = await McpTestSession.open(rs.config, token);
    const listing = await session.callText("list-files");
    for (const [what, text] of BYPASSES) {
      const answer = await session.post(text);
      assert.equal(answer.status, 400, `${what}: ${answer.text}`);
      assert.equal(answer.body.error.code, -32600, what);
    }
    assert.equal(await session.callText("list-files"), listing, "nothing was written or deleted");
  } finally {
    await rs.close();
  }
});
