/**
 * Dev state that survives a restart (A12): with a state directory configured (`AS_STATE_DIR`, which
 * `pnpm dev` sets to `.state/`), the AS keeps there what its clients rely on — registered clients, the
 * signing key and the refresh-token families — so a restarted `pnpm dev` still knows every client, still
 * verifies the tokens it signed, and still rotates (and detects reuse of) the refresh tokens it issued.
 * Codes (≤ 60 s) stay in memory only; access tokens are never recorded (the RS verifies them itself).
 *
 * One JSON file per issuer, `as-state-<AS_PORT>.json` (its layout and validation: `state-file-schema.ts`),
 * so two AS processes sharing the directory never overwrite each other's state (two on one port cannot
 * run at once: the second cannot bind). Written atomically (a new temp file of a random name, then
 * rename) with mode 0600 (it holds the private key and live refresh tokens), bounded by the in-memory
 * stores' caps. The directory and the file are used only when they are this AS's own (`own-file.ts`):
 * a directory that is not is not used at all (memory only); a file that is not is replaced.
 *
 * When it is written: before the answer of every request that can change it (`/register`, `/token`,
 * `/revoke`) is sent, so a rotation, a redemption or a registration a client was told about is on disk
 * even if the process is killed (`kill -9`) the next instant — and once more on exit (`as/server.ts`).
 * A write happens only when the kept entries changed. No fsync: a crash of the process loses nothing
 * already written; a crash of the machine ends the loopback clients' runs as well.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { NextFunction, Request, Response } from "express";
import { exportJWK, type JWK } from "jose";
import type { Config } from "../../shared/config.ts";
import type { Logger } from "../../shared/log.ts";
import type { Persistence } from "../app.ts";
import { generateSigningKey } from "../keys.ts";
import { checkOwnDirectory } from "./own-file.ts";
import { readStateFile, STATE_FORMAT_VERSION, type StateFile } from "./state-file-schema.ts";
import { markClientInUse, type AsState, type Limits, type TokenFamily } from "../state.ts";
import type { BoundedStore } from "../store.ts";

/** The state file of the AS on `asPort` — one per issuer. */
export const stateFileName = (asPort: number): string => `as-state-${asPort}.json`;
/** What the AS holds now, as the state file stores it. */
export function snapshotState(state: AsState, privateJwk: JWK): StateFile {
  const entries = <V>(store: BoundedStore<V>) =>
    [...store.entries()].map(([key, value, retainUntil]) => ({ key, value, retainUntil: Number.isFinite(retainUntil) ? retainUntil : null }));
  const { kty, crv, x, y, d } = privateJwk as { kty: "EC"; crv: "P-256"; x: string; y: string; d: string };
  return {
    version: STATE_FORMAT_VERSION,
    issuer: state.config.issuer,
    resource: state.config.resource,
    savedAt: state.now(),
    signingKey: { kty, crv, x, y, d },
    clients: entries(state.clients),
    families: entries(state.families),
    refreshTokens: entries(state.refreshTokens),
  };
}

/**
 * S3 across a restart: a kept grant holds no more than the demo user may grant now (`AS_GRANTABLE_SCOPES`),
 * so a policy narrowed between two runs applies from the next refresh on; a grant left with nothing is revoked.
 */
function cappedByPolicy(family: TokenFamily, grantable: readonly string[]): TokenFamily {
  const scope = family.scope.filter((s) => grantable.includes(s));
  return scope.length === family.scope.length ? family : { ...family, scope, revoked: family.revoked || scope.length === 0 };
}

/**
 * Put a validated file's entries into the (empty) stores, oldest first, so eviction order is kept.
 * Returns how many grants the current policy narrowed.
 */
export function restoreState(state: AsState, file: StateFile): { narrowed: number } {
  const fill = <V>(store: BoundedStore<V>, entries: Array<{ key: string; value: V; retainUntil: number | null }>) => {
    for (const { key, value, retainUntil } of entries) store.set(key, value, retainUntil ?? Infinity);
  };
  const families = file.families.map((entry) => ({ ...entry, value: cappedByPolicy(entry.value, state.config.grantableScopes) }));
  fill(state.clients, file.clients);
  fill(state.families, families);
  fill(state.refreshTokens, file.refreshTokens);
  // A9: a live grant keeps its client registered, after a restart as before it (grants/issue.ts).
  for (const { value } of file.refreshTokens) markClientInUse(state, value.client_id, value.expiresAt);
  return { narrowed: families.filter((entry, i) => entry.value !== file.families[i]!.value).length };
}

