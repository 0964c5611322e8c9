/**
 * `pnpm dev` survives its own restart (A12): the AS and RS as real processes (the entries `pnpm dev`
 * runs), on free loopback ports, with a temporary state directory. A client registers, authorizes,
 * calls a tool and refreshes; the stack is stopped and started again; the same client (same client_id,
 * same refresh token) goes on without registering again, the RS still accepts the access token issued
 * before the restart, and refresh-token reuse is still detected across it. A corrupt state file then
 * gives one log line and a fresh start.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DEFAULT_LIMITS } from "../../as/state.ts";
import { readStateFile } from "../../as/extras/state-file-schema.ts";
import { stateFileName } from "../../as/extras/state-file.ts";
import { freeLoopbackPorts, startChild, stopChild, waitForHealthy, type Child } from "../../scripts/processes.ts";
import { loadConfig } from "../../shared/config.ts";
import {
  authorize,
  authorizationParams,
  exchangeCode,
  expectOAuthError,
  obtainCode,
  pkcePair,
  postToken,
  refresh,
  registerClient,
} from "../helpers/oauth.ts";
import { McpTestSession } from "../helpers/rs-mcp.ts";

const stateDir = mkdtempSync(path.join(tmpdir(), "dev-restart-"));
const [asPort, rsPort] = (await freeLoopbackPorts(2)) as [number, number];
const stateFile = path.join(stateDir, stateFileName(asPort));
const env = { ...process.env, AS_PORT: String(asPort), RS_PORT: String(rsPort), AS_STATE_DIR: stateDir, NO_COLOR: "1" };
const config = loadConfig(env);

let running: Child[] = [];
after(async () => {
  await Promise.all(running.map((child) => stopChild(child)));
  rmSync(stateDir, { recursive: true, force: true });
});

/** Start AS and RS (as `pnpm dev` does) and wait until both answer; returns the AS process. */
async function startDevStack(): Promise<Child> {
  const as = startChild("as", "as/server.ts", [], env);
  const rs = startChild("rs", "resource-server/server.ts", [], env);
  running = [as, rs];
  const deadline = AbortSignal.timeout(20_000);
  await waitForHealthy(as, `${config.issuer}/healthz`, deadline);
  await waitForHealthy(rs, `http://127.0.0.1:${rsPort}/healthz`, deadline);
  return as;
}

/** SIGTERM both (as Ctrl-C on `pnpm dev` does); the AS writes its last changes on the way out. */
async function stopDevStack(): Promise<void> {
  await Promise.all(running.map((child) => stopChild(child, 5_000)));
  running = [];
}

const stateLines = (as: Child) => as.log.filter((line) => line.includes(stateFile));

test("a restarted dev stack keeps its clients, key and refresh-token families; a corrupt state file is a fresh start", { timeout: 90_000 }, async () => {
  // ---- first run: register, authorize, call a tool, refresh ----
  let as = await startDevStack();
  assert.deepEqual(stateLines(as), [`[as] no state in ${stateFile} yet; starting fresh, and keeping clients, key and refresh tokens there`]);
  const client = await registerClient(config);
  const { code, code_verifier } = await obtainCode(config, { client_id: client.client_id, scope: "files:read" });
  const first = await exchangeCode(config, { client_id: client.client_id, code, code_verifier });
  await (await McpTestSession.open(config, first.access_token)).callText("list-files");
  const second = await refresh(config, { client_id: client.client_id, refresh_token: first.refresh_token! });
  await stopDevStack();

  // ---- restart: the same client goes on, without registering ----
  as = await startDevStack();
  assert.equal(stateLines(as).length, 1, as.log.join("\n"));
  assert.match(stateLines(as)[0]!, /state restored from .*: 1 clients, 1 token families, 2 refresh tokens, signing key kid=/);

  // The key was kept: the restarted RS (fresh JWKS) accepts the access token issued before the restart.
  const session = await McpTestSession.open(config, second.access_token);
  assert.match(await session.callText("list-files"), /files:read/);

  // The refresh token issued before the restart works, and rotates.
  const third = await refresh(config, { client_id: client.client_id, refresh_token: second.refresh_token! });
  assert.equal(third.scope, "files:read");
  assert.notEqual(third.refresh_token, second.refresh_token);
  session.token = third.access_token;
  await session.callText("list-files");

  // The client authorizes again with its old client_id (no new registration anywhere in this run).
  const again = await obtainCode(config, { client_id: client.client_id, scope: "files:read files:write" });
  const stepped = await exchangeCode(config, { client_id: client.client_id, code: again.code, code_verifier: again.code_verifier });
  assert.equal(stepped.scope, "files:read files:write");

  // OAuth 2.1 §4.3.1 across the restart: the token rotated before it is reuse, which revokes its family.
  await expectOAuthError(await postToken(config, { grant_type: "refresh_token", client_id: client.client_id, refresh_token: first.refresh_token }), 400, "invalid_grant");
  await expectOAuthError(await postToken(config, { grant_type: "refresh_token", client_id: client.client_id, refresh_token: third.refresh_token }), 400, "invalid_grant");
  assert.ok(!as.log.some((line) => line.includes("registered client_id")), "nobody registered after the restart");
  await stopDevStack();

  // ---- a corrupt state file: one log line, a fresh start ----
  writeFileSync(stateFile, '{"version":1,"issuer":');
  as = await startDevStack();
  assert.deepEqual(stateLines(as), [
    `[as] warn: ignoring state file ${stateFile}: it is not valid JSON; starting fresh (the file is replaced at the next save)`,
  ]);
  const { code_challenge } = pkcePair();
  await expectOAuthError(await authorize(config, authorizationParams(config, client.client_id, code_challenge)), 400, "invalid_client");
  const newcomer = await registerClient(config);
  await stopDevStack();

  // The file was replaced with a valid one holding only what this run created.
  const saved = await readStateFile(stateFile, { issuer: config.issuer, resource: config.resource, limits: DEFAULT_LIMITS });
  assert.ok(saved.ok, saved.ok ? "" : saved.reason);
  assert.deepEqual(saved.file.clients.map((c) => c.key), [newcomer.client_id]);
  assert.deepEqual(saved.file.refreshTokens, []);
});
