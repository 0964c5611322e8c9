/**
 * A11 in headless Chromium: a client whose redirect URI is on `[::1]` completes consent. Chromium checks
 * the redirect that follows the form against CSP `form-action`, and ignores `http://[::1]:PORT` as an
 * invalid source — the page names it `http://*:PORT` instead (as/extras/consent.ts, `formActionSource`).
 * The client's side is a bare listener on [::1]; the code it receives is redeemed to prove it real.
 *
 *   pnpm test:browser        (needs `apt-get install -y chromium`, or CHROMIUM_PATH)
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Browser } from "playwright-core";
import { launchChromium } from "../../scripts/browser.ts";
import { authorizationParams, authorizationUrl, exchangeCode, pkcePair, registerClient, startAuthorizationServer, type TestAuthorizationServer } from "../helpers/oauth.ts";

let as: TestAuthorizationServer;
let browser: Browser;
let callback: http.Server;
let port: number;
before(async () => {
  as = await startAuthorizationServer({ AS_CONSENT: "prompt" });
  callback = http.createServer((_req, res) => res.end("signed in; you can close this tab"));
  await new Promise<void>((resolve) => callback.listen(0, "::1", resolve));
  port = (callback.address() as AddressInfo).port;
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  callback?.closeAllConnections();
  callback?.close();
  await as?.close();
});

test("a client with an http://[::1]:PORT redirect URI: Approve arrives at [::1], with a code that redeems", async () => {
  const redirect_uri = `http://[::1]:${port}/callback`;
  const client = await registerClient(as.config, { redirect_uris: [redirect_uri], client_name: "IPv6 client" });
  const { code_verifier, code_challenge } = pkcePair();
  const page = await browser.newPage();
  const violations: string[] = [];
  page.on("console", (message) => {
    if (/Content Security Policy/.test(message.text())) violations.push(message.text());
  });
  const response = await page.goto(authorizationUrl(as.config, authorizationParams(as.config, client.client_id, code_challenge, { redirect_uri, scope: "files:read" })).href);
  assert.equal(response?.status(), 200);
  assert.match(response?.headers()["content-security-policy"] ?? "", new RegExp(`form-action 'self' http://\\*:${port}(;|$)`));
  await Promise.all([page.waitForURL(new RegExp(`^http://\\[::1\\]:${port}/callback\\?`), { timeout: 15_000 }), page.getByRole("button", { name: "Approve" }).click()]);
  assert.deepEqual(violations, []);
  const arrived = new URL(page.url());
  assert.equal(arrived.searchParams.get("iss"), as.config.issuer);
  const tokens = await exchangeCode(as.config, { client_id: client.client_id, code: arrived.searchParams.get("code")!, code_verifier, redirect_uri });
  assert.equal(tokens.scope, "files:read");
  await page.close();
});
