/**
 * Readable pages for the `/authorize` failures that must not redirect (RFC 6749 §4.1.2.1: "the
 * authorization server SHOULD inform the resource owner of the error and MUST NOT automatically redirect
 * the user-agent to the invalid redirection URI"). Same status code as the JSON answer; no script.
 */
import type { Request, Response } from "express";
import type { OAuthError } from "../errors.ts";
import { html, prefersHtml, sendPage, type SafeHtml } from "./page.ts";

/** What a person can do about each failure. */
function advice(error: OAuthError): { title: string; what: SafeHtml } {
  if (error.error === "invalid_client") {
    return {
      title: "This authorization server does not know this application",
      what: html`<p>The application sent you here with a <code>client_id</code> this server never registered — most
often because the server was restarted without its state directory and forgot every registration.</p>
<p>Clear the application's saved OAuth state and connect again: it will register anew. In MCP Inspector:
<b>Open Auth Settings</b> → <b>Clear OAuth State</b>, then <b>Connect</b>. <code>pnpm client</code> keeps
no state: run it again.</p>`,
    };
  }
  return {
    title: "This sign-in request cannot be completed",
    what: html`<p>The request does not say, in a way this server can trust, where to send you back (a missing or
repeated <code>client_id</code>, or a <code>redirect_uri</code> the application never registered), so it
is not sent anywhere.</p>
<p>Go back to the application and connect again. If it keeps happening, clear the application's saved
OAuth state (in MCP Inspector: <b>Clear OAuth State</b>) so it registers again with its current
redirect URI.</p>`,
  };
}

/** `/authorize`'s hook (`InformResourceOwner`): a page for a browser that asked for HTML, else false (JSON). */
export function informResourceOwner(req: Request, res: Response, error: OAuthError): boolean {
  if (!prefersHtml(req)) return false;
  const { title, what } = advice(error);
  sendPage(res, {
    status: error.status,
    title,
    className: "error",
    body: html`<h1>${title}</h1>
<p class="sub">Error <code>${error.error}</code>: ${error.error_description}</p>
${what}`,
  });
  return true;
}
