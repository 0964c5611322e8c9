/**
 * The AS stalls (accepts, never answers) while the RS's copy of its keys has aged out: each request to
 * the RS costs one bounded key fetch and ends `503` with `Retry-After` — not two fetch timeouts in a
 * row (the cached token's re-check, then the full verification), and never `401` for a token that may
 * be fine (resource-server/access-token.ts).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { obtainTokens } from "../helpers/oauth.ts";
import { initializeRequest, mcpRequest } from "../helpers/rs-mcp.ts";
import { receivedSince, startRestartableStack } from "../security/catalog/rs-stack.ts";

test("a stalled AS costs each RS request one key fetch, then 503 Retry-After", { timeout: 30_000 }, async () => {
  // 200 ms max age; jose refetches an unknown kid at most once per 1 s cooldown, so the test waits past both.
  const stack = await startRestartableStack({ env: { RS_JWKS_MAX_AGE_MS: "200" } });
  try {
    const jwksPath = new URL(stack.config.jwksUri).pathname;
    const { access_token } = await obtainTokens(stack.config, { scope: "files:read" });
    assert.equal((await mcpRequest(stack.config, initializeRequest(), { token: access_token })).status, 200, "verified and cached");

    stack.delay = (req) => (req.url === jwksPath ? 60_000 : 0); // the AS stops answering key requests
    await sleep(1_300);

    for (let round = 0; round < 2; round++) {
      const mark = stack.as.received.length;
      const response = await mcpRequest(stack.config, initializeRequest(), { token: access_token });
      assert.equal(response.status, 503, "the keys are unavailable: not the token's fault");
      assert.match(response.headers.get("retry-after") ?? "", /^\d+$/);
      const fetches = receivedSince(stack.as, mark).filter((r) => r.path === jwksPath);
      assert.equal(fetches.length, 1, `round ${round}: one key fetch per request, got ${fetches.length}`);
    }
  } finally {
    await stack.close();
  }
});
