/**
 * The clients `pnpm interop` measures. Each has a driver (a small program that uses the client as a host
 * application would and prints step marks) or a reason why it cannot run on this machine.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { PROJECT_ROOT } from "../processes.ts";

export interface InteropClient {
  id: string;
  /** The package, as a reader would install it. */
  name: string;
  version: string;
  /** Needs a real browser (Chromium): left out by `--no-browser`. */
  needsBrowser: boolean;
  /** The driver entry, run with `node --import tsx`; undefined when the client cannot run here. */
  driver?: string;
  /** Why the client is not run here, when it is not. */
  skip?: string;
}

function installedVersion(packageName: string): string {
  try {
    const manifest = path.join(PROJECT_ROOT, "node_modules", packageName, "package.json");
    return (JSON.parse(readFileSync(manifest, "utf8")) as { version: string }).version;
  } catch {
    return "not installed";
  }
}

/** The Node 22 the brief's `npm install --prefix .cache/node-22 node@22` leaves (the Inspector needs ≥ 22). */
export const NODE_22 = path.join(PROJECT_ROOT, ".cache/node-22/node_modules/node/bin/node");
export const CHROMIUM = "/usr/bin/chromium";

export function interopClients(): InteropClient[] {
  const inspectorMissing = [!existsSync(CHROMIUM) && `Chromium (${CHROMIUM})`, !existsSync(NODE_22) && "Node ≥ 22 (.cache/node-22)"].filter(Boolean);
  return [
    {
      id: "v2-client",
      name: "@modelcontextprotocol/client",
      version: installedVersion("@modelcontextprotocol/client"),
      needsBrowser: false,
      driver: "scripts/interop/drivers/v2-client.ts",
    },
    {
      id: "mcp-remote",
      name: "mcp-remote",
      version: installedVersion("mcp-remote"),
      needsBrowser: false,
      driver: "scripts/interop/drivers/mcp-remote.ts",
    },
    {
      id: "inspector",
      name: "@modelcontextprotocol/inspector",
      version: "2.x",
      needsBrowser: true,
      skip:
        inspectorMissing.length > 0
          ? `needs ${inspectorMissing.join(" and ")}, not found`
          : "no headless driver for its web UI yet",
    },
  ];
}
