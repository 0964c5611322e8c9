/**
 * The consent page (A11, `AS_CONSENT=prompt`), driven over HTTP the way a browser would: `GET /authorize`
 * renders the page and sets the binding cookie; the form POST approves (all or a subset) or denies.
 * Then every way to abuse the form: forged, replayed and expired request ids, another browser's cookie,
 * a planted cookie, a cross-site or cross-port submission, a scope the page never offered — the page's
 * headers, how it shows who asks (invisible characters escaped, DCR marked), and a flood of pages (A9).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { CONSENT_PAGES_PER_MINUTE, CONSENT_TTL_MS, MAX_CLIENTS_PENDING, MAX_PENDING_PER_CLIENT } from "../../as/extras/consent.ts";
import {
  authorize,
  authorizationParams,
  authorizationUrl,
  exchangeCode,
  expectOAuthError,
  pkcePair,
  REDIRECT_URI,
  redirectParams,
  registerClient,
  startAuthorizationServer,
  type AuthorizeParams,
  type RegisteredClient,
  type TestAuthorizationServer,
} from "../helpers/oauth.ts";

let as: TestAuthorizationServer;
let client: RegisteredClient;

before(async () => {
  as = await startAuthorizationServer({ AS_CONSENT: "prompt", AS_DCR_RATE_LIMIT: "1000" });
  client = await registerClient(as.config, { client_name: `Files <b>&</b> "friends"` });
});
after(() => as.close());

interface ConsentPage {
  response: Response;
  html: string;
  request_id: string;
  client_id: string;
  /** `name=value` of the binding cookie the page set. */
  cookie: string;
  code_verifier: string;
}

/** `GET /authorize` as a browser (bringing `cookies`, if any): expects the consent page; returns its form fields and cookie. */
async function openConsent(overrides: AuthorizeParams = {}, { server = as, of = client, cookies }: { server?: TestAuthorizationServer; of?: RegisteredClient; cookies?: string } = {}): Promise<ConsentPage> {
  const { code_verifier, code_challenge } = pkcePair();
  const url = authorizationUrl(server.config, authorizationParams(server.config, of.client_id, code_challenge, { state: "st-1", ...overrides }));
  const response = await fetch(url, { redirect: "manual", headers: { accept: "text/html", ...(cookies ? { cookie: cookies } : {}) } });
  const html = await response.text();
  assert.equal(response.status, 200, html);
  const request_id = /name="request_id" value="([A-Za-z0-9_-]{32})"/.exec(html)?.[1];
  assert.ok(request_id, "the form carries a request id");
  const client_id = /name="client_id" value="([^"]*)"/.exec(html)?.[1];
  assert.equal(client_id, of.client_id, "the form names the client");
  const cookie = (response.headers.get("set-cookie") ?? "").split(";")[0]!;
  assert.match(cookie, new RegExp(`^as_consent_${request_id}=[A-Za-z0-9_-]{32}$`));
  return { response, html, request_id, client_id, cookie, code_verifier };
}

/** The form POST as the page's own browser sends it (same origin, the cookie); override anything. */
function submit(page: ConsentPage, form: Array<[string, string]>, headers: Record<string, string> = {}, server = as): Promise<Response> {
  return fetch(`${server.config.issuer}/authorize`, {
    method: "POST",
    redirect: "manual",
    headers: { origin: server.config.issuer, "sec-fetch-site": "same-origin", cookie: page.cookie, ...headers },
    body: new URLSearchParams([["request_id", page.request_id], ["client_id", page.client_id], ...form]),
  });
}

const approve = (...scopes: string[]): Array<[string, string]> => [["decision", "approve"], ...scopes.map((s): [string, string] => ["scope", s])];

/** A refused form: an HTML page with this status, no redirect, nothing issued. */
async function expectRefusedPage(response: Response, status: number, text: RegExp) {
  const html = await response.text();
  assert.equal(response.status, status, html);
  assert.equal(response.headers.get("location"), null, "never a redirect");
  assert.match(response.headers.get("content-type") ?? "", /^text\/html/);
  assert.match(html, text);
}

test("GET /authorize renders the consent page: client, redirect URI, each scope; escaped, no script", async () => {
  const { html } = await openConsent({ scope: "files:read files:write files:admin" });
  assert.ok(html.includes("Files &lt;b&gt;&amp;&lt;/b&gt; &quot;friends&quot;"), "the client name is escaped");
  assert.ok(!html.includes("<b>&</b>"));
  assert.ok(html.includes(client.client_id));
  assert.ok(html.includes("http://127.0.0.1:8765/callback"));
  assert.match(html, /<input type="checkbox" name="scope" value="files:read" checked>/);
  assert.match(html, /<input type="checkbox" name="scope" value="files:write" checked>/);
  assert.match(html, /<input type="checkbox" disabled>\s*<span><code>files:admin<\/code>/, "ungrantable scope shown disabled");
  assert.match(html, /Not grantable: the demo user may grant only files:read, files:write/);
  assert.doesNotMatch(html, /<script|<link|src=|https?:\/\/(?!127\.0\.0\.1)/i, "no script, no external asset");
});

