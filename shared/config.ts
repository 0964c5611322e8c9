/**
 * The one place that reads the environment and spells the servers' URLs: every URL is derived from
 * the two ports (`asUrls`, `rsUrls` — `pnpm demo` and the benchmarks use them too); the host is
 * always the IPv4 loopback address (A1, R1) — a demo AS that hands out tokens must never be reachable
 * from another machine.
 */
import path from "node:path";
import { rulesBrokenBy, type AsBreakRule, type RsBreakRule } from "./break-rules.ts";
import { LOOPBACK_HOST } from "./loopback.ts";

export interface Config {
  asPort: number;
  rsPort: number;
  /** RFC 8414 §2: the issuer identifier, byte-equal to the discovery base. */
  issuer: string;
  /** Where the AS publishes its signing keys (RFC 8414 `jwks_uri`) and the RS fetches them (R3). */
  jwksUri: string;
  /** RFC 8707 / RFC 9728: the protected resource; this exact string is the token audience. */
  resource: string;
  /** RFC 9728 §3.1: the well-known URL of the resource's metadata (path-suffixed by `/mcp`). */
  resourceMetadataUrl: string;
  /** Access-token lifetime in seconds (A7). */
  accessTokenTtl: number;
  /** What the AS's auto-consent may grant the demo user (S3). */
  grantableScopes: string[];
  /** DCR registrations per client address per minute (A9). */
  dcrRateLimit: number;
  /** RS session limits (R6, B2): idle sessions expire, open sessions are capped. */
  sessionIdleMs: number;
  maxSessions: number;
  /** How long the RS trusts its copy of the AS's JWKS before fetching it again (R3). */
  jwksCacheMaxAgeMs: number;
  /**
   * A rule the AS breaks on purpose (`AS_BREAK`, set only by `pnpm demo --break lenient-redirect|no-pkce|scope-hierarchy`
   * for the AS it starts); undefined — the default — keeps every rule. Read here and nowhere else.
   */
  asBreak?: AsBreakRule;
  /** The same for the RS (`RS_BREAK`, set only by `pnpm demo --break scope-hierarchy`). */
  rsBreak?: RsBreakRule;
  /** A12: where the AS keeps clients, signing key and refresh-token families across restarts (absolute path); unset = memory only. */
  stateDir: string | undefined;
  /** A11: `auto` grants what policy allows at once (headless); `prompt` shows a consent page (`AS_CONSENT`). */
  consent: "auto" | "prompt";
  /** Confidential clients registered by configuration rather than DCR (`AS_CLIENTS`, a JSON array). */
  preRegisteredClients: PreRegisteredClientSetting[];
  /** `LOG_TIMESTAMPS=1` (set by `pnpm demo --verbose`): each log line starts with its wall-clock stamp. */
  logTimestamps: boolean;
  /**
   * `EXCHANGE_EVENTS=1` (set by `pnpm dev`, `pnpm demo --web`, `pnpm demo --transcript FILE.html` and `pnpm interop`): the server publishes an
   * event per exchange it handles for the live view (shared/extras/exchange-events.ts); off, it runs without it.
   */
  exchangeEvents: boolean;
}

/** One entry of `AS_CLIENTS`; the AS applies the DCR redirect-URI policy to it before it starts. */
export interface PreRegisteredClientSetting {
  client_id: string;
  client_secret: string;
  redirect_uris: string[];
  client_name?: string;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

type Env = Record<string, string | undefined>;

function port(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  // Port 0 lets the OS choose; tests and `pnpm demo` rely on it.
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    throw new ConfigError(`${name} must be an integer between 0 and 65535, got ${JSON.stringify(raw)}`);
  }
  return value;
}

