/**
 * The clients `pnpm interop` measures. Each has a driver (a small program that uses the client as a host
 * application would and prints step marks) or a reason why it cannot run on this machine.
 */
import path from "node:path";
import { chromiumPath } from "../browser.ts";
import { CACHE_DIR, ensureNode22, installedVersion, npmInstall } from "../cache.ts";

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
  /** Its steps get this many times the per-step timeout (a real browser is slow on a busy machine). */
  stepTimeoutScale?: number;
  /** Installs what the driver needs (into `.cache/`); returns why the client cannot run, if it cannot. */
  prepare?: () => string | undefined;
}

/** The Inspector (it needs Node ≥ 22) lives in the git-ignored `.cache/`, installed on first use. */
export const INSPECTOR_DIR = path.join(CACHE_DIR, "inspector");
const INSPECTOR_VERSION = "2.12.0";

export function prepareInspector(): string | undefined {
  try {
    const node22 = ensureNode22();
    if (installedVersion("@modelcontextprotocol/inspector", INSPECTOR_DIR) !== INSPECTOR_VERSION) {
      npmInstall(INSPECTOR_DIR, `@modelcontextprotocol/inspector@${INSPECTOR_VERSION}`, node22);
    }
    return undefined;
  } catch (error) {
    return `could not install it into .cache/: ${(error as Error).message}`;
  }
}

export function interopClients(): InteropClient[] {
  return [
    {
      id: "v2-client",
      name: "@modelcontextprotocol/client",
      version: installedVersion("@modelcontextprotocol/client") ?? "not installed",
      needsBrowser: false,
      driver: "scripts/interop/drivers/v2-client.ts",
    },
    {
      id: "mcp-remote",
      name: "mcp-remote",
      version: installedVersion("mcp-remote") ?? "not installed",
      needsBrowser: false,
      driver: "scripts/interop/drivers/mcp-remote.ts",
    },
    {
      id: "inspector",
      name: "@modelcontextprotocol/inspector",
      version: INSPECTOR_VERSION,
      needsBrowser: true,
      stepTimeoutScale: 3,
      ...(chromiumPath()
        ? { driver: "scripts/interop/drivers/inspector.ts", prepare: prepareInspector }
        : { skip: "needs Chromium (apt-get install -y chromium, or CHROMIUM_PATH), not found" }),
    },
  ];
}