/** Write atomically: a reader (or a crash) sees the old file or the new one, never half of one. */
export function writeStateFile(file: string, content: StateFile): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  // A name nobody can predict, and "wx": never an existing file (or a link planted there) written through.
  const temp = `${file}.${randomBytes(8).toString("hex")}.tmp`;
  try {
    writeFileSync(temp, JSON.stringify(content), { mode: 0o600, flag: "wx" });
    renameSync(temp, file);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

/** Keeps one AS's state file up to date. */
export class StateFileWriter {
  /** The entries last written, so an answer that changed nothing writes nothing. */
  #written: string | undefined;
  #failing = false;

  readonly file: string;
  private readonly state: AsState;
  private readonly privateJwk: JWK;

  constructor(file: string, state: AsState, privateJwk: JWK) {
    this.file = file;
    this.state = state;
    this.privateJwk = privateJwk;
  }

  /**
   * Express middleware: what the request changed is written just before its answer's head goes out —
   * never answer first. `writeHead` is where every answer passes (Node calls it for `res.json`/`res.end`
   * too), after the handler has changed the stores and before the client can see a token.
   */
  readonly saveBeforeResponse = (_req: Request, res: Response, next: NextFunction): void => {
    const writeHead = res.writeHead as (...args: unknown[]) => Response;
    res.writeHead = ((...args: unknown[]) => {
      this.flush();
      return writeHead.apply(res, args);
    }) as Response["writeHead"];
    next();
  };

  /** Write now if the kept entries changed (synchronous, so it also works in a process `exit` handler). */
  flush(): void {
    const content = snapshotState(this.state, this.privateJwk);
    const entries = JSON.stringify([content.clients, content.families, content.refreshTokens]);
    if (entries === this.#written) return;
    try {
      writeStateFile(this.file, content);
      this.#written = entries;
      this.#failing = false;
    } catch (error) {
      // Serving goes on from memory; one line per run of failures, not one per request.
      if (!this.#failing) this.state.logger.warn(`could not save state to ${this.file}: ${(error as NodeJS.ErrnoException).code ?? error}`);
      this.#failing = true;
    }
  }
}

/**
 * Open the state directory at start-up: the signing key to use (kept, or new) and `attach`, which fills
 * the stores from the file and returns the writer; `undefined` when the directory is not this AS's own
 * (then nothing is read or written there: memory only). Logs exactly one line about what it found.
 */
export async function openStateDir(stateDir: string, config: Config, limits: Limits, logger: Logger): Promise<Persistence | undefined> {
  const uid = process.getuid?.();
  let created: string | undefined;
  try {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 }); // private if new; judged below like one found there
  } catch (error) {
    created = (error as NodeJS.ErrnoException).code ?? "error";
  }
  const dir = checkOwnDirectory(stateDir, uid);
  if (!dir.ok) {
    const reason = dir.missing && created ? `it cannot be created (${created})` : dir.reason;
    logger.warn(`refusing state directory ${stateDir}: ${reason}; keeping state in memory only`);
    return undefined;
  }
  const file = path.join(stateDir, stateFileName(config.asPort));
  const confidentialIds = new Set(config.preRegisteredClients.map((client) => client.client_id));
  const read = await readStateFile(file, { issuer: config.issuer, resource: config.resource, limits, confidentialIds, uid });
  const key = read.ok ? read.key : await generateSigningKey({ extractable: true });
  const privateJwk = read.ok ? read.file.signingKey : await exportJWK(key.privateKey);
  return {
    key,
    attach(state) {
      if (read.ok) {
        const { narrowed } = restoreState(state, read.file);
        logger.info(
          `state restored from ${file}: ${state.clients.size} clients, ${state.families.size} token families, ` +
            `${state.refreshTokens.size} refresh tokens, signing key kid=${key.kid}` +
            (narrowed > 0 ? `; ${narrowed} grants narrowed to AS_GRANTABLE_SCOPES` : ""),
        );
      } else if (read.missing) {
        logger.info(`no state in ${file} yet; starting fresh, and keeping clients, key and refresh tokens there`);
      } else {
        logger.warn(`ignoring state file ${file}: ${read.reason}; starting fresh (the file is replaced at the next save)`);
      }
      return new StateFileWriter(file, state, privateJwk);
    },
  };
}
