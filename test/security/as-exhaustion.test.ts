/**
 * Load and exhaustion at the AS (A9, B2): floods of registrations, authorization requests and
 * refreshes from 127.0.0.1 must end in `429`s or in evictions — never a 5xx, never a store past its cap,
 * never unbounded memory.
 *
 * - The DCR rate limit is tested at its default (`AS_DCR_RATE_LIMIT` unset → 60/min) on an AS whose clock
 *   is frozen, so "the 61st registration in a minute" is exact and no real time can refill the bucket.
 * - The floods raise the limit through the variable (`AS_DCR_RATE_LIMIT=1000000`, i.e. effectively off)
 *   and lower the store caps through `limits` (100 each), so a few thousand requests overflow them.
 * - Memory: `heapUsed` growth across a flood stays under a generous bound (128 MiB; after `global.gc` when
 *   node runs with --expose-gc). The precise evidence is the store sizes, which must sit at their caps.
 * Every flood is bounded in count and in time (`FLOOD_DEADLINE_MS`).
 */
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { Express } from "express";
import { createApp, stateOf } from "../../as/app.ts";
import { loadConfig, type Config } from "../../shared/config.ts";
import { closeServer, listenLoopback } from "../../shared/listen.ts";
import type { Logger } from "../../shared/log.ts";
import {
  authorize,
  authorizationParams,
  defaultClientMetadata,
  exchangeCode,
  expectOAuthError,
  obtainCode,
  obtainTokens,
  pkcePair,
  postRegister,
  postToken,
  refresh,
  registerClient,
  startAuthorizationServer,
} from "../helpers/oauth.ts";

const FLOOD = 3000;
const CAP = 100;
const CONCURRENCY = 8;
const FLOOD_DEADLINE_MS = 90_000;
const HEAP_GROWTH_BOUND = 128 * 1024 * 1024;
/** Every loopback address is one host for the DCR limit: the limit is raised for the floods. */
const FLOOD_ENV = { AS_DCR_RATE_LIMIT: "1000000" };

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (m) => void lines.push(m), warn: (m) => void lines.push(`warn: ${m}`) };
}

function heapUsed(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
}

/** Send `count` requests, `CONCURRENCY` at a time; stop (failing) past the deadline. Returns status counts. */
async function flood(count: number, send: (i: number) => Promise<Response>): Promise<Map<number, number>> {
  const deadline = Date.now() + FLOOD_DEADLINE_MS;
  const statuses = new Map<number, number>();
  let next = 0;
  const worker = async () => {
    while (next < count) {
      assert.ok(Date.now() < deadline, `flood exceeded ${FLOOD_DEADLINE_MS} ms after ${next} requests`);
      const response = await send(next++);
      await response.arrayBuffer();
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return statuses;
}

function expectBoundedHeap(t: TestContext, before: number, what: string): void {
  const growth = heapUsed() - before;
  const mib = (growth / 2 ** 20).toFixed(1);
  t.diagnostic(`${what}: heapUsed grew by ${mib} MiB (bound ${HEAP_GROWTH_BOUND / 2 ** 20} MiB${"gc" in globalThis ? ", after gc" : ", no gc"})`);
  assert.ok(growth < HEAP_GROWTH_BOUND, `${what}: heap grew by ${mib} MiB`);
}

/** An AS whose clock only moves when told to (the helper's clock follows real time). */
async function startFrozenAuthorizationServer(logger: Logger): Promise<{
  config: Config;
  app: Express;
  advance(ms: number): void;
  close(): Promise<void>;
}> {
  const { server, address } = await listenLoopback(0);
  // No AS_DCR_RATE_LIMIT: the default applies.
  const config = loadConfig({ RS_PORT: "3000", AS_PORT: String(address.port) });
  let now = Date.now();
  const app = await createApp(config, { now: () => now, logger });
  server.on("request", app);
  return { config, app, advance: (ms) => void (now += ms), close: () => closeServer(server) };
}

test("A9: the default DCR limit — the 61st registration in a minute from 127.0.0.1 gets 429 with Retry-After and JSON", async () => {
  const logger = recordingLogger();
  const as = await startFrozenAuthorizationServer(logger);
  try {
    assert.equal(as.config.dcrRateLimit, 60, "AS_DCR_RATE_LIMIT defaults to 60 per minute");
    for (let i = 0; i < 60; i++) {
      const response = await postRegister(as.config, defaultClientMetadata());
      assert.equal(response.status, 201, `registration ${i + 1} of 60: ${await response.text()}`);
    }
    const sixtyFirst = await postRegister(as.config, defaultClientMetadata());
    // 60 per minute refills one every second: that is when to come back (RFC 9110 §10.2.3, in seconds)
    assert.equal(sixtyFirst.headers.get("retry-after"), "1");
    assert.equal(sixtyFirst.headers.get("cache-control"), "no-store");
    await expectOAuthError(sixtyFirst, 429, "too_many_requests");
    assert.equal(stateOf(as.app).clients.size, 60);

    // a concurrent burst changes nothing: every one of them is refused, none registers
    const burst = await flood(200, () => postRegister(as.config, defaultClientMetadata()));
    assert.deepEqual([...burst], [[429, 200]]);
    assert.equal(stateOf(as.app).clients.size, 60);

    // one second later, exactly one more
    as.advance(1_000);
    assert.equal((await postRegister(as.config, defaultClientMetadata())).status, 201);
    await expectOAuthError(await postRegister(as.config, defaultClientMetadata()), 429, "too_many_requests");
    assert.deepEqual(logger.lines.filter((l) => l.includes("unexpected error")), []);
  } finally {
    await as.close();
  }
});

/** `POST /register` sent from a chosen loopback source address (any local process can pick one). */
function registerFrom(config: Config, localAddress: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: "127.0.0.1", port: config.asPort, path: "/register", method: "POST", localAddress, agent: false, headers: { "content-type": "application/json" } },
      (response) => (response.resume(), resolve(response.statusCode ?? 0)),
    );
    request.on("error", reject);
    request.end(JSON.stringify(defaultClientMetadata()));
  });
}

