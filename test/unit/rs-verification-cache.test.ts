/**
 * R3 with the verification cache (resource-server/bearer.ts): a token accepted once is remembered,
 * but only where a full verification would still accept it — the same exact token, before `exp`,
 * and with the JWKS still naming the key that verified it. Each test below fails if the cache serves
 * a result that jose alone would refuse.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createLocalJWKSet, type JWTVerifyGetKey } from "jose";
import { loadConfig } from "../../shared/config.ts";
import { createAccessTokenVerifier, InvalidTokenError } from "../../resource-server/access-token.ts";
import { mintToken, testKey, type TestKey } from "../helpers/rs-mcp.ts";

const config = loadConfig({ AS_PORT: "3001", RS_PORT: "3000" });

/** A JWKS resolver whose key set can be replaced, the way a refetch replaces the remote one. */
function swappableJwks(keys: TestKey[]) {
  let current = createLocalJWKSet({ keys: keys.map((k) => k.publicJwk) });
  const resolve: JWTVerifyGetKey = (header, token) => current(header, token);
  return { resolve, serve: (next: TestKey[]) => void (current = createLocalJWKSet({ keys: next.map((k) => k.publicJwk) })) };
}

const refusedWith = (pattern: RegExp) => (error: unknown) =>
  error instanceof InvalidTokenError && pattern.test(error.message);

describe("verification cache", () => {
  test("a repeated token is accepted with the same claims; a token differing only in its signature is refused", async () => {
    const key = await testKey();
    const verify = createAccessTokenVerifier(config, swappableJwks([key]).resolve);
    const token = await mintToken(config, key, { claims: { scope: "files:read files:write" } });

    const first = await verify(token);
    first.scopes.push("files:admin"); // a caller mutating its result must not change the next one
    const second = await verify(token);
    assert.deepEqual(second.scopes, ["files:read", "files:write"]);
    assert.equal(second.clientId, "test-client");
    assert.deepEqual(second.extra, { sub: "demo-user" });

    const [header, payload, signature] = token.split(".") as [string, string, string];
    const flipped = `${signature.slice(0, 10)}${signature[10] === "A" ? "B" : "A"}${signature.slice(11)}`;
    await assert.rejects(verify(`${header}.${payload}.${flipped}`), refusedWith(/signature invalid/));
    const claims = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, "base64url").toString()), scope: "files:admin" }));
    await assert.rejects(verify(`${header}.${claims.toString("base64url")}.${signature}`), refusedWith(/signature invalid/));
  });

  test("a cached token is refused once it has expired (and accepted within the clock skew, as without a cache)", async () => {
    const key = await testKey();
    let now = Date.now();
    const verify = createAccessTokenVerifier(config, swappableJwks([key]).resolve, { now: () => now });
    const exp = Math.floor(now / 1000) + 60;
    const token = await mintToken(config, key, { claims: { exp } });

    await verify(token);
    now = exp * 1000 + 2_000; // past exp, within the 5 s skew: a full verification still accepts
    assert.equal((await verify(token)).expiresAt, exp);
    now = exp * 1000 + 6_000; // past the skew: refused, although it was verified before
    await assert.rejects(verify(token), refusedWith(/expired/));
  });

  test("after a key set without the key (rotation), a cached token is refused; the same key re-fetched accepts it again", async () => {
    const key = await testKey();
    const jwks = swappableJwks([key]);
    const verify = createAccessTokenVerifier(config, jwks.resolve);
    const token = await mintToken(config, key);
    await verify(token);

    jwks.serve([await testKey()]);
    await assert.rejects(verify(token), refusedWith(/unknown key/));
    const impostor = await testKey(key.kid); // another key under the same kid
    jwks.serve([impostor]);
    await assert.rejects(verify(token), refusedWith(/signature invalid/));
    jwks.serve([key]);
    assert.equal((await verify(token)).clientId, "test-client");
  });

  test("with a cache of one entry, alternating tokens are each still verified correctly", async () => {
    const key = await testKey();
    const jwks = swappableJwks([key]);
    const verify = createAccessTokenVerifier(config, jwks.resolve, { cacheSize: 1 });
    const tokens = await Promise.all(["a", "b", "c"].map((client_id) => mintToken(config, key, { claims: { client_id } })));
    for (let round = 0; round < 3; round++) {
      for (const [i, token] of tokens.entries()) assert.equal((await verify(token)).clientId, ["a", "b", "c"][i]);
    }
    jwks.serve([await testKey()]);
    for (const token of tokens) await assert.rejects(verify(token), refusedWith(/unknown key/));
  });
});
