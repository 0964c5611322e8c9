/**
 * P4 yardstick: the smallest single-process scope step-up demo on the official packages.
 *
 * One process, loopback only, ports from the OS (0):
 *   - a tiny OAuth AS (express + jose): RFC 8414 metadata, DCR, /authorize that approves at once (302
 *     with code, state, iss), /token (authorization_code, PKCE S256, ES256 JWT access token);
 *   - an MCP server (the v1 SDK's McpServer over StreamableHTTPServerTransport, stateless; no v2
 *     server package is installed): RFC 9728 metadata, 401 without a token, HTTP 403
 *     insufficient_scope for `write-file` without files:write, tools list-files / write-file;
 *   - the v2 client (@modelcontextprotocol/client): its transport does discovery, DCR, PKCE and, on
 *     the 403, its own step-up (union scope, forced re-authorization); the "browser" is one fetch of
 *     the authorization URL with redirect: "manual", and finishAuth() takes the code from the 302.
 * Story: connect (401 → discovery → DCR → authorize → token) · list-files (files:read) · write-file →
 * 403 → step-up → retry succeeds with [files:read files:write]. Exit 0 iff all of that was observed.
 * Run: `node scripts/bench/v2-baseline.mjs` (prints one line; BASELINE_VERBOSE=1 lists the exchanges).
 */
import { createHash, randomUUID } from "node:crypto";
import express from "express";
import { SignJWT, generateKeyPair, jwtVerify } from "jose";
import { z } from "zod";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { Client, StreamableHTTPClientTransport, UnauthorizedError } from "@modelcontextprotocol/client";

const started = performance.now();
const listen = (app) =>
  new Promise((resolve, reject) => {
    const server = app.listen(0, "127.0.0.1", (error) => (error ? reject(error) : resolve(server)));
  });
const origin = (server) => `http://127.0.0.1:${server.address().port}`;

// ---- the AS ----
const { privateKey, publicKey } = await generateKeyPair("ES256");
const clients = new Map(); // client_id → redirect_uris
const codes = new Map(); // code → { clientId, redirectUri, scope, challenge, resource }
const as = express();
const asServer = await listen(as);
const issuer = origin(asServer);
as.get("/.well-known/oauth-authorization-server", (_req, res) =>
  res.json({
    issuer,
    authorization_endpoint: `${issuer}/authorize`,
    token_endpoint: `${issuer}/token`,
    registration_endpoint: `${issuer}/register`,
    response_types_supported: ["code"],
    grant_types_supported: ["authorization_code"],
    code_challenge_methods_supported: ["S256"],
    token_endpoint_auth_methods_supported: ["none"],
    scopes_supported: ["files:read", "files:write"],
    authorization_response_iss_parameter_supported: true,
  }),
);
as.post("/register", express.json(), (req, res) => {
  const redirectUris = req.body?.redirect_uris;
  if (!Array.isArray(redirectUris) || !redirectUris.every((uri) => new URL(uri).hostname === "127.0.0.1")) {
    return res.status(400).json({ error: "invalid_redirect_uri" });
  }
  const clientId = randomUUID();
  clients.set(clientId, redirectUris);
  res.status(201).json({ ...req.body, client_id: clientId, token_endpoint_auth_method: "none", client_id_issued_at: Math.floor(Date.now() / 1000) });
});
as.get("/authorize", (req, res) => {
  const { client_id, redirect_uri, scope, state, code_challenge, code_challenge_method, resource } = req.query;
  if (!clients.get(client_id)?.includes(redirect_uri)) return res.status(400).json({ error: "invalid_request" });
  if (code_challenge_method !== "S256" || !code_challenge) return res.status(400).json({ error: "invalid_request" });
  const code = randomUUID();
  codes.set(code, { clientId: client_id, redirectUri: redirect_uri, scope: String(scope ?? "files:read"), challenge: code_challenge, resource });
  const to = new URL(redirect_uri);
  to.searchParams.set("code", code);
  if (state) to.searchParams.set("state", state);
  to.searchParams.set("iss", issuer);
  res.redirect(302, to.href); // consent: automatic
});
as.post("/token", express.urlencoded({ extended: false }), async (req, res) => {
  const { grant_type, code, code_verifier, client_id, redirect_uri } = req.body;
  const grant = codes.get(code);
  codes.delete(code);
  const verifierHash = code_verifier && createHash("sha256").update(code_verifier).digest("base64url");
  if (grant_type !== "authorization_code" || !grant || grant.clientId !== client_id || grant.redirectUri !== redirect_uri || verifierHash !== grant.challenge) {
    return res.status(400).json({ error: "invalid_grant" });
  }
  const accessToken = await new SignJWT({ scope: grant.scope, client_id })
    .setProtectedHeader({ alg: "ES256", typ: "at+jwt" })
    .setIssuer(issuer)
    .setAudience(grant.resource ?? resource)
    .setSubject("demo-user")
    .setIssuedAt()
    .setExpirationTime("5m")
    .sign(privateKey);
  res.json({ access_token: accessToken, token_type: "Bearer", expires_in: 300, scope: grant.scope });
});

