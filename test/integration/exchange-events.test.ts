/**
 * The servers' exchange events (shared/extras/exchange-events.ts): off unless EXCHANGE_EVENTS=1; when on, one
 * event per exchange, redacted like the logs (no token, code, verifier, `state` or session id whole),
 * with what only the server knows (a code's grant, an issued token's claims, the verified principal);
 * served on a loopback-only stream that no page may read, bounded in readers, backlog and memory.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { redact } from "../../shared/log.ts";
import { EVENTS_PATH, MAX_SUBSCRIBERS, RING_SIZE, type ExchangeEvent, type ExchangeEventLog } from "../../shared/extras/exchange-events.ts";
import { followEvents } from "../../scripts/live-view/collect.ts";
import { exchangeCode, obtainCode, registerClient } from "../helpers/oauth.ts";
import { McpTestSession } from "../helpers/rs-mcp.ts";
import { rawHttp } from "../helpers/raw-http.ts";
import { startStack } from "../helpers/stack.ts";

const logOf = (app: { locals: Record<string, unknown> }) => app.locals.exchangeEvents as ExchangeEventLog;
const portOf = (url: string) => Number(new URL(url).port);

/** Poll until `check` holds (never a timing assertion: the test's own timeout bounds it). */
async function until<T>(check: () => T | undefined): Promise<T> {
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test("off by default: no event stream on either server, nothing recorded", async () => {
  const stack = await startStack();
  try {
    for (const url of [stack.config.issuer, stack.config.resource]) {
      const answer = await rawHttp(portOf(url), "GET", EVENTS_PATH, ["Host: 127.0.0.1"]);
      assert.equal(answer.status, 404, url);
    }
    assert.equal(stack.apps.as.locals.exchangeEvents, undefined);
    assert.equal(stack.apps.rs.locals.exchangeEvents, undefined);
  } finally {
    await stack.close();
  }
});

test("a step-up, as the servers publish it: every exchange, nothing secret whole, the facts only they know", async () => {
  const stack = await startStack({ EXCHANGE_EVENTS: "1" });
  try {
    const { config } = stack;
    const { client_id } = await registerClient(config);
    const first = await obtainCode(config, { client_id, scope: "files:read" });
    const tokens = await exchangeCode(config, { client_id, code: first.code, code_verifier: first.code_verifier });
    const session = await McpTestSession.open(config, tokens.access_token);
    assert.equal((await session.call("write-file", { name: "a.txt", content: "x" })).status, 403);
    const second = await obtainCode(config, { client_id, scope: "files:read files:write" });
    const wider = await exchangeCode(config, { client_id, code: second.code, code_verifier: second.code_verifier });
    session.token = wider.access_token;
    await session.callText("write-file", { name: "a.txt", content: "x" });

    const events = [...logOf(stack.apps.as).events(), ...logOf(stack.apps.rs).events()];
    const text = JSON.stringify(events);
    const secrets = [first.code, first.code_verifier, second.code, tokens.access_token, tokens.refresh_token!, wider.access_token, session.sessionId, first.location.searchParams.get("state")!];
    for (const secret of secrets) assert.ok(!text.includes(secret), `an event holds a secret whole: ${secret.slice(0, 8)}…`);
    assert.ok(text.includes(redact(tokens.access_token)) && text.includes(redact(first.code)), "…but its prefix, as the logs show it");

    const authorizations = events.filter((e) => e.path === "/authorize");
    assert.deepEqual(authorizations.map((e) => e.query.scope), ["files:read", "files:read files:write"]);
    assert.deepEqual(authorizations.map((e) => e.granted), [["files:read"], ["files:read", "files:write"]], "the scope each code grants");
    assert.ok(authorizations.every((e) => e.clientId === client_id && e.status === 302));
    const issued = events.filter((e) => e.path === "/token").map((e) => e.issued);
    assert.deepEqual(issued.map((claims) => claims && { aud: claims.aud, scope: claims.scope, client_id: claims.client_id }), [
      { aud: config.resource, scope: "files:read", client_id },
      { aud: config.resource, scope: "files:read files:write", client_id },
    ]);
    assert.ok(issued.every((claims) => typeof claims?.exp === "number"));
    const refused = events.find((e) => e.server === "rs" && e.status === 403)!;
    assert.match(refused.responseHeaders["www-authenticate"]!, /error="insufficient_scope", scope="files:write"/);
    assert.deepEqual(refused.principal, { clientId: client_id, scope: ["files:read"] }, "the verified token's client and scopes");
    assert.equal(refused.requestHeaders.authorization, `Bearer ${redact(tokens.access_token)}`);
    assert.deepEqual((refused.body as { params: { name: string } }).params.name, "write-file");
  } finally {
    await stack.close();
  }
});

test("the other secrets never reach an event whole: a refresh, a client secret (form and Basic), a revoked token, a token nested deep in a body", async () => {
  const secret = "a-pre-registered-secret";
  const stack = await startStack({ EXCHANGE_EVENTS: "1", AS_CLIENTS: JSON.stringify([{ client_id: "cli", client_secret: secret, redirect_uris: ["http://127.0.0.1/callback"] }]) });
  try {
    const { config } = stack;
    const { client_id } = await registerClient(config);
    const code = await obtainCode(config, { client_id, scope: "files:read" });
    const tokens = await exchangeCode(config, { client_id, code: code.code, code_verifier: code.code_verifier });
    const form = (body: Record<string, string>, headers: Record<string, string> = {}) => fetch(`${config.issuer}/token`, { method: "POST", headers, body: new URLSearchParams(body) });
    await form({ grant_type: "refresh_token", client_id, refresh_token: tokens.refresh_token! });
    await form({ grant_type: "client_credentials", client_id: "cli", client_secret: secret });
    await form({ grant_type: "client_credentials" }, { authorization: `Basic ${Buffer.from(`cli:${secret}`).toString("base64")}` });
    await form({ grant_type: "client_credentials" }, { authorization: tokens.access_token }); // a credential with no scheme
    await fetch(`${config.issuer}/revoke`, { method: "POST", body: new URLSearchParams({ client_id, token: tokens.refresh_token! }) });
    let deep: unknown = { note: tokens.access_token };
    for (let i = 0; i < 10; i++) deep = { deeper: deep };
    const session = await McpTestSession.open(config, tokens.access_token);
    await session.call("read-file", { name: "notes.txt", deep });

    const text = JSON.stringify([...logOf(stack.apps.as).events(), ...logOf(stack.apps.rs).events()]);
    for (const whole of [secret, Buffer.from(`cli:${secret}`).toString("base64"), tokens.refresh_token!, tokens.access_token]) {
      assert.ok(!text.includes(whole), `an event holds a secret whole: ${whole.slice(0, 8)}…`);
    }
    assert.ok(text.includes("(nested too deep to show)"), "what is nested too deep is not shown at all");
  } finally {
    await stack.close();
  }
});

test("the stream: the ring, then each new event; resumed after Last-Event-ID", async () => {
  const stack = await startStack({ EXCHANGE_EVENTS: "1" });
  const seen: ExchangeEvent[] = [];
  const feed = followEvents(stack.config.issuer, (event) => seen.push(event), { retryMs: 50 });
  try {
    await fetch(`${stack.config.issuer}/healthz`);
    await until(() => seen.some((e) => e.path === "/healthz"));
    await registerClient(stack.config);
    await until(() => seen.some((e) => e.path === "/register"));
    assert.deepEqual(seen.map((e) => e.seq), [...seen.keys()].map((i) => i + 1), "each event once, in order");

    // A reader that lost its connection resumes where it was: no event twice, none missed.
    const log = logOf(stack.apps.as);
    const last = seen.at(-1)!;
    const answer = await new Promise<string>((resolve) => {
      const request = http.get(`${stack.config.issuer}${EVENTS_PATH}`, { headers: { "last-event-id": `${last.instance}:${last.seq - 1}` } }, (response) => {
        let body = "";
        response.on("data", (chunk) => {
          body += chunk;
          if (body.includes(`"seq":${last.seq}`)) (request.destroy(), resolve(body));
        });
      });
    });
    assert.equal((answer.match(/^id: /gm) ?? []).length, 1, "only the events after Last-Event-ID");
    assert.equal(log.events().length, seen.length);
  } finally {
    feed.close();
    await stack.close();
  }
});

test("no page can read the stream, nor a foreign Host (R10): only a local process such as the view's", async () => {
  const stack = await startStack({ EXCHANGE_EVENTS: "1" });
  try {
    for (const url of [stack.config.issuer, stack.config.resource]) {
      const port = portOf(url);
      const refusals = [
        ["Host: 127.0.0.1", "Origin: http://127.0.0.1:6274"], // a loopback page (R10 lets it reach the MCP endpoint)
        ["Host: 127.0.0.1", "Sec-Fetch-Mode: no-cors"], // a browser that sends no Origin
        ["Host: attacker.example"], // DNS rebinding
        ["Host: 127.0.0.1", "Origin: https://attacker.example"],
      ];
      for (const headers of refusals) {
        const answer = await rawHttp(port, "GET", EVENTS_PATH, headers);
        assert.ok(answer.status >= 400 && answer.status < 500, `${url} ${headers.join(", ")} → ${answer.status}`);
        assert.doesNotMatch(answer.body, /"seq"/, "no event in a refusal");
      }
    }
  } finally {
    await stack.close();
  }
});

test("bounded: publishing never waits for a reader; one that stops reading is cut off once it falls behind the ring; the ring keeps the newest; readers are capped", async () => {
  const stack = await startStack({ EXCHANGE_EVENTS: "1" });
  const port = portOf(stack.config.issuer);
  const sockets: net.Socket[] = [];
  try {
    // A reader that stops reading once the stream has begun (the server has taken it as a reader by then).
    const stalled = net.connect(port, "127.0.0.1", () => stalled.write(`GET ${EVENTS_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`));
    sockets.push(stalled);
    let closed = false;
    stalled.on("close", () => (closed = true));
    await new Promise((resolve) => stalled.once("data", resolve));
    stalled.pause();
    const log = logOf(stack.apps.as);

    const big = { at: 0, ms: 0, method: "GET", path: "/flood", query: {}, requestHeaders: {}, status: 200, responseHeaders: {}, responseBody: "x".repeat(6000) };
    const total = 4 * RING_SIZE;
    for (let i = 0; i < total; i++) log.publish(big); // synchronous: it returns whatever the reader does
    const ring = log.events();
    assert.equal(ring.length, RING_SIZE, "the ring keeps the newest only");
    assert.ok(ring.at(-1)!.seq >= total && ring.at(-1)!.seq - ring[0]!.seq === RING_SIZE - 1, "…the newest ones, in order");
    stalled.resume();
    await until(() => closed || undefined);
    assert.ok(closed, "the stalled reader was cut off");

    // The cap on readers: MAX_SUBSCRIBERS streams at once, then 503.
    const requests: http.ClientRequest[] = [];
    const open = await Promise.all(
      Array.from({ length: MAX_SUBSCRIBERS }, () =>
        new Promise<http.IncomingMessage>((resolve) => {
          const request = http.get(`${stack.config.issuer}${EVENTS_PATH}`, { agent: false }, (response) => (response.on("error", () => {}), resolve(response)));
          request.on("error", () => {}); // cut by the teardown below
          requests.push(request);
        }),
      ),
    );
    assert.ok(open.every((response) => response.statusCode === 200));
    // A reader that does read gets the whole ring, however much more it is than a socket takes at once.
    let received = "";
    open[0]!.setEncoding("utf8").on("data", (chunk: string) => (received += chunk));
    await until(() => ((received.match(/^id: /gm) ?? []).length >= RING_SIZE ? true : undefined));
    const extra = await rawHttp(port, "GET", EVENTS_PATH, ["Host: 127.0.0.1"]);
    assert.equal(extra.status, 503);
    for (const request of requests) request.destroy();
  } finally {
    for (const socket of sockets) socket.destroy();
    await stack.close();
  }
});

test("an exchange too large to keep whole keeps its line (method, path, status), and the request is answered as without events", async () => {
  const stack = await startStack({ EXCHANGE_EVENTS: "1" });
  try {
    const metadata = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`field_${i}`, "x".repeat(30)]));
    const answer = await fetch(`${stack.config.issuer}/register`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(metadata) });
    assert.equal(answer.status, 400);
    const event = logOf(stack.apps.as).events().find((e) => e.path === "/register")!;
    assert.equal(event.status, 400);
    assert.equal(event.body, "(left out: too large)");
    assert.ok(JSON.stringify(event).length <= 8 * 1024);
  } finally {
    await stack.close();
  }
});
