/**
 * The authorization server as an Express app (A1): built here, listened to only in `server.ts`.
 *
 *   GET  /.well-known/oauth-authorization-server   RFC 8414 metadata        (metadata.ts)
 *   GET  /.well-known/jwks.json                    signing key (RFC 7517)   (keys.ts)
 *   POST /register                                 RFC 7591 DCR             (register.ts)
 *   GET  /authorize                                RFC 6749 §4.1.1 + PKCE   (authorize.ts)
 *   POST /token                                    RFC 6749 §3.2            (token.ts, grants/)
 *   POST /revoke                                   RFC 7009                 (revoke.ts)
 *   GET  /healthz                                  liveness + the socket it listens on (D8)
 *
 * Every answer with a body is JSON, errors included (Express's default HTML error page never shows);
 * the answers without one are `/authorize`'s `302` (its result is in `Location`) and `/revoke`'s `200`
 * (RFC 7009 §2.2). No input yields a 5xx (B1).
 *
 * `options.extras` (as/extras/, passed by `server.ts`) adds what real clients and `pnpm dev` need and the
 * lesson does not: a consent page (`POST /authorize`), pages for a person, a state file, confidential clients.
 */
import express, { type ErrorRequestHandler, type RequestHandler } from "express";
import type { Config } from "../shared/config.ts";
import { listeningAddressOf } from "../shared/listen.ts";
import { checkLoopbackHeaders, REFUSAL_STATUS } from "../shared/loopback-headers.ts";
import { silentLogger, type ExchangeLog, type Logger } from "../shared/log.ts";
import { noSniff } from "../shared/no-sniff.ts";
import { authorizeHandler, grantScope, type ConsentPrompt, type InformResourceOwner } from "./authorize.ts";
import { BROKEN_POLICY } from "./breaks.ts";
import { InvalidRequest, MethodNotAllowed, NotFound, OAuthError, ServerError } from "./errors.ts";
import { narrowScope } from "./grants/refresh-token.ts";
import { generateSigningKey, jwks, type SigningKey } from "./keys.ts";
import { authorizationServerMetadata, METADATA_PATH } from "./metadata.ts";
import { noStore } from "./params.ts";
import { checkCodeVerifier } from "./pkce.ts";
import { rateLimitPerAddress } from "./rate-limit.ts";
import { redirectUriMatches, validateRedirectUri } from "./redirect-uri.ts";
import { registerHandler } from "./register.ts";
import { revokeHandler } from "./revoke.ts";
import { createState, DEFAULT_LIMITS, type AsPolicy, type AsState, type ClientRecord, type Limits } from "./state.ts";
import { tokenHandler } from "./token.ts";

/** A9: request bodies are small; anything larger is refused with 413 before it is parsed. */
export const BODY_LIMIT = "16kb";

/** The rules every request is judged by (A3, A4, A6, S3); `--break` swaps one for its variant (as/breaks.ts). */
export const POLICY: AsPolicy = { validateRedirectUri, redirectUriMatches, verifyCodeVerifier: checkCodeVerifier, grantScope, narrowScope };

/** A12: where the AS keeps what must survive a restart (as/extras/state-file.ts). */
export interface Persistence {
  /** The signing key to use: the one kept, or a new one to keep. */
  key: SigningKey;
  /** Fill the new state from what was kept; returns the writer that keeps it from now on. */
  attach(state: AsState): { saveBeforeResponse: RequestHandler; flush(): void };
}

/** What as/extras/ adds to the AS; the lesson runs without any of it. */
export interface AsExtras {
  /** A11 (`AS_CONSENT=prompt`): the user decides on a page, answered by `POST /authorize`. */
  consent?: (state: AsState) => { prompt: ConsentPrompt; submit: RequestHandler };
  /** A12: a readable page for a person whose `/authorize` cannot be redirected. */
  informResourceOwner?: InformResourceOwner;
  /** A12 (`AS_STATE_DIR`): the state file, opened with the app's store caps; undefined = memory only after all. */
  openState?: (limits: Limits) => Promise<Persistence | undefined>;
  /** `EXCHANGE_EVENTS=1` (pnpm dev): an event per exchange, for the live view (shared/extras/exchange-events.ts). */
  exchangeEvents?: ExchangeLog<{ codeGrant(code: string): { clientId: string; scope: string[] } | undefined }>;
  /** A13 (`AS_CLIENTS`): clients with a secret, and how a request authenticates with it. */
  confidentialClients?: { clients: ReadonlyMap<string, ClientRecord>; authenticate: NonNullable<AsState["authenticateWithSecret"]> };
}

