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
 * - a cookie set with the page (`HttpOnly; SameSite=Strict`), named after the request and holding a
 *   value this AS minted for it, binds it to the browser that saw it. A cookie the browser brings is
 *   never adopted: any other web app on 127.0.0.1 (cookies ignore ports) can plant one;
 * - `Origin` (and `Sec-Fetch-Site`), when the browser sends them, must be this server's own origin.
 *   SameSite alone is not enough on loopback: "site" ignores ports, so every local web app on
 *   127.0.0.1 is same-site with this AS — the origin check (scheme, host AND port) is what stops it;
 * - the page cannot be framed (`X-Frame-Options: DENY`, CSP `frame-ancestors 'none'`), so it cannot be
 *   clicked through an invisible overlay (RFC 9700 §4.16).
 *
 * Who asks is shown as honestly as a page can: a client registered by DCR is marked so (its name is its
 * own claim; only a pre-registered client's name comes from this server's configuration), and invisible
 * or direction-changing characters in any value are shown escaped (page.ts).
 *
 * Under pressure (A9): each client has its own share of the pending pages (pending-consents.ts) and its
 * own page budget per minute, so a flood naming one client evicts nothing of another's; past the budget,
 * or with every share in use, the request is answered `temporarily_unavailable` (RFC 6749 §4.1.2.1).
 */
import { timingSafeEqual } from "node:crypto";
import type { Request, Response } from "express";
import { nanoid } from "nanoid";
import { inCatalogOrder } from "../../shared/scopes.ts";
import { issueCode, redirectError, respondToClient, type AuthorizationRequest } from "../authorize.ts";
import { AccessDenied, TemporarilyUnavailable } from "../errors.ts";
import { tokenBuckets } from "../rate-limit.ts";
import { html, sendPage, type SafeHtml } from "./page.ts";
import { PendingConsents } from "./pending-consents.ts";
import { DEMO_USER, type AsState } from "../state.ts";

/** How long a consent page stays answerable. */
export const CONSENT_TTL_MS = 10 * 60_000;
/** A9: at most this many consent pages of one client wait at once; its oldest is dropped first. */
export const MAX_PENDING_PER_CLIENT = 10;
/** A9: at most this many clients have consent pages waiting at once (a new one is refused, none evicted). */
export const MAX_CLIENTS_PENDING = 100;
/** A9: consent pages one client may have shown per minute (a burst of this many, then one every 2 s). */
export const CONSENT_PAGES_PER_MINUTE = 30;
/** The binding cookie of a pending request is named this, `_`, and the request's id. */
export const CONSENT_COOKIE = "as_consent";

const SCOPE_MEANING: Record<string, string> = {
  "files:read": "List and read your files",
  "files:write": "Create and overwrite files",
  "files:admin": "Delete files",
};

interface PendingConsent {
  request: AuthorizationRequest;
  /** The value this AS minted for the request's binding cookie when the page was shown. */
  binding: string;
}

const ID = /^[A-Za-z0-9_-]{32}$/;

/** The binding cookie of one pending request. */
const cookieName = (request_id: string) => `${CONSENT_COOKIE}_${request_id}`;

function cookieValue(req: Request, cookie: string): string | undefined {
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const [name, value] = part.trim().split("=", 2);
    if (name === cookie && value !== undefined && ID.test(value)) return value;
  }
  return undefined;
}

const sameText = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/**
 * The CSP `form-action` source for the redirect URI — the browser goes there after the form, and checks
 * that hop against `form-action` too. Its origin, except for an IPv6 literal: CSP3's host-source grammar
 * (§2.3.1) has none, and Chromium ignores `http://[::1]:8765` as an invalid source, which leaves only
 * `'self'` and blocks the redirect. `http://*:8765` is the narrowest source Chromium accepts for it: the
 * scheme and the port still bound (tested in Chromium, test/browser/consent-ipv6.test.ts).
 */
