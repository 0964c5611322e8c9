/**
 * The AS's state file (A12): what `readStateFile` accepts and refuses, and what an AS built on a refused
 * file starts with (nothing from it — never half a state). A valid file is made by a real AS: register,
 * authorize, redeem, refresh, then save.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { exportJWK } from "jose";
import { asExtras } from "../../as/extras/index.ts";
import { silentLogger } from "../../shared/log.ts";
import { createApp, stateFileOf, stateOf } from "../../as/app.ts";
import { generateSigningKey } from "../../as/keys.ts";
import { DEFAULT_LIMITS } from "../../as/state.ts";
import { readStateFile, STATE_FORMAT_VERSION, type StateFile } from "../../as/extras/state-file-schema.ts";
import { STATE_FILE_NAME } from "../../as/extras/state-file.ts";
import { loadConfig, type Config } from "../../shared/config.ts";
import { closeServer, listenLoopback } from "../../shared/listen.ts";
import { defaultClientMetadata, obtainTokens, postRegister, refresh, startAuthorizationServer, type TestAuthorizationServer } from "../helpers/oauth.ts";

const root = mkdtempSync(path.join(tmpdir(), "as-state-"));
after(() => rmSync(root, { recursive: true, force: true }));

let as: TestAuthorizationServer;
let saved: StateFile;
let client_id: string;

before(async () => {
  as = await startAuthorizationServer({ AS_STATE_DIR: path.join(root, "made") });
  const tokens = await obtainTokens(as.config);
  client_id = tokens.client_id;
  await refresh(as.config, { client_id, refresh_token: tokens.refresh_token! });
  stateFileOf(as.app)!.flush();
  saved = JSON.parse(readFileSync(path.join(as.config.stateDir!, STATE_FILE_NAME), "utf8"));
  await as.close();
});

const expected = () => ({ issuer: as.config.issuer, resource: as.config.resource, limits: DEFAULT_LIMITS });

/** Write `content` (an object is written as JSON) as the state file of a new directory; its path. */
let n = 0;
function stateFile(content: unknown): string {
  const dir = path.join(root, `case-${n++}`);
  mkdirSync(dir);
  const file = path.join(dir, STATE_FILE_NAME);
  writeFileSync(file, typeof content === "string" ? content : JSON.stringify(content));
  return file;
}

/** A deep copy of the saved file with `edit` applied. */
function edited(edit: (copy: any) => void): StateFile {
  const copy = structuredClone(saved);
  edit(copy);
  return copy;
}

async function refused(file: string, reason: RegExp): Promise<void> {
  const result = await readStateFile(file, expected());
  assert.equal(result.ok, false);
  if (!result.ok) {
    assert.equal(result.missing, false);
    assert.match(result.reason, reason);
  }
}

test("the saved file: version, issuer, the key pair, the registered client, one family, two refresh tokens (one rotated)", async () => {
  assert.equal(saved.version, STATE_FORMAT_VERSION);
  assert.equal(saved.issuer, as.config.issuer);
  assert.equal(saved.signingKey.kty, "EC");
  assert.equal(typeof saved.signingKey.d, "string");
  assert.deepEqual(saved.clients.map((c) => c.key), [client_id]);
  assert.equal(saved.clients[0]!.retainUntil, null);
  assert.equal(saved.families.length, 1);
  assert.deepEqual(saved.refreshTokens.map((r) => r.value.rotated), [true, false]);
  const result = await readStateFile(stateFile(saved), expected());
  assert.ok(result.ok);
});

test("the file and its directory are private (0600 / 0700), and no temp file is left behind", () => {
  const file = path.join(as.config.stateDir!, STATE_FILE_NAME);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(statSync(as.config.stateDir!).mode & 0o777, 0o700);
  assert.deepEqual(readdirSync(as.config.stateDir!), [STATE_FILE_NAME]);
});

test("an AS built on the file knows its clients, families and refresh tokens, and signs with the same key", async () => {
  const dir = path.dirname(stateFile(saved));
  const lines: string[] = [];
  const logger = { info: (l: string) => lines.push(l), warn: (l: string) => lines.push(l) };
  const config = { ...as.config, stateDir: dir };
  const app = await createApp(config, { logger, extras: asExtras(config, logger) });
  const state = stateOf(app);
  assert.deepEqual(state.clients.get(client_id), saved.clients[0]!.value);
  assert.equal(state.refreshTokens.size, 2);
  assert.equal(state.families.size, 1);
  assert.equal(state.key.kid, stateOf(as.app).key.kid);
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /^state restored from .*: 1 clients, 1 token families, 2 refresh tokens/);
});

test("A9 after a restart: a registration flood never evicts a restored client whose refresh token is live", async () => {
  const dir = path.dirname(stateFile(saved));
  const refresh_token = saved.refreshTokens.find((r) => !r.value.rotated)!.key;
  // The saved file names the old issuer; the restored AS listens elsewhere, and is reached there.
  const config = { ...as.config, stateDir: dir, dcrRateLimit: 1000 };
  const app = await createApp(config, { limits: { maxClients: 2 }, extras: asExtras(config, silentLogger) });
  const { server, address } = await listenLoopback(0);
  server.on("request", app);
  const here = { ...as.config, issuer: `http://127.0.0.1:${address.port}` };
  try {
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await postRegister(here, defaultClientMetadata())).status);
    // one fresh client fits beside the restored one; then every client is in use, and the store refuses
    assert.deepEqual(statuses, [201, 429, 429, 429]);
    await refresh(here, { client_id, refresh_token });
  } finally {
    await closeServer(server);
  }
});