test("the page cannot be framed, runs no script, posts only to itself or the client; the cookie is HttpOnly SameSite=Strict", async () => {
  const { response } = await openConsent();
  assert.equal(response.headers.get("x-frame-options"), "DENY");
  const csp = response.headers.get("content-security-policy") ?? "";
  assert.match(csp, /frame-ancestors 'none'/);
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /form-action 'self' http:\/\/127\.0\.0\.1:8765(;|$)/);
  assert.doesNotMatch(csp, /script-src|unsafe-inline/);
  assert.equal(response.headers.get("cache-control"), "no-store");
  assert.equal(response.headers.get("x-content-type-options"), "nosniff");
  const setCookie = response.headers.get("set-cookie") ?? "";
  assert.match(setCookie, /HttpOnly/i);
  assert.match(setCookie, /SameSite=Strict/i);
  assert.match(setCookie, /Path=\/authorize/);
});

test("approve all → 302 with code, state, iss; the token carries every checked scope", async () => {
  const page = await openConsent({ scope: "files:read files:write" });
  const callback = redirectParams(await submit(page, approve("files:read", "files:write")));
  assert.equal(callback.get("state"), "st-1");
  assert.equal(callback.get("iss"), as.config.issuer);
  const tokens = await exchangeCode(as.config, { client_id: client.client_id, code: callback.get("code")!, code_verifier: page.code_verifier });
  assert.equal(tokens.scope, "files:read files:write");
});

test("approve a subset → partial grant: the token response's scope says what was granted (RFC 6749 §3.3)", async () => {
  const page = await openConsent({ scope: "files:read files:write" });
  const callback = redirectParams(await submit(page, approve("files:read")));
  const tokens = await exchangeCode(as.config, { client_id: client.client_id, code: callback.get("code")!, code_verifier: page.code_verifier });
  assert.equal(tokens.scope, "files:read");
});

test("deny, or approve with nothing checked → access_denied with state and iss, no code", async () => {
  for (const form of [[["decision", "deny"], ["scope", "files:read"]] as Array<[string, string]>, approve()]) {
    const page = await openConsent();
    const callback = redirectParams(await submit(page, form));
    assert.equal(callback.get("error"), "access_denied");
    assert.equal(callback.get("state"), "st-1");
    assert.equal(callback.get("iss"), as.config.issuer);
    assert.equal(callback.get("code"), null);
  }
});

test("a forged, replayed or expired request id → 400 page, no redirect", async () => {
  const page = await openConsent();
  await expectRefusedPage(await submit({ ...page, request_id: "A".repeat(32) }, approve("files:read")), 400, /no longer valid/);
  await expectRefusedPage(await submit({ ...page, request_id: "not-an-id" }, approve("files:read")), 400, /no longer valid/);

  redirectParams(await submit(page, approve("files:read")));
  await expectRefusedPage(await submit(page, approve("files:read")), 400, /no longer valid/); // one-time

  const stale = await openConsent();
  as.clock.advance(CONSENT_TTL_MS + 1);
  await expectRefusedPage(await submit(stale, approve("files:read")), 400, /no longer valid/);
});

test("cross-site or cross-port submission → 403 page, and the pending request still answers its own page", async () => {
  const page = await openConsent();
  const otherLocalApp = `http://127.0.0.1:${as.config.asPort === 1 ? 2 : 1}`; // same site (sites ignore ports), other origin
  // A foreign (non-loopback) origin is refused on every route before any handler runs (R10): 403 JSON.
  for (const origin of ["https://attacker.example", "null"]) {
    await expectOAuthError(await submit(page, approve("files:read"), { origin }), 403, "invalid_request");
  }
  // Past that, the consent form accepts only its own origin: another loopback origin is refused too.
  const attempts: Array<Record<string, string>> = [{ origin: otherLocalApp }, { "sec-fetch-site": "cross-site" }, { "sec-fetch-site": "same-site" }];
  for (const headers of attempts) {
    await expectRefusedPage(await submit(page, approve("files:read"), headers), 403, /another site/);
  }
  redirectParams(await submit(page, approve("files:read")));
});

test("a submission without the page's cookie (another browser) → 403, and the request is spent", async () => {
  const page = await openConsent();
  await expectRefusedPage(await submit({ ...page, cookie: "" }, approve("files:read")), 403, /another browser/);
  await expectRefusedPage(await submit(page, approve("files:read")), 400, /no longer valid/);

  const other = await openConsent();
  await expectRefusedPage(await submit({ ...other, cookie: `as_consent_${other.request_id}=${"B".repeat(32)}` }, approve("files:read")), 403, /another browser/);
});

