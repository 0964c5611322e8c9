/**
 * B1: the JSON error answers of both servers carry `X-Content-Type-Options: nosniff`, as their HTML
 * pages do — the refusals before any route (Host, Origin), the endpoints' own errors, body-parser's,
 * the 404s and 405s, and what the MCP SDK's transport answers by itself.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { rawHttp } from "../helpers/raw-http.ts";
import { obtainTokens, postRegister, postToken } from "../helpers/oauth.ts";
import { initializeRequest } from "../helpers/rs-mcp.ts";
import { startStack, type Stack } from "../helpers/stack.ts";

let stack: Stack;
before(async () => {
  stack = await startStack();
});
after(() => stack.close());

async function expectNoSniffJsonError(what: string, response: { status: number; contentType: string; nosniff: string | null }) {
  assert.ok(response.status >= 400, `${what}: expected an error, got ${response.status}`);
  assert.match(response.contentType, /^application\/json/, what);
  assert.equal(response.nosniff, "nosniff", `${what}: ${response.status} without nosniff`);
}

const seen = async (response: Response) => {
  await response.arrayBuffer();
  return { status: response.status, contentType: response.headers.get("content-type") ?? "", nosniff: response.headers.get("x-content-type-options") };
};

test("the AS's JSON errors carry nosniff", async () => {
  const { config } = stack;
  const as = config.issuer;
  const cases: Array<[string, Promise<Response>]> = [
    ["POST /token without grant_type", postToken(config, { client_id: "nobody" })],
    ["POST /register with a foreign redirect URI", postRegister(config, { redirect_uris: ["https://attacker.example/cb"] })],
    ["POST /register, malformed JSON", postRegister(config, "{")],
    ["POST /register, too large", postRegister(config, JSON.stringify({ redirect_uris: ["x".repeat(20_000)] }))],
    ["GET /authorize, unknown client", fetch(`${as}/authorize?client_id=nobody&redirect_uri=http://127.0.0.1/cb`, { redirect: "manual" })],
    ["GET /nowhere", fetch(`${as}/nowhere`)],
    ["DELETE /token", fetch(`${as}/token`, { method: "DELETE" })],
    ["a foreign Origin", fetch(`${as}/token`, { method: "POST", headers: { origin: "https://attacker.example" }, body: new URLSearchParams() })],
  ];
  for (const [what, response] of cases) await expectNoSniffJsonError(what, await seen(await response));
  const rebound = await rawHttp(config.asPort, "GET", "/healthz", ["Host: evil.example"]);
  await expectNoSniffJsonError("a foreign Host", { status: rebound.status, contentType: rebound.headers["content-type"] ?? "", nosniff: rebound.headers["x-content-type-options"] ?? null });
});

test("the RS's JSON errors carry nosniff, the SDK's own answers included", async () => {
  const mcp = stack.config.resource;
  const rs = new URL(mcp).origin;
  const json = { "content-type": "application/json", accept: "application/json, text/event-stream" };
  const { access_token } = await obtainTokens(stack.config, { scope: "files:read" });
  // Past the gate, with an Accept header the Streamable HTTP transport refuses: the SDK answers 406 itself.
  const notAcceptable = { "content-type": "application/json", accept: "application/json", authorization: `Bearer ${access_token}` };
  const cases: Array<[string, Promise<Response>]> = [
    ["POST /mcp without a token (401)", fetch(mcp, { method: "POST", headers: json, body: "{}" })],
    ["POST /mcp with a bad token (401)", fetch(mcp, { method: "POST", headers: { ...json, authorization: "Bearer nope" }, body: "{}" })],
    ["POST /mcp, Accept without text/event-stream (the SDK's 406)", fetch(mcp, { method: "POST", headers: notAcceptable, body: JSON.stringify(initializeRequest()) })],
    ["GET /nowhere (404)", fetch(`${rs}/nowhere`)],
    ["a foreign Origin (403)", fetch(`${rs}/healthz`, { headers: { origin: "https://attacker.example" } })],
  ];
  for (const [what, response] of cases) await expectNoSniffJsonError(what, await seen(await response));
  const twoHosts = await rawHttp(stack.config.rsPort, "GET", "/healthz", [`Host: 127.0.0.1:${stack.config.rsPort}`, "Host: 127.0.0.1"]);
  await expectNoSniffJsonError("two Host headers (400)", { status: twoHosts.status, contentType: twoHosts.headers["content-type"] ?? "", nosniff: twoHosts.headers["x-content-type-options"] ?? null });
});
