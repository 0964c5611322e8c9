/**
 * The AS's few HTML pages (the consent page, readable errors) share this layout: one self-contained
 * document — no external asset, no script, one inline stylesheet allowed by its hash — served with
 * headers that forbid framing and everything the page does not need.
 *
 * Every value is interpolated through `html`, which escapes it: client names, redirect URIs and error
 * descriptions come from clients and requests, never to be read as markup.
 */
import { createHash } from "node:crypto";
import type { Request, Response } from "express";

/** Markup that is already safe (built by `html`). */
export class SafeHtml {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
  toString(): string {
    return this.text;
  }
}

/**
 * Characters a reader cannot see, or that change how the text around them reads: controls, format
 * characters (bidi overrides and isolates, zero-width spaces and joiners), line separators, and every
 * other default-ignorable one (Hangul fillers, variation selectors …). Unicode TR36 §2.1 / TR9 §2.
 */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}]/gu;

/** `[U+202E]`: what an invisible character is shown as, so a name cannot hide or reorder part of itself. */
const shown = (c: string) => `[U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}]`;

/**
 * Escape text for an HTML element or a quoted attribute value (HTML §13.1.2.6 / OWASP rule #1, #2), and
 * show every invisible or direction-changing character visibly escaped (`INVISIBLE`).
 */
export function escapeHtml(value: string): string {
  return value
    .replace(INVISIBLE, shown)
    .replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/** Tagged template: interpolated strings are escaped, `SafeHtml` (and arrays of it) are kept as they are. */
export function html(strings: TemplateStringsArray, ...values: Array<string | number | SafeHtml | SafeHtml[]>): SafeHtml {
  let out = strings[0]!;
  values.forEach((value, i) => {
    const text = Array.isArray(value) ? value.join("") : value instanceof SafeHtml ? value.text : escapeHtml(String(value));
    out += text + strings[i + 1]!;
  });
  return new SafeHtml(out);
}

const STYLE = `
:root { color-scheme: light; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328; background: #f3f4f6; }
body { margin: 0; padding: 48px 16px; }
main { max-width: 460px; margin: 0 auto; background: #fff; border: 1px solid #d8dee4; border-radius: 12px; padding: 28px 32px; box-shadow: 0 1px 3px rgba(0,0,0,.06); }
h1 { font-size: 1.3rem; margin: 0 0 4px; }
.sub { color: #59636e; margin: 0 0 20px; font-size: .95rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 6px 14px; margin: 0 0 20px; font-size: .9rem; }
dt { color: #59636e; }
dd { margin: 0; overflow-wrap: anywhere; }
code { font: .85rem ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: #f3f4f6; border-radius: 4px; padding: 1px 5px; }
fieldset { border: 1px solid #d8dee4; border-radius: 8px; margin: 0 0 24px; padding: 6px 16px; }
legend { font-weight: 600; padding: 0 6px; font-size: .95rem; }
label.scope { display: grid; grid-template-columns: auto 1fr; gap: 2px 10px; padding: 10px 0; border-bottom: 1px solid #eef0f2; cursor: pointer; }
label.scope:last-child { border-bottom: 0; }
label.scope input { grid-row: span 2; margin-top: 4px; width: 16px; height: 16px; }
label.scope .what { color: #59636e; font-size: .88rem; }
label.scope.off { cursor: not-allowed; }
label.scope.off code, label.scope.off .what { opacity: .6; }
.why { grid-column: 2; color: #9a6700; font-size: .85rem; }
.actions { display: flex; gap: 12px; justify-content: flex-end; }
button { font: inherit; font-weight: 600; border-radius: 8px; padding: 8px 20px; cursor: pointer; border: 1px solid #d1d9e0; background: #f6f8fa; color: #1f2328; }
button.primary { background: #1f883d; border-color: #1a7f37; color: #fff; }
p.note { color: #59636e; font-size: .85rem; margin: 20px 0 0; }
.badge { font-size: .85rem; border-radius: 6px; padding: 6px 10px; margin: 8px 0 12px; }
.badge.dcr { background: #fff8c5; border: 1px solid #d4a72c; color: #6f4e00; }
.badge.pre { background: #dafbe1; border: 1px solid #4ac26b; color: #116329; }
.how { color: #59636e; font-size: .85rem; }
.error h1 { color: #b42318; }
`;

/** CSP allows the stylesheet above by its hash (CSP3 §2.3.1 hash-source), and nothing else. */
const STYLE_HASH = `'sha256-${createHash("sha256").update(STYLE).digest("base64")}'`;

/**
 * Send a page. Headers: no framing (RFC 7034 `X-Frame-Options`, CSP `frame-ancestors 'none'`), no
 * script, no external resource, forms may post only to this origin (plus `formAction` — the redirect
 * after a consent decision is checked against `form-action` too), no sniffing, no referrer to another origin.
 */
export function sendPage(
  res: Response,
  { status, title, body, className = "", formAction = [] }: { status: number; title: string; body: SafeHtml; className?: string; formAction?: string[] },
): void {
  const csp = [
    "default-src 'none'",
    `style-src ${STYLE_HASH}`,
    `form-action ${["'self'", ...formAction].join(" ")}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join("; ");
  res
    .status(status)
    .set({
      "Content-Type": "text/html; charset=utf-8",
      "Content-Security-Policy": csp,
      "X-Frame-Options": "DENY",
      "X-Content-Type-Options": "nosniff",
      // Not `no-referrer`: under it a browser sends `Origin: null` with the form's POST (Fetch
      // §3.1 "serializing a request origin"), and consent.ts's origin check refuses every real decision.
      "Referrer-Policy": "same-origin",
      "Cache-Control": "no-store",
    })
    .send(
      html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>${new SafeHtml(STYLE)}</style>
</head>
<body>
<main class="${className}">
${body}
</main>
</body>
</html>
`.text,
    );
}

/** Does the caller want a page rather than JSON? A browser navigating asks for `text/html` first. */
export function prefersHtml(req: Request): boolean {
  // No Accept header, or `*/*` (curl, fetch): the first type listed, JSON.
  return req.accepts(["application/json", "text/html"]) === "text/html";
}
