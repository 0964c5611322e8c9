/**
 * The consent page (A11, `AS_CONSENT=prompt`): once `GET /authorize` has checked everything, the demo
 * user sees who asks, where the answer goes and each requested scope, and decides.
 *
 *   GET  /authorize  → 200 page; the request waits in a bounded store under a random one-time id
 *   POST /authorize  → Approve: a code for the checked scopes (a subset is a partial grant, RFC 6749 §3.3)
 *                      Deny: `access_denied` (RFC 6749 §4.1.2.1) — both with `state` and `iss` (RFC 9207)
 *
 * The form answers only the pending request it was rendered for, once, within `CONSENT_TTL_MS`, and only
 * from the page itself:
 * - `request_id` (hidden field, 32 random characters) names the pending request and is deleted on first use;
 * - a cookie set with the page (`HttpOnly; SameSite=Strict`) binds it to the browser that saw it;
 * - `Origin` (and `Sec-Fetch-Site`), when the browser sends them, must be this server's own origin.
 *   SameSite alone is not enough on loopback: "site" ignores ports, so every local web app on
 *   127.0.0.1 is same-site with this AS — the origin check (scheme, host AND port) is what stops it;
 * - the page cannot be framed (`X-Frame-Options: DENY`, CSP `frame-ancestors 'none'`), so it cannot be
 *   clicked through an invisible overlay (RFC 9700 §4.16).
 */
import { timingSafeEqual } from "node:crypto";
import type { Request, Response } from "express";
import { nanoid } from "nanoid";
import { inCatalogOrder } from "../../shared/scopes.ts";
import { issueCode, redirectError, respondToClient, type AuthorizationRequest } from "../authorize.ts";
import { AccessDenied } from "../errors.ts";
import { html, sendPage, type SafeHtml } from "./page.ts";
import { DEMO_USER, type AsState } from "../state.ts";
import { BoundedStore } from "../store.ts";

/** How long a consent page stays answerable. */
export const CONSENT_TTL_MS = 10 * 60_000;
/** At most this many consent pages wait at once; the oldest is dropped first (A9). */
export const MAX_PENDING_CONSENTS = 1000;
/** The cookie that binds a pending request to the browser that displayed it. */
export const CONSENT_COOKIE = "as_consent";

const SCOPE_MEANING: Record<string, string> = {
  "files:read": "List and read your files",
  "files:write": "Create and overwrite files",
  "files:admin": "Delete files",
};

interface PendingConsent {
  request: AuthorizationRequest;
  /** The value of the browser's consent cookie when the page was shown. */
  browser: string;
}

const ID = /^[A-Za-z0-9_-]{32}$/;

function cookieValue(req: Request): string | undefined {
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const [name, value] = part.trim().split("=", 2);
    if (name === CONSENT_COOKIE && value !== undefined && ID.test(value)) return value;
  }
  return undefined;
}

const sameText = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/** The origin of the redirect URI — what the browser goes to after the form (CSP `form-action`). */
const originOf = (uri: string) => new URL(uri).origin;

function consentPage(request: AuthorizationRequest, request_id: string, grantableBy: string[]): SafeHtml {
  const { client } = request;
  const rows = request.requested.map((scope) => {
    const allowed = request.grantable.includes(scope);
    const meaning = SCOPE_MEANING[scope] ?? "";
    return allowed
      ? html`<label class="scope"><input type="checkbox" name="scope" value="${scope}" checked>
<span><code>${scope}</code></span><span class="what">${meaning}</span></label>`
      : html`<label class="scope off"><input type="checkbox" disabled>
<span><code>${scope}</code></span><span class="what">${meaning}</span>
<span class="why">Not grantable: the demo user may grant only ${grantableBy.join(", ") || "nothing"} (AS_GRANTABLE_SCOPES).</span></label>`;
  });
  return html`<h1>Authorize ${client.client_name ?? "an application"}?</h1>
<p class="sub">Signed in as <b>${DEMO_USER}</b>. Uncheck anything you do not want to grant.</p>
<dl>
<dt>Application</dt><dd>${client.client_name ?? "(no name given)"}</dd>
<dt>Client ID</dt><dd><code>${client.client_id}</code></dd>
<dt>Returns to</dt><dd><code>${request.redirect_uri}</code></dd>
<dt>Resource</dt><dd><code>${request.resource}</code></dd>
</dl>
<form method="post" action="/authorize">
<input type="hidden" name="request_id" value="${request_id}">
<fieldset><legend>Requested access</legend>
${rows}
</fieldset>
<div class="actions">
<button type="submit" name="decision" value="deny">Deny</button>
<button type="submit" name="decision" value="approve" class="primary">Approve</button>
</div>
</form>
<p class="note">Approving sends you back to the application with an authorization code for the checked scopes only.</p>`;
}

