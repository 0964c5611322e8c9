/**
 * The demo story's steps, one function each (D1–D8). Each acts on the running servers through the
 * shared `StoryContext`, then returns what checks.ts proved from the exchanges it recorded and the
 * tool results; a thrown error is the step's failure. The order lives in story.ts (`STEPS`).
 */
import { createHash, randomBytes } from "node:crypto";
import { refreshAuthorization } from "@modelcontextprotocol/sdk/client/auth.js";
import type { FetchLike } from "@modelcontextprotocol/sdk/shared/transport.js";
import * as checks from "./checks.ts";
import type { ConnectOptions, McpClientHandle } from "./connect.ts";
import { Evidence, type Parties } from "./exchanges.ts";
import { verifyHardening } from "./hardening-checks.ts";
import type { ExchangeRecorder } from "./recorder.ts";

/** What every step may use: the servers, the one recorder, the clients made so far. */
export interface StoryContext {
  /** The MCP endpoint of the running RS. */
  serverUrl: string;
  recorder: ExchangeRecorder;
  /** The recorder's fetch with the AS timeout, for requests the story sends itself. */
  authFetch: FetchLike;
  /** A new client on the shared recorder (not connected yet). */
  newClient(extra?: Pick<ConnectOptions, "onInsufficientScope" | "clientName" | "breakRule">): McpClientHandle;
  /** `pnpm demo --break RULE` for a client-side rule: the story's client breaks it (undefined: no rule broken). */
  breakRule?: ConnectOptions["breakRule"];
  /** `tools/call` with the story's deadline. */
  call(handle: McpClientHandle | undefined, name: string, args?: Record<string, unknown>): ReturnType<McpClientHandle["client"]["callTool"]>;
  /** The exchanges recorded since the current step began. */
  evidence(): Evidence;
  parties(): Parties;
  /** The story's client (D1 onwards) and D7's throw-mode client. */
  main?: McpClientHandle;
  second?: McpClientHandle;
}

/**
 * A step: act, verify, and say in one line what was proved — with a title of its own when the run
 * took the step's other documented outcome (D5 when the policy grants files:admin).
 */
export type Step = (ctx: StoryContext) => Promise<string | { title: string; detail: string }>;

const failure = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error);
const settle = <T>(promise: Promise<T>) =>
  promise.then((value) => ({ ok: true as const, value }), (error: unknown) => ({ ok: false as const, error }));

function mainClient(ctx: StoryContext): McpClientHandle {
  if (!ctx.main) throw new Error("no connected client (an earlier step failed)");
  return ctx.main;
}
const clientId = (ctx: StoryContext) => ctx.main?.authorizer.client?.client_id ?? "";

/** D1: POST initialize → 401 → PRM → AS metadata → DCR → authorize → token. */
export const connect: Step = async (ctx) => {
  ctx.main = ctx.newClient({ breakRule: ctx.breakRule });
  await ctx.main.connect();
  const { authorizer } = ctx.main;
  return checks.verifyConnect(ctx.evidence(), ctx.serverUrl, authorizer.discovery!.issuer, authorizer.tokens?.access_token);
};

/** D2: list-files with files:read. */
export const listWithRead: Step = async (ctx) => {
  const listed = await ctx.call(ctx.main, "list-files");
  return checks.verifyFirstCall(ctx.evidence(), listed, clientId(ctx));
};

/** D3: write-file → 403 → step-up with the union → retry; list-files still works. */
export const writeWithStepUp: Step = async (ctx) => {
  const written = await ctx.call(ctx.main, "write-file", { name: "step-up.txt", content: "written after a step-up\n" });
  const listed = await ctx.call(ctx.main, "list-files");
  return checks.verifyStepUp(ctx.evidence(), written, listed, clientId(ctx));
};

/** D4: drop the access token → 401 → plain refresh; then replay the old refresh token. */
export const refreshAfter401: Step = async (ctx) => {
  const { authorizer } = mainClient(ctx);
  const oldRefreshToken = authorizer.tokens?.refresh_token;
  authorizer.forgetAccessToken();
  const listed = await ctx.call(ctx.main, "list-files");
  const d = authorizer.discovery!;
  const replay = await failure(
    refreshAuthorization(d.issuer, {
      metadata: d.metadata,
      clientInformation: authorizer.client!,
      refreshToken: oldRefreshToken ?? "",
      resource: d.resource,
      fetchFn: ctx.authFetch,
    }),
  );
  return checks.verifyRefresh(ctx.evidence(), listed, replay, ctx.serverUrl, clientId(ctx));
};

