/**
 * DNS-rebinding defence at the AS: only requests addressed to a loopback name are served (an
 * auto-consenting AS must not answer a page that merely resolved its own name to 127.0.0.1).
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { stateOf } from "../../as/app.ts";
import { startAuthorizationServer } from "../helpers/oauth.ts";

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
