/**
 * The headless "browser" of `pnpm interop` (scripts/interop/opener.ts) follows redirects on loopback
 * only: a redirect anywhere else ends the navigation before any request leaves the machine.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { ServerResponse } from "node:http";
import { closeServer, listenLoopback } from "../../shared/listen.ts";
import { navigateLoopback } from "../../scripts/interop/opener.ts";

async function redirector(routes: Record<string, (res: ServerResponse) => void>) {
  const requests: string[] = [];
  const listening = await listenLoopback(0, (req, res) => {
    requests.push(req.url ?? "");
    const route = routes[new URL(req.url ?? "/", "http://x").pathname];
    if (route) route(res);
    else res.writeHead(404).end();
  });
  return { ...listening, requests };
}

test("follows loopback redirects to the end and reports each hop", async () => {
  const server = await redirector({
    "/authorize": (res) => res.writeHead(302, { location: "/callback?code=abc&state=s" }).end(),
    "/callback": (res) => res.writeHead(200).end("you can close this tab"),
  });
  try {
    const navigation = await navigateLoopback(`${server.url}/authorize?x=1`);
    assert.deepEqual(navigation.hops.map((hop) => hop.status), [302, 200]);
    assert.equal(navigation.finalUrl.searchParams.get("code"), "abc");
    assert.deepEqual(server.requests, ["/authorize?x=1", "/callback?code=abc&state=s"]);
  } finally {
    await closeServer(server.server);
  }
});

test("stops before requesting a URL that `stopAt` claims (a host's own redirect_uri)", async () => {
  const server = await redirector({ "/authorize": (res) => res.writeHead(302, { location: "/callback?code=abc" }).end() });
  try {
    const navigation = await navigateLoopback(`${server.url}/authorize`, (url) => url.pathname === "/callback");
    assert.equal(navigation.finalUrl.pathname, "/callback");
    assert.deepEqual(server.requests, ["/authorize"]);
  } finally {
    await closeServer(server.server);
  }
});

test("refuses to follow a redirect off loopback, and refuses a non-loopback start URL", async () => {
  const server = await redirector({ "/authorize": (res) => res.writeHead(302, { location: "https://attacker.example/cb?code=abc" }).end() });
  try {
    await assert.rejects(navigateLoopback(`${server.url}/authorize`), /refusing to leave loopback: https:\/\/attacker\.example/);
    await assert.rejects(navigateLoopback("http://192.0.2.1/authorize"), /refusing to leave loopback/);
    await assert.rejects(navigateLoopback("file:///etc/passwd"), /refusing to leave loopback/);
  } finally {
    await closeServer(server.server);
  }
});

test("a callback port nobody listens on ends the navigation with the network error, once (no retry)", async () => {
  const closed = await listenLoopback(0);
  const deadUrl = `${closed.url}/oauth/callback?code=abc`;
  await closeServer(closed.server);
  const server = await redirector({ "/authorize": (res) => res.writeHead(302, { location: deadUrl }).end() });
  try {
    const navigation = await navigateLoopback(`${server.url}/authorize`);
    assert.equal(navigation.hops.length, 2);
    assert.equal(typeof navigation.hops[1]!.status, "string");
  } finally {
    await closeServer(server.server);
  }
});
