/**
 * `pnpm demo` starts here. Plain JavaScript, so node runs it without the tsx loader (about 0.2 s):
 * when the bundles in .cache/bundles are what the sources on disk would give (scripts/bundle.ts
 * decides, from its own bundle), the orchestrator scripts/demo.ts runs from its bundle; otherwise —
 * no cache yet, or any file changed — it runs from source under tsx, and rebuilds the bundles.
 */
import { readFileSync } from "node:fs";
import module from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { BUNDLE_DIR as cacheDir, COMPILE_CACHE_DIR } from "./cache-paths.mjs";

// Node 22.1+ keeps V8's compiled code on disk between runs, for this process and (through the
// environment) every process it starts; Node 20 has no compile cache and ignores both.
process.env.NODE_COMPILE_CACHE ??= COMPILE_CACHE_DIR;
module.enableCompileCache?.(process.env.NODE_COMPILE_CACHE);

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

let orchestrator;
try {
  const manifest = JSON.parse(readFileSync(path.join(cacheDir, "manifest.json"), "utf8"));
  const { freshBundles } = await import(pathToFileURL(path.join(cacheDir, manifest.outputs.bundle)).href);
  orchestrator = freshBundles(root, cacheDir, manifest.entries)?.demo;
} catch {
  // No usable cache (a fresh clone, or one from an older layout): run from source.
}
if (orchestrator) {
  await import(pathToFileURL(orchestrator).href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("./demo.ts");
}
