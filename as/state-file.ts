/**
 * Dev state that survives a restart (A12): with a state directory configured (`AS_STATE_DIR`, which
 * `pnpm dev` sets to `.state/`), the AS keeps there what its clients rely on — registered clients, the
 * signing key and the refresh-token families — so a restarted `pnpm dev` still knows every client, still
 * verifies the tokens it signed, and still rotates (and detects reuse of) the refresh tokens it issued.
 * Codes (≤ 60 s) and revoked-access-token records (the RS never asks for them) stay in memory only.
 *
 * One JSON file, `as-state.json`: versioned, written atomically (a temp file, then rename) with mode 0600
 * (it holds the private key and live refresh tokens), bounded by the in-memory stores' caps. A missing,
 * unreadable, oversized, corrupt or foreign file is one log line and a fresh start: every part of it is
 * validated before any of it is adopted, so the AS never runs on half a state.
 *
 * When it is written: shortly after each request that can change it (coalesced, `SAVE_DELAY_MS`), and
 * once more on exit (`as/server.ts`).
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { NextFunction, Request, Response } from "express";
import { exportJWK, type JWK } from "jose";
import { z } from "zod";
import type { Config } from "../shared/config.ts";
import type { Logger } from "../shared/log.ts";
import { generateSigningKey, importSigningKey, type SigningKey } from "./keys.ts";
import { clientMetadata } from "./register.ts";
import type { AsState, ClientRecord, Limits, RefreshTokenRecord, TokenFamily } from "./state.ts";
import type { BoundedStore } from "./store.ts";

export const STATE_FILE_NAME = "as-state.json";
/** Bump when the layout changes: a file of another version is not read (fresh start), never migrated. */
export const STATE_FORMAT_VERSION = 2; // 2: families no longer list their access tokens
/** Far above what the capped stores can serialise to; a larger file is not even read. */
export const MAX_STATE_FILE_BYTES = 64 * 1024 * 1024;
/** Changes within this window are written together. */
export const SAVE_DELAY_MS = 200;

const id = z.string().min(1).max(200);
const time = z.number().int().nonnegative();
/** An entry of a bounded store, oldest first; `null` retention = kept until evicted (`Infinity` in memory). */
const entry = <V extends z.ZodTypeAny>(value: V) =>
  z.object({ key: id, value, retainUntil: time.nullable() }).strict();

const clientRecord = z
  .object({
    client_id: id,
    client_id_issued_at: time,
    client_name: z.string().optional(),
    redirect_uris: z.array(z.string()),
    application_type: z.enum(["native", "web"]),
    grant_types: z.array(z.enum(["authorization_code", "refresh_token"])),
    response_types: z.tuple([z.literal("code")]),
    token_endpoint_auth_method: z.literal("none"),
  })
  .strict() satisfies z.ZodType<ClientRecord>;

const tokenFamily = z
  .object({
    client_id: id,
    sub: id,
    scope: z.array(z.string().min(1).max(100)).max(20),
    resource: z.string().max(2000),
    revoked: z.boolean(),
  })
  .strict() satisfies z.ZodType<TokenFamily>;

const refreshTokenRecord = z
  .object({ family_id: id, client_id: id, expiresAt: time, rotated: z.boolean() })
  .strict() satisfies z.ZodType<RefreshTokenRecord>;

const b64url = z.string().regex(/^[A-Za-z0-9_-]{43}$/); // a P-256 coordinate or scalar: 32 bytes
const stateFileSchema = z
  .object({
    version: z.literal(STATE_FORMAT_VERSION),
    /** The state belongs to one issuer and one resource: tokens carry both (`iss`, `aud`). */
    issuer: z.string().max(200),
    resource: z.string().max(200),
    savedAt: time,
    /** The private signing key (RFC 7517 EC JWK), so tokens signed before a restart still verify. */
    signingKey: z.object({ kty: z.literal("EC"), crv: z.literal("P-256"), x: b64url, y: b64url, d: b64url }).strict(),
    clients: z.array(entry(clientRecord)),
    families: z.array(entry(tokenFamily)),
    refreshTokens: z.array(entry(refreshTokenRecord)),
  })
  .strict();

export type StateFile = z.infer<typeof stateFileSchema>;

export type ReadResult = { ok: true; file: StateFile; key: SigningKey } | { ok: false; missing: boolean; reason: string };

const unusable = (reason: string): ReadResult => ({ ok: false, missing: false, reason });

/**
 * Read and validate the state file — all of it, before anything is used. Never throws; the reason says
 * what is wrong without quoting the file (it holds secrets).
 */
