/**
 * From exchange events to what the page draws (page/view.js): one group per client, each exchange an
 * arrow pair with its label and its detail, the step-up rules judged beside it (./rules.ts). Pure: the
 * live view recomputes it as events arrive, `pnpm demo --transcript FILE.html` once at the end.
 *
 * Grouping. An exchange belongs to the client it names (`clientId`: a verified token's, a code's,
 * `client_id` in the request, DCR's answer), or — for a token the RS refused — to the client it was
 * issued to (the same redacted prefix on the AS's token response), or — for a consent answer — to the
 * client whose authorization request carried the same `state` prefix. The requests that name no
 * client (the first 401, the metadata, a refused registration, the RS fetching the AS's keys) join
 * the next exchange from the same user agent that does name one: that is the client they led to.
 * What never leads anywhere stays in a group of its own.
 */
import { STATUS_CODES } from "node:http";
import { formatScope } from "../../client/step-up/index.ts";
import type { ExchangeEvent } from "../../shared/extras/exchange-events.ts";
import { answerOf, bodyOf, challengeOf, endpointOf, locationOf, rpcCallsOf, toolResultOf } from "./exchanges.ts";
import { judgeClient, verdicts, type Finding, type Mark, type RuleId } from "./rules.ts";

export type Lane = "client" | "as" | "rs";

/** Where a step of the story begins (`pnpm demo` only: the client says so, see ./story-marks.ts). */
export interface StepMark {
  step: string;
  title: string;
  /** When it began, on the clock of the events' `at`. */
  at: number;
  /** False for a step that sends wrong requests on purpose (D8): shown, not judged. */
  judged: boolean;
}

export interface ViewModel {
  title: string;
  subtitle: string;
  mode: "live" | "file";
  /** When this was computed (ISO 8601). */
  generated: string;
  groups: ViewGroup[];
}

export interface ViewGroup {
  id: string;
  kind: "client" | "unattributed";
  title: string;
  subtitle: string;
  rows: ViewRow[];
  rules: ViewRule[];
}

export type ViewRow =
  /** A step of the story (`pnpm demo`), or a note the view adds (a 403 that asks for a step-up). */
  | { kind: "band"; text: string; judged: boolean; note?: true }
  | { kind: "exchange"; exchange: ViewExchange };

export interface ViewExchange {
  id: string;
  /** Its number within the group, as the diagram shows it. */
  n: number;
  from: Lane;
  to: Lane;
  request: string;
  response: string;
  status: number;
  tone: "ok" | "redirect" | "challenge" | "error" | "stream";
  /** The rule verdicts decided at this exchange. */
  marks: { rule: string; ok: boolean; text: string }[];
  detail: ViewDetail;
}

export interface ViewDetail {
  title: string;
  server: "AS" | "RS";
  at: string;
  ms: number;
  requestLine: string;
  requestHeaders: [string, string][];
  query: [string, string][];
  body?: string;
  status: string;
  responseHeaders: [string, string][];
  location?: [string, string][];
  responseBody?: string;
  /** The decoded claims of an access token this response issued. */
  claims?: [string, string][];
  /** RS: the verified token the request carried. */
  token?: string;
  /** AS: what the code in `Location` grants. */
  granted?: string;
}

export interface ViewRule {
  rule: string;
  title: string;
  mark: Mark;
  summary: string;
  /** The exchanges that decided it. */
  links: { id: string; n: number }[];
}

export const idOf = (e: ExchangeEvent) => `${e.server}-${e.instance}-${e.seq}`;
const cut = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
const quoted = (scope: string | undefined) => `scope="${scope ?? ""}"`;
const agentOf = (e: ExchangeEvent) => e.requestHeaders["user-agent"] ?? "";
const bearerOf = (e: ExchangeEvent) => /^Bearer (.+)$/i.exec(e.requestHeaders.authorization ?? "")?.[1];

