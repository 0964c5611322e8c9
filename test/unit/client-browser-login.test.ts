/**
 * The `--browser` loopback listener takes requests from anything on this machine: whatever arrives,
 * it answers with a 4xx page and keeps listening; only a GET /callback settles a waiting authorization.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { BrowserLogin } from "../../client/cli/browser-login.ts";

/** Send `request` as raw bytes and return the status line of the answer. */
function rawRequest(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => socket.write(request));
    let answer = "";
    socket.setTimeout(5000, () => socket.destroy(new Error("no answer within 5 s")));
    socket.on("data", (chunk) => (answer += chunk.toString("latin1")));
    socket.on("end", () => resolve(answer.split("\r\n")[0] ?? ""));
    socket.on("close", () => resolve(answer.split("\r\n")[0] ?? ""));
    socket.on("error", reject);
  });
}

test("--browser listener: an unparseable request target is a 400, and the listener still settles the real redirect", async () => {
  const login = await BrowserLogin.start({ open: false, timeoutMs: 10_000, write: () => {} });
  try {
    const port = Number(new URL(login.redirectUri).port);
    assert.match(await rawRequest(port, "GET //[ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), /^HTTP\/1\.1 400 /);
    assert.match(await rawRequest(port, "GET /elsewhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), /^HTTP\/1\.1 404 /);
    assert.match(await rawRequest(port, "POST /callback HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"), /^HTTP\/1\.1 405 /);

    const redirect = login.waitForRedirect(new URL("http://127.0.0.1:1/authorize"));
    const answer = await rawRequest(port, "GET /callback?code=c&state=s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert.match(answer, /^HTTP\/1\.1 200 /);
    const url = await redirect;
    assert.equal(url.searchParams.get("code"), "c");
    assert.equal(url.searchParams.get("state"), "s");
  } finally {
    await login.close();
  }
});
