/**
 * 50 concurrent clients, each doing the whole D1 + D3 story with the project's real client
 * (client/connect.ts, step-up.ts, authorizer.ts) against one AS and one RS in this process:
 * connect with `files:read` (401 → discovery → DCR → authorize → token), then `write-file` → 403 →
 * step-up → retry. All must succeed, and nothing may cross between clients: each result names its
 * own `client_id` and scopes, each token carries its own `client_id`, and every client registered once,
 * authorized exactly twice and never refreshed.
 *
 * Every request comes from 127.0.0.1, so the AS's per-address DCR rate limit (A9, default 60 per
 * minute) is raised here through `AS_DCR_RATE_LIMIT` — 50 registrations in one burst are the point of
 * this test, not an attack on the AS.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { decodeJwt } from "jose";
import { connectClient, type McpClientHandle } from "../../client/connect.ts";
import { startStack, type Stack } from "../helpers/stack.ts";

const CLIENTS = 50;

let stack: Stack;
const handles: McpClientHandle[] = [];

before(async () => {
  stack = await startStack({ AS_DCR_RATE_LIMIT: "1000" });
});
after(async () => {
  await Promise.all(handles.map((handle) => handle.close()));
  await stack.close();
});

function textOf(result: unknown): string {
  return ((result as { content?: Array<{ text?: string }> }).content ?? []).map((c) => c.text ?? "").join("\n");
}

test(`${CLIENTS} concurrent clients each connect with files:read and step up on write-file, without cross-talk`, { timeout: 45_000 }, async () => {
  const runs = await Promise.all(
    Array.from({ length: CLIENTS }, async (_, i) => {
      const handle = await connectClient({ serverUrl: stack.config.resource, clientName: `load client ${i}`, requestTimeoutMs: 30_000, authTimeoutMs: 20_000 });
      handles.push(handle);
      const firstToken = handle.authorizer.tokens!.access_token;
      // One shared file name: the store holds at most 32 files, and cross-talk shows in who wrote it.
      const written = await handle.client.callTool(
        { name: "write-file", arguments: { name: "load.txt", content: `client ${i}\n` } },
        undefined,
        { timeout: 30_000 },
      );
      return { i, handle, firstToken, written: textOf(written) };
    }),
  );

  const clientIds = runs.map(({ handle }) => handle.authorizer.client!.client_id);
  assert.equal(new Set(clientIds).size, CLIENTS, "every client registered its own client_id");

  for (const { i, handle, firstToken, written } of runs) {
    const clientId = handle.authorizer.client!.client_id;
    assert.equal(written, `wrote load.txt (${`client ${i}\n`.length} bytes) — written by ${clientId} [files:read files:write]`, `client ${i}`);

    const first = decodeJwt(firstToken);
    const stepped = decodeJwt(handle.authorizer.tokens!.access_token);
    for (const [label, claims, scope] of [["first", first, "files:read"], ["stepped-up", stepped, "files:read files:write"]] as const) {
      assert.equal(claims.client_id, clientId, `client ${i}'s ${label} token is its own`);
      assert.equal(claims.scope, scope, `client ${i}'s ${label} token scope`);
      assert.equal(claims.aud, stack.config.resource);
      assert.equal(claims.sub, "demo-user");
    }

    // Its own recorder: register once, authorize twice (D1 + D3), never refresh (a refresh cannot widen).
    const asRequests = handle.recorder.exchanges.filter((e) => e.origin === stack.config.issuer);
    const count = (path: string, grant?: string) =>
      asRequests.filter((e) => e.path === path && (grant === undefined || e.request.form?.grant_type === grant)).length;
    assert.equal(count("/register"), 1, `client ${i} registered once`);
    assert.equal(count("/authorize"), 2, `client ${i} authorized twice`);
    assert.equal(count("/token", "authorization_code"), 2, `client ${i} redeemed two codes`);
    assert.equal(count("/token", "refresh_token"), 0, `client ${i} never refreshed`);
    for (const e of asRequests.filter((x) => x.path === "/authorize")) assert.equal(e.query.client_id, clientId, "only its own client_id");
    assert.ok(asRequests.every((e) => e.status !== undefined && e.status < 500), `client ${i}: no AS request failed or got a 5xx`);
  }
});
