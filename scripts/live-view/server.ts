/**
 * The live view's web server: the page (page/index.html, view.css, view.js — served from the project,
 * nothing external) and the model it draws (./view-model.ts), pushed as a server-sent event whenever
 * it changes. Loopback only, with R10's Host and Origin rule (shared/loopback-headers.ts) on every
 * request, as on the MCP endpoint; the page's own policy forbids anything but this origin.
 *
 * No library, here or in the page: node:http serves four files and one event stream, and the page
 * draws its diagram as plain SVG (page/view.js says why not a diagram renderer).
 *
 * A slow page costs nothing: only the newest model is kept for a page that has not read the last
 * one yet (it gets the newest when its socket drains), so nothing queues up.
 */
import { readFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { viewUrl } from "../../shared/config.ts";
import { closeServer, listenLoopback } from "../../shared/listen.ts";
import { checkLoopbackHeaders, REFUSAL_STATUS } from "../../shared/loopback-headers.ts";
import type { ViewModel } from "./view-model.ts";

export const PAGE_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), "page");

/** The page's files: read once, at start. */
export function pageFiles(): { html: string; css: string; js: string } {
  const read = (name: string) => readFileSync(path.join(PAGE_DIR, name), "utf8");
  return { html: read("index.html"), css: read("view.css"), js: read("view.js") };
}

const SECURITY_HEADERS = {
  "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Cache-Control": "no-store",
};
/** A page with this much unread gets no more until it drains. */
const MAX_UNREAD_BYTES = 1024 * 1024;
const MAX_PAGES = 16;

export interface LiveView {
  url: string;
  port: number;
  /** Show this model (to every open page, and to any that opens later). */
  show(model: ViewModel): void;
  close(): Promise<void>;
}

export async function startLiveView(port: number, first: ViewModel): Promise<LiveView> {
  const files = pageFiles();
  let message = "";
  const pages = new Map<http.ServerResponse, { behind: boolean }>();
  const send = (page: http.ServerResponse) => {
    const state = pages.get(page)!;
    if (page.writableLength > MAX_UNREAD_BYTES) {
      state.behind = true; // the newest model goes out on "drain"
      return;
    }
    state.behind = false;
    page.write(message);
  };
  const show = (model: ViewModel) => {
    message = `event: model\ndata: ${JSON.stringify(model)}\n\n`;
    for (const page of pages.keys()) send(page);
  };
  show(first);

  const handler: http.RequestListener = (req, res) => {
    const verdict = checkLoopbackHeaders(req);
    const answer = (status: number, type: string, body: string) => {
      res.writeHead(status, { "Content-Type": type, ...SECURITY_HEADERS });
      res.end(req.method === "HEAD" ? undefined : body);
    };
    if (!verdict.ok) return answer(REFUSAL_STATUS[verdict.problem], "application/json", JSON.stringify({ error: "refused", error_description: verdict.description }));
    if (req.method !== "GET" && req.method !== "HEAD") return answer(405, "application/json", JSON.stringify({ error: "method_not_allowed" }));
    const pathname = (req.url ?? "/").split("?", 1)[0];
    switch (pathname) {
      case "/":
        return answer(200, "text/html; charset=utf-8", files.html);
      case "/view.css":
        return answer(200, "text/css; charset=utf-8", files.css);
      case "/view.js":
        return answer(200, "text/javascript; charset=utf-8", files.js);
      case "/model.json":
        return answer(200, "application/json", message.slice(message.indexOf("data: ") + 6).trim());
      case "/events": {
        if (pages.size >= MAX_PAGES) return answer(503, "application/json", JSON.stringify({ error: "busy", error_description: `at most ${MAX_PAGES} pages at once` }));
        res.writeHead(200, { "Content-Type": "text/event-stream", ...SECURITY_HEADERS });
        pages.set(res, { behind: false });
        res.on("drain", () => pages.get(res)?.behind && send(res));
        res.on("close", () => pages.delete(res));
        return send(res);
      }
      default:
        return answer(404, "application/json", JSON.stringify({ error: "not_found" }));
    }
  };
  const { server, address } = await listenLoopback(port, handler);
  return { url: viewUrl(address.port), port: address.port, show, close: () => closeServer(server) };
}