function positiveInt(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    throw new ConfigError(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/** A switch (`LOG_TIMESTAMPS`, `EXCHANGE_EVENTS`): "1" on; unset, "" or "0" off (the default). */
function flag(env: Env, name: string): boolean {
  const raw = env[name] ?? "";
  if (raw !== "" && raw !== "0" && raw !== "1") throw new ConfigError(`${name} must be "1" or "0", got ${JSON.stringify(raw)}`);
  return raw === "1";
}

const logTimestamps = (env: Env) => flag(env, "LOG_TIMESTAMPS");

function consentMode(env: Env): Config["consent"] {
  const raw = env.AS_CONSENT || "auto";
  if (raw !== "auto" && raw !== "prompt") throw new ConfigError(`AS_CONSENT must be "auto" or "prompt", got ${JSON.stringify(raw)}`);
  return raw;
}

/** `AS_CLIENTS`: `[{"client_id":…,"client_secret":…,"redirect_uris":[…],"client_name"?:…}]` — shape only. */
function preRegisteredClients(env: Env): PreRegisteredClientSetting[] {
  const raw = env.AS_CLIENTS;
  if (raw === undefined || raw.trim() === "") return [];
  const refuse = (why: string) => new ConfigError(`AS_CLIENTS ${why}; expected [{"client_id":"…","client_secret":"…","redirect_uris":["http://127.0.0.1/callback"]}]`);
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw refuse("is not JSON");
  }
  if (!Array.isArray(value)) throw refuse("must be a JSON array");
  const isString = (v: unknown): v is string => typeof v === "string" && v !== "";
  return value.map((entry: unknown, i) => {
    const { client_id, client_secret, redirect_uris, client_name } = (entry ?? {}) as Record<string, unknown>;
    if (!isString(client_id)) throw refuse(`[${i}].client_id must be a non-empty string`);
    // RFC 6749 §2.3.1 sets no length; a short secret is guessable, so ask for 16 characters.
    if (!isString(client_secret) || client_secret.length < 16) throw refuse(`[${i}].client_secret must be a string of at least 16 characters`);
    if (!Array.isArray(redirect_uris) || redirect_uris.length === 0 || !redirect_uris.every(isString)) {
      throw refuse(`[${i}].redirect_uris must be a non-empty array of strings`);
    }
    if (client_name !== undefined && !isString(client_name)) throw refuse(`[${i}].client_name must be a string`);
    return { client_id, client_secret, redirect_uris, ...(client_name !== undefined ? { client_name } : {}) };
  });
}

/** Refuse, with a clear message, any attempt to bind somewhere other than 127.0.0.1 (A1, R1). */
function assertLoopbackBind(env: Env): void {
  for (const name of ["HOST", "AS_HOST", "RS_HOST"]) {
    const value = env[name];
    if (value !== undefined && value !== "" && value !== LOOPBACK_HOST) {
      throw new ConfigError(
        `${name}=${value} refused: this demo binds ${LOOPBACK_HOST} only (plain http, auto-consent — never expose it)`,
      );
    }
  }
}

/** `AS_BREAK` / `RS_BREAK`: unset, or a rule that server breaks (shared/break-rules.ts). */
function breakSwitch<Rule extends string>(env: Env, name: "AS_BREAK" | "RS_BREAK", server: "as" | "rs"): Rule | undefined {
  const raw = env[name];
  if (raw === undefined || raw === "") return undefined;
  const rules = rulesBrokenBy(server);
  if (!rules.includes(raw)) throw new ConfigError(`${name} must be one of ${rules.join(", ")} (or unset), got ${JSON.stringify(raw)}`);
  return raw as Rule;
}

/** The AS's URLs, from its port. RFC 8414 §3.3: the issuer is the discovery base, byte for byte. */
export function asUrls(asPort: number) {
  const issuer = `http://${LOOPBACK_HOST}:${asPort}`;
  return { issuer, jwksUri: `${issuer}/.well-known/jwks.json`, healthUrl: `${issuer}/healthz` };
}

/** The RS's URLs, from its port. RFC 8707: the resource (no trailing slash) is the token audience, exactly. */
export function rsUrls(rsPort: number) {
  const origin = `http://${LOOPBACK_HOST}:${rsPort}`;
  return {
    resource: `${origin}/mcp`,
    // RFC 9728 §3.1: insert the well-known segment between host and the resource's path.
    resourceMetadataUrl: `${origin}/.well-known/oauth-protected-resource/mcp`,
    healthUrl: `${origin}/healthz`,
  };
}

export function loadConfig(env: Env = process.env): Config {
  assertLoopbackBind(env);
  const asPort = port(env, "AS_PORT", 3001);
  const rsPort = port(env, "RS_PORT", 3000);
  const { issuer, jwksUri } = asUrls(asPort);
  const { resource, resourceMetadataUrl } = rsUrls(rsPort);
  const grantable = (env.AS_GRANTABLE_SCOPES ?? "files:read files:write").split(/\s+/).filter(Boolean);
  return {
    asPort,
    rsPort,
    issuer,
    jwksUri,
    resource,
    resourceMetadataUrl,
    accessTokenTtl: positiveInt(env, "AS_ACCESS_TOKEN_TTL", 300),
    grantableScopes: grantable,
    dcrRateLimit: positiveInt(env, "AS_DCR_RATE_LIMIT", 60),
    sessionIdleMs: positiveInt(env, "RS_SESSION_IDLE_MS", 10 * 60_000),
    maxSessions: positiveInt(env, "RS_MAX_SESSIONS", 1000),
    jwksCacheMaxAgeMs: positiveInt(env, "RS_JWKS_MAX_AGE_MS", 30_000),
    asBreak: breakSwitch<AsBreakRule>(env, "AS_BREAK", "as"),
    rsBreak: breakSwitch<RsBreakRule>(env, "RS_BREAK", "rs"),
    stateDir: env.AS_STATE_DIR ? path.resolve(env.AS_STATE_DIR) : undefined,
    consent: consentMode(env),
    preRegisteredClients: preRegisteredClients(env),
    logTimestamps: logTimestamps(env),
    exchangeEvents: flag(env, "EXCHANGE_EVENTS"),
  };
}

export interface ClientConfig {
  /** Where `pnpm client` finds the MCP server when no URL is given (`RS_URL`, default the demo RS). */
  rsUrl: string;
  /** Bound on each of the client's requests to the AS and each tool call (`CLIENT_TIMEOUT_MS`). */
  clientTimeoutMs: number;
  /** `--browser`: how long one authorization waits for the person at the browser (`CLIENT_BROWSER_TIMEOUT_MS`). */
  browserTimeoutMs: number;
  /** `LOG_TIMESTAMPS=1`: the story's narration lines carry the same stamp as the servers' log lines. */
  logTimestamps: boolean;
  /** `STORY_MARKS=1` (set by `pnpm demo --web` and `--transcript FILE.html`): the story says on stderr where each step begins. */
  storyMarks: boolean;
}

/**
 * The client's settings, read on their own: the client binds nothing, so the servers' settings
 * (`HOST`, `AS_PORT`, …) are none of its business — only `RS_PORT` for the default URL.
 */
export function loadClientConfig(env: Env = process.env): ClientConfig {
  return {
    rsUrl: env.RS_URL || rsUrls(port(env, "RS_PORT", 3000)).resource,
    clientTimeoutMs: positiveInt(env, "CLIENT_TIMEOUT_MS", 10_000),
    browserTimeoutMs: positiveInt(env, "CLIENT_BROWSER_TIMEOUT_MS", 300_000),
    logTimestamps: logTimestamps(env),
    storyMarks: flag(env, "STORY_MARKS"),
  };
}

/**
 * The hard deadline of a whole `pnpm demo` run (`DEMO_TIMEOUT_MS`, D9). Read on its own: the
 * orchestrator passes the rest of the environment to the servers, which report their own config errors.
 */
export function loadDemoTimeoutMs(env: Env = process.env): number {
  return positiveInt(env, "DEMO_TIMEOUT_MS", 30_000);
}

/** The live view's address (scripts/live-view/): loopback only, like the servers (A1, R1). */
export function viewUrl(viewPort: number): string {
  return `http://${LOOPBACK_HOST}:${viewPort}/`;
}

export interface ViewConfig {
  /** `VIEW_PORT` (default 3002): where `pnpm dev`'s live view listens. */
  viewPort: number;
  /** The servers whose exchange events it shows (`AS_PORT`, `RS_PORT`). */
  asPort: number;
  rsPort: number;
}

/** The live view's settings, read on their own: it binds one loopback port and reads the servers' events. */
export function loadViewConfig(env: Env = process.env): ViewConfig {
  assertLoopbackBind(env);
  return { viewPort: port(env, "VIEW_PORT", 3002), asPort: port(env, "AS_PORT", 3001), rsPort: port(env, "RS_PORT", 3000) };
}