test("a missing file is reported as missing (a first start), not as a problem", async () => {
  const result = await readStateFile(path.join(root, "nowhere", STATE_FILE_NAME), expected());
  assert.deepEqual(result, { ok: false, missing: true, reason: "no state file yet" });
});

test("an unreadable file is refused", async () => {
  const file = stateFile("");
  rmSync(file);
  mkdirSync(file); // a directory where the file should be: EISDIR
  await refused(file, /cannot be read \(EISDIR\)/);
});

test("corrupt JSON is refused, without quoting the file", async () => {
  const text = JSON.stringify(saved);
  const result = await readStateFile(stateFile(text.slice(0, text.length / 2)), expected());
  assert.deepEqual(result, { ok: false, missing: false, reason: "it is not valid JSON" });
});

test("a foreign format version is refused, and so is a file without one", async () => {
  await refused(stateFile(edited((f) => (f.version = STATE_FORMAT_VERSION + 1))), /format version is 3, this AS reads version 2/);
  await refused(stateFile(edited((f) => delete f.version)), /format version is missing/);
  await refused(stateFile("[]"), /format version is missing/);
  await refused(stateFile("null"), /format version is missing/);
});

test("a wrong shape anywhere is refused: a wrong type, a missing field, an unknown field", async () => {
  await refused(stateFile(edited((f) => (f.refreshTokens[1].value.rotated = "no"))), /refreshTokens\.1\.value\.rotated \(invalid_type\)/);
  await refused(stateFile(edited((f) => delete f.families[0].value.scope)), /families\.0\.value\.scope/);
  await refused(stateFile(edited((f) => (f.clients[0].value.is_admin = true))), /clients\.0\.value \(unrecognized_keys\)/);
  await refused(stateFile(edited((f) => (f.clients = {}))), /at clients \(invalid_type\)/);
  await refused(stateFile(edited((f) => (f.families[0].retainUntil = "later"))), /families\.0\.retainUntil/);
});

test("a client that breaks the registration rules is refused (no non-loopback redirect URI sneaks in)", async () => {
  await refused(
    stateFile(edited((f) => (f.clients[0].value.redirect_uris = ["https://attacker.example/cb"]))),
    /clients\.0 breaks the registration rules: .*redirect_uris\[0\] host must be exactly 127\.0\.0\.1/,
  );
});

test("a file written for another issuer or resource is refused (its tokens would not verify here)", async () => {
  await refused(stateFile(edited((f) => (f.issuer = "http://127.0.0.1:1"))), /written for issuer "http:\/\/127\.0\.0\.1:1"/);
  await refused(stateFile(edited((f) => (f.resource = "http://127.0.0.1:1/mcp"))), /resource "http:\/\/127\.0\.0\.1:1\/mcp"/);
});

test("a signing key whose halves do not belong together is refused", async () => {
  const other = await exportJWK((await generateSigningKey({ extractable: true })).privateKey);
  await refused(stateFile(edited((f) => (f.signingKey.d = other.d))), /signing key is not a valid ES256 key pair/);
  await refused(stateFile(edited((f) => (f.signingKey.x = "A".repeat(43)))), /signing key is not a valid ES256 key pair/);
});

test("bounded: more entries than the store's cap, or a file larger than the limit, is refused", async () => {
  const file = stateFile(saved);
  const result = await readStateFile(file, { ...expected(), limits: { ...DEFAULT_LIMITS, maxRefreshTokens: 1 } });
  assert.ok(!result.ok && result.reason === "refreshTokens holds 2 entries, more than the cap of 1", JSON.stringify(result));
  const size = statSync(file).size;
  const small = await readStateFile(file, expected(), size - 1);
  assert.ok(!small.ok && small.reason === `it is ${size} bytes, more than the ${size - 1} allowed`);
});

test("an AS built on a refused file logs one line, starts fresh with a new key, and adopts nothing from it", async () => {
  // Everything valid but the last refresh token: nothing, not even the clients, may be adopted.
  const dir = path.dirname(stateFile(edited((f) => (f.refreshTokens[1].value.expiresAt = -1))));
  const lines: string[] = [];
  const config: Config = { ...as.config, stateDir: dir };
  const logger = { info: (l: string) => lines.push(`info ${l}`), warn: (l: string) => lines.push(`warn ${l}`) };
  const app = await createApp(config, { logger, extras: asExtras(config, logger) });
  const state = stateOf(app);
  assert.deepEqual(lines, [
    `warn ignoring state file ${path.join(dir, STATE_FILE_NAME)}: unexpected content at refreshTokens.1.value.expiresAt (too_small); ` +
      "starting fresh (the file is replaced at the next change)",
  ]);
  assert.equal(state.clients.size + state.families.size + state.refreshTokens.size, 0);
  assert.notEqual(state.key.kid, stateOf(as.app).key.kid);
  // The log line never carries a secret from the file.
  for (const secret of [saved.signingKey.d, ...saved.refreshTokens.map((r) => r.key)]) assert.ok(!lines[0]!.includes(secret));
});

test("AS_STATE_DIR: unset or empty means memory only; a relative path is resolved against the working directory", () => {
  assert.equal(loadConfig({}).stateDir, undefined);
  assert.equal(loadConfig({ AS_STATE_DIR: "" }).stateDir, undefined);
  assert.equal(loadConfig({ AS_STATE_DIR: ".state" }).stateDir, path.resolve(".state"));
});
