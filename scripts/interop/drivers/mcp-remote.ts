/**
 * Interop driver for `mcp-remote`, the stdio ↔ Streamable HTTP proxy that many desktop hosts launch.
 * This driver is the desktop host: it starts `mcp-remote RESOURCE_URL CALLBACK_PORT` and speaks MCP to it
 * over stdio (with the v2 client package's `StdioClientTransport`), exactly as a host's config would.
 *
 * `mcp-remote` opens the authorization URL in "the browser" (the `open` package → `xdg-open` → the
 * `BROWSER` variable); here that browser is the loopback-only opener (../opener.ts), which follows the
 * AS's redirect to `mcp-remote`'s own callback listener. Its token store goes to a temporary
 * `MCP_REMOTE_CONFIG_DIR`, removed at the end, so every run starts unregistered.
 *
 * Usage: `node --import tsx scripts/interop/drivers/mcp-remote.ts RESOURCE_URL STEP_TIMEOUT_MS`.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Client } from "@modelcontextprotocol/client";
import { getDefaultEnvironment, StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { freeLoopbackPort, PROJECT_ROOT } from "../../processes.ts";
import { runSteps, toolResultText, type DrivenClient } from "../steps.ts";

const [resourceUrl, stepTimeout] = process.argv.slice(2);
if (!resourceUrl || !stepTimeout) {
  process.stderr.write("usage: mcp-remote.ts RESOURCE_URL STEP_TIMEOUT_MS\n");
  process.exit(2);
}

const MCP_REMOTE = path.join(PROJECT_ROOT, "node_modules/mcp-remote/dist/proxy.js");
const OPENER = path.join(PROJECT_ROOT, "scripts/interop/opener.ts");
const workDir = mkdtempSync(path.join(os.tmpdir(), "interop-mcp-remote-"));

/** `xdg-open` runs `$BROWSER URL`: one executable path, so the opener gets a small wrapper script. */
function browserWrapper(): string {
  const quote = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;
  const wrapper = path.join(workDir, "browser");
  writeFileSync(wrapper, `#!/bin/sh\ncd ${quote(PROJECT_ROOT)} && exec ${quote(process.execPath)} --import tsx ${quote(OPENER)} "$1"\n`);
  chmodSync(wrapper, 0o755);
  return wrapper;
}

const { DISPLAY: _display, WAYLAND_DISPLAY: _wayland, ...inherited } = getDefaultEnvironment();
const transport = new StdioClientTransport({
  command: process.execPath,
  args: [MCP_REMOTE, resourceUrl, String(await freeLoopbackPort())],
  env: { ...inherited, BROWSER: browserWrapper(), MCP_REMOTE_CONFIG_DIR: path.join(workDir, "config") },
  stderr: "pipe",
  cwd: workDir,
});
transport.stderr?.on("data", (chunk: Buffer) => process.stderr.write(chunk));
const client = new Client({ name: "pnpm-interop-host", version: "1.0.0" });

/** Stop `mcp-remote` (it may be stuck waiting for a callback) and remove its token store. */
function cleanUp(): void {
  const pid = transport.pid;
  if (pid !== null) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  rmSync(workDir, { recursive: true, force: true });
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    cleanUp();
    process.exit(130);
  });
}

const driven: DrivenClient = {
  connect: () => client.connect(transport),
  async callTool(name, args) {
    return toolResultText(await client.callTool({ name, arguments: args }));
  },
  close: () => client.close(),
};

await runSteps(driven, Number(stepTimeout));
await Promise.race([driven.close().catch(() => {}), new Promise((resolve) => setTimeout(resolve, 1_000))]);
cleanUp();
process.exit(0);
