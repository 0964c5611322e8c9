/**
 * Runs one catalog entry (rs-types.ts) against the real RS app on port 0, trusting a test JWKS
 * (`startTestResourceServer`), and checks everything the catalog promises — the same checks for every
 * entry, so an entry is only data: the request and the answer it is owed.
 */
import assert from "node:assert/strict";
import http from "node:http";
import { randomUUID } from "node:crypto";
import { closeServer, listenLoopback } from "../../../shared/listen.ts";
import {
  parseMcpBody,
  ACCEPT,
  McpTestSession,
  mintToken,
  parseChallenge,
  startTestResourceServer,
  toolCall,
  type MintOptions,
  type TestResourceServer,
} from "../../helpers/rs-mcp.ts";
import {
  FORGED_SCOPE,
  VICTIM,
  VICTIM_SCOPE,
  type AttackKit,
  type AttackRequest,
  type ChallengeExpectation,
  type Expectation,
  type RsAttack,
} from "./rs-types.ts";

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Every raw header line's name, lower-cased (to count repeated headers). */
  headerNames: string[];
  text: string;
  body: any;
}

export interface CatalogServer {
  rs: TestResourceServer;
  trap: AttackKit["trap"];
  close(): Promise<void>;
}

export async function startCatalogServer(env: Record<string, string> = {}): Promise<CatalogServer> {
  const rs = await startTestResourceServer({ env });
  let hits = 0;
  const trap = await listenLoopback(0, (_req, res) => {
    hits++;
    res.writeHead(404).end();
  });
  return {
    rs,
    trap: { url: `${trap.url}/jwks.json`, hits: () => hits },
    close: async () => {
      await Promise.all([rs.close(), closeServer(trap.server)]);
    },
  };
}

/**
 * One request to the RS with node:http, so a header can be sent twice (fetch would join the values)
 * and any byte sequence can be the body. The response is read whole: a refusal is JSON, an answer from
 * MCP itself a short SSE stream that ends with the response.
 */
export function sendRaw(
  url: string,
  { method = "POST", headers = {}, body }: { method?: string; headers?: Record<string, string | string[]>; body?: string | Buffer },
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method, headers, agent: false, timeout: 10_000 }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        const parsed = parseMcpBody(response.headers["content-type"] ?? "", text);
        const headerNames: string[] = [];
        for (let i = 0; i < response.rawHeaders.length; i += 2) headerNames.push(response.rawHeaders[i]!.toLowerCase());
        resolve({ status: response.statusCode!, headers: response.headers, headerNames, text, body: parsed });
      });
      response.on("error", reject);
    });
    request.on("timeout", () => request.destroy(new Error(`no answer from ${url} within 10 s`)));
    request.on("error", reject);
    request.end(body);
  });
}

/** The victim's store as it sees it: `name (bytes)` lines after the `list-files` header line. */
async function storeOf(session: McpTestSession): Promise<string[]> {
  const text = await session.callText("list-files");
  assert.match(text, new RegExp(`read by ${VICTIM.client_id} \\[${VICTIM_SCOPE}\\]`), "the victim's session answers as the victim");
  return text.split("\n").slice(1);
}

