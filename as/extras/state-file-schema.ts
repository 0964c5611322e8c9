/**
 * The state file's layout and its validation (A12): what the state file may hold, checked in full before
 * any of it is adopted — a missing, unreadable, oversized, corrupt, foreign or inconsistent file, or one
 * that is not this AS's own (`own-file.ts`), is a reason, never a half-restored AS. The writer and the
 * restore are in `state-file.ts`.
 */
import { z } from "zod";
import { SCOPE_CATALOG } from "../../shared/scopes.ts";
import { importSigningKey, type SigningKey } from "../keys.ts";
import { clientMetadata } from "../register.ts";
import type { ClientRecord, Limits, RefreshTokenRecord, TokenFamily } from "../state.ts";
import { readOwnFile } from "./own-file.ts";

/** Bump when the layout changes: a file of another version is not read (fresh start), never migrated. */
export const STATE_FORMAT_VERSION = 2; // 2: families no longer list their access tokens
/** Far above what the capped stores can serialise to; a larger file is not even read. */
export const MAX_STATE_FILE_BYTES = 64 * 1024 * 1024;

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

/** What the file must agree with: this AS's configuration. */
export interface ExpectedState {
  issuer: string;
  resource: string;
  limits: Limits;
  /** The ids of the confidential clients of `AS_CLIENTS` (A13): no public record may use one. */
  confidentialIds?: ReadonlySet<string>;
  /** The user the file must belong to; default this process's (`process.getuid()`). */
  uid?: number;
}

/** C0, DEL, C1, format characters (bidi, zero-width) and line separators: never part of an id. */
const CONTROL = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}]/u;

/**
 * Schema-valid but not what this AS could have written: the first such place, or undefined. A file that
 * says one thing in two places (a key and its `client_id`) cannot be trusted for either.
 */
function inconsistency(state: StateFile, expected: ExpectedState): string | undefined {
  const ids: Array<[where: string, id: string]> = [];
  for (const [i, { key, value }] of state.clients.entries()) {
    if (key !== value.client_id) return `clients.${i}: its key differs from its client_id`;
    // A13: a confidential client's id belongs to its configuration, never to a DCR record.
    if (expected.confidentialIds?.has(key)) return `clients.${i} is a public record under the id of a pre-registered confidential client (AS_CLIENTS)`;
    ids.push([`clients.${i}.key`, key]);
  }
  for (const [i, { key, value }] of state.families.entries()) {
    // S1: a grant holds catalog scopes, one per element (never "files:read files:admin" as one).
    const j = value.scope.findIndex((scope) => !(SCOPE_CATALOG as readonly string[]).includes(scope));
    if (j !== -1) return `families.${i}.value.scope.${j} is not one catalog scope`;
    if (value.resource !== expected.resource) return `families.${i} is a grant for another resource`;
    ids.push([`families.${i}.key`, key], [`families.${i}.value.client_id`, value.client_id], [`families.${i}.value.sub`, value.sub]);
  }
  for (const [i, { key, value }] of state.refreshTokens.entries()) {
    ids.push([`refreshTokens.${i}.key`, key], [`refreshTokens.${i}.value.family_id`, value.family_id], [`refreshTokens.${i}.value.client_id`, value.client_id]);
  }
  const control = ids.find(([, id]) => CONTROL.test(id));
  return control ? `${control[0]} holds a control character` : undefined;
}

/**
 * Read and validate the state file — all of it, before anything is used. Never throws; the reason says
 * what is wrong without quoting the file (it holds secrets).
 */
export async function readStateFile(file: string, expected: ExpectedState, maxBytes = MAX_STATE_FILE_BYTES): Promise<ReadResult> {
  const own = readOwnFile(file, expected.uid ?? process.getuid?.(), maxBytes);
  if (!own.ok) return own;
  let json: unknown;
  try {
    json = JSON.parse(own.text);
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
  const inconsistent = inconsistency(state, expected);
  if (inconsistent) return unusable(inconsistent);
  let key: SigningKey;
  try {
    key = await importSigningKey(state.signingKey);
  } catch {
    return unusable("its signing key is not a valid ES256 key pair");
  }
  return { ok: true, file: state, key };
}
