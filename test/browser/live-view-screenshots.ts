/**
 * Retakes the live view's pictures in docs/ from real runs, in headless Chromium at 1280×800:
 *   docs/live-view-step-up.png      `pnpm demo --web`: D3, the 403 selected (its WWW-Authenticate beside it), every rule ✔
 *   docs/live-view-broken-rule.png  `pnpm demo --break replace-scope --web`: D3's step-up that asked for the challenged scope alone, C4.1 ✘
 *
 *   node --import tsx test/browser/live-view-screenshots.ts
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Browser } from "playwright-core";
import { launchChromium } from "../../scripts/browser.ts";
import { PROJECT_ROOT } from "../../scripts/processes.ts";

const docs = (name: string) => fileURLToPath(new URL(`../../docs/${name}`, import.meta.url));

/** `pnpm demo --web --no-open …` until its view is up after the run; returns the URL and a stop. */
async function demoView(args: string[]): Promise<{ url: string; stop: () => void }> {
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/demo.ts", ...args, "--web", "--no-open", "--web-timeout", "120000"], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let output = "";
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on("data", (chunk) => {
      output += chunk;
      const up = /the live view stays up at (\S+) /.exec(output);
      if (up) resolve(up[1]!);
    });
    child.on("close", (code) => reject(new Error(`pnpm demo ${args.join(" ")} exited (${code}):\n${output}`)));
  });
  return { url, stop: () => child.kill("SIGINT") };
}

/** Select the exchange whose label holds `exchange`, put the D3 band at the top, and take the viewport. */
async function picture(browser: Browser, url: string, exchange: string, out: string): Promise<void> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
  await page.goto(url);
  const section = page.locator("section.group.client").first();
  await section.locator(`.exchange[aria-label*=${JSON.stringify(exchange)}]`).first().click();
  const band = await section.locator("svg .band-text", { hasText: /^D3 / }).boundingBox();
  if (!band) throw new Error("no D3 band");
  await page.evaluate((y) => window.scrollTo(0, window.scrollY + y - 56), band.y); // below the lanes' names
  // The detail beside it opens at its response (the 403's challenge, the authorization's code and grant).
  await section.locator(".detail").evaluate((detail: HTMLElement) => {
    const response = [...detail.querySelectorAll("h4")].find((h) => h.textContent?.startsWith("Response"));
    if (response) detail.scrollTop = response.offsetTop - detail.offsetTop - 70;
  });
  await page.mouse.move(0, 0); // no hover highlight
  await page.waitForTimeout(300); // the smooth scroll of the selection, if any, has settled
  await page.screenshot({ path: out });
  console.log(`wrote ${out}`);
  await page.close();
}

const browser = await launchChromium();
try {
  const correct = await demoView([]);
  try {
    await picture(browser, correct.url, "tools/call write-file · token [files:read] — 403", docs("live-view-step-up.png"));
  } finally {
    correct.stop();
  }
  const broken = await demoView(["--break", "replace-scope"]);
  try {
    await picture(browser, broken.url, 'GET /authorize scope="files:write"', docs("live-view-broken-rule.png"));
  } finally {
    broken.stop();
  }
} finally {
  await browser.close();
}