/** Long strings of the request that must never come back (tokens, in header, query or body). */
function credentialsIn(request: AttackRequest, body: string): string[] {
  const values = [
    ...Object.values(request.headers ?? {}).flat(),
    decodeURIComponent(request.query ?? ""),
    body,
  ];
  const pieces = values.flatMap((value) => value.split(/[\s,;&="':{}[\]]+/));
  return [...new Set(pieces.filter((piece) => piece.length >= 20 && /^[A-Za-z0-9\-._~+/]+$/.test(piece) && piece.includes(".")))];
}

function assertChallenge(response: RawResponse, expected: ChallengeExpectation, resourceMetadataUrl: string): void {
  const count = response.headerNames.filter((name) => name === "www-authenticate").length;
  if (expected.kind === "none") {
    assert.equal(count, 0, `no WWW-Authenticate expected, got ${String(response.headers["www-authenticate"])}`);
    return;
  }
  assert.equal(count, 1, "exactly one WWW-Authenticate header");
  const header = response.headers["www-authenticate"] as string;
  const challenge = parseChallenge(header); // strict RFC 9110 §11.6.1 parse; throws on anything else
  assert.equal(challenge.scheme, "Bearer");
  assert.equal(new Set(challenge.names).size, challenge.names.length, `each parameter once: ${header}`);
  const p = challenge.params;
  const expectedNames =
    expected.kind === "missing" ? ["resource_metadata", "scope"] : ["error", "error_description", "resource_metadata", "scope"];
  assert.deepEqual([...challenge.names].sort(), expectedNames, `parameters of ${header}`);
  assert.equal(p.resource_metadata, resourceMetadataUrl);
  switch (expected.kind) {
    case "missing":
      assert.equal(p.scope, "files:read");
      break;
    case "invalid_token":
      assert.equal(p.error, "invalid_token");
      assert.equal(p.scope, "files:read");
      assert.match(p.error_description!, expected.description);
      break;
    case "insufficient_scope":
      assert.equal(p.error, "insufficient_scope");
      assert.equal(p.scope, expected.scope);
      assert.match(p.error_description!, expected.description);
      break;
  }
}

function assertBody(response: RawResponse, expected: Expectation): void {
  const { body } = expected;
  if ("empty" in body) {
    assert.equal(response.text, "", "no body expected");
    return;
  }
  // A refusal by the gate is JSON; an answer from MCP itself arrives as an SSE stream of JSON-RPC.
  assert.match(String(response.headers["content-type"]), /^(application\/json|text\/event-stream)/, `JSON-RPC expected: ${response.text.slice(0, 200)}`);
  const json = response.body;
  if ("rpcError" in body) {
    assert.equal(json?.jsonrpc, "2.0", response.text);
    assert.equal(json.result, undefined);
    assert.equal(typeof json.error?.code, "number");
    assert.equal(typeof json.error?.message, "string");
    if (body.rpcError.code !== undefined) assert.equal(json.error.code, body.rpcError.code, response.text);
    if (body.rpcError.id !== undefined) assert.equal(json.id, body.rpcError.id, response.text);
    if (body.rpcError.message) assert.match(json.error.message, body.rpcError.message);
    if (expected.challenge.kind === "invalid_token" || expected.challenge.kind === "insufficient_scope") {
      assert.equal(json.error.data?.error, expected.challenge.kind, "the OAuth error is in the JSON-RPC error's data too");
    }
    return;
  }
  assert.equal(json?.jsonrpc, "2.0", response.text);
  assert.equal(json.error, undefined, response.text);
  // A tool result's text; any other result (tools/list …) as its JSON.
  const text: string = json.result?.content?.[0]?.text ?? JSON.stringify(json.result);
  assert.equal(typeof text, "string", response.text);
  if ("rpcResult" in body) {
    assert.notEqual(json.result.isError, true, text);
    assert.match(text, body.rpcResult);
  } else {
    assert.equal(json.result.isError, true, text);
    assert.match(text, body.toolError);
  }
}

/** Send one catalog entry at a fresh victim session and check everything the catalog promises. */
export async function runAttack(server: CatalogServer, attack: RsAttack): Promise<void> {
  const { config, key } = server.rs;
  const victimToken = await mintToken(config, key, { claims: { ...VICTIM, scope: VICTIM_SCOPE } });
  const victim = await McpTestSession.open(config, victimToken);
  const marker = `abuse-${randomUUID().slice(0, 8)}.txt`;
  const kit: AttackKit = {
    config,
    key,
    victimToken,
    victim,
    marker,
    trap: server.trap,
    forge: ({ header, claims, omit }: MintOptions = {}) =>
      mintToken(config, key, { header, claims: { ...VICTIM, scope: FORGED_SCOPE, ...claims }, omit }),
    writeMarker: (id = 1) => toolCall(id as number, "write-file", { name: marker, content: "written by an attack\n" }),
  };
  const before = await storeOf(victim);
  const trapHits = server.trap.hits();

  const request = await attack.request(kit);
  const headers: Record<string, string | string[]> = { accept: ACCEPT, "content-type": "application/json", ...request.headers };
  for (const [name, value] of Object.entries(headers)) if (value === "") delete headers[name]; // "" = leave the header out
  if ((request.session ?? "victim") === "victim" && !("mcp-session-id" in headers)) headers["mcp-session-id"] = victim.sessionId;
  const method = request.method ?? "POST";
  const payload = request.body === undefined ? kit.writeMarker() : request.body;
  const bodyText =
    method === "GET" || method === "DELETE" ? undefined : typeof payload === "string" || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload);
  const { expect } = attack;
  const response = await sendRaw(`${config.resource}${request.query ?? ""}`, { method, headers, body: bodyText }).catch((error) => {
    if (expect.orReset && ["ECONNRESET", "EPIPE"].includes((error as NodeJS.ErrnoException).code ?? "")) return undefined;
    throw error;
  });
  if (response) assertAnswer(response, expect, request, bodyText, config.resourceMetadataUrl);

  // ---- no side effect: the victim's session works and the store is as before (or has just the marker) ----
  const after = await storeOf(victim);
  if ((expect.effect ?? "nothing") === "nothing") {
    assert.deepEqual(after, before, "the store is unchanged");
  } else {
    assert.deepEqual(after.filter((line) => !line.startsWith(`${marker} `)), before, "only the marker was added");
    assert.ok(after.some((line) => line.startsWith(`${marker} `)), "the accepted write landed");
  }
  assert.equal(server.trap.hits(), trapHits, "no URL named by the token (jku/x5u) was fetched");
  await attack.verify?.(kit);
}

/** The answer is the one the entry is owed, and echoes no credential of the request. */
function assertAnswer(response: RawResponse, expect: Expectation, request: AttackRequest, bodyText: string | Buffer | undefined, resourceMetadataUrl: string): void {
  assert.ok(response.status < 500, `never a 5xx: ${response.status} ${response.text.slice(0, 300)}`);
  assert.equal(response.status, expect.status, `status: ${response.text.slice(0, 300)}`);
  assertChallenge(response, expect.challenge, resourceMetadataUrl);
  assertBody(response, expect);
  const answer = `${String(response.headers["www-authenticate"] ?? "")}\n${response.text}`;
  for (const secret of credentialsIn(request, typeof bodyText === "string" ? bodyText : "")) {
    assert.ok(!answer.includes(secret), `the answer echoes a credential of the request (${secret.slice(0, 12)}…)`);
  }
  for (const pattern of expect.mustNotContain ?? []) assert.doesNotMatch(answer, pattern);
}