/**
 * D5: delete-file needs files:admin, which the AS's default policy does not grant → declined. A policy
 * that grants it (AS_GRANTABLE_SCOPES) makes the step-up succeed instead: verified and said as such.
 */
export const deleteNeedsAdmin: Step = async (ctx) => {
  const deleted = await settle(ctx.call(ctx.main, "delete-file", { name: "notes.txt" }));
  const listed = await ctx.call(ctx.main, "list-files");
  const requested = mainClient(ctx).stepUp.requestedScope();
  if (!deleted.ok) return { title: "delete-file → declined", detail: checks.verifyDeclined(ctx.evidence(), deleted.error, listed, requested, clientId(ctx)) };
  const detail = checks.verifyAdminGranted(ctx.evidence(), deleted.value, listed, requested, clientId(ctx));
  return { title: "delete-file → granted (the policy grants files:admin)", detail };
};

/** D6: broken-challenge → refreshes up to the cap → retry-limit. */
export const retryCap: Step = async (ctx) => {
  const capped = await failure(ctx.call(ctx.main, "broken-challenge"));
  return checks.verifyRetryLimit(ctx.evidence(), capped);
};

/** D7: a second client in throw mode → InsufficientScopeError at once, no AS traffic. */
export const throwMode: Step = async (ctx) => {
  ctx.second = ctx.newClient({ onInsufficientScope: "throw", clientName: "scoped-tools headless client (throw mode)" });
  await ctx.second.connect();
  const mark = ctx.recorder.mark();
  const error = await failure(ctx.call(ctx.second, "write-file", { name: "never.txt", content: "-" }));
  return checks.verifyThrowMode(new Evidence(ctx.recorder.since(mark), ctx.parties()), error);
};

/** D8: the hardening, live: attacker redirects at DCR and /authorize, a widening refresh, loopback only. */
export const hardening: Step = async (ctx) => {
  const { authorizer } = mainClient(ctx);
  const d = authorizer.discovery!;
  const send = async (url: string, init: RequestInit) => (await ctx.authFetch(url, init)).body?.cancel();
  await send(d.metadata.registration_endpoint!, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ ...authorizer.clientMetadata, redirect_uris: ["https://attacker.example/cb"] }),
  });
  const redirect = new URL(authorizer.clientMetadata.redirect_uris[0]!);
  const unregisteredRedirects = [`${redirect.origin}/callbackevil`, "https://attacker.example/cb"];
  for (const unregistered of unregisteredRedirects) {
    await send(authorizationRequest(d.metadata.authorization_endpoint, clientId(ctx), unregistered, d.resource), {
      method: "GET",
      redirect: "manual", // a redirect would not be followed anyway
    });
  }
  const narrow = ctx.second?.authorizer;
  if (!narrow?.tokens?.refresh_token) throw new Error("D7's files:read client is needed to show a widening refresh");
  await failure(narrow.refresh(["files:read", "files:write"])); // RFC 6749 §6: refused with invalid_scope
  // An intercepted code, redeemed without its code_verifier: PKCE makes it worthless (RFC 7636 §1).
  const authorized = await ctx.authFetch(authorizationRequest(d.metadata.authorization_endpoint, clientId(ctx), redirect.href, d.resource), {
    method: "GET",
    redirect: "manual",
  });
  await authorized.body?.cancel();
  const location = authorized.headers.get("location");
  const code = location && URL.canParse(location) ? new URL(location).searchParams.get("code") : null;
  if (!code) throw new Error(`/authorize with the registered redirect_uri gave no code (${authorized.status})`);
  await send(d.metadata.token_endpoint, {
    method: "POST",
    body: new URLSearchParams({ grant_type: "authorization_code", code, redirect_uri: redirect.href, client_id: clientId(ctx), resource: d.resource }),
  });
  for (const base of [d.issuer, new URL(ctx.serverUrl).origin]) await send(`${base}/healthz`, { method: "GET" });
  return verifyHardening(ctx.evidence(), ctx.recorder.exchanges, { serverUrl: ctx.serverUrl, issuer: d.issuer, unregisteredRedirects, registeredRedirect: redirect.href });
};

/** An otherwise valid authorization request (PKCE S256, state, resource) with an unregistered redirect_uri. */
function authorizationRequest(endpoint: string, clientId: string, redirectUri: string, resource: string): string {
  const verifier = randomBytes(32).toString("base64url");
  const url = new URL(endpoint);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: clientId,
    redirect_uri: redirectUri,
    code_challenge: createHash("sha256").update(verifier).digest("base64url"),
    code_challenge_method: "S256",
    state: randomBytes(8).toString("base64url"),
    scope: "files:read",
    resource,
  }).toString();
  return url.href;
}
