/**
 * R10 at the RS, on every route (`/healthz` and the metadata included, not only `/mcp`): the Host must
 * name a loopback address exactly, there is one Host header, and a present Origin is a loopback origin.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { rawHttp } from "../helpers/raw-http.ts";
import { initializeRequest, mintToken, startTestResourceServer, type TestResourceServer } from "../helpers/rs-mcp.ts";

let rs: TestResourceServer;
let token: string;
before(async () => {
  rs = await startTestResourceServer();
  token = await mintToken(rs.config, rs.key);
});
after(() => rs.close());

const routes = (): Array<[string, string, string[], string?]> => [
  ["GET", "/healthz", []],
  ["GET", "/.well-known/oauth-protected-resource/mcp", []],
  ["POST", "/mcp", [`Authorization: Bearer ${token}`, "Content-Type: application/json", "Accept: application/json, text/event-stream"], JSON.stringify(initializeRequest())],
  ["DELETE", "/mcp", [`Authorization: Bearer ${token}`, "Mcp-Session-Id: x"]],
];

test("R10: served with the server's own Host, with no Origin and with a loopback Origin", async () => {
  const own = `Host: 127.0.0.1:${rs.config.rsPort}`;
  for (const origin of [[], ["Origin: http://localhost:6274"], [`Origin: http://127.0.0.1:${rs.config.rsPort}`], ["Origin: https://[::1]"]]) {
    for (const [method, path, headers, body] of routes().slice(0, 3)) {
      const answer = await rawHttp(rs.config.rsPort, method, path, [own, ...origin, ...headers], body);
      assert.equal(answer.status, 200, `${method} ${path} ${origin.join("")}: ${answer.body}`);
    }
  }
});

test("R10: a Host with userinfo, another name or a path → 403 on every route (nothing a URL parser would repair)", async () => {
  for (const host of ["evil.example@127.0.0.1", `evil.example@127.0.0.1:${rs.config.rsPort}`, "evil.example", "127.0.0.1.evil.example", "127.0.0.1/x"]) {
    for (const [method, path, headers, body] of routes()) {
      const answer = await rawHttp(rs.config.rsPort, method, path, [`Host: ${host}`, ...headers], body);
      assert.equal(answer.status, 403, `${method} ${path} Host: ${host}`);
      assert.match(JSON.parse(answer.body).error.message, /^Forbidden: Host must name this loopback server/);
    }
  }
});

test("R10 / RFC 9112 §3.2: two Host headers → 400 on every route", async () => {
  const own = `127.0.0.1:${rs.config.rsPort}`;
  for (const hosts of [[own, "evil.example"], ["evil.example", own], [own, own]]) {
    for (const [method, path, headers, body] of routes()) {
      const answer = await rawHttp(rs.config.rsPort, method, path, [...hosts.map((h) => `Host: ${h}`), ...headers], body);
      assert.equal(answer.status, 400, `${method} ${path} ${hosts.join(" + ")}`);
      assert.match(JSON.parse(answer.body).error.message, /^Bad Request: more than one Host header/);
    }
  }
});

test("R10 (MCP Streamable HTTP): a present, foreign Origin → 403 on every route", async () => {
  const own = `Host: 127.0.0.1:${rs.config.rsPort}`;
  for (const origin of ["http://evil.example", "null", "http://127.0.0.1.evil.example", "http://localhost.evil", ""]) {
    for (const [method, path, headers, body] of routes()) {
      const answer = await rawHttp(rs.config.rsPort, method, path, [own, `Origin: ${origin}`, ...headers], body);
      assert.equal(answer.status, 403, `${method} ${path} Origin: ${origin}`);
      assert.match(JSON.parse(answer.body).error.message, /^Forbidden: Origin must be a loopback origin/);
    }
  }
});
