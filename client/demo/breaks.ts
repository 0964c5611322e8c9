/**
 * `pnpm demo --break RULE`: what the story does differently when one rule is broken on purpose, and how
 * it reads the consequence from the recorded exchanges. The broken lines themselves sit beside the
 * rules they break (client/step-up/step-up.ts, connect.ts, as/ via `AS_BREAK`); this file only
 * predicts, exhibits and observes. `observe` reads exchanges, never the code's internals: what a
 * learner is shown is what went over the wire.
 */
import { breakRuleInfo, type BreakRule } from "../../shared/break-rules.ts";
import { operationOf } from "../step-up/index.ts";
import { Evidence, responseJson, type Parties } from "./exchanges.ts";
import type { RecordedExchange } from "./recorder.ts";
import type { BreakVerdict, CheckResult } from "./report.ts";
import type { StoryContext } from "./steps.ts";

export interface BreakView {
  exchanges: RecordedExchange[];
  parties: Parties;
  checks: CheckResult[];
}

interface BreakPlan {
  /** The checks the broken rule makes fail: the checklist marks them "broken on purpose". */
  affects: string[];
  /** More of the story, after D8, where one run of the story is not enough to show the cost. */
  exhibit?: (ctx: StoryContext) => Promise<void>;
  /** Step-by-step evidence lines, and whether the predicted consequence was seen. */
  observe(view: BreakView): { lines: string[]; demonstrated: boolean };
}

/** The demo's safety stop for `no-retry-cap`: a client without a cap would loop for ever. */
export const SAFETY_STOP_ROUNDS = 10;

const inStep = (view: BreakView, ...steps: string[]) =>
  new Evidence(view.exchanges.filter((e) => steps.includes(e.step)), view.parties);
const scopeOf = (e: RecordedExchange | undefined) => e?.query.scope ?? e?.request.form?.scope;
/** The response body of an exchange that may not have happened (then: nothing). */
const json = (e: RecordedExchange | undefined) => (e ? responseJson(e) : {});
const granted = (e: RecordedExchange | undefined) => String(json(e).scope ?? "");
const challenged = (e: RecordedExchange | undefined) => /scope="([^"]*)"/.exec(e?.response.wwwAuthenticate ?? "")?.[1];
const detailOf = (view: BreakView, id: string) => view.checks.find((c) => c.id === id)?.detail ?? "";

