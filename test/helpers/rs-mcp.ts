/**
 * Test helpers for the resource server (R1–R8): drive MCP over plain `fetch` (JSON-RPC, as the wire
 * shows it), parse `WWW-Authenticate` challenges strictly, and mint tokens the AS would never issue.
 *
 * Responses are parsed by their Content-Type: the RS answers a POST of requests with an SSE stream
 * (`text/event-stream`, read from its `data:` lines) and errors with JSON; both are read here.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from "jose";
import { LATEST_PROTOCOL_VERSION } from "@modelcontextprotocol/sdk/types.js";
import { loadConfig, type Config } from "../../shared/config.ts";
import { closeServer, listenLoopback } from "../../shared/listen.ts";
import { createApp } from "../../resource-server/app.ts";

export const ACCEPT = "application/json, text/event-stream";

export interface McpResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON (or the last SSE `data:` message); the raw text when neither; `undefined` when empty. */
  body: any;
  text: string;
}

export interface PostOptions {
  token?: string;
  sessionId?: string;
  /** Extra or overriding headers (e.g. a custom `content-type` or `authorization`). */
  headers?: Record<string, string>;
  method?: string;
}

/** One HTTP request to `/mcp`. A non-string body is sent as JSON. */
export async function mcpRequest(config: Config, body: unknown, options: PostOptions = {}): Promise<McpResponse> {
  const headers: Record<string, string> = { accept: ACCEPT, "content-type": "application/json" };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  if (options.sessionId !== undefined) headers["mcp-session-id"] = options.sessionId;
  Object.assign(headers, options.headers);
  const method = options.method ?? "POST";
  const response = await fetch(config.resource, {
    method,
    headers,
    body: method === "GET" || method === "DELETE" || body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  return readMcpResponse(response);
}

/** The JSON-RPC payload of an /mcp response body, by its Content-Type (JSON, or SSE `data:` lines). */
export function parseMcpBody(contentType: string, text: string): any {
  if (contentType.startsWith("application/json") && text !== "") return JSON.parse(text);
  if (contentType.startsWith("text/event-stream")) {
    const data = text.split("\n").filter((line) => line.startsWith("data:")).map((line) => line.slice(5).trim());
    // One event per JSON-RPC response; several (a batch) read as an array, like a JSON batch response.
    const messages = data.filter((line) => line !== "").map((line) => JSON.parse(line));
    return messages.length > 1 ? messages : messages[0];
  }
  return text === "" ? undefined : text;
}

export async function readMcpResponse(response: Response): Promise<McpResponse> {
  const text = await response.text();
  const body = parseMcpBody(response.headers.get("content-type") ?? "", text);
  return { status: response.status, headers: response.headers, body, text };
}

export const initializeRequest = (id: number | string = 1) => ({
  jsonrpc: "2.0",
  id,
  method: "initialize",
  params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: "rs-test", version: "0" } },
});

export const toolCall = (id: number | string, name: string, args?: Record<string, unknown>) => ({
  jsonrpc: "2.0",
  id,
  method: "tools/call",
  params: args === undefined ? { name } : { name, arguments: args },
});

/** An initialized MCP session over plain fetch; `token` can be swapped (step-up) between calls. */
export class McpTestSession {
  #nextId = 10;
  readonly config: Config;
  token: string | undefined;
  readonly sessionId: string;
  constructor(config: Config, token: string | undefined, sessionId: string) {
    this.config = config;
    this.token = token;
    this.sessionId = sessionId;
  }

  /** initialize → `Mcp-Session-Id` → notifications/initialized, asserting the MCP handshake. */
  static async open(config: Config, token: string | undefined): Promise<McpTestSession> {
    const init = await mcpRequest(config, initializeRequest(), { token });
    assert.equal(init.status, 200, `initialize failed: ${init.status} ${init.text}`);
    const sessionId = init.headers.get("mcp-session-id");
    assert.ok(sessionId, "initialize must return an Mcp-Session-Id");
    const initialized = await mcpRequest(config, { jsonrpc: "2.0", method: "notifications/initialized" }, { token, sessionId });
    assert.equal(initialized.status, 202, `notifications/initialized: ${initialized.status} ${initialized.text}`);
    return new McpTestSession(config, token, sessionId);
  }

  post(body: unknown, options: PostOptions = {}): Promise<McpResponse> {
    return mcpRequest(this.config, body, { token: this.token, sessionId: this.sessionId, ...options });
  }

