/**
 * The AS's state file (A12): what `readStateFile` accepts and refuses, and what an AS built on a refused
 * file starts with (nothing from it — never half a state). A valid file is made by a real AS: register,
 * authorize, redeem, refresh, then save. The file is trusted only when it is the AS's own (owner, mode,
 * no symbolic link, a regular file, in a directory that is its own too) and consistent; restored grants
 * obey the current policy; two AS processes sharing a directory keep apart.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Express } from "express";
import { exportJWK } from "jose";
import { asExtras } from "../../as/extras/index.ts";
import { silentLogger } from "../../shared/log.ts";
import { createApp, stateFileOf, stateOf } from "../../as/app.ts";
import { generateSigningKey } from "../../as/keys.ts";
import { DEFAULT_LIMITS } from "../../as/state.ts";
import { readStateFile, STATE_FORMAT_VERSION, type StateFile } from "../../as/extras/state-file-schema.ts";
import { stateFileName } from "../../as/extras/state-file.ts";
import { loadConfig, type Config } from "../../shared/config.ts";
import { closeServer, listenLoopback } from "../../shared/listen.ts";
import { defaultClientMetadata, expectOAuthError, obtainTokens, postRegister, postToken, refresh, registerClient } from "../helpers/oauth.ts";
import { startAuthorizationServer, type TestAuthorizationServer } from "../helpers/oauth.ts";

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
  saved = JSON.parse(readFileSync(path.join(as.config.stateDir!, stateFileName(as.config.asPort)), "utf8"));
  await as.close();
});

const expected = () => ({ issuer: as.config.issuer, resource: as.config.resource, limits: DEFAULT_LIMITS });

/** Write `content` (an object is written as JSON) as the state file of a new directory; its path. */
let n = 0;
function stateFile(content: unknown): string {
  const dir = path.join(root, `case-${n++}`);
  mkdirSync(dir, { mode: 0o700 });
  const file = path.join(dir, stateFileName(as.config.asPort));
  writeFileSync(file, typeof content === "string" ? content : JSON.stringify(content), { mode: 0o600 });
  return file;
}

/** An AS built (not listening) on `dir` with this configuration, and the lines it logged. */
async function appOn(dir: string, overrides: Partial<Config> = {}) {
  const lines: string[] = [];
  const config: Config = { ...as.config, stateDir: dir, ...overrides };
  const logger = { info: (l: string) => lines.push(`info ${l}`), warn: (l: string) => lines.push(`warn ${l}`) };
  const app = await createApp(config, { logger, extras: asExtras(config, logger) });
  return { app, state: stateOf(app), lines };
}

/**
 * Serve `app` on a free port for `use`, reached at its own address: a restored AS keeps the saved file's
 * issuer, but listens elsewhere.
 */
async function served(app: Express, use: (here: Config) => Promise<void>): Promise<void> {
  const { server, address } = await listenLoopback(0);
  server.on("request", app);
  try {
    await use({ ...as.config, issuer: `http://127.0.0.1:${address.port}` });
  } finally {
    await closeServer(server);
  }
}

const own = process.getuid!();
const asRoot = own === 0 ? {} : { skip: "needs root to give a file to another user" };

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
  const file = path.join(as.config.stateDir!, stateFileName(as.config.asPort));
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(statSync(as.config.stateDir!).mode & 0o777, 0o700);
  assert.deepEqual(readdirSync(as.config.stateDir!), [stateFileName(as.config.asPort)]);
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
  const config = { ...as.config, stateDir: dir, dcrRateLimit: 1000 };
  const app = await createApp(config, { limits: { maxClients: 2 }, extras: asExtras(config, silentLogger) });
  await served(app, async (here) => {
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await postRegister(here, defaultClientMetadata())).status);
    // one fresh client fits beside the restored one; then every client is in use, and the store refuses
    assert.deepEqual(statuses, [201, 429, 429, 429]);
    await refresh(here, { client_id, refresh_token });
  });
});

test("a missing file is reported as missing (a first start), not as a problem", async () => {
  const result = await readStateFile(path.join(root, "nowhere", stateFileName(as.config.asPort)), expected());
  assert.deepEqual(result, { ok: false, missing: true, reason: "no state file yet" });
});

