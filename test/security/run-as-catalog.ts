/**
 * Turns catalog entries into tests: one `test(entry.name)` each, grouped by category, against one AS on
 * a free loopback port, then a closing test that counts what was defended and checks the AS's log.
 *
 * Checks every entry gets, whatever its kind:
 * - never a 5xx; an OAuth endpoint's answer is `Cache-Control: no-store`;
 * - a rejection is `{error, error_description}` JSON with the expected status and code, and no `Location`;
 * - a redirected error goes to the trusted redirect URI with `error`, `iss` and (if sent once) `state`,
 *   and carries no code;
 * - no rejected registration registers a client; no refused authorization request stores a code.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { stateOf } from "../../as/app.ts";
import type { Logger } from "../../shared/log.ts";
import { terminalText } from "../../shared/terminal-text.ts";
import {
  authorizationParams,
  authorizationUrl,
  expectOAuthError,
  pkcePair,
  registerClient,
  startAuthorizationServer,
} from "../helpers/oauth.ts";
import { countByCategory } from "./catalog/as-catalog.ts";
import type { Attack, AuthorizeAttack, Clients, Ctx, Expectation, RegisterAttack, ScenarioAttack } from "./catalog/as-types.ts";

const OAUTH_ENDPOINTS = ["/register", "/authorize", "/token", "/revoke"];
/** RFC 6749 §4.1.2.1: the characters an error_description may hold. */
const ERROR_DESCRIPTION = /^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/;

/** Checks common to every response; returns the parsed JSON body (or undefined). */
async function checkResponse(response: Response, expect: Expectation): Promise<unknown> {
  const text = await response.text();
  assert.ok(response.status < 500, `never a 5xx: ${response.status} ${text.slice(0, 300)}`);
  if (expect.outcome === "refused-by-http") {
    assert.equal(response.status, expect.status, text.slice(0, 300));
    assert.equal(response.headers.get("location"), null);
    return undefined;
  }
  if (OAUTH_ENDPOINTS.includes(new URL(response.url).pathname)) {
    assert.equal(response.headers.get("cache-control"), "no-store", "RFC 6749 §5.1: no-store");
  }
  if (expect.outcome === "rejected") {
    assert.equal(response.headers.get("location"), null, "no Location header: the AS does not redirect");
    const replay = new Response(text, { status: response.status, headers: response.headers });
    await expectOAuthError(replay, expect.status, expect.error);
    const body = JSON.parse(text) as Record<string, unknown>;
    assert.deepEqual(Object.keys(body).sort(), ["error", "error_description"], "a spec-shaped error, nothing more");
    if (expect.status === 405) assert.ok(response.headers.get("allow"), "405 names the allowed method");
    return body;
  }
  if (expect.outcome === "accepted") assert.equal(response.status, expect.status, text.slice(0, 300));
  if (text === "") return undefined;
  return response.headers.get("content-type")?.startsWith("application/json") ? JSON.parse(text) : text;
}

function check302(response: Response, trusted: string, expect: Expectation, ctx: Ctx, sentState: string | undefined): URL {
  assert.equal(response.status, 302, `expected a redirect, got ${response.status}`);
  const raw = response.headers.get("location") ?? "";
  assert.doesNotMatch(raw, /[\r\n]/);
  const separator = trusted.includes("?") ? "&" : "?";
  assert.ok(raw.startsWith(`${trusted}${separator}`), `redirected to ${raw.slice(0, 200)}, not to ${trusted}`);
  const location = new URL(raw);
  const callback = location.searchParams;
  assert.equal(callback.get("iss"), ctx.config.issuer, "RFC 9207: iss on every authorization response");
  assert.equal(callback.get("state"), sentState ?? null, "state echoed exactly when it was sent once");
  if (expect.outcome === "redirected-error") {
    assert.equal(callback.get("error"), expect.error);
    assert.match(callback.get("error_description") ?? "", ERROR_DESCRIPTION);
    assert.ok(callback.get("error_description"), "a useful error_description");
    assert.equal(callback.get("code"), null, "no code with an error");
  } else {
    assert.ok(callback.get("code"), "a code");
    assert.equal(callback.get("error"), null);
  }
  return location;
}

async function runRegister(entry: RegisterAttack, ctx: Ctx): Promise<void> {
  const clients = stateOf(ctx.as.app).clients;
  const before = clients.size;
  const body = typeof entry.body === "function" ? entry.body(ctx) : entry.body;
  const init: RequestInit =
    "json" in body
      ? { headers: { "content-type": "application/json" }, body: JSON.stringify(body.json) }
      : { headers: body.headers, body: typeof body.raw === "string" ? body.raw : new Uint8Array(body.raw) };
  const response = await fetch(`${ctx.config.issuer}/register`, { method: "POST", ...init });
  const registered = await checkResponse(response, entry.expect);
  if (entry.expect.outcome === "accepted") {
    assert.equal(clients.size, before + 1, "exactly one client registered");
  } else {
    assert.equal(clients.size, before, "no client registered (A3)");
  }
  await entry.afterwards?.(ctx, (registered ?? {}) as Record<string, unknown>);
}