/** The client of every event that can be tied to one (see the header); undefined for the rest. */
export function clientsOf(events: readonly ExchangeEvent[]): (string | undefined)[] {
  const tokenOwner = new Map<string, string>();
  const stateOwner = new Map<string, string>();
  for (const e of events) {
    const issuedTo = e.issued?.client_id;
    const token = answerOf(e).access_token;
    if (typeof issuedTo === "string" && typeof token === "string") tokenOwner.set(token, issuedTo);
    if (e.clientId && endpointOf(e) === "authorize" && e.query.state) stateOwner.set(e.query.state, e.clientId);
  }
  const direct = events.map((e) => {
    if (e.clientId) return e.clientId;
    const token = bearerOf(e);
    if (token && tokenOwner.has(token)) return tokenOwner.get(token);
    const state = locationOf(e)?.params.state;
    return state && endpointOf(e) === "authorize" ? stateOwner.get(state) : undefined;
  });
  // Unattributed requests join the next attributed one from the same user agent (the RS's key fetch:
  // the next one the RS handled). One pass from the end, remembering the next owner per agent.
  const owners = [...direct];
  const nextByAgent = new Map<string, string>();
  let nextAtRs: string | undefined;
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i]!;
    const owner = direct[i];
    if (owner === undefined) owners[i] = endpointOf(e) === "jwks" ? nextAtRs : nextByAgent.get(agentOf(e));
    else {
      nextByAgent.set(agentOf(e), owner);
      if (e.server === "rs") nextAtRs = owner;
    }
  }
  return owners;
}

/** The arrow's request label: method, path and the parameter that matters. */
function requestLabel(e: ExchangeEvent): string {
  const body = bodyOf(e);
  switch (endpointOf(e)) {
    case "mcp": {
      const calls = rpcCallsOf(e);
      const what = calls.length === 0 ? (e.method === "GET" ? "SSE stream" : e.method === "DELETE" ? "end session" : "") : calls.map((c) => (c.tool ? `tools/call ${c.tool}` : c.method)).join(", ");
      const token = e.principal ? `token [${formatScope(e.principal.scope)}]` : e.requestHeaders.authorization ? "token refused" : "no token";
      return `${e.method} ${e.path} ${what} · ${token}`.replace(/ {2,}/g, " ");
    }
    case "authorize":
      return e.method === "POST" ? "POST /authorize (consent form)" : `GET /authorize ${quoted(e.query.scope)}`;
    case "token": {
      const grant = typeof body.grant_type === "string" ? body.grant_type : "?";
      return `POST /token ${grant}${typeof body.scope === "string" ? ` ${quoted(body.scope)}` : ""}`;
    }
    case "register":
      return `POST /register${Array.isArray(body.redirect_uris) ? ` ${JSON.stringify(body.redirect_uris)}` : ""}`;
    case "jwks":
      return `GET ${e.path} (RS fetches the keys)`;
    default:
      return `${e.method} ${e.path}`;
  }
}

/** The arrow's response label: status and what matters about the answer. */
function responseLabel(e: ExchangeEvent): string {
  const parts = [String(e.status)];
  const challenge = challengeOf(e);
  if (challenge) parts.push(challenge.error ?? "challenge", quoted(challenge.scope));
  const location = locationOf(e);
  if (location) {
    const keys = Object.keys(location.params);
    const target = new URL(location.target);
    const where = target.hostname === "127.0.0.1" ? target.pathname : `${target.host}${target.pathname}`;
    parts.push(location.params.error ? `→ ${where} error=${location.params.error}` : `→ ${cut(where, 40)}${keys.length ? `?${keys.join("&")}` : ""}`);
  }
  if (e.granted) parts.push(`· grants "${formatScope(e.granted)}"`);
  const answer = answerOf(e);
  if (typeof answer.error === "string" && !challenge) parts.push(answer.error);
  if (endpointOf(e) === "token" && typeof answer.scope === "string") parts.push(quoted(answer.scope));
  if (typeof answer.refresh_token === "string") parts.push("+ refresh_token");
  if (endpointOf(e) === "register" && typeof answer.client_id === "string") parts.push(`client_id=${answer.client_id}`);
  if (endpointOf(e) === "prm" && Array.isArray(answer.scopes_supported)) parts.push(`scopes_supported=${JSON.stringify(answer.scopes_supported)}`);
  const result = toolResultOf(e);
  if (result) parts.push(`· ${cut(result, 48)}`);
  if (e.streaming) parts.push("(stream open)");
  return parts.join(" ");
}

