/**
 * `pnpm client --call write-file --browser --no-open` with a person at the consent page (A11, C7),
 * played by headless Chromium (scripts/browser.ts): the test reads each printed authorization
 * URL, opens it, and decides on the AS's consent page — the step-up opens a second one.
 *
 *   pnpm test:browser        (needs `apt-get install -y chromium`, or CHROMIUM_PATH)
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { Browser, Page } from "playwright-core";
import { launchChromium } from "../../scripts/browser.ts";
import { startClient, type ClientProcess } from "../helpers/client-process.ts";
import { startStack, type Stack } from "../helpers/stack.ts";

const CLIENT = { client_id: "cli-tool", client_secret: "a-long-enough-secret", redirect_uris: ["http://127.0.0.1/callback"], client_name: "CLI tool" };

let stack: Stack;
let browser: Browser;
before(async () => {
  stack = await startStack({ AS_CONSENT: "prompt", AS_CLIENTS: JSON.stringify([CLIENT]) });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await stack?.close();
});

const writeFile = (...flags: string[]) =>
  startClient(["--call", "write-file", "--args", JSON.stringify({ name: "b.txt", content: "hi" }), "--browser", "--no-open", ...flags, stack.config.resource]);

/** Open the n-th printed URL: the consent page, with the scopes it asks for (checked state per scope). */
async function consentPage(page: Page, client: ClientProcess, n: number): Promise<Record<string, boolean>> {
  const response = await page.goto(await client.authorizationUrl(n));
  assert.equal(response?.status(), 200);
  assert.match(await page.locator("h1").innerText(), /^Authorize /);
  const scopes: Record<string, boolean> = {};
  for (const box of await page.locator('input[name="scope"]').all()) scopes[(await box.getAttribute("value"))!] = await box.isChecked();
  return scopes;
}

/** Press a consent button; the AS redirects to the client's loopback listener, which says "close this tab". */
async function decide(page: Page, button: "Approve" | "Deny"): Promise<void> {
  await Promise.all([page.waitForURL(/^http:\/\/127\.0\.0\.1:\d+\/callback\?/), page.getByRole("button", { name: button }).click()]);
  assert.match(await page.locator("body").innerText(), /You can close this tab/);
}

test("approve files:read, then at the step-up files:write → the call succeeds", async () => {
  const page = await browser.newPage();
  const client = writeFile();
  assert.deepEqual(await consentPage(page, client, 0), { "files:read": true });
  await decide(page, "Approve");
  assert.deepEqual(await consentPage(page, client, 1), { "files:read": true, "files:write": true }, "C4.1: the union is asked for");
  await decide(page, "Approve");
  const { code, stdout, stderr } = await client.exited;
  assert.equal(code, 0, stderr);
  assert.match(stdout, /wrote b\.txt .*\[files:read files:write\]/);
  await page.close();
});

test("files:write unchecked at the step-up → a partial grant: declined, exit 1", async () => {
  const page = await browser.newPage();
  const client = writeFile();
  await consentPage(page, client, 0);
  await decide(page, "Approve");
  await consentPage(page, client, 1);
  await page.locator('input[name="scope"][value="files:write"]').uncheck();
  await decide(page, "Approve");
  const { code, stderr } = await client.exited;
  assert.equal(code, 1, stderr);
  assert.match(stderr, /write-file refused — insufficient_scope \(declined\): needs "files:write", the token has "files:read"/);
  assert.equal((stderr.match(/^Open this URL to authorize: /gm) ?? []).length, 2, "declined: not asked a third time");
  await page.close();
});

test("Deny at the step-up → declined (access_denied), exit 1; Deny at the first consent → access_denied, exit 1", async () => {
  const page = await browser.newPage();
  const stepUp = writeFile();
  await consentPage(page, stepUp, 0);
  await decide(page, "Approve");
  await consentPage(page, stepUp, 1);
  await decide(page, "Deny");
  const denied = await stepUp.exited;
  assert.equal(denied.code, 1, denied.stderr);
  assert.match(denied.stderr, /insufficient_scope \(declined\).*the authorization was denied \(access_denied\)/);

  const first = writeFile();
  await consentPage(page, first, 0);
  await decide(page, "Deny");
  const refused = await first.exited;
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /^client: authorization refused: access_denied/m);
  await page.close();
});

test("a pre-registered client logs in with the browser too: its name on the consent page, no DCR", async () => {
  const page = await browser.newPage();
  const client = writeFile("--client-id", CLIENT.client_id, "--client-secret", CLIENT.client_secret, "--issuer", stack.config.issuer, "--verbose");
  for (const n of [0, 1]) {
    await consentPage(page, client, n);
    assert.equal(await page.locator("h1").innerText(), "Authorize CLI tool?");
    await decide(page, "Approve");
  }
  const { code, stdout, stderr } = await client.exited;
  assert.equal(code, 0, stderr);
  assert.match(stdout, /written by cli-tool \[files:read files:write\]/);
  assert.doesNotMatch(stderr, /\/register|a-long-enough-secret/);
  await page.close();
});