test("A9: every loopback source address (127.0.0.0/8) is one host for the DCR limit", async () => {
  const as = await startFrozenAuthorizationServer(recordingLogger());
  try {
    const sources = ["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.1.2.3", "127.255.255.254"];
    const statuses = new Map<number, number>();
    for (let i = 0; i < 60; i++) {
      const status = await registerFrom(as.config, sources[i % sources.length]!);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
    assert.deepEqual([...statuses], [[201, 60]]);
    // the budget is spent for all of them: a fresh source address gets no fresh budget
    for (const source of [...sources, "127.0.0.99", "127.42.0.1"]) assert.equal(await registerFrom(as.config, source), 429, source);
    assert.equal(stateOf(as.app).clients.size, 60);
  } finally {
    await as.close();
  }
});

test(`A9: a flood of ${FLOOD} registrations fills the client store (${CAP}), then gets 429 — no client in use is evicted`, async (t) => {
  const logger = recordingLogger();
  const as = await startAuthorizationServer(FLOOD_ENV, { limits: { maxClients: CAP }, logger });
  try {
    // registered before the flood, holding a live grant
    const victim = await obtainTokens(as.config);
    const heapBefore = heapUsed();
    const statuses = await flood(FLOOD, (i) => postRegister(as.config, { ...defaultClientMetadata(), client_name: `flood ${i}` }));
    assert.deepEqual([...statuses].sort(), [[201, CAP - 1], [429, FLOOD - CAP + 1]], "the store fills, then registration is refused");
    expectBoundedHeap(t, heapBefore, "registration flood");

    const clients = stateOf(as.app).clients;
    assert.equal(clients.size, CAP, "the store sits at its cap");
    // the victim was not evicted: its refresh token and a new authorization still work
    await refresh(as.config, { client_id: victim.client_id, refresh_token: victim.refresh_token! });
    await obtainTokens(as.config, { client: victim.client });
    assert.equal(clients.size, CAP);
    assert.deepEqual(logger.lines.filter((l) => l.includes("unexpected error")), []);
  } finally {
    await as.close();
  }
});

test(`A9: a flood of ${FLOOD} authorization requests keeps the code store at its cap (${CAP}), oldest evicted`, async (t) => {
  const logger = recordingLogger();
  const as = await startAuthorizationServer(FLOOD_ENV, { limits: { maxCodes: CAP }, logger });
  try {
    const client = await registerClient(as.config);
    const oldest = await obtainCode(as.config, { client_id: client.client_id });
    const heapBefore = heapUsed();
    const statuses = await flood(FLOOD, () => authorize(as.config, authorizationParams(as.config, client.client_id, pkcePair().code_challenge)));
    assert.deepEqual([...statuses], [[302, FLOOD]], "every request answered with a code");
    expectBoundedHeap(t, heapBefore, "authorization flood");

    const codes = stateOf(as.app).codes;
    assert.ok(codes.size <= CAP, `code store holds ${codes.size}`);
    // the oldest code was evicted; the newest redeems
    await expectOAuthError(
      await postToken(as.config, {
        grant_type: "authorization_code",
        client_id: client.client_id,
        code: oldest.code,
        code_verifier: oldest.code_verifier,
        redirect_uri: oldest.redirect_uri,
      }),
      400,
      "invalid_grant",
    );
    const newest = await obtainCode(as.config, { client_id: client.client_id });
    await exchangeCode(as.config, { client_id: client.client_id, code: newest.code, code_verifier: newest.code_verifier });
    assert.ok(codes.size <= CAP);
    assert.deepEqual(logger.lines.filter((l) => l.includes("unexpected error")), []);
  } finally {
    await as.close();
  }
});

test(`A5/A9: a flood of ${FLOOD} authorization requests does not erase a redeemed code — its replay still revokes`, async () => {
  const logger = recordingLogger();
  const as = await startAuthorizationServer(FLOOD_ENV, { limits: { maxCodes: CAP }, logger });
  try {
    const victim = await registerClient(as.config);
    const code = await obtainCode(as.config, { client_id: victim.client_id });
    const { code: value, code_verifier, redirect_uri } = code;
    const form = { grant_type: "authorization_code", client_id: victim.client_id, code: value, code_verifier, redirect_uri };
    const tokens = await exchangeCode(as.config, { client_id: victim.client_id, code: code.code, code_verifier: code.code_verifier });

    const attacker = await registerClient(as.config);
    const statuses = await flood(FLOOD, () => authorize(as.config, authorizationParams(as.config, attacker.client_id, pkcePair().code_challenge)));
    assert.deepEqual([...statuses], [[302, FLOOD]]);
    assert.ok(stateOf(as.app).codes.size <= CAP);

    // within the code's lifetime the replay is recognised, and revokes what the code issued
    const replay = await expectOAuthError(await postToken(as.config, form), 400, "invalid_grant");
    assert.match(replay.error_description, /already used/);
    await expectOAuthError(
      await postToken(as.config, { grant_type: "refresh_token", client_id: victim.client_id, refresh_token: tokens.refresh_token! }),
      400,
      "invalid_grant",
    );
    assert.deepEqual(logger.lines.filter((l) => l.includes("unexpected error")), []);
  } finally {
    await as.close();
  }
});

test("A5/A9: a redeemed-code record forced out of its full store before the code expires revokes its family (fail closed)", async () => {
  const as = await startAuthorizationServer(FLOOD_ENV, { limits: { maxRedeemedCodes: 2 } });
  try {
    const [first, second, third] = [await obtainTokens(as.config), await obtainTokens(as.config), await obtainTokens(as.config)];
    // three redemptions in a store of two: the first record was evicted while its code could still be replayed
    await expectOAuthError(
      await postToken(as.config, { grant_type: "refresh_token", client_id: first.client_id, refresh_token: first.refresh_token! }),
      400,
      "invalid_grant",
    );
    await refresh(as.config, { client_id: second.client_id, refresh_token: second.refresh_token! });
    await refresh(as.config, { client_id: third.client_id, refresh_token: third.refresh_token! });
  } finally {
    await as.close();
  }
});

test(`A9: refresh floods keep refresh tokens and families at their cap (${CAP})`, async (t) => {
  const ROTATIONS = 1500;
  const GRANTS = 300;
  const logger = recordingLogger();
  const as = await startAuthorizationServer(FLOOD_ENV, { limits: { maxRefreshTokens: CAP }, logger });
  try {
    const client = await registerClient(as.config);
    const state = stateOf(as.app);
    const heapBefore = heapUsed();

    // one long rotation chain: every rotated token stays on record (reuse detection) until evicted
    const deadline = Date.now() + FLOOD_DEADLINE_MS;
    const first = await obtainTokens(as.config, { client });
    let current = first.refresh_token!;
    for (let i = 0; i < ROTATIONS; i++) {
      assert.ok(Date.now() < deadline, `rotation flood exceeded ${FLOOD_DEADLINE_MS} ms after ${i} rotations`);
      current = (await refresh(as.config, { client_id: client.client_id, refresh_token: current })).refresh_token!;
    }
    assert.ok(state.refreshTokens.size <= CAP, `refresh-token store holds ${state.refreshTokens.size}`);

    // many grants, each its own family
    const grants = await flood(GRANTS, async () => {
      const { code, code_verifier, redirect_uri } = await obtainCode(as.config, { client_id: client.client_id });
      return postToken(as.config, { grant_type: "authorization_code", client_id: client.client_id, code, code_verifier, redirect_uri });
    });
    assert.deepEqual([...grants], [[200, GRANTS]]);
    expectBoundedHeap(t, heapBefore, "refresh flood");

    assert.ok(state.refreshTokens.size <= CAP, `refresh-token store holds ${state.refreshTokens.size}`);
    assert.ok(state.families.size <= CAP, `family store holds ${state.families.size}`);

    // revoke every family we can still reach
    const revokeAll = await flood(GRANTS, async () => {
      const tokens = await obtainTokens(as.config, { client });
      return fetch(`${as.config.issuer}/revoke`, {
        method: "POST",
        body: new URLSearchParams({ client_id: client.client_id, token: tokens.refresh_token! }),
      });
    });
    assert.deepEqual([...revokeAll], [[200, GRANTS]]);
    assert.ok(state.families.size <= CAP, `family store holds ${state.families.size}`);

    // the oldest token of the chain is forgotten (evicted), and the AS still serves new grants
    await expectOAuthError(
      await postToken(as.config, { grant_type: "refresh_token", client_id: client.client_id, refresh_token: first.refresh_token! }),
      400,
      "invalid_grant",
    );
    const fresh = await obtainTokens(as.config, { client });
    await refresh(as.config, { client_id: client.client_id, refresh_token: fresh.refresh_token! });
    assert.deepEqual(logger.lines.filter((l) => l.includes("unexpected error")), []);
  } finally {
    await as.close();
  }
});