test("not a regular file: a directory, or a FIFO (which must not hang start-up), where the file should be", async () => {
  const file = stateFile("");
  rmSync(file);
  mkdirSync(file);
  await refused(file, /^it is not a regular file$/);
  const fifo = stateFile("");
  rmSync(fifo);
  execFileSync("mkfifo", ["-m", "600", fifo]);
  await refused(fifo, /^it is not a regular file$/); // opened O_NONBLOCK: no writer needed to get here
});

test("a symbolic link is not followed: to a valid state file at the file's place, or as the directory", async () => {
  const real = stateFile(saved);
  const link = path.join(path.dirname(stateFile("")), "linked.json");
  symlinkSync(real, link);
  await refused(link, /^it is a symbolic link \(not followed\)$/);

  const linkedDir = path.join(root, `linked-dir-${n++}`);
  symlinkSync(path.dirname(real), linkedDir);
  const { state, lines } = await appOn(linkedDir);
  assert.deepEqual(lines, [`warn refusing state directory ${linkedDir}: it is a symbolic link (not followed); keeping state in memory only`]);
  assert.equal(state.clients.size, 0);
  assert.notEqual(state.key.kid, stateOf(as.app).key.kid);
});

test("a file group or others can write is refused, and so is one owned by another user", async () => {
  for (const mode of [0o620, 0o602, 0o666]) {
    const file = stateFile(saved);
    chmodSync(file, mode);
    await refused(file, new RegExp(`^group or others can write it \\(mode ${mode.toString(8)}\\)$`));
  }
  // The AS's own user, as this test sees it, is another one: the file (ours) is not the AS's.
  const result = await readStateFile(stateFile(saved), { ...expected(), uid: own + 1 });
  assert.ok(!result.ok && result.reason === `it is owned by uid ${own}, not by this AS's user (uid ${own + 1})`, JSON.stringify(result));
});

