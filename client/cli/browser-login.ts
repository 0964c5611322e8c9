/**
 * `--browser` (C7): a real user logs in, in a real browser. The redirect comes back to this process
 * through a loopback listener (RFC 8252 §7.3: `http://127.0.0.1:<ephemeral port>/callback`; the AS must
 * accept any port for a loopback IP literal). For each authorization:
 *
 *   1. print `Open this URL to authorize: <url>` on stderr, and open the system browser unless `--no-open`;
 *   2. wait — at most `CLIENT_BROWSER_TIMEOUT_MS` — for the browser to bring the redirect to /callback;
 *   3. answer the tab with a small static page, and hand the redirect's URL to the same checks as the
 *      headless path (client/authorization-response.ts: redirect URI, `state`, RFC 9207 `iss`, `error`).
 *
 * Any page the browser shows, and any local process, can send requests here. Only one that looks like
 * the redirect is read: a GET /callback whose `Host` is this listener's own `127.0.0.1:<port>` (a name
 * rebound to 127.0.0.1 sends its own name — DNS rebinding), and, when the browser says what it fetches
 * (Fetch Metadata, `Sec-Fetch-Dest`), a top-level navigation — not a cross-site `<img>`, script or
 * frame. Anything else is answered and ignored; the login keeps waiting. The first request that passes
 * settles the authorization, as the one `302` does headless: a forged or stale redirect then fails the
 * `state` check rather than being ignored.
 */
import { spawn } from "node:child_process";
import type http from "node:http";
import { closeServer, listenLoopback } from "../../shared/listen.ts";

export const CALLBACK_PATH = "/callback";

/** Nobody completed the authorization in the browser in time. */
export class BrowserLoginTimeoutError extends Error {
  override name = "BrowserLoginTimeoutError";
}

export interface BrowserLoginOptions {
  /** `false` for `--no-open`: print the URL only. */
  open: boolean;
  /** How long one authorization may wait for the user. */
  timeoutMs: number;
  /** Where the URL line goes (stderr). */
  write: (line: string) => void;
}

interface Waiting {
  resolve(redirect: URL): void;
}

export class BrowserLogin {
  private waiting?: Waiting;

  private readonly server: http.Server;
  /** `http://127.0.0.1:<port>/callback`, the `redirect_uri` of every authorization request. */
  readonly redirectUri: string;
  /** `127.0.0.1:<port>`: the only `Host` a redirect to `redirectUri` can carry. */
  private readonly authority: string;
  private readonly options: BrowserLoginOptions;

  private constructor(server: http.Server, redirectUri: string, options: BrowserLoginOptions) {
    this.server = server;
    this.redirectUri = redirectUri;
    this.authority = new URL(redirectUri).host;
    this.options = options;
    server.on("request", (req, res) => {
      // Any local process or page can reach this port: nothing it sends may crash the client.
      try {
        this.handle(req, res);
      } catch {
        if (!res.headersSent) page(res, 400, "Bad request", "This address only receives authorization responses.");
        else res.destroy();
      }
    });
  }

  /** Listen on an ephemeral loopback port (127.0.0.1 only, shared/listen.ts). */
  static async start(options: BrowserLoginOptions): Promise<BrowserLogin> {
    const { server, url } = await listenLoopback(0);
    return new BrowserLogin(server, `${url}${CALLBACK_PATH}`, options);
  }

