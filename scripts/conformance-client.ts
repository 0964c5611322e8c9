/**
 * Adapter between the MCP conformance suite (`@modelcontextprotocol/conformance client --command …`) and
 * `pnpm client --call`. The suite runs `<command> <server-url>` once per scenario, naming the scenario in
 * `MCP_CONFORMANCE_SCENARIO` and passing scenario data (pre-registered credentials) as JSON in
 * `MCP_CONFORMANCE_CONTEXT`. This script picks the tool the scenario's server offers and turns the
 * credentials into `--client-id` / `--client-secret`, then runs the client and exits with its code.
 *
 * `--client-secret` needs `--issuer` (the client sends a secret only to the AS it belongs to), and the
 * suite's context names no AS: the suite starts each scenario's AS on a port of its own and issues the
 * credentials for that AS. So, when the context carries a secret, this script reads the scenario's
 * RFC 9728 metadata first and passes the AS it names as `--issuer` — trusting the suite, which is what
 * issued the secret; the client's own check (does the metadata name this issuer?) still runs.
 *
 * Run by `scripts/conformance.ts`; by hand: `MCP_CONFORMANCE_SCENARIO=tools_call node --import tsx
 * scripts/conformance-client.ts http://localhost:PORT/mcp`.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { discoverOAuthProtectedResourceMetadata } from "@modelcontextprotocol/sdk/client/auth.js";

/** The tool each scenario's server offers; every `auth/*` server offers `test-tool`. */
const TOOLS: Record<string, { tool: string; args?: Record<string, unknown> }> = {
  initialize: { tool: "test-tool" }, // the server answers every method but initialize with `{}`
  tools_call: { tool: "add_numbers", args: { a: 2, b: 3 } },
  "elicitation-sep1034-client-defaults": { tool: "test_client_elicitation_defaults" },
  "sse-retry": { tool: "test_reconnection" },
};

async function contextFlags(raw: string | undefined, serverUrl: string): Promise<string[]> {
  if (!raw) return [];
  let context: unknown;
  try {
    context = JSON.parse(raw);
  } catch {
    throw new Error("MCP_CONFORMANCE_CONTEXT is not JSON");
  }
  const { client_id, client_secret } = (context ?? {}) as { client_id?: unknown; client_secret?: unknown };
  const flags: string[] = [];
  if (typeof client_id === "string") flags.push("--client-id", client_id);
  if (typeof client_secret === "string") flags.push("--client-secret", client_secret, "--issuer", await scenarioIssuer(serverUrl));
  return flags;
}

/** The AS the scenario's resource metadata names (RFC 9728 §2 `authorization_servers`), or exit 1. */
async function scenarioIssuer(serverUrl: string): Promise<string> {
  const issuer = await discoverOAuthProtectedResourceMetadata(serverUrl).then((prm) => prm.authorization_servers?.[0], () => undefined);
  if (issuer === undefined) {
    console.error(`conformance-client: ${serverUrl} names no authorization server, so the context's client_secret has no issuer`);
    process.exit(1);
  }
  return issuer;
}

const serverUrl = process.argv[2];
const scenario = process.env.MCP_CONFORMANCE_SCENARIO ?? "";
if (!serverUrl) {
  console.error("usage: conformance-client.ts SERVER_URL (with MCP_CONFORMANCE_SCENARIO set)");
  process.exit(2);
}
const { tool, args } = TOOLS[scenario] ?? { tool: "test-tool" };
const clientArgs = [
  "--call",
  tool,
  ...(args ? ["--args", JSON.stringify(args)] : []),
  ...(await contextFlags(process.env.MCP_CONFORMANCE_CONTEXT, serverUrl)),
  serverUrl,
];

const main = fileURLToPath(new URL("../client/main.ts", import.meta.url));
const child = spawn(process.execPath, ["--import", "tsx", main, ...clientArgs], { stdio: "inherit" });
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
