/**
 * A headless Chromium for `pnpm interop` and the browser tests, driven by `playwright-core` (no bundled
 * browser download): the system's Debian `chromium` (`apt-get install -y chromium`), or `CHROMIUM_PATH`
 * — read here and nowhere else. Flags keep it quiet and local: no GPU, no QUIC, no background or update
 * traffic — everything it opens is on 127.0.0.1.
 */
import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";

export const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Where the browser is, or `undefined` when none is installed (callers skip with a clear reason). */
export function chromiumPath(): string | undefined {
  const path = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
  return existsSync(path) ? path : undefined;
}

export async function launchChromium(): Promise<Browser> {
  const executablePath = chromiumPath();
  if (!executablePath) throw new Error("no Chromium found: apt-get install -y chromium, or set CHROMIUM_PATH");
  return chromium.launch({ executablePath, args: CHROMIUM_FLAGS, timeout: 30_000 });
}