  /**
   * Send the user to `authorizationUrl` and resolve with the URL the browser was redirected to (its
   * query carries the authorization response). Rejects with BrowserLoginTimeoutError past the bound.
   */
  async waitForRedirect(authorizationUrl: URL): Promise<URL> {
    if (this.waiting) throw new Error("an authorization is already waiting for the browser");
    const { write, timeoutMs } = this.options;
    const redirect = new Promise<URL>((resolve) => (this.waiting = { resolve }));
    write(`Open this URL to authorize: ${authorizationUrl.href}`);
    if (this.options.open) {
      write(openSystemBrowser(authorizationUrl) ? "(asked the system browser to open it)" : "(no browser could be opened here: open the URL yourself)");
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(
          new BrowserLoginTimeoutError(
            `no authorization response from the browser within ${formatSeconds(timeoutMs)} ` +
              `(nobody finished at the URL above; CLIENT_BROWSER_TIMEOUT_MS sets the wait)`,
          ),
        );
      }, timeoutMs);
    });
    try {
      return await Promise.race([redirect, timeout]);
    } finally {
      clearTimeout(timer);
      this.waiting = undefined;
    }
  }

  close(): Promise<void> {
    return closeServer(this.server);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    // `req.url` is whatever the sender wrote (`//[` is not a URL): unparseable is a 400, never a throw.
    const url = URL.canParse(req.url ?? "", this.redirectUri) ? new URL(req.url!, this.redirectUri) : undefined;
    if (!url) return page(res, 400, "Bad request", "This address only receives authorization responses.");
    // RFC 9110 §7.2: one Host, exactly this listener's — a rebound name is not the redirect (§15.5.20: 421).
    const hosts = req.headersDistinct.host ?? [];
    if (hosts.length !== 1 || hosts[0] !== this.authority) {
      return page(res, 421, "Misdirected request", `This address only receives authorization responses sent to http://${this.authority}.`);
    }
    if (url.pathname !== CALLBACK_PATH) return page(res, 404, "Not found", "This address only receives authorization responses.");
    if (req.method !== "GET") return page(res, 405, "Method not allowed", "The authorization response arrives as a GET.");
    // Fetch Metadata: the redirect is a top-level navigation; an <img>, script, frame or fetch() says otherwise.
    const destination = req.headers["sec-fetch-dest"];
    if (destination !== undefined && destination !== "document") {
      return page(res, 403, "Not an authorization response", "Only the browser's own redirect from the authorization server is read here.");
    }
    const waiting = this.waiting;
    if (!waiting) {
      return page(res, 400, "No authorization is waiting", "This response came too late or twice. You can close this tab.");
    }
    this.waiting = undefined; // the first response settles it (see the header)
    waiting.resolve(url);
    // RFC 6749 §4.1.2.1: the AS's `error`, shown as text; whether it succeeded is told in the terminal.
    const error = url.searchParams.get("error");
    const said = error ? `The authorization server answered: ${error}. ` : "";
    page(res, 200, "Authorization received", `${said}You can close this tab and return to the terminal.`);
  }
}

const formatSeconds = (ms: number) => (ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`);

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

/** A small static page: escaped text, no script, nothing loaded from anywhere, not framable, not cached. */
function page(res: http.ServerResponse, status: number, title: string, text: string): void {
  res.writeHead(status, {
    "content-type": "text/html; charset=utf-8",
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    "x-frame-options": "DENY",
    "cache-control": "no-store", // the URL carried a code
    "referrer-policy": "no-referrer",
  });
  res.end(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#1f2328}h1{font-size:1.3rem}</style>
</head><body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p></body></html>
`);
}

/**
 * Hand the URL to the desktop's browser, if there is one; never throws, and reports whether a launcher
 * was started. Windows: explorer.exe, not `cmd /c start`, whose parser would re-read `&` and `%` in the URL.
 */
export function openSystemBrowser(url: URL): boolean {
  const [command, ...args] =
    process.platform === "darwin" ? ["open"] : process.platform === "win32" ? ["explorer.exe"] : ["xdg-open"];
  // Without a graphical session, xdg-open would fall back to a terminal browser and take over the terminal.
  if (command === "xdg-open" && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) return false;
  try {
    const child = spawn(command!, [...args, url.href], { stdio: "ignore", detached: true });
    child.on("error", () => {}); // not installed: the printed URL is the way
    child.unref();
    return true;
  } catch {
    return false;
  }
}
