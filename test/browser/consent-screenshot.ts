/**
 * Renders the consent page (AS_CONSENT=prompt) in headless Chromium and saves `docs/consent-page.png`:
 * an AS on a free loopback port, a client registered by DCR, an authorization request for all three
 * scopes (so the page shows a grantable one checked and `files:admin` disabled with its reason).
 *
 *   node --import tsx test/browser/consent-screenshot.ts [OUT.png]
 */
import { fileURLToPath } from "node:url";
import { launchChromium } from "../../scripts/browser.ts";
import { authorizationParams, authorizationUrl, pkcePair, registerClient, startAuthorizationServer } from "../helpers/oauth.ts";

const out = process.argv[2] ?? fileURLToPath(new URL("../../docs/consent-page.png", import.meta.url));
const as = await startAuthorizationServer({ AS_CONSENT: "prompt" });
const browser = await launchChromium();
try {
  const client = await registerClient(as.config, { client_name: "scoped-tools headless client" });
  const url = authorizationUrl(
    as.config,
    authorizationParams(as.config, client.client_id, pkcePair().code_challenge, { scope: "files:read files:write files:admin" }),
  );
  const page = await browser.newPage({ viewport: { width: 640, height: 720 }, deviceScaleFactor: 1 });
  const response = await page.goto(url.href);
  if (response?.status() !== 200) throw new Error(`consent page answered ${response?.status()}`);
  await page.screenshot({ path: out, fullPage: true });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
  await as.close();
}
