/**
 * The headless "browser" of `pnpm interop`: what a user's browser does with an authorization URL,
 * reduced to what the demo needs, and confined to loopback.
 *
 * It GETs the URL and follows `302`/`303`/`307` redirects, one hop at a time, only while every URL is a
 * loopback `http(s)` URL (`127.0.0.1`, `[::1]`, `localhost`). Against the demo AS (auto-consent) that
 * means: `/authorize` → `302` to the client's registered `redirect_uri` → the client's own callback
 * listener. Like a browser it tries each URL once: a callback listener that is not listening yet gets a
 * refused connection, not a second chance (that is how the `mcp-remote` hang shows up).
 *
 * Two uses: imported (the v2 client's host stops at its own `redirect_uri`, as an embedded browser
 * would), and as a command (`node --import tsx scripts/interop/opener.ts URL`) that `mcp-remote`
 * launches through `BROWSER` as the system browser.
 */
import { fileURLToPath } from "node:url";

const LOOPBACK_HOSTNAMES = new Set(["127.0.0.1", "[::1]", "localhost"]);
const MAX_HOPS = 5;
const HOP_TIMEOUT_MS = 5_000;

export function isLoopbackHttpUrl(url: URL): boolean {
  return (url.protocol === "http:" || url.protocol === "https:") && LOOPBACK_HOSTNAMES.has(url.hostname);
}

export interface Navigation {
  /** Every URL requested, in order, with its status (or the network error). */
  hops: { url: string; status: number | string }[];
  /** The URL the navigation stopped at: the last one requested, or the one `stopAt` matched. */
  finalUrl: URL;
}

/**
 * Navigate from `start` like a browser would, on loopback only. `stopAt` ends the navigation *before*
 * requesting a URL (a host app that owns its `redirect_uri` reads the callback parameters itself).
 */
export async function navigateLoopback(start: string, stopAt?: (url: URL) => boolean): Promise<Navigation> {
  const hops: Navigation["hops"] = [];
  let url = new URL(start);
  for (let hop = 0; hop <= MAX_HOPS; hop++) {
    if (!isLoopbackHttpUrl(url)) throw new Error(`refusing to leave loopback: ${url.origin}`);
    if (stopAt?.(url)) return { hops, finalUrl: url };
    let response: Response;
    try {
      response = await fetch(url, { redirect: "manual", signal: AbortSignal.timeout(HOP_TIMEOUT_MS) });
    } catch (error) {
      hops.push({ url: url.href, status: (error as Error).message });
      return { hops, finalUrl: url };
    }
    hops.push({ url: url.href, status: response.status });
    await response.body?.cancel();
    const location = response.headers.get("location");
    if (![301, 302, 303, 307, 308].includes(response.status) || location === null) return { hops, finalUrl: url };
    url = new URL(location, url);
  }
  throw new Error(`more than ${MAX_HOPS} redirects from ${start}`);
}

// As a command: the `BROWSER` that `mcp-remote` opens. Exits 0 once the navigation is done, as a
// browser that has shown a page would; the hops go to stderr for whoever reads the driver's output.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const target = process.argv[2];
  if (!target) {
    process.stderr.write("usage: opener.ts URL\n");
    process.exit(2);
  }
  navigateLoopback(target).then(
    ({ hops }) => {
      for (const hop of hops) process.stderr.write(`[opener] GET ${new URL(hop.url).origin}${new URL(hop.url).pathname} → ${hop.status}\n`);
    },
    (error: Error) => {
      process.stderr.write(`[opener] ${error.message}\n`);
      process.exitCode = 1;
    },
  );
}