function toneOf(e: ExchangeEvent): ViewExchange["tone"] {
  if (e.streaming) return "stream";
  if (e.status === 401 || e.status === 403) return "challenge";
  if (e.status >= 400) return "error";
  if (e.status >= 300) return "redirect";
  return "ok";
}

const pretty = (value: unknown) => cut(typeof value === "string" ? value : JSON.stringify(value, null, 2), 2000);

function detailOf(e: ExchangeEvent, n: number): ViewDetail {
  const query = Object.entries(e.query);
  const location = locationOf(e);
  const body = e.body === undefined ? undefined : e.requestHeaders["content-type"]?.includes("x-www-form-urlencoded") ? Object.entries(bodyOf(e)).map(([k, v]) => `${k}=${String(v)}`).join("\n") : pretty(e.body);
  const time = new Date(e.at);
  return {
    title: `#${n} ${requestLabel(e)}`,
    server: e.server === "as" ? "AS" : "RS",
    at: time.toISOString().slice(11, 23),
    ms: e.ms,
    requestLine: `${e.method} ${e.path}${query.length ? "?…" : ""}`,
    requestHeaders: Object.entries(e.requestHeaders),
    query,
    ...(body !== undefined ? { body } : {}),
    status: `${e.status} ${STATUS_CODES[e.status] ?? ""}`.trim(),
    responseHeaders: Object.entries(e.responseHeaders),
    ...(location && Object.keys(location.params).length ? { location: Object.entries(location.params) } : {}),
    ...(e.responseBody !== undefined ? { responseBody: pretty(e.responseBody) } : {}),
    ...(e.issued ? { claims: claimsOf(e.issued) } : {}),
    ...(e.principal ? { token: `verified: client_id ${e.principal.clientId}, scope "${formatScope(e.principal.scope)}"` } : {}),
    ...(e.granted ? { granted: `"${formatScope(e.granted)}" (the demo user's policy applied, RFC 6749 §3.3)` } : {}),
  };
}

function claimsOf(issued: NonNullable<ExchangeEvent["issued"]>): [string, string][] {
  const exp = typeof issued.exp === "number" ? `${issued.exp} (${new Date(issued.exp * 1000).toISOString().replace(".000Z", "Z")})` : String(issued.exp);
  return [
    ["aud", String(issued.aud)],
    ["scope", String(issued.scope)],
    ["client_id", String(issued.client_id)],
    ["exp", exp],
    ...(issued.sub !== undefined ? ([["sub", String(issued.sub)]] as [string, string][]) : []),
  ];
}

const plural = (n: number, word: string, words = `${word}s`) => `${n} ${n === 1 ? word : words}`;

/** A rule kept: what was seen, in words (the findings' own lines are drawn at their exchanges). */
const KEPT: Record<RuleId, (findings: readonly Finding[]) => string> = {
  C3: (findings) => findings[0]!.text,
  "C4.1": (findings) => `${plural(findings.length, "step-up")}, each asking for held ∪ challenged`,
  "C4.2": (findings) => {
    const count = (kind: string) => findings.filter((f) => f.kind === kind).length;
    const parts = [count("authorized") && `${plural(count("authorized"), "widening")} by a new authorization`, count("refreshed") && `${plural(count("refreshed"), "refresh", "refreshes")}, nothing to widen`];
    return parts.filter(Boolean).join("; ");
  },
  "C4.4": (findings) => `${plural(findings.length, "partial grant")}: the call stopped, not asked again`,
  "C4.5": (findings) => findings.at(-1)!.text,
};

function summaryOf(rule: RuleId, mark: Mark, findings: readonly Finding[]): { summary: string; decided: Finding[] } {
  if (mark === "unseen") return { summary: "not yet seen", decided: [] };
  const failed = findings.filter((f) => !f.ok);
  if (failed.length > 0) return { summary: `${failed[0]!.text}${failed.length > 1 ? ` (and ${failed.length - 1} more, each drawn where it happened)` : ""}`, decided: failed.slice(0, 1) };
  return { summary: KEPT[rule](findings), decided: findings.slice(0, 1) };
}