test("a scope the page did not offer, or no decision → 400 page, nothing issued", async () => {
  const page = await openConsent({ scope: "files:read files:admin" });
  await expectRefusedPage(await submit(page, approve("files:read", "files:admin")), 400, /not offered/);
  const onlyRead = await openConsent({ scope: "files:read" });
  await expectRefusedPage(await submit(onlyRead, approve("files:write")), 400, /not offered/);
  const undecided = await openConsent();
  await expectRefusedPage(await submit(undecided, [["scope", "files:read"]]), 400, /no decision/);
});

test("validation before the page is unchanged: untrusted targets get 400, protocol errors are redirected", async () => {
  const { code_challenge } = pkcePair();
  const params = (o: AuthorizeParams) => authorizationParams(as.config, client.client_id, code_challenge, { state: "st-1", ...o });
  await expectOAuthError(await authorize(as.config, params({ redirect_uri: "https://attacker.example/cb" })), 400, "invalid_request");
  await expectOAuthError(await authorize(as.config, params({ client_id: "nobody" })), 400, "invalid_client");
  assert.equal(redirectParams(await authorize(as.config, params({ code_challenge_method: "plain" }))).get("error"), "invalid_request");
  assert.equal(redirectParams(await authorize(as.config, params({ resource: "http://127.0.0.1:1/mcp" }))).get("error"), "invalid_target");
  // Nothing grantable: no page to show, the policy answers at once.
  assert.equal(redirectParams(await authorize(as.config, params({ scope: "files:admin" }))).get("error"), "access_denied");
});

test("AS_CONSENT=auto (the default) shows no page and has no POST /authorize", async () => {
  const auto = await startAuthorizationServer();
  try {
    const registered = await registerClient(auto.config);
    const response = await fetch(
      authorizationUrl(auto.config, authorizationParams(auto.config, registered.client_id, pkcePair().code_challenge)),
      { redirect: "manual", headers: { accept: "text/html" } },
    );
    assert.ok(redirectParams(response).get("code"));
    const post = await fetch(`${auto.config.issuer}/authorize`, { method: "POST", body: new URLSearchParams({ decision: "approve" }) });
    await expectOAuthError(post, 405, "invalid_request");
  } finally {
    await auto.close();
  }
});

test("the binding cookie is minted for each page, never adopted from the browser; two pages in one browser both answer", async () => {
  // What another web app on 127.0.0.1 (cookies ignore ports) could have planted in this browser.
  const plantedValue = "P".repeat(32);
  const planted = `as_consent=${plantedValue}; as_consent_${"Q".repeat(32)}=${plantedValue}`;
  const first = await openConsent({}, { cookies: planted });
  const second = await openConsent({}, { cookies: `${planted}; ${first.cookie}` });
  const value = (page: ConsentPage) => page.cookie.split("=")[1];
  assert.notEqual(value(first), plantedValue);
  assert.notEqual(value(second), value(first), "each page its own binding, whatever the browser sent");
  // Both tabs answer, in either order, the browser sending every cookie it has; answering clears the page's own.
  const jar = `${planted}; ${first.cookie}; ${second.cookie}`;
  const answered = await submit(second, approve("files:read"), { cookie: jar });
  redirectParams(answered);
  assert.match(answered.headers.get("set-cookie") ?? "", new RegExp(`^as_consent_${second.request_id}=;`));
  redirectParams(await submit(first, approve("files:read"), { cookie: jar }));
  // A planted value under the page's own cookie name is another browser's.
  const third = await openConsent({}, { cookies: planted });
  await expectRefusedPage(await submit(third, approve("files:read"), { cookie: `as_consent_${third.request_id}=${plantedValue}` }), 403, /another browser/);
});

