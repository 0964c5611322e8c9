/**
 * R2–R4: the resource metadata and every way a bearer token is refused, against the real RS app on
 * port 0. The "AS" here is a bare JWKS endpoint serving a test key, so each token can be wrong in
 * exactly one way (expired, wrong aud, …) while everything else — signature included — is right; a
 * control token proves the same key and claims are otherwise accepted.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import { SignJWT } from "jose";
import { loadConfig, type Config } from "../../shared/config.ts";
import { closeServer, listenLoopback } from "../../shared/listen.ts";
import { createApp } from "../../resource-server/app.ts";
import {
  assertChallenge,
  initializeRequest,
  mcpRequest,
  McpTestSession,
  mintToken,
  startTestResourceServer,
  testKey,
  unsignedToken,
  type TestKey,
  type TestResourceServer,
} from "../helpers/rs-mcp.ts";

let rs: TestResourceServer;
let config: Config;
let key: TestKey;
let rsPort: number;

before(async () => {
  rs = await startTestResourceServer();
  ({ config, key } = rs);
  rsPort = config.rsPort;
});

after(() => rs.close());

const missingChallenge = () => ({ resource_metadata: config.resourceMetadataUrl, scope: "files:read" });
const invalidChallenge = (description: RegExp) => ({
  error: "invalid_token",
  error_description: description,
  resource_metadata: config.resourceMetadataUrl,
  scope: "files:read",
});

/** POST initialize with this Authorization header value (or none). */
const initializeWith = (authorization?: string) =>
  mcpRequest(config, initializeRequest(), { headers: authorization === undefined ? {} : { authorization } });

describe("R2 protected resource metadata", () => {
  test("GET /.well-known/oauth-protected-resource/mcp is the RFC 9728 document", async () => {
    assert.equal(config.resourceMetadataUrl, `http://127.0.0.1:${rsPort}/.well-known/oauth-protected-resource/mcp`);
    const response = await fetch(config.resourceMetadataUrl);
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^application\/json/);
    assert.deepEqual(await response.json(), {
      resource: `http://127.0.0.1:${rsPort}/mcp`,
      authorization_servers: [`http://127.0.0.1:${config.asPort}`],
      scopes_supported: ["files:read"],
      bearer_methods_supported: ["header"],
      resource_name: "Scoped-tools MCP server (step-up demo)",
    });
  });

  test("GET /healthz reports its pid and the loopback socket it listens on", async () => {
    const response = await fetch(`http://127.0.0.1:${rsPort}/healthz`);
    assert.deepEqual(await response.json(), {
      status: "ok",
      service: "rs",
      pid: process.pid, // the RS runs in this test's process
      listening: { address: "127.0.0.1", port: rsPort, family: "IPv4" },
    });
  });
});

describe("R3 control: a correct token from the JWKS key is accepted", () => {
  test("initialize and list-files succeed, and the tool names the token's client and scopes", async () => {
    const session = await McpTestSession.open(config, await mintToken(config, key));
    const text = await session.callText("list-files");
    assert.match(text, /^listed 3 files — read by test-client \[files:read\]$/m);
  });
});

describe("R4 no token → 401 without an error code", () => {
  test("no Authorization header", async () => {
    const response = await initializeWith();
    assertChallenge(response, 401, missingChallenge());
    assert.equal(response.body.jsonrpc, "2.0");
    assert.equal(response.body.id, null);
    assert.equal(typeof response.body.error.message, "string");
  });

  test("another scheme (Basic) counts as missing", async () => {
    assertChallenge(await initializeWith(`Basic ${Buffer.from("demo:pw").toString("base64")}`), 401, missingChallenge());
  });

  test("a token in the query string is ignored (RFC 6750 §2.3 not supported)", async () => {
    const token = await mintToken(config, key);
    const response = await fetch(`${config.resource}?access_token=${token}`, {
      method: "POST",
      headers: { accept: "application/json, text/event-stream", "content-type": "application/json" },
      body: JSON.stringify(initializeRequest()),
    });
    assert.equal(response.status, 401);
    assert.equal(response.headers.get("www-authenticate"), `Bearer resource_metadata="${config.resourceMetadataUrl}", scope="files:read"`);
  });

  test("GET, DELETE and other methods on /mcp need a token too", async () => {
    for (const method of ["GET", "DELETE", "PUT"]) {
      const response = await mcpRequest(config, undefined, { method });
      assertChallenge(response, 401, missingChallenge());
    }
  });
});

