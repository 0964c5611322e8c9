/**
 * R3: the RS trusts only keys the AS publishes *now*. After an AS restart (new signing key), a token
 * signed with the old key is refused once the RS's copy of the JWKS is refetched — at once when a
 * token with the new `kid` arrives, and at the latest after RS_JWKS_MAX_AGE_MS even if none does.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startRestartableStack } from "../security/catalog/rs-stack.ts";
import { obtainTokens } from "../helpers/oauth.ts";
import { initializeRequest, mcpRequest, parseChallenge } from "../helpers/rs-mcp.ts";

test("a token of a restarted AS's old key stops working when the JWKS copy ages out, with no new kid seen", { timeout: 20_000 }, async () => {
  // 200 ms max age; jose still refetches at most once per 1 s cooldown, so the test waits past both.
  const stack = await startRestartableStack({ env: { RS_JWKS_MAX_AGE_MS: "200" } });
  try {
    const { access_token } = await obtainTokens(stack.config, { scope: "files:read" });
    assert.equal((await mcpRequest(stack.config, initializeRequest(), { token: access_token })).status, 200);

    await stack.as.stop();
    await stack.as.start(); // a new app: a new ES256 key, the old one gone from the JWKS
    await new Promise((resolve) => setTimeout(resolve, 1_300));

    const response = await mcpRequest(stack.config, initializeRequest(), { token: access_token });
    assert.equal(response.status, 401);
    const challenge = parseChallenge(response.headers.get("www-authenticate") ?? "");
    assert.equal(challenge.params.error, "invalid_token");
  } finally {
    await stack.close();
  }
});
