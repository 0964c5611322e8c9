/**
 * The shape of the AS attack catalog (B1). Every entry is data — what is sent, what must come back,
 * what must not have changed — and `../run-as-catalog.ts` turns each one into its own `test(entry.name)`.
 *
 * Three kinds of entry:
 * - `register`  — one `POST /register`; a rejection must leave the client count unchanged (A3).
 * - `authorize` — one `GET /authorize` for a pre-registered client; a rejection must issue no code, and an
 *                 untrusted redirect target must get `400` JSON with **no `Location`** (A4).
 * - `scenario`  — arrange a situation (a code, a grant, a rotation …), attack it with one request, then
 *                 check what must (not) have changed (A5, A6, A8).
 */
import type { Config } from "../../../shared/config.ts";
import type { AuthorizeParams, RegisteredClient, TestAuthorizationServer } from "../../helpers/oauth.ts";

export const CATEGORIES = {
  "redirect-uri-registration": "Redirect-URI abuse at registration (A3, RFC 8252 §7.3)",
  "redirect-uri-authorization": "Redirect-URI abuse at /authorize (A4, RFC 6749 §4.1.2.1)",
  "authorization-code": "Authorization-code and PKCE abuse, scope syntax (A4–A6, A10, RFC 7636)",
  "refresh-token": "Refresh-token abuse, scope syntax (A6, A8, A10, RFC 6749 §6, RFC 9700 §4.14)",
  protocol: "Protocol abuse: parameters, bodies, content types, methods, foreign Origin (A3, A6, A9, R10, B1)",
} as const;

export type Category = keyof typeof CATEGORIES;

/** What the AS must answer. */
export type Expectation =
  /** A spec-shaped JSON error `{error, error_description}` with this status, and no `Location` header. */
  | { outcome: "rejected"; status: number; error: string }
  /** `302` to the trusted redirect URI carrying `error` and `iss` (RFC 6749 §4.1.2.1, RFC 9207), and no code. */
  | { outcome: "redirected-error"; error: string }
  /** Refused by Node's HTTP parser before the app sees it (e.g. `431` for an oversized request line). */
  | { outcome: "refused-by-http"; status: number }
  /** The request is harmless and succeeds; `afterwards` proves the attack gained nothing. */
  | { outcome: "accepted"; status: number };

export const rejected = (status: number, error: string): Expectation => ({ outcome: "rejected", status, error });
export const redirectedError = (error: string): Expectation => ({ outcome: "redirected-error", error });
export const accepted = (status: number): Expectation => ({ outcome: "accepted", status });

/** The clients every runner registers before its entries run (A3-valid, the helpers' C2 metadata). */
export interface Clients {
  /** `http://127.0.0.1:8765/callback` — a loopback IP literal: any port matches (RFC 8252 §7.3). */
  ip: RegisteredClient;
  /** `http://[::1]:8765/callback` — the IPv6 loopback literal. */
  ipv6: RegisteredClient;
  /** `http://localhost:8765/callback` — a name: the port is compared exactly. */
  localhost: RegisteredClient;
  /** `http://127.0.0.1:8765/callback?tenant=a` — a redirect URI with its own query. */
  query: RegisteredClient;
  /** A second client, for cross-client attacks (`http://127.0.0.1:8765/other`). */
  other: RegisteredClient;
  /** Registered without the `refresh_token` grant (RFC 7591 §2 default). */
  noRefresh: RegisteredClient;
}

/** What an entry gets to work with. */
export interface Ctx {
  as: TestAuthorizationServer;
  config: Config;
  clients: Clients;
  /** Codes, verifiers and tokens handed out during the run: none may ever appear in a log line. */
  secrets: Set<string>;
}

interface EntryBase {
  /** Unique across the catalog; becomes the test's name. */
  name: string;
  category: Category;
  /** The rule defended: a rule id (docs/rules.md) and/or an RFC section. */
  cite: string;
  /** A positive control: proves the defence is not a blanket refusal (counted apart from attacks). */
  control?: true;
}

/** The body of a `POST /register`: a value sent as JSON, or raw bytes with their own headers. */
export type RegisterBody = { json: unknown } | { raw: string | Uint8Array; headers: Record<string, string> };

export interface RegisterAttack extends EntryBase {
  kind: "register";
  /** The body, or a function of the context when it must name a live client. */
  body: RegisterBody | ((ctx: Ctx) => RegisterBody);
  expect: Expectation;
  /** For an accepted registration: what the response must (not) contain. */
  afterwards?: (ctx: Ctx, registered: Record<string, unknown>) => Promise<void> | void;
}

export interface AuthorizeAttack extends EntryBase {
  kind: "authorize";
  /** Whose valid request is the starting point (default `ip`). */
  client?: keyof Clients;
  /** Overrides of the valid request: `undefined` drops a parameter, an array repeats it. */
  params?: AuthorizeParams | ((ctx: Ctx) => AuthorizeParams);
  /** Tamper with the encoded query string itself (percent-encoding, raw CR/LF, array syntax …). */
  rawQuery?: (query: string, ctx: Ctx) => string;
  expect: Expectation;
  /** For an accepted request: the `Location` it produced. */
  afterwards?: (ctx: Ctx, location: URL) => Promise<void> | void;
}

export interface ScenarioAttack<F = unknown> extends EntryBase {
  kind: "scenario";
  /** Build the victim's situation (fresh clients, codes, grants — never shared between entries). */
  arrange: (ctx: Ctx) => Promise<F>;
  /** The one hostile request. */
  attack: (ctx: Ctx, fixture: F) => Promise<Response>;
  expect: Expectation;
  /**
   * What must hold afterwards: the "no side effect" check (or the revocation the attack must trigger).
   * `body` is the attack's parsed JSON response (`undefined` when it had none).
   */
  afterwards: (ctx: Ctx, fixture: F, body: unknown) => Promise<void>;
}

export type Attack = RegisterAttack | AuthorizeAttack | ScenarioAttack<any>;

/** Keep a scenario's fixture type checked across arrange → attack → afterwards. */
export function scenario<F>(entry: Omit<ScenarioAttack<F>, "kind">): ScenarioAttack<F> {
  return { kind: "scenario", ...entry };
}

/** A short, readable rendering of a hostile value for a test name. */
export function show(value: string, max = 70): string {
  const json = JSON.stringify(value);
  return json.length <= max ? json : `${json.slice(0, max - 12)}…" (${value.length} chars)`;
}
