/**
 * A server entry binds first and attaches its app once built (shared/listen.ts): in between, every
 * request gets a 503 with Retry-After — a launcher polling /healthz then, never a request left hanging.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { closeServer, listenLoopback, notReadyYet, serve } from "../../shared/listen.ts";

test("before the app is attached: 503 + Retry-After; after: the app, and nothing else, answers", async () => {
  const { server, url } = await listenLoopback(0, notReadyYet);
  try {
    const early = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5_000) });
    assert.equal(early.status, 503);
    assert.equal(early.headers.get("retry-after"), "1");
    assert.deepEqual(await early.json(), { error: "temporarily_unavailable", error_description: "starting" });
    serve(server, (_req, res) => res.end("app"));
    const ready = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5_000) });
    assert.equal(ready.status, 200);
    assert.equal(await ready.text(), "app");
    assert.equal(server.listenerCount("request"), 1);
  } finally {
    await closeServer(server);
  }
});