// ---- the MCP server (resource server) ----
const TOOL_SCOPES = { "list-files": "files:read", "write-file": "files:write" };
const files = new Map([["notes.txt", "hello"]]);
const rs = express();
const rsServer = await listen(rs);
const resource = `${origin(rsServer)}/mcp`;
const resourceMetadata = `${origin(rsServer)}/.well-known/oauth-protected-resource/mcp`;
const challenge = (extra) => `Bearer resource_metadata="${resourceMetadata}", scope="files:read"${extra}`;
rs.get("/.well-known/oauth-protected-resource/mcp", (_req, res) =>
  res.json({ resource, authorization_servers: [issuer], scopes_supported: ["files:read", "files:write"], bearer_methods_supported: ["header"] }),
);
rs.all("/mcp", express.json(), async (req, res) => {
  const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
  let claims;
  try {
    ({ payload: claims } = await jwtVerify(token ?? "", publicKey, { issuer, audience: resource, typ: "at+jwt" }));
  } catch {
    return res.status(401).set("WWW-Authenticate", challenge("")).json({ error: "invalid_token" });
  }
  const scopes = String(claims.scope).split(" ");
  const needed = req.body?.method === "tools/call" ? TOOL_SCOPES[req.body.params?.name] : undefined;
  if (needed && !scopes.includes(needed)) {
    const wanted = [...new Set([...scopes, needed])].join(" ");
    return res
      .status(403)
      .set("WWW-Authenticate", `Bearer error="insufficient_scope", scope="${wanted}", resource_metadata="${resourceMetadata}"`)
      .json({ error: "insufficient_scope" });
  }
  if (req.method !== "POST") return res.status(405).set("Allow", "POST").end(); // stateless: no GET stream
  req.auth = { token, clientId: claims.client_id, scopes, expiresAt: claims.exp };
  const mcp = new McpServer({ name: "v2-baseline", version: "0.0.0" });
  const actor = (extra) => `${extra.authInfo.clientId} [${extra.authInfo.scopes.join(" ")}]`;
  mcp.registerTool("list-files", { description: "List files (files:read)" }, (extra) => ({
    content: [{ type: "text", text: `${[...files.keys()].join(", ")} — listed by ${actor(extra)}` }],
  }));
  mcp.registerTool("write-file", { description: "Write a file (files:write)", inputSchema: { name: z.string(), content: z.string() } }, ({ name, content }, extra) => {
    files.set(name, content);
    return { content: [{ type: "text", text: `wrote ${name} — by ${actor(extra)}` }] };
  });
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  res.on("close", () => void transport.close().then(() => mcp.close()));
  await mcp.connect(transport);
  await transport.handleRequest(req, res, req.body);
});

// ---- the v2 client, headless ----
const exchanges = [];
const recordingFetch = async (url, init) => {
  const response = await fetch(url, init);
  exchanges.push(`${init?.method ?? "GET"} ${new URL(url).pathname} → ${response.status}`);
  return response;
};
let callback; // the query of the AS's 302, read by the "browser" below
const provider = {
  redirectUrl: "http://127.0.0.1:8976/callback",
  clientMetadata: {
    client_name: "v2-baseline",
    redirect_uris: ["http://127.0.0.1:8976/callback"],
    grant_types: ["authorization_code"],
    response_types: ["code"],
    token_endpoint_auth_method: "none",
  },
  saved: {},
  clientInformation() { return this.saved.client; },
  saveClientInformation(info) { this.saved.client = info; },
  tokens() { return this.saved.tokens; },
  saveTokens(tokens) { this.saved.tokens = tokens; },
  codeVerifier() { return this.saved.verifier; },
  saveCodeVerifier(verifier) { this.saved.verifier = verifier; },
  discoveryState() { return this.saved.discovery; },
  saveDiscoveryState(state) { this.saved.discovery = state; },
  async redirectToAuthorization(url) {
    const response = await recordingFetch(url, { redirect: "manual" });
    callback = new URL(response.headers.get("location")).searchParams;
  },
};
const newTransport = () => new StreamableHTTPClientTransport(new URL(resource), { authProvider: provider, fetch: recordingFetch });
const client = new Client({ name: "v2-baseline", version: "0.0.0" });

let transport = newTransport();
try {
  await client.connect(transport);
  throw new Error("connected without authorization");
} catch (error) {
  if (!(error instanceof UnauthorizedError)) throw error;
  await transport.finishAuth(callback); // code + iss from the 302 → POST /token
}
transport = newTransport();
await client.connect(transport);
const listed = await client.callTool({ name: "list-files", arguments: {} });

let written;
try {
  written = await client.callTool({ name: "write-file", arguments: { name: "a.txt", content: "x" } });
  throw new Error("write-file succeeded without a step-up");
} catch (error) {
  if (!(error instanceof UnauthorizedError)) throw error;
  await transport.finishAuth(callback); // the transport's own step-up asked for files:read files:write
  written = await client.callTool({ name: "write-file", arguments: { name: "a.txt", content: "x" } });
}

const writtenText = written.content[0].text;
const stepUps = exchanges.filter((line) => line.startsWith("POST /mcp → 403")).length;
const ok = !listed.isError && !written.isError && /\[files:read files:write\]$/.test(writtenText) && stepUps === 1 && provider.saved.tokens.scope === "files:read files:write";
if (process.env.BASELINE_VERBOSE) for (const line of exchanges) console.log(`  ${line}`);
console.log(`${ok ? "PASS" : "FAIL"} v2 baseline: connect, list-files, write-file → 403 → step-up → ${writtenText} (${exchanges.length} requests, ${Math.round(performance.now() - started)} ms)`);
await client.close();
asServer.closeAllConnections();
rsServer.closeAllConnections();
process.exit(ok ? 0 : 1);
