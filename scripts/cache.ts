/**
 * The git-ignored `.cache/`: tools only some commands need, installed there with npm on first use —
 * npm is the one tool a fresh machine is promised besides Node 20. Node 22 comes from the `node` npm
 * package, which leaves the system Node alone.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { PROJECT_ROOT } from "./processes.ts";
import { CACHE_DIR } from "./cache-paths.mjs";

export { BUNDLE_DIR, CACHE_DIR, installedVersion } from "./cache-paths.mjs";
export const NODE_22 = path.join(CACHE_DIR, "node-22/node_modules/node/bin/node");

/**
 * `npm install` into `prefix` (all of `spec` at once: a later `--no-save` install would prune the rest);
 * with `nodeFirst`, npm runs on that Node, so packages needing it install cleanly.
 */
export function npmInstall(prefix: string, spec: string | readonly string[], nodeFirst?: string): void {
  const specs = typeof spec === "string" ? [spec] : spec;
  console.error(`[cache] installing ${specs.join(" ")} into ${path.relative(PROJECT_ROOT, prefix)}`);
  const PATH = nodeFirst ? `${path.dirname(nodeFirst)}${path.delimiter}${process.env.PATH ?? ""}` : process.env.PATH;
  const result = spawnSync("npm", ["install", "--no-save", "--no-audit", "--no-fund", "--loglevel=error", "--prefix", prefix, ...specs], {
    stdio: ["ignore", 2, 2], // npm's output goes to stderr: a command's stdout may be a JSON report
    env: { ...process.env, PATH },
  });
  if (result.status !== 0) throw new Error(`npm install ${specs.join(" ")} failed`);
}

/** The path of Node 22, installed into `.cache/node-22` if it is not there yet. */
export function ensureNode22(): string {
  if (!existsSync(NODE_22)) npmInstall(path.join(CACHE_DIR, "node-22"), "node@22");
  return NODE_22;
}
