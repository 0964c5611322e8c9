/**
 * R10 at the AS. DNS-rebinding defence: only requests addressed to a loopback name are served (an
 * auto-consenting AS must not answer a page that merely resolved its own name to 127.0.0.1); one Host
 * header only; and no request from a foreign web origin.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { stateOf } from "../../as/app.ts";
import { exchangeCode, obtainCode, registerClient, startAuthorizationServer } from "../helpers/oauth.ts";
import { rawHttp } from "../helpers/raw-http.ts";

let as: Awaited<ReturnType<typeof startAuthorizationServer>>;
before(async () => {
  as = await startAuthorizationServer();
});
after(() => as.close());

function requestWithHost(method: string, path: string, host: string, body?: string): Promise<{ status: number; json: any; location?: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: "127.0.0.1", port: as.config.asPort, method, path, headers: { host, "content-type": "application/json" }, agent: false },
      (response) => {
        let text = "";
        response.on("data", (chunk) => (text += chunk));
        response.on("end", () => resolve({ status: response.statusCode!, json: text ? JSON.parse(text) : undefined, location: response.headers.location }));
      },
    );
    request.on("error", reject);
    request.end(body);
  });
}

test("a foreign Host is refused with 421 invalid_request on every endpoint, and nothing is registered", async () => {
  assert.equal((await requestWithHost("GET", "/healthz", `127.0.0.1:${as.config.asPort}`)).status, 200);
  const clientsBefore = stateOf(as.app).clients.size;
  for (const host of ["evil.example", `evil.example:${as.config.asPort}`, "127.0.0.1.evil.example", "localhost.evil"]) {
    const metadata = await requestWithHost("GET", "/.well-known/oauth-authorization-server", host);
    assert.equal(metadata.status, 421, host);
    assert.equal(metadata.json.error, "invalid_request");
    const register = await requestWithHost("POST", "/register", host, JSON.stringify({ redirect_uris: ["http://127.0.0.1/cb"] }));
    assert.equal(register.status, 421, host);
    assert.equal(register.location, undefined);
  }
  assert.equal(stateOf(as.app).clients.size, clientsBefore, "no client was registered");
});

test("loopback names, with or without the port, are served", async () => {
  for (const host of [`127.0.0.1:${as.config.asPort}`, `localhost:${as.config.asPort}`, `[::1]:${as.config.asPort}`, "127.0.0.1"]) {
    assert.equal((await requestWithHost("GET", "/.well-known/oauth-authorization-server", host)).status, 200, host);
  }
});

const ROUTES: Array<[string, string, string?]> = [
  ["GET", "/healthz"],
  ["GET", "/.well-known/oauth-authorization-server"],
  ["GET", "/.well-known/jwks.json"],
  ["GET", "/authorize?client_id=x"],
  ["POST", "/register", JSON.stringify({ redirect_uris: ["http://127.0.0.1/cb"] })],
  ["POST", "/token", "grant_type=refresh_token"],
  ["POST", "/revoke", "token=x"],
];
const contentType = (path: string) => (path === "/register" ? "application/json" : "application/x-www-form-urlencoded");

test("R10 / RFC 9112 §3.2: two Host headers → 400 on every route, whichever comes first", async () => {
  const clientsBefore = stateOf(as.app).clients.size;
  const own = `127.0.0.1:${as.config.asPort}`;
  for (const [method, path, body] of ROUTES) {
    for (const hosts of [[own, "evil.example"], ["evil.example", own], [own, own]]) {
      const answer = await rawHttp(as.config.asPort, method, path, [...hosts.map((h) => `Host: ${h}`), `Content-Type: ${contentType(path)}`], body);
      assert.equal(answer.status, 400, `${method} ${path} ${hosts.join(" + ")}`);
      assert.equal(JSON.parse(answer.body).error, "invalid_request");
      assert.match(JSON.parse(answer.body).error_description, /more than one Host header/);
    }
  }
  assert.equal(stateOf(as.app).clients.size, clientsBefore, "no client was registered");
});

test("R10: a Host with userinfo (evil.example@127.0.0.1) or a path is refused with 421 on every route", async () => {
  for (const [method, path, body] of ROUTES) {
    for (const host of ["evil.example@127.0.0.1", `evil.example@127.0.0.1:${as.config.asPort}`, "127.0.0.1/x"]) {
      const answer = await rawHttp(as.config.asPort, method, path, [`Host: ${host}`, `Content-Type: ${contentType(path)}`], body);
      assert.equal(answer.status, 421, `${method} ${path} ${host}`);
    }
  }
});

test("R10 (MCP Streamable HTTP): a present, foreign Origin → 403 on every route, POST endpoints included; nothing changes", async () => {
  const client = await registerClient(as.config);
  const code = await obtainCode(as.config, { client_id: client.client_id });
  const clientsBefore = stateOf(as.app).clients.size;
  const own = `Host: 127.0.0.1:${as.config.asPort}`;
  for (const origin of ["http://evil.example", "null", "https://127.0.0.1.evil.example", `http://evil.example:${as.config.asPort}`]) {
    for (const [method, path, body] of ROUTES) {
      const answer = await rawHttp(as.config.asPort, method, path, [own, `Origin: ${origin}`, `Content-Type: ${contentType(path)}`], body);
      assert.equal(answer.status, 403, `${method} ${path} Origin: ${origin}`);
      assert.equal(JSON.parse(answer.body).error, "invalid_request");
    }
    // a real code, redeemed from a foreign origin: refused before /token looks at it
    const form = new URLSearchParams({ grant_type: "authorization_code", client_id: client.client_id, code: code.code, code_verifier: code.code_verifier, redirect_uri: code.redirect_uri });
    assert.equal((await rawHttp(as.config.asPort, "POST", "/token", [own, `Origin: ${origin}`, "Content-Type: application/x-www-form-urlencoded"], form.toString())).status, 403);
  }
  assert.equal(stateOf(as.app).clients.size, clientsBefore, "no client was registered");
  // the code was not consumed; without an Origin, or from a loopback origin, the AS serves as before
  await exchangeCode(as.config, { client_id: client.client_id, code: code.code, code_verifier: code.code_verifier });
  for (const origin of [`http://127.0.0.1:${as.config.asPort}`, "http://localhost:6274", "http://[::1]:8080", "https://localhost"]) {
    const answer = await rawHttp(as.config.asPort, "POST", "/register", [own, `Origin: ${origin}`, "Content-Type: application/json"], JSON.stringify({ redirect_uris: ["http://127.0.0.1/cb"] }));
    assert.equal(answer.status, 201, origin);
  }
});
