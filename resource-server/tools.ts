/**
 * The MCP tools (S2), one `McpServer` per session over the app's shared `FileStore`.
 *
 * Scopes are enforced *before* any of this runs (scope-gate.ts, R5) — and again here: every handler
 * checks its own required scope from the verified token (`extra.authInfo`, set per request by the
 * transport from `req.auth`) before it touches the store (R9: defence in depth, so a gate bug can
 * never run a tool). Every result says who acted with which scopes (R7) — after a step-up the same
 * session reports the new scopes.
 */
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { formatScope, satisfiesScope } from "../shared/scopes.ts";
import { principalOf } from "./bearer.ts";
import { FileStoreError, type FileStore } from "./store.ts";
import { BROKEN_CHALLENGE_TOOL, TOOL_SCOPES } from "./scope-gate.ts";

export const SERVER_INFO = { name: "scoped-tools", version: "0.1.0" } as const;

/** `<client_id> [<scopes>]` — the acting client and the scopes its token carries (R7). */
export function actor(auth: AuthInfo | undefined): string {
  return `${principalOf(auth).clientId} [${formatScope(auth?.scopes ?? [])}]`;
}

function text(message: string): CallToolResult {
  return { content: [{ type: "text", text: message }] };
}

/** Store refusals (not found, full, too large) are tool errors the model can read, not crashes. */
function attempt(run: () => CallToolResult): CallToolResult {
  try {
    return run();
  } catch (error) {
    if (error instanceof FileStoreError) return { content: [{ type: "text", text: error.message }], isError: true };
    throw error;
  }
}

const requires = (tool: string) => `Requires ${TOOL_SCOPES.get(tool)}.`;

export function createMcpServer(store: FileStore): McpServer {
  const server = new McpServer(SERVER_INFO, { capabilities: { tools: {} } });

  /** R9: the tool's own scope check; `undefined` when the caller may run `tool`, else the refusal. */
  const refuse = (tool: string, auth: AuthInfo | undefined): CallToolResult | undefined => {
    const scope = TOOL_SCOPES.get(tool)!;
    if (auth && satisfiesScope(auth.scopes, scope)) return undefined;
    return { content: [{ type: "text", text: `insufficient_scope: ${tool} requires ${scope}` }], isError: true };
  };
  const name = z.string().describe("file name, e.g. notes.txt");

  server.registerTool(
    "list-files",
    { description: `List the files in the store. ${requires("list-files")}`, annotations: { readOnlyHint: true } },
    (extra) => {
      const refused = refuse("list-files", extra.authInfo);
      if (refused) return refused;
      const files = store.list();
      const lines = files.map((file) => `${file.name} (${file.bytes} bytes)`);
      return text([`listed ${files.length} files — read by ${actor(extra.authInfo)}`, ...lines].join("\n"));
    },
  );

  server.registerTool(
    "read-file",
    { description: `Read one file. ${requires("read-file")}`, inputSchema: { name }, annotations: { readOnlyHint: true } },
    (args, extra) =>
      refuse("read-file", extra.authInfo) ??
      attempt(() => {
        const content = store.read(args.name);
        const bytes = Buffer.byteLength(content, "utf8");
        return text(`read ${args.name} (${bytes} bytes) — read by ${actor(extra.authInfo)}\n\n${content}`);
      }),
  );

  server.registerTool(
    "write-file",
    {
      description: `Create or replace a file. ${requires("write-file")}`,
      inputSchema: { name, content: z.string().describe("the new content (UTF-8 text)") },
      annotations: { destructiveHint: true, idempotentHint: true },
    },
    (args, extra) =>
      refuse("write-file", extra.authInfo) ??
      attempt(() => {
        const bytes = store.write(args.name, args.content);
        return text(`wrote ${args.name} (${bytes} bytes) — written by ${actor(extra.authInfo)}`);
      }),
  );

  server.registerTool(
    "delete-file",
    { description: `Delete a file. ${requires("delete-file")}`, inputSchema: { name }, annotations: { destructiveHint: true } },
    (args, extra) =>
      refuse("delete-file", extra.authInfo) ??
      attempt(() => {
        store.delete(args.name);
        return text(`deleted ${args.name} — deleted by ${actor(extra.authInfo)}`);
      }),
  );

  server.registerTool(
    BROKEN_CHALLENGE_TOOL,
    {
      description:
        "DELIBERATELY BROKEN, for the demo: the server answers every call with 403 insufficient_scope " +
        'scope="files:read", even for a token that has files:read, so no step-up can satisfy it. ' +
        "It exists to show that a client caps its step-up retries instead of looping.",
      annotations: { readOnlyHint: true },
    },
    // R9: the gate answers every call 403 first (scope-gate.ts); should one get here, it is refused the same way.
    () => ({ content: [{ type: "text", text: `insufficient_scope: ${BROKEN_CHALLENGE_TOOL} requires ${TOOL_SCOPES.get(BROKEN_CHALLENGE_TOOL)}` }], isError: true }),
  );

  return server;
}
