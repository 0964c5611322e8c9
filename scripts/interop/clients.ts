/**
 * The clients `pnpm interop` measures. Each has a driver (a small program that uses the client as a host
 * application would and prints step marks) or a reason why it cannot run on this machine.
 */
import { execFileSync } from "node:child_process";
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
  /** Its steps get this many times the per-step timeout (a real browser is slow on a busy machine). */
  stepTimeoutScale?: number;
  /** Installs what the driver needs (into `.cache/`); returns why the client cannot run, if it cannot. */
  prepare?: () => string | undefined;
}

function installedVersion(packageName: string, root = PROJECT_ROOT): string {
  try {
    const manifest = path.join(root, "node_modules", packageName, "package.json");
    return (JSON.parse(readFileSync(manifest, "utf8")) as { version: string }).version;
  } catch {
    return "not installed";
  }
}

/** Node ≥ 22 and the Inspector live in `.cache/` (git-ignored), installed on first use with npm. */
export const NODE_22 = path.join(PROJECT_ROOT, ".cache/node-22/node_modules/node/bin/node");
export const INSPECTOR_DIR = path.join(PROJECT_ROOT, ".cache/inspector");
export const CHROMIUM = "/usr/bin/chromium";
const INSPECTOR_VERSION = "2.12.0";
const PLAYWRIGHT_CORE_VERSION = "1.65.1";

/** `npm install --no-save --prefix DIR …` (npm is the one tool CI is promised besides Node). */
function npmInstall(prefix: string, packages: string[], env: NodeJS.ProcessEnv = process.env): void {
  execFileSync("npm", ["install", "--no-save", "--no-audit", "--no-fund", "--prefix", prefix, ...packages], { env, stdio: ["ignore", "ignore", "pipe"], timeout: 300_000 });
}

function prepareInspector(): string | undefined {
  try {
    if (!existsSync(NODE_22)) npmInstall(path.join(PROJECT_ROOT, ".cache/node-22"), ["node@22"]);
    if (installedVersion("@modelcontextprotocol/inspector", INSPECTOR_DIR) !== INSPECTOR_VERSION) {
      // The Inspector's own npm runs scripts with the Node it finds first on PATH: make that Node 22.
      const env = { ...process.env, PATH: `${path.dirname(NODE_22)}${path.delimiter}${process.env.PATH}` };
      npmInstall(INSPECTOR_DIR, [`@modelcontextprotocol/inspector@${INSPECTOR_VERSION}`, `playwright-core@${PLAYWRIGHT_CORE_VERSION}`], env);
    }
    return undefined;
  } catch (error) {
    return `could not install it into .cache/: ${(error as Error).message.split("\n")[0]}`;
  }
}

export function interopClients(): InteropClient[] {
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
      version: INSPECTOR_VERSION,
      needsBrowser: true,
      stepTimeoutScale: 3,
      ...(existsSync(CHROMIUM)
        ? { driver: "scripts/interop/drivers/inspector.ts", prepare: prepareInspector }
        : { skip: `needs Chromium (${CHROMIUM}), not found` }),
    },
  ];
}