export interface AppOptions {
  /** Where info lines go (one per registration, authorization, issuance); silent by default. */
  logger?: Logger;
  /** The clock, in ms since the epoch — injectable so tests can expire codes without sleeping. */
  now?: () => number;
  /** Store caps (A9); tests lower them to watch the oldest entry get evicted. */
  limits?: Partial<Limits>;
  extras?: AsExtras;
}

/** Map body-parser's errors (`err.type`) to OAuth JSON; RFC 6749 §5.2 answers malformed requests with 400. */
function bodyError(err: { type?: unknown; status?: unknown }): OAuthError | undefined {
  switch (err.type) {
    case "entity.too.large":
      return new InvalidRequest(`request body exceeds ${BODY_LIMIT}`, 413);
    case "parameters.too.many":
      return new InvalidRequest("too many form parameters", 413);
    case "entity.parse.failed":
      return new InvalidRequest("request body is not well-formed (malformed JSON or form encoding)");
    case "querystring.parse.rangeError":
      return new InvalidRequest("form parameters are nested too deeply");
    case "charset.unsupported":
    case "encoding.unsupported":
      return new InvalidRequest("unsupported charset or content encoding; send UTF-8, uncompressed");
    case "request.aborted":
    case "request.size.invalid":
      return new InvalidRequest("request body was incomplete");
    default:
      // Any other client error body-parser raises is the client's fault too, never a 500 — chiefly a corrupt
      // or truncated gzip/deflate/br body, whose zlib error (`Z_DATA_ERROR`, …) arrives as a 400 without a `type`.
      if (typeof err.status === "number" && err.status >= 400 && err.status < 500) {
        return new InvalidRequest("request body could not be read (corrupt or truncated Content-Encoding?)");
      }
      return undefined;
  }
}

/** The AS's state behind an app built by `createApp` (stores, key) — for tests that inspect it. */
export function stateOf(app: express.Express): AsState {
  return app.locals.state as AsState;
}

/** The writer of the state file (A12) behind an app, when a state directory is configured. */
export function stateFileOf(app: express.Express): ReturnType<Persistence["attach"]> | undefined {
  return app.locals.stateFile as ReturnType<Persistence["attach"]> | undefined;
}

