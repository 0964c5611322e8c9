/**
 * D8's verdict: the hardening the story shows live — an attacker's redirect URI refused at DCR and at
 * /authorize, a widening refresh refused, both servers on 127.0.0.1, no traffic off loopback.
 */
import assert from "node:assert/strict";
import { parseScope } from "../step-up/index.ts";
import { responseJson, type Evidence } from "./exchanges.ts";
import type { RecordedExchange } from "./recorder.ts";

export interface HardeningSetup {
  serverUrl: string;
  issuer: string;
  /** The redirect URIs the story sent to /authorize without registering them, in order. */
  unregisteredRedirects: string[];
}

export function verifyHardening(ev: Evidence, everything: RecordedExchange[], setup: HardeningSetup): string {
  const { serverUrl, issuer } = setup;
  const [attacker, ...moreRegistrations] = ev.registrations();
  assert.equal(moreRegistrations.length, 0, "one registration attempt");
  assert.equal(attacker?.status, 400, "DCR with https://attacker.example/cb is refused");
  assert.equal(responseJson(attacker).error, "invalid_redirect_uri");
  const authorizations = ev.authorizations();
  assert.deepEqual(
    authorizations.map((a) => a.query.redirect_uri),
    setup.unregisteredRedirects,
    "one authorization request per unregistered redirect_uri, and no other",
  );
  for (const a of authorizations) {
    assert.equal(a.status, 400, `unregistered redirect_uri ${a.query.redirect_uri} → 400`);
    assert.equal(a.response.location, undefined, "…and no Location: the target is not trusted");
  }
  const [widening, ...moreRefreshes] = ev.tokenRequests("refresh_token");
  assert.equal(moreRefreshes.length, 0, "one widening refresh");
  assert.ok(widening && parseScope(widening.request.form?.scope).includes("files:write"));
  assert.equal(widening.status, 400);
  assert.equal(responseJson(widening).error, "invalid_scope", "RFC 6749 §6: a refresh cannot widen scope");
  for (const base of [issuer, new URL(serverUrl).origin]) {
    const health = ev.exchanges.find((e) => e.path === "/healthz" && e.origin === new URL(base).origin);
    assert.equal(health?.status, 200, `${base}/healthz answers`);
    const listening = responseJson(health).listening as { address?: string; port?: number; family?: string };
    assert.equal(listening?.address, "127.0.0.1", `${base} listens on 127.0.0.1 only`);
    assert.equal(String(listening.port), new URL(base).port);
  }
  const elsewhere = everything.filter((e) => new URL(e.origin).hostname !== "127.0.0.1");
  assert.equal(elsewhere.length, 0, `traffic left loopback: ${elsewhere.map((e) => e.origin).join(", ")}`);
  return `DCR attacker.example → 400 invalid_redirect_uri; unregistered redirect → 400, no Location; widening refresh → invalid_scope; AS and RS listen on 127.0.0.1; all ${everything.length} requests stayed on loopback`;
}
