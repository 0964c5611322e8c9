/**
 * The AS attack catalog as a whole (B1): the data is well-formed, and the summary says how many
 * attacks the runners (`as-redirect-uri`, `as-authorization-code`, `as-refresh-token`, `as-protocol`)
 * execute — each runner also asserts, in its own closing test, that every one of its entries passed.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { validateRedirectUri } from "../../as/redirect-uri.ts";
import { ACCEPTED_REDIRECT_URIS, HOSTILE_REDIRECT_URIS } from "./catalog/as-redirect-uri.ts";
import {
  AS_CATALOG,
  AUTHORIZATION_CODE_ATTACKS,
  CATEGORIES,
  countByCategory,
  PROTOCOL_ATTACKS,
  REDIRECT_URI_ATTACKS,
  REFRESH_TOKEN_ATTACKS,
  type Category,
} from "./catalog/as-catalog.ts";

test("every entry has a unique name, a known category, a citation and a 4xx (or accepted) expectation", () => {
  const names = AS_CATALOG.map((e) => e.name);
  const duplicates = names.filter((name, i) => names.indexOf(name) !== i);
  assert.deepEqual(duplicates, [], "test names are unique");
  for (const entry of AS_CATALOG) {
    assert.ok(entry.category in CATEGORIES, `${entry.name}: category ${entry.category}`);
    assert.ok(entry.cite.trim(), `${entry.name}: cites the rule it defends`);
    const { expect } = entry;
    if (expect.outcome === "rejected" || expect.outcome === "refused-by-http") {
      assert.ok(expect.status >= 400 && expect.status < 500, `${entry.name}: a 4xx`);
    }
    if (entry.control) assert.equal(expect.outcome, "accepted", `${entry.name}: a control expects success`);
    // only /authorize answers with a redirect, and only there does the runner inspect the Location
    if (expect.outcome === "redirected-error") assert.equal(entry.kind, "authorize", `${entry.name}: redirected only at /authorize`);
  }
});

test("every category has attacks, and the runners cover the whole catalog exactly once", () => {
  for (const category of Object.keys(CATEGORIES) as Category[]) {
    assert.ok(AS_CATALOG.some((e) => e.category === category && !e.control), `${category} has attacks`);
  }
  const slices = [REDIRECT_URI_ATTACKS, AUTHORIZATION_CODE_ATTACKS, REFRESH_TOKEN_ATTACKS, PROTOCOL_ATTACKS];
  assert.equal(slices.reduce((n, s) => n + s.length, 0), AS_CATALOG.length);
  assert.equal(new Set(slices.flat()).size, AS_CATALOG.length);
});

test("the hostile redirect URIs are distinct and each refused by the policy; the accepted ones pass it", () => {
  const uris = HOSTILE_REDIRECT_URIS.map((h) => h.uri);
  assert.equal(new Set(uris).size, uris.length, "no hostile URI listed twice");
  for (const { uri } of HOSTILE_REDIRECT_URIS) assert.equal(validateRedirectUri(uri).ok, false, JSON.stringify(uri));
  for (const { uri } of ACCEPTED_REDIRECT_URIS) assert.equal(validateRedirectUri(uri).ok, true, JSON.stringify(uri));
});

const counts = countByCategory(AS_CATALOG);
const attacks = counts.reduce((n, c) => n + c.attacks, 0);
const controls = counts.reduce((n, c) => n + c.controls, 0);

test(`catalog: ${attacks} AS attacks (+ ${controls} controls) in ${counts.length} categories`, (t) => {
  for (const c of counts) t.diagnostic(`${c.category}: ${c.attacks} attacks, ${c.controls} controls — ${c.title}`);
  assert.equal(attacks + controls, AS_CATALOG.length);
  assert.equal(counts.length, Object.keys(CATEGORIES).length);
});
