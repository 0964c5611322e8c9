/**
 * Minimal servers the client is tested against, sharing no code with `resource-server/` or `as/`:
 *
 * - `startStubResourceServer`: a `node:http` MCP endpoint on 127.0.0.1:0 that speaks just enough
 *   JSON-RPC (initialize, notifications, tools/list, tools/call; no SSE: GET → 405), publishes RFC 9728
 *   metadata, reads the token's `scope` claim (it does not verify signatures — it is a test double;
 *   the real RS does) and challenges with headers written differently from the real RS's (odd
 *   spacing, an `error_description` that mentions `scope=`). It logs every request it sees, so a
 *   test can check the client from the server's side; `rawAnswer` makes it answer a tool call with
 *   any bytes at all (a hostile server).
 * - `startStubAuthorizationServer`: RFC 8414 metadata, DCR, and an `/authorize` whose 302 the test
 *   scripts (a wrong `iss`, a look-alike redirect) — the misbehaviours a client must refuse.
 * - `startScopeOmittingAuthorizationServer`: an AS that consents to everything and whose token
 *   responses never carry `scope` (RFC 6749 §5.1 allows it when the grant is what was asked for).
 */
import type http from "node:http";
import { decodeJwt } from "jose";
import { closeServer, listenLoopback } from "../../shared/listen.ts";

export interface StubRequest {
  method: string;
  path: string;
  authorization?: string;
  /** The token's scope claim, when a Bearer JWT was sent. */
  tokenScope?: string[];
  rpcMethod?: string;
  tool?: string;
  status: number;
}

/** Decide a tools/call: undefined lets it run; a string is the scope to challenge for (403). */
export type ToolPolicy = (tool: string, tokenScope: string[]) => string | undefined;

export interface StubResourceServer {
  url: string;
  /** The MCP endpoint and the token audience. */
  resource: string;
  requests: StubRequest[];
  /** Point the PRM at an authorization server (the AS may need this server's port first). */
  setIssuer(issuer: string): void;
  /** Answer `401 invalid_token` to these access tokens from now on (expiry, revocation). */
  rejectToken(token: string): void;
  /** The `scope` of the 401 challenges from now on; `null` leaves the parameter out. */
  setUnauthorizedScope(scope: string | null): void;
  close(): Promise<void>;
}

const quote = (value: string) => `"${value.replace(/["\\]/g, (c) => `\\${c}`)}"`;

/** A tools/call answered exactly so: any status, content type and body text (a hostile server's). */
export interface RawAnswer {
  status: number;
  contentType: string;
  body: string;
}

export interface StubOptions {
  /** The `scope` of the 401 challenge; `null` leaves the parameter out. Default "files:read". */
  unauthorizedScope?: string | null;
  /** The PRM's `scopes_supported`; `null` leaves it out. Default ["files:read"]. */
  scopesSupported?: string[] | null;
  /** The PRM's `authorization_servers`; default: the one `setIssuer` names. */
  authorizationServers?: () => string[];
  /** Answer an authorized tools/call with this instead of running it (`id` is the request's). */
  rawAnswer?: (tool: string, id: number | string | undefined) => RawAnswer | undefined;
}

