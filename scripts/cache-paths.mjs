/**
 * Where the git-ignored `.cache/` is, and what is installed in it. Plain JavaScript, so `pnpm demo`'s
 * launcher (scripts/demo.mjs) reads it without the tsx loader; TypeScript sees cache-paths.d.mts.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The project root (scripts/processes.ts derives the same, for the processes; this file is one level below it too). */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export const CACHE_DIR = path.join(root, ".cache");
/** The bundles of the processes `pnpm demo` starts (scripts/bundle.ts). */
export const BUNDLE_DIR = path.join(CACHE_DIR, "bundles");
/** V8's compile cache for the demo's processes (Node 22.1+, `NODE_COMPILE_CACHE`). */
export const COMPILE_CACHE_DIR = path.join(CACHE_DIR, "compile-cache");

/** The version of `packageName` installed in `prefix`'s node_modules (the project by default), or undefined. */
export function installedVersion(packageName, prefix = root) {
  try {
    return JSON.parse(readFileSync(path.join(prefix, "node_modules", packageName, "package.json"), "utf8")).version;
  } catch {
    return undefined;
  }
}
