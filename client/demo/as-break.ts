/**
 * `pnpm client --break RULE` for a rule the AS breaks (`lenient-redirect`, `no-pkce`): the client cannot
 * break it, only observe it, so it needs an AS started with `AS_BREAK=RULE` (as `pnpm demo --break RULE`
 * does). This asks the AS itself: discovery from the MCP endpoint (RFC 9728 PRM →
 * `authorization_servers`), then the demo AS's `/healthz`, which names the rule it breaks.
 */
import { discoverOAuthProtectedResourceMetadata } from "@modelcontextprotocol/sdk/client/auth.js";

/** Undefined when the AS behind `serverUrl` says it breaks `rule`; otherwise why not, in one line. */
export async function asBreakProblem(serverUrl: string, rule: string, timeoutMs: number): Promise<string | undefined> {
  const bounded = (url: string | URL, init?: RequestInit) => fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  let healthUrl = "the AS's /healthz";
  try {
    const prm = await discoverOAuthProtectedResourceMetadata(serverUrl, undefined, bounded);
    const issuer = prm.authorization_servers?.[0];
    if (!issuer) return `${serverUrl}'s RFC 9728 metadata names no authorization server`;
    healthUrl = new URL("/healthz", issuer).href;
    const health = (await (await bounded(healthUrl)).json()) as { broken?: unknown };
    if (typeof health.broken === "string" && health.broken.startsWith(`${rule} `)) return undefined;
    return `${healthUrl} does not say it breaks ${rule}`;
  } catch (error) {
    return `could not ask ${healthUrl} (${(error as Error).message})`;
  }
}