export async function startStubResourceServer(policy: ToolPolicy, options: StubOptions = {}): Promise<StubResourceServer> {
  const listening = await listenLoopback(0);
  const resource = `${listening.url}/mcp`;
  const prmUrl = `${listening.url}/.well-known/oauth-protected-resource/mcp`;
  let issuer = "";
  let unauthorizedScope = options.unauthorizedScope === undefined ? "files:read" : options.unauthorizedScope;
  const rejected = new Set<string>();
  const requests: StubRequest[] = [];

  listening.server.on("request", async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const seen: StubRequest = { method: req.method ?? "", path: req.url ?? "", status: 0 };
    requests.push(seen);
    const send = (status: number, body?: unknown, headers: Record<string, string> = {}) => {
      seen.status = status;
      res.writeHead(status, body === undefined ? headers : { "content-type": "application/json", ...headers });
      res.end(body === undefined ? undefined : JSON.stringify(body));
    };
    if (req.url === "/.well-known/oauth-protected-resource/mcp") {
      const scopes = options.scopesSupported === undefined ? ["files:read"] : options.scopesSupported;
      const authorization_servers = options.authorizationServers?.() ?? [issuer];
      return send(200, { resource, authorization_servers, ...(scopes ? { scopes_supported: scopes } : {}) });
    }
    if (req.url !== "/mcp") return send(404, { error: "not_found" });
    let message: { id?: number | string; method: string; params?: { name?: string; protocolVersion?: string } } | undefined;
    try {
      message = req.method === "POST" ? JSON.parse(Buffer.concat(chunks).toString("utf8")) : undefined;
      seen.rpcMethod = message?.method;
      if (message?.method === "tools/call") seen.tool = String(message.params?.name);
    } catch {
      message = undefined;
    }
    const authorization = req.headers.authorization;
    seen.authorization = authorization;
    const token = authorization?.startsWith("Bearer ") ? authorization.slice(7) : undefined;
    let tokenScope: string[] | undefined;
    try {
      tokenScope = token ? String(decodeJwt(token).scope ?? "").split(" ").filter(Boolean) : undefined;
    } catch {
      tokenScope = undefined;
    }
    seen.tokenScope = tokenScope;
    if (!token || !tokenScope || rejected.has(token)) {
      const error = token ? `error="invalid_token", ` : "";
      const scope = unauthorizedScope === null ? "" : `, scope=${quote(unauthorizedScope)}`;
      return send(401, { error: "unauthorized" }, {
        "www-authenticate": `Bearer ${error}resource_metadata=${quote(prmUrl)}${scope}`,
      });
    }
    if (req.method !== "POST") return send(405, undefined, { allow: "POST" });
    if (!message) return send(400, { jsonrpc: "2.0", id: null, error: { code: -32700, message: "parse error" } });
    const reply = (result: unknown) => send(200, { jsonrpc: "2.0", id: message.id, result });
    switch (message.method) {
      case "initialize":
        return reply({
          protocolVersion: message.params?.protocolVersion,
          capabilities: { tools: {} },
          serverInfo: { name: "stub-rs", version: "0" },
        });
      case "tools/list":
        return reply({ tools: [] });
      case "tools/call": {
        const tool = String(message.params?.name);
        const needed = policy(tool, tokenScope);
        if (needed !== undefined) {
          // Written unlike the real RS: a decoy `scope=` inside the description, odd spacing, a realm.
          const challenge =
            `Bearer realm="stub",error_description=${quote('not scope="decoy:scope", see the scope parameter')} ,  ` +
            `error="insufficient_scope",scope=${quote(needed)}, resource_metadata=${quote(prmUrl)}`;
          return send(403, { jsonrpc: "2.0", id: message.id, error: { code: -32003, message: "insufficient scope" } }, {
            "www-authenticate": challenge,
          });
        }
        const raw = options.rawAnswer?.(tool, message.id);
        if (raw) {
          seen.status = raw.status;
          res.writeHead(raw.status, { "content-type": raw.contentType });
          return res.end(raw.body);
        }
        return reply({ content: [{ type: "text", text: `${tool} ran with [${tokenScope.join(" ")}]` }] });
      }
      default:
        if (message.id === undefined) return send(202); // a notification
        return send(200, { jsonrpc: "2.0", id: message.id, error: { code: -32601, message: "method not found" } });
    }
  });

  return {
    url: listening.url,
    resource,
    requests,
    setIssuer: (value) => void (issuer = value),
    rejectToken: (token) => void rejected.add(token),
    setUnauthorizedScope: (scope) => void (unauthorizedScope = scope),
    close: () => closeServer(listening.server),
  };
}