/** A page for a form that cannot be answered (no redirect: nothing says the target is still trusted). */
function refuse(res: Response, status: number, title: string, detail: string): void {
  sendPage(res, {
    status,
    title,
    className: "error",
    body: html`<h1>${title}</h1>
<p>${detail}</p>
<p>Go back to the application and start the sign-in again.</p>`,
  });
}

export function createConsent(state: AsState) {
  const pending = new BoundedStore<PendingConsent>({ capacity: MAX_PENDING_CONSENTS, now: state.now });

  /** `GET /authorize`, every check passed: show the page (called by `authorize.ts`). */
  function prompt(req: Request, res: Response, request: AuthorizationRequest): void {
    const request_id = nanoid(32);
    const browser = cookieValue(req) ?? nanoid(32);
    pending.set(request_id, { request, browser }, state.now() + CONSENT_TTL_MS);
    // Path-scoped, script-invisible, never sent on a cross-site request (RFC 6265bis §4.1.2.7).
    res.cookie(CONSENT_COOKIE, browser, { httpOnly: true, sameSite: "strict", path: "/authorize" });
    sendPage(res, {
      status: 200,
      title: `Authorize ${request.client.client_name ?? request.client.client_id}`,
      body: consentPage(request, request_id, state.config.grantableScopes),
      formAction: [originOf(request.redirect_uri)],
    });
  }

  /** `POST /authorize`: the user's decision. */
  function submit(req: Request, res: Response): void {
    // Cross-site submission: the browser names the page that posted; it must be this very origin.
    const origin = req.headers.origin;
    const site = req.headers["sec-fetch-site"];
    if ((origin !== undefined && origin !== `http://${req.headers.host}`) || (site !== undefined && site !== "same-origin")) {
      return refuse(res, 403, "Request refused", "This form was submitted from another site or page, not from this server's consent page.");
    }
    const body = (req.body ?? {}) as Record<string, unknown>;
    const request_id = typeof body.request_id === "string" && ID.test(body.request_id) ? body.request_id : undefined;
    const entry = request_id === undefined ? undefined : pending.get(request_id);
    if (!entry) {
      return refuse(res, 400, "This consent request is no longer valid", "It expired, was already answered, or never existed.");
    }
    pending.delete(request_id!); // one-time, whatever happens next
    const browser = cookieValue(req);
    if (browser === undefined || !sameText(browser, entry.browser)) {
      return refuse(res, 403, "Request refused", "This consent request was shown in another browser.");
    }

    const { request } = entry;
    const { issuer } = state.config;
    const decision = body.decision;
    if (decision === "deny") {
      state.logger.info(`consent denied client_id=${request.client.client_id}`);
      return redirectError(res, issuer, request, new AccessDenied("the user denied the request"));
    }
    if (decision !== "approve") return refuse(res, 400, "Request refused", "The form carried no decision.");

    const checked = body.scope === undefined ? [] : Array.isArray(body.scope) ? body.scope : [body.scope];
    // Only what the page offered: a checked box outside requested ∩ grantable was not on the page.
    if (!checked.every((s): s is string => typeof s === "string" && request.grantable.includes(s))) {
      return refuse(res, 400, "Request refused", "The form named a scope that was not offered.");
    }
    // RFC 6749 §3.3: granting less than requested is allowed; the token response's `scope` says so.
    const scope = inCatalogOrder([...new Set(checked)]);
    if (scope.length === 0) return redirectError(res, issuer, request, new AccessDenied("the user approved no scope"));
    respondToClient(res, issuer, request, { code: issueCode(state, request, scope) });
  }

  return { prompt, submit };
}
