import { test } from "node:test";
import assert from "node:assert/strict";
import { unreachableServerMessage } from "../../client/cli/unreachable.ts";
import { AuthorizationServerUnreachableError, connectionErrorCode, FetchTimeoutError, namingTheAuthorizationServer } from "../../client/recorder.ts";
import { closeServer, listenLoopback } from "../../shared/listen.ts";

/** A loopback port nobody listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const { server, address } = await listenLoopback(0);
  await closeServer(server);
  return address.port;
}

const MCP = "http://127.0.0.1:1/mcp";

test("a refused request to the AS becomes AuthorizationServerUnreachableError naming the issuer and the exchange", async () => {
  const port = await closedPort();
  const issuer = `http://127.0.0.1:${port}`;
  const fetchFn = namingTheAuthorizationServer((url, init) => fetch(url, init), MCP);
  const error = await fetchFn(`${issuer}/authorize?client_id=c&state=secret-state`, { method: "GET" }).then(
    () => assert.fail("nothing listens there"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof AuthorizationServerUnreachableError, String(error));
  assert.ok(!(error instanceof TypeError), "not a TypeError: the SDK's discovery would retry it as a CORS failure");
  assert.equal(error.issuer, issuer);
  assert.equal(error.endpoint, `GET ${issuer}/authorize`, "the query (state, PKCE) is left out");
  assert.equal(error.message, `cannot reach the authorization server ${issuer}: GET ${issuer}/authorize failed (ECONNREFUSED)`);
  assert.ok(error.cause instanceof TypeError, "the original fetch error is the cause");
  assert.equal(connectionErrorCode(error), "ECONNREFUSED", "still classified as a connection error");
});

test("namingTheAuthorizationServer passes answers, non-connection failures and the MCP server's own failures through", async () => {
  const answered = new Response("{}", { status: 401 });
  assert.equal(await namingTheAuthorizationServer(async () => answered, MCP)("http://127.0.0.1:2/token"), answered);
  const timeout = new FetchTimeoutError("POST http://127.0.0.1:2/token got no answer within 5 ms");
  const failing = namingTheAuthorizationServer(async () => Promise.reject(timeout), MCP);
  assert.equal(await failing("http://127.0.0.1:2/token", { method: "POST" }).catch((e: unknown) => e), timeout);
  const refused = await fetch(`http://127.0.0.1:${await closedPort()}/`).catch((e: unknown) => e);
  const fromMcp = namingTheAuthorizationServer(async () => Promise.reject(refused), MCP);
  assert.equal(await fromMcp("http://127.0.0.1:1/.well-known/oauth-protected-resource/mcp").catch((e: unknown) => e), refused, "the PRM is the MCP server's");
});

test("unreachableServerMessage says which server: the AS when an AS exchange failed, else the MCP server", async () => {
  const port = await closedPort();
  const mcp = `http://127.0.0.1:${port}/mcp`;
  const refused = await fetch(mcp).catch((e: unknown) => e);
  assert.equal(unreachableServerMessage(refused, mcp), `cannot reach the MCP server ${mcp} (ECONNREFUSED)`);

  const asDown = new AuthorizationServerUnreachableError("http://127.0.0.1:3001", "POST http://127.0.0.1:3001/token", refused);
  assert.equal(unreachableServerMessage(asDown, mcp), asDown.message);
  assert.equal(unreachableServerMessage(new Error("wrapped", { cause: asDown }), mcp), asDown.message, "found in the cause chain");
  assert.equal(unreachableServerMessage(new Error("invalid_scope"), mcp), undefined, "a protocol error is not 'unreachable'");
});