/** The step each event falls in: the last mark at or before it. */
function stepOf(marks: readonly StepMark[], e: ExchangeEvent): StepMark | undefined {
  let found: StepMark | undefined;
  for (const mark of marks) if (mark.at <= e.at) found = mark;
  return found;
}

export interface ViewOptions {
  title: string;
  subtitle: string;
  mode: ViewModel["mode"];
  marks?: readonly StepMark[];
  now?: Date;
}

/** The whole page's model from the events (in arrival order, ./collect.ts `byArrival`). */
export function buildView(events: readonly ExchangeEvent[], options: ViewOptions): ViewModel {
  const marks = [...(options.marks ?? [])].sort((a, b) => a.at - b.at);
  const owners = clientsOf(events);
  const byGroup = new Map<string, ExchangeEvent[]>();
  events.forEach((e, i) => {
    const key = owners[i] ?? "";
    const group = byGroup.get(key);
    if (group) group.push(e);
    else byGroup.set(key, [e]);
  });
  const groups: ViewGroup[] = [];
  for (const [clientId, mine] of byGroup) {
    const skip = (e: ExchangeEvent) => stepOf(marks, e)?.judged === false;
    const findings = clientId ? judgeClient(mine, { skip }) : [];
    const numbers = new Map(mine.map((e, i) => [e, i + 1]));
    const link = (e: ExchangeEvent) => ({ id: idOf(e), n: numbers.get(e) ?? 0 });
    const rows: ViewRow[] = [];
    let step: StepMark | undefined;
    for (const e of mine) {
      const here = stepOf(marks, e);
      if (here && here !== step) rows.push({ kind: "band", text: `${here.step} ${here.title}`, judged: here.judged });
      step = here;
      const n = numbers.get(e)!;
      const decided = findings.filter((f) => f.exchanges.at(-1) === e);
      rows.push({
        kind: "exchange",
        exchange: {
          id: idOf(e),
          n,
          from: endpointOf(e) === "jwks" ? "rs" : "client",
          to: e.server,
          request: cut(requestLabel(e), 90),
          response: cut(responseLabel(e), 90),
          status: e.status,
          tone: toneOf(e),
          marks: decided.map((f) => ({ rule: f.rule, ok: f.ok, text: f.text })),
          detail: detailOf(e, n),
        },
      });
      // R5: what the 403 says, in words — what a step-up must now add.
      const insufficient = challengeOf(e)?.error === "insufficient_scope" ? challengeOf(e)?.scope : undefined;
      if (insufficient !== undefined) {
        const tool = rpcCallsOf(e).find((call) => call.tool)?.tool ?? "the call";
        rows.push({ kind: "band", note: true, judged: true, text: `↑ ${tool} needs "${insufficient}"; the token has "${formatScope(e.principal?.scope ?? [])}"` });
      }
    }
    const rules = clientId
      ? verdicts(findings).map(({ rule, title, mark, findings: mine }) => {
          const { summary, decided } = summaryOf(rule, mark, mine);
          const links = [...new Set(decided.flatMap((f) => f.exchanges))].map(link);
          return { rule, title, mark, summary, links };
        })
      : [];
    const registration = mine.find((e) => endpointOf(e) === "register" && e.status === 201);
    const name = registration ? bodyOf(registration).client_name : undefined;
    const agent = agentOf(mine.find((e) => e.server === "as" && agentOf(e)) ?? mine[0]!);
    groups.push({
      id: clientId || "unattributed",
      kind: clientId ? "client" : "unattributed",
      title: clientId ? `client ${clientId}` : "requests tied to no client",
      subtitle: [typeof name === "string" ? name : "", agent ? `user agent: ${cut(agent, 60)}` : ""].filter(Boolean).join(" · "),
      rows,
      rules,
    });
  }
  // Clients in the order they first appeared; the unattributed requests last.
  groups.sort((a, b) => Number(a.kind === "unattributed") - Number(b.kind === "unattributed"));
  return { title: options.title, subtitle: options.subtitle, mode: options.mode, generated: (options.now ?? new Date()).toISOString(), groups };
}