export async function createApp(config: Config, options: AppOptions = {}): Promise<express.Express> {
  const logger = options.logger ?? silentLogger;
  const now = options.now ?? Date.now;
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const { extras = {} } = options;
  // A12: with a state directory, the key (and clients, refresh-token families) kept there, if usable.
  const persistence = await extras.openState?.(limits);
  // A7: otherwise a fresh ES256 key pair per process.
  const key = persistence?.key ?? (await generateSigningKey());
  // The correct rules, or — pnpm demo --break lenient-redirect|no-pkce|scope-hierarchy only (AS_BREAK) — one broken on purpose.
  const policy = config.asBreak ? { ...POLICY, ...BROKEN_POLICY[config.asBreak] } : POLICY;
  const confidential = extras.confidentialClients;
  const state = createState({
    config,
    key,
    logger,
    now,
    limits,
    policy,
    preRegisteredClients: confidential?.clients,
    authenticateWithSecret: confidential?.authenticate,
  });
  const stateFile = persistence?.attach(state);
  const metadata = authorizationServerMetadata(config, { clientSecrets: confidential !== undefined && confidential.clients.size > 0 });

  const app = express();
  app.disable("x-powered-by");
  app.use(noSniff); // B1: errors included, and the refusals just below first
  app.locals.state = state;
  app.locals.stateFile = stateFile;

  // EXCHANGE_EVENTS=1 (pnpm dev): an event per exchange for the live view, first so refusals show too;
  // a code in a `Location` is shown with the scope it grants.
  const events = extras.exchangeEvents;
  app.locals.exchangeEvents = events;
  if (events) {
    const codeGrant = (code: string) => {
      const record = state.codes.get(code);
      return record && { clientId: record.client_id, scope: record.scope };
    };
    app.use(events.record({ codeGrant }));
  }

  const json = express.json({ limit: BODY_LIMIT });
  const form = express.urlencoded({ extended: false, limit: BODY_LIMIT, parameterLimit: 100 });
  const onlyAllow = (allow: string): RequestHandler => (req) => {
    throw new MethodNotAllowed(req.method, allow);
  };

  // RFC 6749 §5.1 / RFC 7591 §3.2.1: nothing these endpoints answer may be cached — errors included,
  // the refusals just below among them.
  app.use(["/register", "/authorize", "/token", "/revoke"], noStore);

  // R10, on every route: DNS-rebinding defence (a page whose name resolves to 127.0.0.1 still sends its
  // own Host; with AS_CONSENT=auto this AS grants without asking, so it answers only requests addressed
  // to a loopback name, RFC 9110 §7.2 → 421), one Host header only (RFC 9112 §3.2 → 400), and no
  // foreign Origin (MCP → 403).
  app.use((req, _res, next) => {
    const verdict = checkLoopbackHeaders(req);
    if (!verdict.ok) throw new InvalidRequest(verdict.description, REFUSAL_STATUS[verdict.problem]);
    next();
  });
  if (events) app.get(events.path, events.stream);

  app.get("/healthz", (req, res) => {
    const broken = config.asBreak ? { broken: `${config.asBreak} (AS_BREAK): a rule is broken on purpose` } : {};
    res.json({ status: "ok", service: "as", pid: process.pid, listening: listeningAddressOf(req) ?? null, ...broken });
  });

  app.get(METADATA_PATH, (_req, res) => {
    res.json(metadata);
  });

  const jwksPath = new URL(config.jwksUri).pathname;
  app.get(jwksPath, (_req, res) => {
    res.json(jwks(key));
  });

  // A12: what these requests change is in the state file before their answer is sent (a crash cannot undo a rotation).
  if (stateFile) app.use(["/register", "/token", "/revoke"], stateFile.saveBeforeResponse);
  app.post("/register", rateLimitPerAddress({ perMinute: config.dcrRateLimit, now }), json, registerHandler(state));
  // A11: with AS_CONSENT=prompt the user decides on a page, answered by POST /authorize.
  const consent = extras.consent?.(state);
  app.get("/authorize", authorizeHandler(state, { prompt: consent?.prompt, informResourceOwner: extras.informResourceOwner }));
  if (consent) app.post("/authorize", form, consent.submit);
  app.post("/token", form, tokenHandler(state));
  app.post("/revoke", form, revokeHandler(state));

  for (const path of [METADATA_PATH, jwksPath, "/healthz"]) app.all(path, onlyAllow("GET"));
  app.all("/authorize", onlyAllow(consent ? "GET, POST" : "GET"));
  for (const path of ["/register", "/token", "/revoke"]) app.all(path, onlyAllow("POST"));

  app.use((req) => {
    throw new NotFound(`no such endpoint: ${req.method} ${req.path.slice(0, 100)}`);
  });

  const errorHandler: ErrorRequestHandler = (err, req, res, _next) => {
    let error = err instanceof OAuthError ? err : bodyError(err ?? {});
    if (!error) {
      // B3: the class only — a message might quote a token.
      logger.warn(`unexpected error: ${err instanceof Error ? err.name : typeof err}`);
      error = new ServerError();
    }
    // One line per refused request, so a refused refresh shows in the log like an accepted one. Only
    // names this server defines are logged, never an input value (no token, no injected line).
    const endpoint = ["/register", "/authorize", "/token", "/revoke"].includes(req.path) ? req.path : "(other)";
    const grantType = ["authorization_code", "refresh_token"].find((grant) => endpoint === "/token" && req.body?.grant_type === grant);
    logger.info(`refused ${req.method} ${endpoint}${grantType ? ` grant_type=${grantType}` : ""} error=${error.error}`);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.status(error.status).set(error.headers).json(error.toJSON());
  };
  app.use(errorHandler);

  return app;
}