const PLANS: Record<BreakRule, BreakPlan> = {
  "replace-scope": {
    // D4–D6 expect files:read files:write; D5 asks for files:admin alone (access_denied), so no fresh
    // grant replaces the one D4's replay revoked, and D6's refresh fails.
    affects: ["D3", "D4", "D5", "D6"],
    // Alternate between writing and reading a few times: with the union this costs nothing more.
    exhibit: async (ctx) => {
      for (const [i, tool] of ["write-file", "list-files", "write-file", "list-files"].entries()) {
        await ctx.call(ctx.main, tool, tool === "write-file" ? { name: `switch-${i}.txt`, content: "-" } : {}).catch(() => undefined);
      }
    },
    observe(view) {
      const d3 = inStep(view, "D3");
      const [authorization] = d3.authorizations();
      const written = d3.mcpPosts({ tool: "write-file" }).find((e) => e.status === 200);
      const lost = d3.mcpPosts({ tool: "list-files" }).find((e) => e.status === 403);
      const exhibit = inStep(view, "break");
      const calls = exhibit.mcpPosts().filter((e) => e.request.tool);
      const switches = new Set(calls.map((e) => e.request.tool)).size > 1 ? calls.filter((e) => e.status === 403).length : 0;
      const authorizations = exhibit.authorizations().length;
      return {
        lines: [
          `D3: write-file 403 → authorize scope="${scopeOf(authorization)}" (the challenged scope alone) → granted "${granted(d3.tokenRequests("authorization_code")[0])}" → write-file ${written?.status ?? "never 200"}`,
          `D3: then list-files → ${lost?.status ?? "no 403"} insufficient_scope scope="${challenged(lost) ?? ""}": the token lost files:read`,
          `after D8: 4 alternating write/list calls met ${switches} × 403 and cost ${authorizations} more authorizations (with the union: 0)`,
        ],
        demonstrated: scopeOf(authorization) === "files:write" && written !== undefined && challenged(lost) === "files:read" && authorizations >= 3,
      };
    },
  },
  "refresh-to-widen": {
    // D4–D6 expect the files:read files:write grant that D3 could not get.
    affects: ["D3", "D4", "D5", "D6"],
    observe(view) {
      const d3 = inStep(view, "D3");
      const [refresh] = d3.tokenRequests("refresh_token");
      const writes = d3.mcpPosts({ tool: "write-file" });
      return {
        lines: [
          `D3: write-file → ${writes[0]?.status} scope="${challenged(writes[0]) ?? ""}" → POST /token grant_type=refresh_token scope="${scopeOf(refresh) ?? ""}" → ${refresh?.status} ${String(json(refresh).error ?? "")}`,
          `D3: ${d3.authorizations().length} authorizations, write-file sent ${writes.length} time(s), ${writes.filter((e) => e.status === 200).length} succeeded — without a new authorization the client cannot widen`,
        ],
        demonstrated: refresh?.status === 400 && json(refresh).error === "invalid_scope" && !writes.some((e) => e.status === 200),
      };
    },
  },
  "ignore-decline": {
    affects: ["D5", "D6"],
    observe(view) {
      const later = inStep(view, "D6");
      const again = later.authorizations().filter((a) => scopeOf(a)?.split(" ").includes("files:admin"));
      const grants = later.tokenRequests("authorization_code").map(granted);
      return {
        lines: [
          `D5: files:admin declined (granted "${granted(inStep(view, "D5").tokenRequests("authorization_code")[0])}"), but it stays in the requested set`,
          `D6: ${again.length} more authorizations asked for files:admin again (scope="${scopeOf(again[0]) ?? ""}"), each granted without it (${grants.map((g) => `"${g}"`).join(", ")}); with the rule: 0 authorizations, 2 refreshes`,
        ],
        demonstrated: again.length >= 1 && grants.every((g) => !g.split(" ").includes("files:admin")),
      };
    },
  },
  "no-retry-cap": {
    affects: ["D6"],
    observe(view) {
      const d6 = inStep(view, "D6");
      const posts = d6.mcpPosts({ tool: "broken-challenge" });
      const refreshes = d6.tokenRequests("refresh_token");
      const stopped = detailOf(view, "D6").includes("safety stop");
      return {
        lines: [
          `D6: broken-challenge sent ${posts.length} times, ${posts.filter((e) => e.status === 403).length} × 403; ${refreshes.length} refreshes (${refreshes.filter((r) => r.status === 200).length} × 200), all wasted — the cap allows 2 refreshes and 3 POSTs`,
          stopped ? `D6: ended by the demo's safety stop after ${SAFETY_STOP_ROUNDS} rounds, not by the client` : "D6: the safety stop was not reached",
        ],
        demonstrated: stopped && posts.length >= SAFETY_STOP_ROUNDS && refreshes.length > 2,
      };
    },
  },
  "stock-sdk": {
    affects: ["D3", "D4", "D5", "D6"],
    observe(view) {
      const d3 = inStep(view, "D3");
      const writes = d3.mcpPosts({ tool: "write-file" });
      const refreshes = d3.tokenRequests("refresh_token");
      const authorizations = d3.authorizations();
      const error = /Server returned 403[^(—]*/.exec(detailOf(view, "D3"))?.[0]?.trim();
      return {
        lines: [
          `1. write-file → ${writes[0]?.status} insufficient_scope scope="${challenged(writes[0]) ?? ""}"`,
          `2. the SDK's 403 branch sets its scope to the challenged "${challenged(writes[0]) ?? ""}" (replacing, not adding) and calls auth(), which refreshes because a refresh token is held: POST /token grant_type=refresh_token → ${refreshes[0]?.status} scope="${granted(refreshes[0])}" (a refresh cannot widen)`,
          `3. write-file resent → ${writes[1]?.status} scope="${challenged(writes[1]) ?? ""}" (the same challenge)`,
          `4. the SDK gives up: "${error ?? detailOf(view, "D3")}" — ${authorizations.length} authorizations: no step-up at all`,
        ],
        demonstrated:
          writes.length === 2 && writes.every((e) => e.status === 403) && refreshes.length >= 1 && authorizations.length === 0 && error !== undefined,
      };
    },
  },
  "lenient-redirect": {
    affects: ["D8"],
    observe(view) {
      const d8 = inStep(view, "D8");
      const [registration] = d8.registrations();
      const attacker = d8.authorizations().find((a) => a.query.redirect_uri?.startsWith("https://attacker.example/"));
      const location = attacker?.response.location ?? "";
      const leftLoopback = view.exchanges.filter((e) => new URL(e.origin).hostname !== "127.0.0.1").length;
      const health = d8.toAs().find((e) => e.path === "/healthz");
      return {
        lines: [
          `D8: DCR with redirect_uris ["https://attacker.example/cb"] → ${registration?.status}${registration?.status === 201 ? ` client_id=${String(json(registration).client_id)}` : ""}`,
          `D8: /authorize with redirect_uri=https://attacker.example/cb → ${attacker?.status} Location ${location.split("?")[0]}${attacker?.response.locationQuery?.code ? ` with code=${attacker.response.locationQuery.code}` : ""} — shown, never followed (${leftLoopback} requests left loopback)`,
          `D8: the AS's /healthz says: ${String(json(health).broken ?? "nothing")}`,
        ],
        demonstrated:
          registration?.status === 201 &&
          attacker?.status === 302 &&
          location.startsWith("https://attacker.example/") &&
          attacker.response.locationQuery?.code !== undefined &&
          leftLoopback === 0,
      };
    },
  },
  "no-pkce": {
    affects: ["D8"],
    observe(view) {
      const [redeemed] = inStep(view, "D8").tokenRequests("authorization_code");
      const tokens = json(redeemed);
      return {
        lines: [
          `D8: POST /token grant_type=authorization_code without code_verifier → ${redeemed?.status}${tokens.access_token ? ` access_token=${String(tokens.access_token)} scope="${String(tokens.scope)}"` : ""}${tokens.refresh_token ? " + refresh_token" : ""}`,
          "an attacker who intercepts the code (a malicious app on the same redirect, a log, a referrer) gets the tokens",
        ],
        demonstrated: redeemed?.status === 200 && redeemed.request.form?.code_verifier === undefined && typeof tokens.access_token === "string",
      };
    },
  },
};

export function breakPlan(rule: BreakRule): BreakPlan {
  return PLANS[rule];
}

export function breakReport(rule: BreakRule, view: BreakView): BreakVerdict & { lines: string[] } {
  const { lines, demonstrated } = PLANS[rule].observe(view);
  return { rule, predicted: breakRuleInfo(rule)!.predicted, observed: lines.join("; "), demonstrated, lines };
}

/**
 * The safety stop of `no-retry-cap` as a recorder `refuse` hook: after `rounds` answers in a row that
 * were not a success, the next request of the same operation is not sent. Feed it every exchange.
 */
export function safetyStop(rounds = SAFETY_STOP_ROUNDS) {
  const failures = new Map<string, number>();
  const key = (e: RecordedExchange) => (e.request.tool ? `tools/call:${e.request.tool}` : e.request.rpcMethod);
  return {
    refuse: (init?: RequestInit): string | undefined => {
      const operation = operationOf(init);
      if ((failures.get(operation) ?? 0) < rounds) return undefined;
      return `demo safety stop: ${operation} was refused ${rounds} times in a row and the client has no cap`;
    },
    saw: (e: RecordedExchange): void => {
      const operation = key(e);
      if (!operation || e.method !== "POST") return;
      failures.set(operation, e.status !== undefined && e.status < 300 ? 0 : (failures.get(operation) ?? 0) + 1);
    },
  };
}
