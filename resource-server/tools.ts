/**
 * The MCP tools (S2), each declared with the scope it requires. The gate (scope-gate.ts, R5) reads that
 * scope before a call reaches MCP; `createMcpServer` registers the same tools, one `McpServer` per session
 * over the app's shared `FileStore`. Each handler checks its scope again from the verified token
 * (`extra.authInfo`, set per request from `req.auth`: R9, defence in depth) and says who acted with which
 * scopes (R7) — after a step-up, the same session reports the new ones.
 */
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js";
import type { CallToolResult, ToolAnnotations } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { formatScope, satisfiesScope, type ScopeRule } from "../shared/scopes.ts";
import { principalOf } from "./bearer.ts";
import { FileStoreError, type FileStore } from "./store.ts";

export const SERVER_INFO = { name: "scoped-tools", version: "0.1.0" } as const;

/** A tool and the scope it requires (S2). */
export interface ScopedTool {
  name: string;
  scope: string;
  /** D6, deliberately broken: every call gets `403 insufficient_scope`, even with `scope`, so the retry cap shows. */
  challengesAlways?: true;
  register(server: McpServer, store: FileStore, satisfies: ScopeRule): void; // satisfies: the app's R5 rule, applied again (R9)
}

/** `<client_id> [<scopes>]` — the acting client and the scopes its token carries (R7). */
export function actor(auth: AuthInfo | undefined): string {
  return `${principalOf(auth).clientId} [${formatScope(auth?.scopes ?? [])}]`;
}

const refusal = (text: string): CallToolResult => ({ content: [{ type: "text", text }], isError: true });

/** Declare a tool that requires `scope`; `run` returns the result text, or throws a store refusal. */
function scopedTool<Shape extends z.ZodRawShape>(
  name: string,
  scope: string,
  config: { description: string; inputSchema: Shape; annotations: ToolAnnotations },
  run: (args: z.infer<z.ZodObject<Shape>>, store: FileStore, who: string) => string,
): ScopedTool {
  const inputSchema: z.ZodRawShape = config.inputSchema;
  return {
    name,
    scope,
    register(server, store, satisfies) {
      server.registerTool(name, { ...config, inputSchema, description: `${config.description} Requires ${scope}.` }, (args, extra): CallToolResult => {
        // R9: the tool's own scope check, from the verified token.
        if (!extra.authInfo || !satisfies(extra.authInfo.scopes, scope)) return refusal(`insufficient_scope: ${name} requires ${scope}`);
        try {
          // The SDK has validated `args` against `inputSchema`, which is `Shape`.
          return { content: [{ type: "text", text: run(args as z.infer<z.ZodObject<Shape>>, store, actor(extra.authInfo)) }] };
        } catch (error) {
          // Not found, store full, too large: a tool error the model can read, not a crash.
          if (error instanceof FileStoreError) return refusal(error.message);
          throw error;
        }
      });
    },
  };
}

const name = z.string().describe("file name, e.g. notes.txt");

export const TOOLS: readonly ScopedTool[] = [
  scopedTool(
    "list-files",
    "files:read",
    { description: "List the files in the store.", inputSchema: {}, annotations: { readOnlyHint: true } },
    (_args, store, who) => {
      const files = store.list();
      return [`listed ${files.length} files — read by ${who}`, ...files.map((file) => `${file.name} (${file.bytes} bytes)`)].join("\n");
    },
  ),
  scopedTool(
    "read-file",
    "files:read",
    { description: "Read one file.", inputSchema: { name }, annotations: { readOnlyHint: true } },
    (args, store, who) => {
      const content = store.read(args.name);
      return `read ${args.name} (${Buffer.byteLength(content, "utf8")} bytes) — read by ${who}\n\n${content}`;
    },
  ),
  scopedTool(
    "write-file",
    "files:write",
    {
      description: "Create or replace a file.",
      inputSchema: { name, content: z.string().describe("the new content (UTF-8 text)") },
      annotations: { destructiveHint: true, idempotentHint: true },
    },
    (args, store, who) => `wrote ${args.name} (${store.write(args.name, args.content)} bytes) — written by ${who}`,
  ),
  scopedTool(
    "delete-file",
    "files:admin",
    { description: "Delete a file.", inputSchema: { name }, annotations: { destructiveHint: true } },
    (args, store, who) => {
      store.delete(args.name);
      return `deleted ${args.name} — deleted by ${who}`;
    },
  ),
  {
    ...scopedTool(
      "broken-challenge",
      "files:read",
      {
        description:
          "DELIBERATELY BROKEN, for the demo: every call gets 403 insufficient_scope scope=\"files:read\", even with files:read, " +
          "so no step-up can satisfy it: it shows that a client caps its step-up retries instead of looping.",
        inputSchema: {},
        annotations: { readOnlyHint: true },
      },
      () => {
        throw new FileStoreError("insufficient_scope: broken-challenge requires files:read"); // the gate refused it first (R9)
      },
    ),
    challengesAlways: true,
  },
];

export function createMcpServer(store: FileStore, satisfies: ScopeRule = satisfiesScope): McpServer {
  const server = new McpServer(SERVER_INFO, { capabilities: { tools: {} } });
  for (const tool of TOOLS) tool.register(server, store, satisfies);
  return server;
}
