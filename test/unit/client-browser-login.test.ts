/**
 * The `--browser` loopback listener takes requests from anything on this machine: whatever arrives,
 * it answers with a 4xx page and keeps listening; only a GET /callback that names the listener by its
 * own address and port, and is a top-level navigation when the browser says so, settles a waiting
 * authorization.
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
    const host = `Host: 127.0.0.1:${port}`;
    assert.match(await rawRequest(port, `GET //[ HTTP/1.1\r\n${host}\r\nConnection: close\r\n\r\n`), /^HTTP\/1\.1 400 /);
    assert.match(await rawRequest(port, `GET /elsewhere HTTP/1.1\r\n${host}\r\nConnection: close\r\n\r\n`), /^HTTP\/1\.1 404 /);
    assert.match(await rawRequest(port, `POST /callback HTTP/1.1\r\n${host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`), /^HTTP\/1\.1 405 /);

    const redirect = login.waitForRedirect(new URL("http://127.0.0.1:1/authorize"));
    const answer = await rawRequest(port, `GET /callback?code=c&state=s HTTP/1.1\r\n${host}\r\nConnection: close\r\n\r\n`);
    assert.match(answer, /^HTTP\/1\.1 200 /);
    const url = await redirect;
    assert.equal(url.searchParams.get("code"), "c");
    assert.equal(url.searchParams.get("state"), "s");
  } finally {
    await login.close();
  }
});

test("--browser listener: a rebound host name, another Host, a cross-site <img> or fetch is answered and ignored; the real redirect still settles", async () => {
  const login = await BrowserLogin.start({ open: false, timeoutMs: 10_000, write: () => {} });
  try {
    const port = Number(new URL(login.redirectUri).port);
    const redirect = login.waitForRedirect(new URL("http://127.0.0.1:1/authorize"));
    const forged = (headers: string) => rawRequest(port, `GET /callback?error=access_denied&state=forged HTTP/1.1\r\n${headers}Connection: close\r\n\r\n`);
    // DNS rebinding: a page whose own name resolves to 127.0.0.1 sends that name (RFC 9110 §15.5.20: 421).
    assert.match(await forged(`Host: rebound.example:${port}\r\nSec-Fetch-Dest: document\r\n`), /^HTTP\/1\.1 421 /);
    assert.match(await forged(`Host: localhost:${port}\r\n`), /^HTTP\/1\.1 421 /, "not the redirect URI's host");
    assert.match(await forged(`Host: 127.0.0.1:${port + 1}\r\n`), /^HTTP\/1\.1 421 /, "not this port");
    assert.match(await forged(`Host: 127.0.0.1\r\n`), /^HTTP\/1\.1 421 /, "no port");
    assert.match(await forged(`Host: 127.0.0.1:${port}\r\nHost: rebound.example\r\n`), /^HTTP\/1\.1 421 /, "two Host headers");
    assert.match(await forged(""), /^HTTP\/1\.1 (400|421) /, "no Host at all");
    // A cross-site page that knows the port: <img src>, <script src>, an iframe, fetch() — Fetch Metadata says so.
    for (const destination of ["image", "script", "iframe", "empty"]) {
      assert.match(await forged(`Host: 127.0.0.1:${port}\r\nSec-Fetch-Site: cross-site\r\nSec-Fetch-Dest: ${destination}\r\n`), /^HTTP\/1\.1 403 /, destination);
    }
    // The browser's own redirect: a top-level navigation to exactly this host and port.
    const answer = await rawRequest(
      port,
      `GET /callback?code=real&state=s HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nSec-Fetch-Site: same-site\r\nSec-Fetch-Mode: navigate\r\nSec-Fetch-Dest: document\r\nConnection: close\r\n\r\n`,
    );
    assert.match(answer, /^HTTP\/1\.1 200 /);
    const url = await redirect;
    assert.equal(url.searchParams.get("code"), "real", "none of the ignored requests settled the login");
    assert.equal(url.searchParams.get("error"), null);
  } finally {
    await login.close();
  }
});
