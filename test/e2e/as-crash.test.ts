/**
 * A12: what a client was told survives a crash of the AS. The AS runs as a real process (`as/server.ts`)
 * with a state directory; right after each answer that changed what it keeps — a registration, a code
 * redemption (a new family and refresh token), a refresh-token rotation — it is killed with SIGKILL
 * (no exit handler runs) and started again. The restarted AS knows the client, honours the refresh
 * token, accepts the newest token of a rotation and still detects reuse of the rotated one.
 * And SIGHUP stops the AS as SIGTERM does: its last save runs.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { stateFileName } from "../../as/extras/state-file.ts";
import { loadConfig } from "../../shared/config.ts";
import { freeLoopbackPorts, startChild, stopChild, waitForHealthy, type Child } from "../../scripts/processes.ts";
import { exchangeCode, expectOAuthError, obtainCode, postToken, refresh, registerClient } from "../helpers/oauth.ts";

const root = mkdtempSync(path.join(tmpdir(), "as-crash-"));
const [asPort, rsPort] = (await freeLoopbackPorts(2)) as [number, number];
const envFor = (stateDir: string) => ({ ...process.env, AS_PORT: String(asPort), RS_PORT: String(rsPort), AS_STATE_DIR: stateDir, NO_COLOR: "1" });
const config = loadConfig(envFor(root));

let running: Child | undefined;
after(async () => {
  if (running) await stopChild(running);
  rmSync(root, { recursive: true, force: true });
});

async function startAs(stateDir: string): Promise<Child> {
  if (running) await stopChild(running); // left over by a failed test
  running = startChild("as", "as/server.ts", [], envFor(stateDir));
  await waitForHealthy(running, `${config.issuer}/healthz`, AbortSignal.timeout(20_000));
  return running;
}

/** kill -9: nothing the process would do on its way out happens. */
async function crash(child: Child): Promise<void> {
  child.process.kill("SIGKILL");
  assert.equal(await child.exited, "SIGKILL");
  running = undefined;
}

test("kill -9 right after a registration, a redemption and a rotation: the restarted AS knows all three", { timeout: 90_000 }, async () => {
  const stateDir = path.join(root, "crash");
  await crash(await startAs(stateDir));

  // A registration, then a crash: the client is known after the restart (no invalid_client).
  let as = await startAs(stateDir);
  const client = await registerClient(config);
  await crash(as);

  // A redemption (a new family and its refresh token), then a crash: the refresh token works after the restart.
  as = await startAs(stateDir);
  const { code, code_verifier } = await obtainCode(config, { client_id: client.client_id, scope: "files:read" });
  const first = await exchangeCode(config, { client_id: client.client_id, code, code_verifier });
  await crash(as);

  // A rotation, then a crash.
  as = await startAs(stateDir);
  const second = await refresh(config, { client_id: client.client_id, refresh_token: first.refresh_token! });
  await crash(as);

  as = await startAs(stateDir);
  assert.ok(as.log.some((line) => /state restored from .*: 1 clients, 1 token families, 2 refresh tokens/.test(line)), as.log.join("\n"));
  // The newest token of the rotation is accepted (and rotates again) ...
  const third = await refresh(config, { client_id: client.client_id, refresh_token: second.refresh_token! });
  assert.equal(third.scope, "files:read");
  // ... the rotated one is reuse (RFC 9700 §4.14.2), which revokes the family, the token just issued included.
  const reuse = await expectOAuthError(
    await postToken(config, { grant_type: "refresh_token", client_id: client.client_id, refresh_token: first.refresh_token }),
    400,
    "invalid_grant",
  );
  assert.match(reuse.error_description, /already used/);
  await expectOAuthError(await postToken(config, { grant_type: "refresh_token", client_id: client.client_id, refresh_token: third.refresh_token }), 400, "invalid_grant");
  // The revocation itself was kept before its answer: after another crash the family is still revoked.
  await crash(as);
  as = await startAs(stateDir);
  await expectOAuthError(await postToken(config, { grant_type: "refresh_token", client_id: client.client_id, refresh_token: third.refresh_token }), 400, "invalid_grant");
  await stopChild(as);
  running = undefined;
});

test("SIGHUP stops the AS like SIGTERM: exit 0, and its last save (here a fresh start's signing key) is written", { timeout: 60_000 }, async () => {
  const stateDir = path.join(root, "hangup");
  const as = await startAs(stateDir);
  assert.equal(existsSync(path.join(stateDir, stateFileName(asPort))), false, "nothing saved yet");
  as.process.kill("SIGHUP");
  assert.equal(await as.exited, 0);
  running = undefined;
  assert.equal(existsSync(path.join(stateDir, stateFileName(asPort))), true, "written on the way out");
});