test("who asks: invisible and bidi characters shown escaped; a DCR client is marked, a pre-registered one too, and a look-alike stays marked", async () => {
  const sneaky = await registerClient(as.config, { client_name: "Files\u202Etxt.exe\u200B\u2066 app\u0007\u3164" });
  const { html } = await openConsent({}, { of: sneaky });
  for (const c of ["\u202E", "\u200B", "\u2066", "\u0007", "\u3164"]) assert.ok(!html.includes(c), `raw U+${c.codePointAt(0)!.toString(16)}`);
  assert.ok(html.includes("Authorize Files[U+202E]txt.exe[U+200B][U+2066] app[U+0007][U+3164]?"), "shown escaped, in the title and heading");
  assert.match(html, /Registered dynamically: the application chose this name itself/);
  assert.doesNotMatch(html, /Pre-registered/);

  const CLIENT = { client_id: "cli-tool", client_secret: "a-long-enough-secret", redirect_uris: [REDIRECT_URI], client_name: "CLI tool" };
  const configured = await startAuthorizationServer({ AS_CONSENT: "prompt", AS_CLIENTS: JSON.stringify([CLIENT]) });
  try {
    const pre = await openConsent({}, { server: configured, of: { client_id: CLIENT.client_id } as RegisteredClient });
    assert.match(pre.html, /<h1>Authorize CLI tool\?<\/h1>/);
    assert.match(pre.html, /Pre-registered in this server's configuration/);
    assert.doesNotMatch(pre.html, /Registered dynamically/);
    // A DCR client that takes the same name gets the same heading — and the marker that tells them apart.
    const lookalike = await registerClient(configured.config, { client_name: CLIENT.client_name });
    const fake = await openConsent({}, { server: configured, of: lookalike });
    assert.match(fake.html, /<h1>Authorize CLI tool\?<\/h1>/);
    assert.match(fake.html, /Registered dynamically/);
    assert.doesNotMatch(fake.html, /Pre-registered/);
  } finally {
    await configured.close();
  }
});

test("an [::1] redirect URI: form-action bounds the redirect by scheme and port (Chromium parses no IPv6 source)", async () => {
  const v6 = await registerClient(as.config, { redirect_uris: ["http://[::1]:8765/callback"] });
  const { response } = await openConsent({ redirect_uri: "http://[::1]:9999/callback" }, { of: v6 }); // RFC 8252 §7.3: any port
  assert.match(response.headers.get("content-security-policy") ?? "", /form-action 'self' http:\/\/\*:9999(;|$)/);
});

test("A9: a flood of pages naming one client evicts nothing of another's; past its budget it is told temporarily_unavailable", async () => {
  const victim = await registerClient(as.config, { client_name: "victim" });
  const flooder = await registerClient(as.config, { client_name: "flooder" });
  as.clock.advance(60_000); // whatever earlier tests spent, a full budget for both
  const waiting = await openConsent({}, { of: victim });
  const flood: ConsentPage[] = [];
  for (let i = 0; i < CONSENT_PAGES_PER_MINUTE; i++) flood.push(await openConsent({}, { of: flooder }));
  // Past the budget: redirected with the error (the redirect URI is trusted by now), nothing kept.
  const { code_challenge } = pkcePair();
  const over = await authorize(as.config, authorizationParams(as.config, flooder.client_id, code_challenge, { state: "st-9" }));
  const refusal = redirectParams(over);
  assert.equal(refusal.get("error"), "temporarily_unavailable");
  assert.match(refusal.get("error_description") ?? "", /too many consent pages for this client; retry in \d+ s/);
  assert.equal(refusal.get("state"), "st-9");
  assert.equal(refusal.get("iss"), as.config.issuer);
  // The flooder's share keeps its newest pages: its own oldest went, the victim's did not.
  await expectRefusedPage(await submit(flood[CONSENT_PAGES_PER_MINUTE - MAX_PENDING_PER_CLIENT - 1]!, approve("files:read")), 400, /no longer valid/);
  redirectParams(await submit(flood[CONSENT_PAGES_PER_MINUTE - MAX_PENDING_PER_CLIENT]!, approve("files:read")));
  const callback = redirectParams(await submit(waiting, approve("files:read")));
  assert.ok(callback.get("code"), "the victim's page, opened before the flood, still answers");
  // A minute later the flooder's budget is back.
  as.clock.advance(60_000);
  await openConsent({}, { of: flooder });
});

test("A9: with every client share holding a live page, a new client is refused — nobody's page is evicted — until pages expire", async () => {
  const crowded = await startAuthorizationServer({ AS_CONSENT: "prompt", AS_DCR_RATE_LIMIT: "1000" });
  try {
    const pages: ConsentPage[] = [];
    for (let i = 0; i < MAX_CLIENTS_PENDING; i++) {
      pages.push(await openConsent({}, { server: crowded, of: await registerClient(crowded.config) }));
    }
    const late = await registerClient(crowded.config);
    const { code_challenge } = pkcePair();
    const refused = redirectParams(await authorize(crowded.config, authorizationParams(crowded.config, late.client_id, code_challenge)));
    assert.equal(refused.get("error"), "temporarily_unavailable");
    // A client that already has a share still gets pages; every page still answers.
    await openConsent({}, { server: crowded, of: { client_id: pages[0]!.client_id } as RegisteredClient });
    for (const page of [pages[0]!, pages.at(-1)!]) redirectParams(await submit(page, approve("files:read"), {}, crowded));
    // Once pages expire, their shares make room.
    crowded.clock.advance(CONSENT_TTL_MS + 1);
    await openConsent({}, { server: crowded, of: late });
  } finally {
    await crowded.close();
  }
});
