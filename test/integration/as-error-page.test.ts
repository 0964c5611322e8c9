/**
 * `/authorize` failures that cannot redirect (unknown client, unregistered redirect URI) answer a browser
 * with a readable page and everyone else with the JSON of A4 — same status, never a `Location`.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import {
  authorizationParams,
  authorizationUrl,
  expectOAuthError,
  pkcePair,
  registerClient,
  startAuthorizationServer,
  type AuthorizeParams,
  type RegisteredClient,
  type TestAuthorizationServer,
} from "../helpers/oauth.ts";

/** What Chromium sends when it navigates. */
const BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";

let as: TestAuthorizationServer;
let client: RegisteredClient;

before(async () => {
  as = await startAuthorizationServer();
  client = await registerClient(as.config);
});
after(() => as.close());

const get = (overrides: AuthorizeParams, accept?: string) =>
  fetch(authorizationUrl(as.config, authorizationParams(as.config, client.client_id, pkcePair().code_challenge, overrides)), {
    redirect: "manual",
    headers: accept === undefined ? {} : { accept },
  });

async function expectPage(response: Response, status: number): Promise<string> {
  const html = await response.text();
  assert.equal(response.status, status, html);
  assert.equal(response.headers.get("location"), null, "never a redirect");
  assert.match(response.headers.get("content-type") ?? "", /^text\/html; charset=utf-8/);
  assert.equal(response.headers.get("x-frame-options"), "DENY");
  assert.match(response.headers.get("content-security-policy") ?? "", /default-src 'none'/);
  assert.doesNotMatch(html, /<script/i);
  return html;
}

test("unknown client_id, from a browser → 400 page saying what happened and what to do", async () => {
  const html = await expectPage(await get({ client_id: "forgotten-after-restart" }, BROWSER_ACCEPT), 400);
  assert.match(html, /does not know this application/);
  assert.match(html, /invalid_client/);
  assert.match(html, /Clear OAuth State/, "names the MCP Inspector's remedy");
});

test("unregistered redirect_uri, from a browser → 400 page; the URI is not echoed unescaped", async () => {
  const html = await expectPage(await get({ redirect_uri: `http://127.0.0.1:9/"><script>alert(1)</script>` }, "text/html"), 400);
  assert.match(html, /cannot be completed/);
  assert.match(html, /redirect_uri/);
});

test("the same failures for curl, fetch or a JSON client → the JSON body", async () => {
  for (const accept of [undefined, "*/*", "application/json", "application/json, text/html"]) {
    await expectOAuthError(await get({ client_id: "forgotten-after-restart" }, accept), 400, "invalid_client");
    await expectOAuthError(await get({ redirect_uri: "https://attacker.example/cb" }, accept), 400, "invalid_request");
  }
});

test("errors that can redirect still redirect, browser or not", async () => {
  const response = await get({ code_challenge_method: "plain" }, BROWSER_ACCEPT);
  assert.equal(response.status, 302);
  assert.match(response.headers.get("location") ?? "", /error=invalid_request/);
});