export interface StubAuthorizationServer {
  issuer: string;
  close(): Promise<void>;
}

/** A scripted token endpoint: given the request's form, the status and JSON body to answer. */
export type TokenEndpoint = (form: URLSearchParams) => { status: number; body: unknown };

/**
 * An AS that registers anyone and answers `/authorize` with whatever `respond` returns, given the
 * request's query (e.g. a 302 with a wrong `iss`). Its token endpoint refuses everything unless
 * `token` scripts it.
 */
export async function startStubAuthorizationServer(
  respond: (query: URLSearchParams, issuer: string) => { status: number; location?: string },
  token: TokenEndpoint = () => ({ status: 400, body: { error: "invalid_grant", error_description: "this stub issues no tokens" } }),
): Promise<StubAuthorizationServer> {
  const listening = await listenLoopback(0);
  const issuer = listening.url;
  listening.server.on("request", async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? "/", issuer);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === "/.well-known/oauth-authorization-server") {
      return json(200, {
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        registration_endpoint: `${issuer}/register`,
        response_types_supported: ["code"],
        grant_types_supported: ["authorization_code", "refresh_token"],
        code_challenge_methods_supported: ["S256"],
        token_endpoint_auth_methods_supported: ["none"],
        authorization_response_iss_parameter_supported: true,
      });
    }
    if (url.pathname === "/register") {
      return json(201, { client_id: "stub-client", redirect_uris: ["http://127.0.0.1:8976/callback"], token_endpoint_auth_method: "none" });
    }
    if (url.pathname === "/authorize") {
      const { status, location } = respond(url.searchParams, issuer);
      res.writeHead(status, location ? { location } : {});
      return res.end();
    }
    if (url.pathname === "/token" && req.method === "POST") {
      const { status, body } = token(new URLSearchParams(Buffer.concat(chunks).toString("utf8")));
      return json(status, body);
    }
    return json(404, { error: "not_found" });
  });
  return { issuer, close: () => closeServer(listening.server) };
}

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

/**
 * An AS that grants every authorization request exactly as asked and whose token responses omit
 * `scope` — allowed by RFC 6749 §5.1 when the grant is what was requested — so the client must take
 * granted = requested (C4.1). The access token is JWT-shaped and unsigned (the stub RS reads its
 * `scope` claim without verifying it); a refresh keeps the grant's scope (RFC 6749 §6).
 */
export async function startScopeOmittingAuthorizationServer(): Promise<StubAuthorizationServer> {
  let issued = 0;
  const grants = new Map<string, string>(); // code or refresh token → the granted scope
  const tokens = (scope: string) => {
    const refreshToken = `stub-refresh-${++issued}`;
    grants.set(refreshToken, scope);
    const claims = { sub: "demo-user", client_id: "stub-client", scope, jti: `stub-${issued}` };
    // No `scope` member: the grant is exactly what was asked for.
    return { access_token: `${base64url({ alg: "none", typ: "at+jwt" })}.${base64url(claims)}.`, token_type: "Bearer", expires_in: 300, refresh_token: refreshToken };
  };
  return startStubAuthorizationServer(
    (query, issuer) => {
      const code = `stub-code-${++issued}`;
      grants.set(code, query.get("scope") ?? "");
      const callback = new URL(query.get("redirect_uri") ?? "");
      callback.search = new URLSearchParams({ code, state: query.get("state") ?? "", iss: issuer }).toString();
      return { status: 302, location: callback.href };
    },
    (form) => {
      const presented = form.get(form.get("grant_type") === "refresh_token" ? "refresh_token" : "code") ?? "";
      const scope = grants.get(presented);
      if (scope === undefined) return { status: 400, body: { error: "invalid_grant" } };
      grants.delete(presented); // single use, both of them
      return { status: 200, body: tokens(scope) };
    },
  );
}
