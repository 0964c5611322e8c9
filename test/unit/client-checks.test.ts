/**
 * The story's verdicts are themselves tested: a check that cannot fail proves nothing. Here D8's
 * (client/demo/hardening-checks.ts `verifyHardening`) against recorded exchanges written by hand.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { verifyHardening } from "../../client/demo/hardening-checks.ts";
import { Evidence, type Parties } from "../../client/demo/exchanges.ts";
import type { RecordedExchange } from "../../client/demo/recorder.ts";

const ISSUER = "http://127.0.0.1:3001";
const SERVER = "http://127.0.0.1:3000/mcp";
const PARTIES: Parties = {
  serverUrl: SERVER,
  issuer: ISSUER,
  authorizationEndpoint: `${ISSUER}/authorize`,
  tokenEndpoint: `${ISSUER}/token`,
  registrationEndpoint: `${ISSUER}/register`,
};
const UNREGISTERED = ["http://127.0.0.1:8976/callbackevil", "https://attacker.example/cb"];

let seq = 0;
function exchange(method: string, url: string, status: number, extra: Partial<RecordedExchange> = {}): RecordedExchange {
  const u = new URL(url);
  return {
    seq: ++seq,
    step: "D8",
    method,
    url,
    origin: u.origin,
    path: u.pathname,
    query: Object.fromEntries(u.searchParams),
    startedMs: 0,
    durationMs: 1,
    status,
    request: {},
    response: {},
    ...extra,
  };
}

const refusedAuthorization = (redirectUri: string) =>
  exchange("GET", `${ISSUER}/authorize?client_id=c1&redirect_uri=${encodeURIComponent(redirectUri)}&scope=files:read`, 400, {
    response: { json: { error: "invalid_request" } },
  });

/** D8's exchanges as the story sends them, with `authorizations` in place of its two /authorize requests. */
function d8(authorizations: RecordedExchange[]): RecordedExchange[] {
  const healthz = (base: string) =>
    exchange("GET", `${base}/healthz`, 200, {
      response: { json: { listening: { address: "127.0.0.1", port: Number(new URL(base).port), family: "IPv4" } } },
    });
  return [
    exchange("POST", `${ISSUER}/register`, 400, {
      request: { json: { redirect_uris: ["https://attacker.example/cb"] } },
      response: { json: { error: "invalid_redirect_uri" } },
    }),
    ...authorizations,
    exchange("POST", `${ISSUER}/token`, 400, {
      request: { form: { grant_type: "refresh_token", scope: "files:read files:write" } },
      response: { json: { error: "invalid_scope" } },
    }),
    healthz(ISSUER),
    healthz(new URL(SERVER).origin),
  ];
}

const verify = (exchanges: RecordedExchange[]) =>
  verifyHardening(new Evidence(exchanges, PARTIES), exchanges, { serverUrl: SERVER, issuer: ISSUER, unregisteredRedirects: UNREGISTERED });

test("D8 passes on exactly what the story sends: one /authorize per unregistered redirect_uri, each refused", () => {
  assert.match(verify(d8(UNREGISTERED.map(refusedAuthorization))), /unregistered redirect → 400, no Location/);
});

test("D8 fails when an unregistered-redirect authorization is missing, extra or redirected", () => {
  assert.throws(() => verify(d8([refusedAuthorization(UNREGISTERED[0]!)])), /one authorization request per unregistered redirect_uri/);
  assert.throws(
    () => verify(d8([...UNREGISTERED.map(refusedAuthorization), refusedAuthorization("http://127.0.0.1:8976/other")])),
    /one authorization request per unregistered redirect_uri/,
  );
  const redirected = refusedAuthorization(UNREGISTERED[1]!);
  redirected.status = 302;
  redirected.response.location = "https://attacker.example/cb?code=abc…";
  assert.throws(() => verify(d8([refusedAuthorization(UNREGISTERED[0]!), redirected])), /→ 400/);
});