export function formActionSource(uri: string): string {
  const url = new URL(uri);
  if (!url.hostname.startsWith("[")) return url.origin;
  return `${url.protocol}//*:${url.port || (url.protocol === "https:" ? "443" : "80")}`;
}

/** Who the client is, as far as this AS knows: a name from its configuration, or the client's own claim. */
function registration(preRegistered: boolean): SafeHtml {
  return preRegistered
    ? html`<p class="badge pre">Pre-registered in this server's configuration (<code>AS_CLIENTS</code>).</p>`
    : html`<p class="badge dcr">Registered dynamically: the application chose this name itself, and any program on this computer can register any name. Check where it returns to.</p>`;
}

function consentPage(request: AuthorizationRequest, request_id: string, grantableBy: string[], preRegistered: boolean): SafeHtml {
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
${registration(preRegistered)}
<p class="sub">Signed in as <b>${DEMO_USER}</b>. Uncheck anything you do not want to grant.</p>
<dl>
<dt>Application</dt><dd>${client.client_name ?? "(no name given)"} <span class="how">(${preRegistered ? "pre-registered" : "registered dynamically"})</span></dd>
<dt>Client ID</dt><dd><code>${client.client_id}</code></dd>
<dt>Returns to</dt><dd><code>${request.redirect_uri}</code></dd>
<dt>Resource</dt><dd><code>${request.resource}</code></dd>
</dl>
<form method="post" action="/authorize">
<input type="hidden" name="request_id" value="${request_id}">
<input type="hidden" name="client_id" value="${client.client_id}">
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
  const pending = new PendingConsents<PendingConsent>({
    perClient: MAX_PENDING_PER_CLIENT,
    maxClients: MAX_CLIENTS_PENDING,
    ttlMs: CONSENT_TTL_MS,
    now: state.now,
  });
  const pageOf = tokenBuckets({ perMinute: CONSENT_PAGES_PER_MINUTE, now: state.now });
  const { issuer } = state.config;

  /** `GET /authorize`, every check passed: show the page (called by `authorize.ts`). */
  function prompt(req: Request, res: Response, request: AuthorizationRequest): void {
    const { client_id } = request.client;
    // A9: a client's pages come out of its own budget and its own share of the store.
    const retryAfter = pageOf(client_id);
    if (retryAfter !== undefined) {
      return redirectError(res, issuer, request, new TemporarilyUnavailable(`too many consent pages for this client; retry in ${retryAfter} s`));
    }
    const request_id = nanoid(32);
    const binding = nanoid(32); // minted here, for this request only — never a value the browser brought
    if (!pending.add(client_id, request_id, { request, binding })) {
      return redirectError(res, issuer, request, new TemporarilyUnavailable("too many applications are waiting for consent; retry later"));
    }
    // Path-scoped, script-invisible, never sent on a cross-site request (RFC 6265bis §4.1.2.7), gone with the page.
    res.cookie(cookieName(request_id), binding, { httpOnly: true, sameSite: "strict", path: "/authorize", maxAge: CONSENT_TTL_MS });
    sendPage(res, {
      status: 200,
      title: `Authorize ${request.client.client_name ?? client_id}`,
      body: consentPage(request, request_id, state.config.grantableScopes, state.preRegisteredClients.has(client_id)),
      formAction: [formActionSource(request.redirect_uri)],
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
    const client_id = typeof body.client_id === "string" ? body.client_id : undefined;
    // One-time, whatever happens next.
    const entry = request_id === undefined || client_id === undefined ? undefined : pending.take(client_id, request_id);
    if (!entry) {
      return refuse(res, 400, "This consent request is no longer valid", "It expired, was already answered, or never existed.");
    }
    const cookie = cookieName(request_id!);
    res.clearCookie(cookie, { path: "/authorize" });
    const browser = cookieValue(req, cookie);
    if (browser === undefined || !sameText(browser, entry.binding)) {
      return refuse(res, 403, "Request refused", "This consent request was shown in another browser.");
    }

    const { request } = entry;
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