export async function readStateFile(
  file: string,
  expected: { issuer: string; resource: string; limits: Limits },
  maxBytes = MAX_STATE_FILE_BYTES,
): Promise<ReadResult> {
  let text: string;
  try {
    const { size } = statSync(file);
    if (size > maxBytes) return unusable(`it is ${size} bytes, more than the ${maxBytes} allowed`);
    text = readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return { ok: false, missing: true, reason: "no state file yet" };
    return unusable(`it cannot be read (${code ?? "error"})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return unusable("it is not valid JSON");
  }
  const version = (json as { version?: unknown } | null)?.version;
  if (version !== STATE_FORMAT_VERSION) {
    return unusable(`its format version is ${typeof version === "number" ? version : "missing"}, this AS reads version ${STATE_FORMAT_VERSION}`);
  }
  const parsed = stateFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return unusable(`unexpected content at ${issue.path.join(".") || "the top level"} (${issue.code})`);
  }
  const state = parsed.data;
  if (state.issuer !== expected.issuer || state.resource !== expected.resource) {
    // JSON.stringify: a hand-edited value cannot forge a log line.
    return unusable(`it was written for issuer ${JSON.stringify(state.issuer)} and resource ${JSON.stringify(state.resource)}, not this configuration`);
  }
  // A9: never more than the in-memory stores hold.
  const { maxClients, maxRefreshTokens } = expected.limits;
  for (const [name, length, cap] of [
    ["clients", state.clients.length, maxClients],
    ["families", state.families.length, maxRefreshTokens],
    ["refreshTokens", state.refreshTokens.length, maxRefreshTokens],
  ] as const) {
    if (length > cap) return unusable(`${name} holds ${length} entries, more than the cap of ${cap}`);
  }
  // A3: a stored client must pass the registration rules again (a hand-edited file cannot sneak in a
  // non-loopback redirect URI).
  for (const [i, { value }] of state.clients.entries()) {
    try {
      clientMetadata(value);
    } catch (error) {
      return unusable(`clients.${i} breaks the registration rules: ${(error as Error).message}`);
    }
  }
  let key: SigningKey;
  try {
    key = await importSigningKey(state.signingKey);
  } catch {
    return unusable("its signing key is not a valid ES256 key pair");
  }
  return { ok: true, file: state, key };
}

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

/** Put a validated file's entries into the (empty) stores, oldest first, so eviction order is kept. */
export function restoreState(state: AsState, file: StateFile): void {
  const fill = <V>(store: BoundedStore<V>, entries: Array<{ key: string; value: V; retainUntil: number | null }>) => {
    for (const { key, value, retainUntil } of entries) store.set(key, value, retainUntil ?? Infinity);
  };
  fill(state.clients, file.clients);
  fill(state.families, file.families);
  fill(state.refreshTokens, file.refreshTokens);
}

/** Write atomically: a reader (or a crash) sees the old file or the new one, never half of one. */
export function writeStateFile(file: string, content: StateFile): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, JSON.stringify(content), { mode: 0o600 });
  chmodSync(temp, 0o600); // `mode` applies only when the file is created; a stale temp file keeps its own
  renameSync(temp, file);
}

/** Coalesced saving of one AS's state to its file. */
export class StateFileWriter {
  #timer: NodeJS.Timeout | undefined;
  #dirty = false;
  #failing = false;

  constructor(readonly file: string, private readonly state: AsState, private readonly privateJwk: JWK) {}

  /** Something may have changed: save soon (several changes in a row make one write). */
  changed(): void {
    this.#dirty = true;
    this.#timer ??= setTimeout(() => this.flush(), SAVE_DELAY_MS).unref();
  }

  /** Express middleware: save after the response of a request that may have changed the state. */
  readonly saveAfterResponse = (_req: Request, res: Response, next: NextFunction): void => {
    res.on("finish", () => this.changed());
    next();
  };

  /** Write now if anything changed (synchronous, so it also works in a process `exit` handler). */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!this.#dirty) return;
    this.#dirty = false;
    try {
      writeStateFile(this.file, snapshotState(this.state, this.privateJwk));
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
 * the stores from the file and returns the writer. Logs exactly one line about what it found.
 */
export async function openStateDir(
  stateDir: string,
  config: Config,
  limits: Limits,
  logger: Logger,
): Promise<{ key: SigningKey; attach(state: AsState): StateFileWriter }> {
  const file = path.join(stateDir, STATE_FILE_NAME);
  const read = await readStateFile(file, { issuer: config.issuer, resource: config.resource, limits });
  const key = read.ok ? read.key : await generateSigningKey({ extractable: true });
  const privateJwk = read.ok ? read.file.signingKey : await exportJWK(key.privateKey);
  return {
    key,
    attach(state) {
      if (read.ok) {
        restoreState(state, read.file);
        logger.info(
          `state restored from ${file}: ${state.clients.size} clients, ${state.families.size} token families, ` +
            `${state.refreshTokens.size} refresh tokens, signing key kid=${key.kid}`,
        );
      } else if (read.missing) {
        logger.info(`no state in ${file} yet; starting fresh, and keeping clients, key and refresh tokens there`);
      } else {
        logger.warn(`ignoring state file ${file}: ${read.reason}; starting fresh (the file is replaced at the next change)`);
      }
      return new StateFileWriter(file, state, privateJwk);
    },
  };
}