test("a file owned by another user is refused (chown)", asRoot, async () => {
  const file = stateFile(saved);
  chownSync(file, 4242, 4242);
  await refused(file, /^it is owned by uid 4242, not by this AS's user \(uid 0\)$/);
});

test("a state directory that is not the AS's own is not used at all: nothing read, nothing written (memory only)", async () => {
  const shared = path.dirname(stateFile(saved));
  chmodSync(shared, 0o777); // a shared /tmp-like directory, without the sticky bit: anyone could have planted the file
  const { app, state, lines } = await appOn(shared);
  assert.deepEqual(lines, [`warn refusing state directory ${shared}: group or others can write it (mode 777); keeping state in memory only`]);
  assert.equal(state.clients.size, 0);
  assert.equal(stateFileOf(app), undefined, "no writer: nothing is ever written there");

  const notADir = stateFile(saved);
  const refusedFile = await appOn(notADir);
  assert.deepEqual(refusedFile.lines, [`warn refusing state directory ${notADir}: it is not a directory; keeping state in memory only`]);
});

test("a state directory owned by another user is not used (chown)", asRoot, async () => {
  const theirs = path.dirname(stateFile(saved));
  chownSync(theirs, 4242, 4242);
  const { state, lines } = await appOn(theirs);
  assert.deepEqual(lines, [`warn refusing state directory ${theirs}: it is owned by uid 4242, not by this AS's user (uid 0); keeping state in memory only`]);
  assert.equal(state.clients.size, 0);
});

test("a missing state directory is created private (0700), then used", async () => {
  const fresh = path.join(root, `fresh-${n++}`, "nested");
  const { lines } = await appOn(fresh);
  assert.equal(statSync(fresh).mode & 0o777, 0o700);
  assert.deepEqual(lines, [`info no state in ${path.join(fresh, stateFileName(as.config.asPort))} yet; starting fresh, and keeping clients, key and refresh tokens there`]);
});

test("schema-valid but inconsistent content is refused whole", async () => {
  await refused(stateFile(edited((f) => (f.clients[0].key = "someone-else"))), /^clients\.0: its key differs from its client_id$/);
  // A public record under a pre-registered confidential client's id (A13).
  const planted = stateFile(edited((f) => {
    f.clients[0].key = f.clients[0].value.client_id = "cli-tool";
  }));
  const result = await readStateFile(planted, { ...expected(), confidentialIds: new Set(["cli-tool"]) });
  assert.ok(!result.ok && /^clients\.0 is a public record under the id of a pre-registered confidential client/.test(result.reason), JSON.stringify(result));
  // S1: each scope element one catalog scope — not two in one string, not an unknown one.
  await refused(stateFile(edited((f) => (f.families[0].value.scope = ["files:read files:admin"]))), /^families\.0\.value\.scope\.0 is not one catalog scope$/);
  await refused(stateFile(edited((f) => (f.families[0].value.scope = ["files:read", "files:root"]))), /^families\.0\.value\.scope\.1 is not one catalog scope$/);
  await refused(stateFile(edited((f) => (f.families[0].value.resource = "http://127.0.0.1:1/mcp"))), /^families\.0 is a grant for another resource$/);
  // Control characters (C0, DEL, C1, bidi and zero-width format characters, line separators) in any id.
  const controls: Array<[(f: any, c: string) => void, RegExp]> = [
    [(f, c) => (f.clients[0].key = f.clients[0].value.client_id = `x${c}`), /^clients\.0\.key holds a control character$/],
    [(f, c) => (f.families[0].key = `${c}fam`), /^families\.0\.key holds a control character$/],
    [(f, c) => (f.families[0].value.sub = `demo-user${c}`), /^families\.0\.value\.sub holds a control character$/],
    [(f, c) => (f.refreshTokens[0].key = `rt${c}`), /^refreshTokens\.0\.key holds a control character$/],
    [(f, c) => (f.refreshTokens[1].value.family_id = `${c}`), /^refreshTokens\.1\.value\.family_id holds a control character$/],
  ];
  for (const c of ["\u0007", "\n", "\u001b", "\u007f", "\u0085", "\u202e", "\u200b", "\u2028"]) {
    for (const [edit, reason] of controls) await refused(stateFile(edited((f) => edit(f, c))), reason);
  }
});

test("restored grants are capped by the current AS_GRANTABLE_SCOPES: a narrowed policy applies at the next refresh", async () => {
  const wide = edited((f) => (f.families[0].value.scope = ["files:read", "files:write"]));
  const refresh_token = wide.refreshTokens.find((r) => !r.value.rotated)!.key;
  for (const [grantableScopes, outcome] of [
    [["files:read", "files:write"], "files:read files:write"],
    [["files:read"], "files:read"],
    [["files:write", "files:admin"], "files:write"],
    [[], "revoked"],
  ] as const) {
    const { app, lines } = await appOn(path.dirname(stateFile(wide)), { grantableScopes: [...grantableScopes], dcrRateLimit: 1000 });
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.endsWith("; 1 grants narrowed to AS_GRANTABLE_SCOPES"), outcome !== "files:read files:write", lines[0]);
    await served(app, async (here) => {
      const response = await postToken(here, { grant_type: "refresh_token", client_id, refresh_token });
      if (outcome === "revoked") await expectOAuthError(response, 400, "invalid_grant");
      else assert.equal(((await response.json()) as { scope: string }).scope, outcome);
    });
  }
});

test("two AS processes sharing one directory keep one file each, and neither destroys the other's state", async () => {
  const dir = path.join(root, `shared-${n++}`);
  const first = await startAuthorizationServer({ AS_STATE_DIR: dir });
  const second = await startAuthorizationServer({ AS_STATE_DIR: dir });
  try {
    const mine = await registerClient(first.config);
    const theirs = await registerClient(second.config);
    stateFileOf(first.app)!.flush();
    stateFileOf(second.app)!.flush();
    assert.deepEqual(readdirSync(dir).sort(), [stateFileName(first.config.asPort), stateFileName(second.config.asPort)].sort());
    // Each, restarted, finds its own client (and only its own).
    for (const [server, client] of [[first, mine], [second, theirs]] as const) {
      const read = await readStateFile(path.join(dir, stateFileName(server.config.asPort)), { issuer: server.config.issuer, resource: server.config.resource, limits: DEFAULT_LIMITS });
      assert.ok(read.ok, read.ok ? "" : read.reason);
      assert.deepEqual(read.file.clients.map((c) => c.key), [client.client_id]);
    }
  } finally {
    await Promise.all([first.close(), second.close()]);
  }
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
    `warn ignoring state file ${path.join(dir, stateFileName(as.config.asPort))}: unexpected content at refreshTokens.1.value.expiresAt (too_small); ` +
      "starting fresh (the file is replaced at the next save)",
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