describe("R4 ill-formed Authorization → 401 invalid_token", () => {
  for (const [label, value] of [
    ["empty Bearer", "Bearer"],
    ["Bearer and spaces", "Bearer    "],
    ["two tokens", "Bearer abc def"],
    ["joined duplicate headers", "Bearer abc, Bearer def"],
    ["characters outside b64token", "Bearer a\"b"],
    ["tab instead of space", "Bearer\tabc"],
  ] as const) {
    test(label, async () => {
      assertChallenge(await initializeWith(value), 401, invalidChallenge(/Bearer <token>/));
    });
  }

  test("two Authorization headers on the wire (Node would silently keep the first)", async () => {
    const token = await mintToken(config, key);
    const body = JSON.stringify(initializeRequest());
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(rsPort, "127.0.0.1", () => {
        // write, not end: a half-closed client would have the server abort the request (Connection: close ends it)
        socket.write(
          `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${rsPort}\r\nAuthorization: Bearer ${token}\r\n` +
            `Authorization: Bearer ${token}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\n` +
            `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
        );
      });
      let data = "";
      socket.on("data", (chunk) => (data += chunk));
      socket.on("end", () => resolve(data));
      socket.on("error", reject);
    });
    assert.match(raw, /^HTTP\/1\.1 401 /);
    assert.match(raw, /\r\nWWW-Authenticate: Bearer error="invalid_token", error_description="more than one Authorization header", /i);
  });
});

describe("R3 token rejections → 401 invalid_token", () => {
  const now = () => Math.floor(Date.now() / 1000);
  const cases: Array<[string, () => Promise<string> | string, RegExp]> = [
    ["alg none (unsigned)", () => unsignedToken(config), /ES256/],
    ["HS256 with the public key as the secret", async () =>
      new SignJWT({ client_id: "x", scope: "files:read" })
        .setProtectedHeader({ alg: "HS256", typ: "at+jwt", kid: key.kid })
        .setIssuer(config.issuer).setSubject("demo-user").setAudience(config.resource).setIssuedAt().setExpirationTime("5m").setJti("j")
        .sign(new TextEncoder().encode(JSON.stringify(key.publicJwk))), /ES256/],
    ["a key not in the JWKS", async () => mintToken(config, await testKey("foreign")), /unknown key/],
    ["a foreign key reusing the JWKS kid", async () => mintToken(config, await testKey(key.kid)), /signature invalid/],
    ["expired", () => mintToken(config, key, { claims: { iat: now() - 600, exp: now() - 60 } }), /expired/],
    ["not yet valid (nbf)", () => mintToken(config, key, { claims: { nbf: now() + 600 } }), /not yet valid/],
    ["wrong aud", () => mintToken(config, key, { claims: { aud: "http://127.0.0.1:1/mcp" } }), /audience/],
    ["aud with a trailing slash", () => mintToken(config, key, { claims: { aud: `${config.resource}/` } }), /audience/],
    ["wrong iss", () => mintToken(config, key, { claims: { iss: "http://127.0.0.1:1" } }), /issuer/],
    ["typ JWT", () => mintToken(config, key, { header: { typ: "JWT" } }), /typ/],
    ["no typ", () => mintToken(config, key, { header: { typ: undefined } }), /typ/],
    ["no client_id", () => mintToken(config, key, { omit: ["client_id"] }), /client_id/],
    ["no sub", () => mintToken(config, key, { omit: ["sub"] }), /sub/],
    ["no exp", () => mintToken(config, key, { omit: ["exp"] }), /exp/],
    ["scope not a string", () => mintToken(config, key, { claims: { scope: ["files:read"] } }), /scope/],
    ["not a JWT", () => "abc.def.ghi", /not a valid JWT/],
    ["a tampered payload", async () => {
      const [header, , signature] = (await mintToken(config, key)).split(".");
      const payload = Buffer.from(JSON.stringify({ sub: "admin", scope: "files:admin" })).toString("base64url");
      return `${header}.${payload}.${signature}`;
    }, /signature invalid/],
  ];
  for (const [label, token, description] of cases) {
    test(label, async () => {
      const response = await initializeWith(`Bearer ${await token()}`);
      assertChallenge(response, 401, invalidChallenge(description));
      assert.equal(response.body.error.data.error, "invalid_token");
    });
  }
});

describe("R3 keys come from the JWKS, refetched for an unknown kid", () => {
  test("after the AS rotates its key, the new key's tokens are accepted and the old key's refused", async () => {
    const rotated = await testKey();
    const fetchesBefore = rs.jwksFetches();
    rs.serveKeys([rotated]);
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // past the RS's refetch cooldown
    const session = await McpTestSession.open(config, await mintToken(config, rotated));
    assert.match(await session.callText("list-files"), /read by test-client/);
    assert.equal(rs.jwksFetches(), fetchesBefore + 1, "exactly one refetch for the new kid");
    assertChallenge(await initializeWith(`Bearer ${await mintToken(config, key)}`), 401, invalidChallenge(/unknown key/));
    rs.serveKeys([key, rotated]);
  });

  test("an unreachable JWKS is the RS's problem: 503 with Retry-After, not invalid_token", async () => {
    const port = await listenLoopback(0).then(async ({ server, address }) => (await closeServer(server), address.port));
    const lonely = await listenLoopback(0);
    const lonelyConfig = loadConfig({ AS_PORT: String(port), RS_PORT: String(lonely.address.port) });
    lonely.server.on("request", await createApp(lonelyConfig));
    try {
      const response = await mcpRequest(lonelyConfig, initializeRequest(), { token: await mintToken(lonelyConfig, key) });
      assert.equal(response.status, 503);
      assert.equal(response.headers.get("retry-after"), "5");
      assert.equal(response.headers.get("www-authenticate"), null);
      assert.equal(response.body.jsonrpc, "2.0");
    } finally {
      await closeServer(lonely.server);
    }
  });
});

describe("B3 no token in a log line", () => {
  test("after accepted and refused tokens, no logged line holds any part of a signature", async () => {
    const tokens = [await mintToken(config, key), await mintToken(config, key, { claims: { exp: 1 } }), unsignedToken(config)];
    for (const token of tokens) await initializeWith(`Bearer ${token}`);
    await initializeWith(`Bearer ${tokens[0]} ${tokens[1]}`);
    assert.ok(rs.logLines.length > 0, "the RS logged something to check");
    for (const token of tokens) {
      const [header, payload, signature] = token.split(".");
      for (const line of rs.logLines) {
        for (const part of [payload!, signature!, header!].filter((p) => p.length > 8)) {
          assert.ok(!line.includes(part), `log line leaks a token: ${line}`);
        }
      }
    }
  });
});