  /** `tools/call`; returns the raw response (status, challenge, JSON-RPC body). */
  call(name: string, args?: Record<string, unknown>, options: PostOptions = {}): Promise<McpResponse> {
    return this.post(toolCall(this.#nextId++, name, args), options);
  }

  /** `tools/call` that must succeed at the HTTP and tool level; returns the result's text. */
  async callText(name: string, args?: Record<string, unknown>): Promise<string> {
    const response = await this.call(name, args);
    assert.equal(response.status, 200, `${name}: ${response.status} ${response.text}`);
    assert.equal(response.body.result?.isError, undefined, `${name} failed: ${response.text}`);
    return response.body.result.content[0].text;
  }
}

// ---- WWW-Authenticate (RFC 9110 §11.6.1) ----

export interface Challenge {
  scheme: string;
  /** Parameter names in order, as sent (a repeated name shows up twice here). */
  names: string[];
  params: Record<string, string>;
}

/**
 * A strict parser for one challenge: `scheme 1*SP auth-param *( OWS "," OWS auth-param )`, values as
 * token or quoted-string (backslash escapes undone). Throws on anything else.
 */
export function parseChallenge(header: string): Challenge {
  const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/;
  let rest = header;
  const take = (pattern: RegExp): string | undefined => {
    const match = pattern.exec(rest);
    if (!match) return undefined;
    rest = rest.slice(match[0].length);
    return match[0];
  };
  const scheme = take(TOKEN);
  if (!scheme) throw new Error(`no auth-scheme in ${JSON.stringify(header)}`);
  const names: string[] = [];
  const params: Record<string, string> = {};
  if (rest !== "" && !take(/^ +/)) throw new Error(`expected SP after scheme in ${JSON.stringify(header)}`);
  while (rest !== "") {
    const name = take(TOKEN);
    if (!name || !take(/^[ \t]*=[ \t]*/)) throw new Error(`bad auth-param at ${JSON.stringify(rest)}`);
    let value: string | undefined;
    if (rest.startsWith('"')) {
      const quoted = take(/^"((?:[^"\\]|\\.)*)"/);
      if (!quoted) throw new Error(`unterminated quoted-string at ${JSON.stringify(rest)}`);
      value = quoted.slice(1, -1).replace(/\\(.)/g, "$1");
    } else {
      value = take(TOKEN);
      if (value === undefined) throw new Error(`bad value at ${JSON.stringify(rest)}`);
    }
    names.push(name.toLowerCase());
    params[name.toLowerCase()] = value;
    if (rest !== "" && !take(/^[ \t]*,[ \t]*/)) throw new Error(`expected "," at ${JSON.stringify(rest)}`);
  }
  return { scheme, names, params };
}

/** Assert the response carries exactly one challenge with exactly these parameters, each once. */
export function assertChallenge(response: McpResponse, status: number, expected: Record<string, string | RegExp>): Challenge {
  assert.equal(response.status, status, `expected ${status}, got ${response.status}: ${response.text}`);
  const header = response.headers.get("www-authenticate");
  assert.ok(header, "WWW-Authenticate missing");
  const challenge = parseChallenge(header);
  assert.equal(challenge.scheme, "Bearer");
  assert.deepEqual([...challenge.names].sort(), Object.keys(expected).sort(), `parameters of ${header}`);
  for (const [name, value] of Object.entries(expected)) {
    if (typeof value === "string") assert.equal(challenge.params[name], value, `${name} in ${header}`);
    else assert.match(challenge.params[name]!, value, `${name} in ${header}`);
  }
  return challenge;
}

// ---- Tokens the AS would never issue (negative cases, R3) ----

export interface TestKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: Record<string, unknown>;
}

export async function testKey(kid = `test-${randomUUID().slice(0, 8)}`): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: "ES256", use: "sig" } };
}

export interface MintOptions {
  header?: Record<string, unknown>;
  claims?: Record<string, unknown>;
  /** Remove these claims from the defaults. */
  omit?: string[];
}

/** A well-formed RFC 9068 access token for `config.resource` signed with `key`, then altered as asked. */
export function mintToken(config: Config, key: TestKey, { header = {}, claims = {}, omit = [] }: MintOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const payload: Record<string, unknown> = {
    iss: config.issuer,
    sub: "demo-user",
    aud: config.resource,
    client_id: "test-client",
    scope: "files:read",
    iat: now,
    exp: now + 300,
    jti: randomUUID(),
    ...claims,
  };
  for (const name of omit) delete payload[name];
  return new SignJWT(payload)
    .setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid: key.kid, ...header } as { alg: string })
    .sign(key.privateKey);
}

/** An unsigned JWT (`alg: none`, RFC 7519 §6): header.payload. with an empty signature. */
export function unsignedToken(config: Config, claims: Record<string, unknown> = {}): string {
  const now = Math.floor(Date.now() / 1000);
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const payload = { iss: config.issuer, sub: "demo-user", aud: config.resource, client_id: "x", scope: "files:read", iat: now, exp: now + 300, jti: "1", ...claims };
  return `${encode({ alg: "none", typ: "at+jwt" })}.${encode(payload)}.`;
}

// ---- An RS whose "AS" is a bare JWKS endpoint serving test keys ----

export interface TestResourceServer {
  config: Config;
  /** The key the JWKS serves at start; tokens from `mintToken(config, key)` verify. */
  key: TestKey;
  /** Replace the served JWK Set (key rotation). */
  serveKeys(keys: TestKey[]): void;
  /** How many times the RS fetched the JWKS. */
  jwksFetches(): number;
  /** The RS's log lines (its logger writes here). */
  logLines: string[];
  close(): Promise<void>;
}

/**
 * The real RS app on port 0, trusting a JWKS endpoint on another port 0 that serves a test key — so
 * a test can sign tokens that are wrong in exactly one way. `env` overrides the environment.
 */
export async function startTestResourceServer(
  { env = {} }: { env?: Record<string, string> } = {},
): Promise<TestResourceServer> {
  const key = await testKey();
  let served: TestKey[] = [key];
  let fetches = 0;
  const jwksServer = await listenLoopback(0, (req, res) => {
    if (req.url !== "/.well-known/jwks.json") return void res.writeHead(404).end();
    fetches++;
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: served.map((k) => k.publicJwk) }));
  });
  const rs = await listenLoopback(0);
  const config = loadConfig({ ...env, AS_PORT: String(jwksServer.address.port), RS_PORT: String(rs.address.port) });
  const logLines: string[] = [];
  const logger = { info: (line: string) => logLines.push(line), warn: (line: string) => logLines.push(line) };
  rs.server.on("request", await createApp(config, { logger }));
  return {
    config,
    key,
    serveKeys: (keys) => (served = keys),
    jwksFetches: () => fetches,
    logLines,
    close: async () => {
      await Promise.all([closeServer(rs.server), closeServer(jwksServer.server)]);
    },
  };
}