async function runAuthorize(entry: AuthorizeAttack, ctx: Ctx): Promise<void> {
  const client = ctx.clients[entry.client ?? "ip"];
  const overrides = typeof entry.params === "function" ? entry.params(ctx) : (entry.params ?? {});
  const request = authorizationParams(ctx.config, client.client_id, pkcePair().code_challenge, {
    redirect_uri: client.redirect_uris[0],
    state: `st-${randomBytes(6).toString("base64url")}`,
    ...overrides,
  });
  let query = authorizationUrl(ctx.config, request).search.slice(1);
  if (entry.rawQuery) query = entry.rawQuery(query, ctx);
  const states = new URLSearchParams(query).getAll("state");
  const trusted = typeof overrides.redirect_uri === "string" ? overrides.redirect_uri : client.redirect_uris[0]!;

  const codes = stateOf(ctx.as.app).codes;
  const before = codes.size;
  const response = await fetch(`${ctx.config.issuer}/authorize?${query}`, { redirect: "manual" });
  // Read the Location before the body is consumed by the shared checks.
  const location =
    entry.expect.outcome === "redirected-error" || entry.expect.outcome === "accepted"
      ? check302(response, trusted, entry.expect, ctx, states.length === 1 ? states[0] : undefined)
      : undefined;
  await checkResponse(response, entry.expect);
  if (entry.expect.outcome === "accepted") {
    assert.equal(codes.size, before + 1, "one code issued");
  } else {
    // (≤: the store's sweep may drop an expired code meanwhile; it never adds one.)
    assert.ok(codes.size <= before, "no code issued (A4)");
  }
  if (location) await entry.afterwards?.(ctx, location);
}

async function runScenario(entry: ScenarioAttack<unknown>, ctx: Ctx): Promise<void> {
  const fixture = await entry.arrange(ctx);
  const response = await entry.attack(ctx, fixture);
  const body = await checkResponse(response, entry.expect);
  await entry.afterwards(ctx, fixture, body);
}

function execute(entry: Attack, ctx: Ctx): Promise<void> {
  switch (entry.kind) {
    case "register":
      return runRegister(entry, ctx);
    case "authorize":
      return runAuthorize(entry, ctx);
    case "scenario":
      return runScenario(entry, ctx);
  }
}

async function registerClients(ctx: Omit<Ctx, "clients">): Promise<Clients> {
  const at = (redirect_uri: string) => registerClient(ctx.config, { redirect_uris: [redirect_uri] });
  return {
    ip: await at("http://127.0.0.1:8765/callback"),
    ipv6: await at("http://[::1]:8765/callback"),
    localhost: await at("http://localhost:8765/callback"),
    query: await at("http://127.0.0.1:8765/callback?tenant=a"),
    other: await at("http://127.0.0.1:8765/other"),
    // grant_types omitted: RFC 7591 §2's default, authorization_code only
    noRefresh: await registerClient(ctx.config, { grant_types: undefined }),
  };
}

/**
 * Define the tests for `entries` in the calling test file. `label` names the slice in the closing test.
 * Registrations all come from 127.0.0.1, so the DCR rate limit is raised through its variable (A9).
 */
export function runCatalog(label: string, entries: readonly Attack[]): void {
  const logLines: string[] = [];
  const logger: Logger = { info: (m) => void logLines.push(m), warn: (m) => void logLines.push(`warn: ${m}`) };
  let ctx: Ctx;
  const defended = new Set<string>();

  before(async () => {
    const as = await startAuthorizationServer({ AS_DCR_RATE_LIMIT: "100000" }, { logger });
    const partial = { as, config: as.config, secrets: new Set<string>() };
    ctx = { ...partial, clients: await registerClients(partial) };
  });
  after(() => ctx?.as.close());

  for (const { category, title } of countByCategory(entries)) {
    describe(title, () => {
      for (const entry of entries.filter((e) => e.category === category)) {
        // An attack's name quotes its input (a U+2028, a CR): shown escaped, it stays one TAP line (B4).
        test(terminalText(entry.name), async () => {
          await execute(entry, ctx);
          defended.add(entry.name);
        });
      }
    });
  }

  const counts = countByCategory(entries);
  const attacks = counts.reduce((n, c) => n + c.attacks, 0);
  const controls = counts.reduce((n, c) => n + c.controls, 0);
  const categories = `${counts.length} ${counts.length === 1 ? "category" : "categories"}`;
  test(`catalog (${label}): ${attacks} attacks + ${controls} controls in ${categories}, all defended`, (t) => {
    for (const c of counts) t.diagnostic(`${c.category}: ${c.attacks} attacks, ${c.controls} controls`);
    const missing = entries.filter((e) => !defended.has(e.name)).map((e) => e.name);
    assert.deepEqual(missing, [], "every entry ran and passed");
    assert.equal(defended.size, entries.length);
  });

  test(`catalog (${label}): the AS never hit its 500 path and no log line carries a code, verifier or token`, () => {
    assert.ok(logLines.length > 0, "the AS logged its work");
    assert.deepEqual(logLines.filter((line) => line.includes("unexpected error")), []);
    const secrets = [...ctx.secrets].filter((s) => s.length >= 16); // (long enough not to occur by chance)
    for (const line of logLines) for (const secret of secrets) assert.ok(!line.includes(secret), `a secret leaked into: ${line}`);
  });
}
