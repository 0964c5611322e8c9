/**
 * The processes of `pnpm demo` — the AS, the RS, the client, and the orchestrator scripts/demo.ts
 * itself — each bundled into one ESM file under `.cache/bundles/` by esbuild, and rebuilt whenever
 * anything it was built from changed, so the demo always runs the code as it is on disk without
 * paying the tsx loader's start-up in every process. scripts/demo.mjs (what `pnpm demo` runs) asks
 * `freshBundles` and runs the orchestrator's bundle, or, if anything changed, scripts/demo.ts from
 * source under tsx, whose `ensureBundles` rebuilds before it starts a process.
 *
 * Why bundles: under `node --import tsx` every module (hundreds: the MCP SDK, express, zod, jose) goes
 * through tsx's loader hooks; the same code as one file starts in about a quarter of the CPU time.
 * tsx stays for `pnpm dev`, `start:*`, `client` and the tests, which run the sources directly.
 *
 * Never stale: `manifest.json` records every input of the last build, and any difference rebuilds all
 * bundles (about a second) before a process starts:
 *   - a project file (anything outside node_modules): the SHA-256 of the exact bytes esbuild compiled —
 *     read by the plugin below, so an edit made while a build runs is caught by the next run;
 *   - a file under node_modules: its size and mtime (installed files are not edited in place; an
 *     install or upgrade changes pnpm-lock.yaml, which is hashed);
 *   - package.json, pnpm-lock.yaml and tsconfig.json (module resolution and TypeScript settings), the
 *     esbuild in use, and the build options.
 *
 * Concurrent runs: each build writes a directory of its own, and the manifest naming it is replaced by
 * a rename (atomic), so a run sees one complete build or the other — never a mix.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { BuildFailure, BuildOptions, Plugin } from "esbuild";

/** Files that change how any source compiles or resolves, hashed with every build. */
const SETTINGS_FILES = ["package.json", "pnpm-lock.yaml", "tsconfig.json"];

const BUILD_OPTIONS = {
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  outExtension: { ".js": ".mjs" },
  // Linked source maps (node --enable-source-maps, scripts/processes.ts): a stack trace names the .ts line.
  sourcemap: true,
  sourcesContent: false,
  logLevel: "silent",
  external: ["esbuild"], // the orchestrator's bundle loads the installed esbuild when it has to build
  // CommonJS dependencies (express and its middleware) call require() for Node's built-ins.
  banner: { js: 'import { createRequire as __bundleCreateRequire } from "node:module"; const require = __bundleCreateRequire(import.meta.filename);' },
} satisfies BuildOptions;
const RECIPE = JSON.stringify(BUILD_OPTIONS);

interface Manifest {
  recipe: string;
  /** What was bundled: name → entry file, relative to the project root. */
  entries: Record<string, string>;
  /** The bundle of each entry, relative to the cache directory. */
  outputs: Record<string, string>;
  /** Project files (relative to the project root) → SHA-256 of their content. */
  sources: Record<string, string>;
  /** Files under node_modules (absolute) → [size, mtimeMs]. */
  packages: Record<string, [number, number]>;
}

export class BundleError extends Error {}

/**
 * Make sure every entry (`name` → path relative to `root`) has a bundle built from the files as they
 * are now; returns `name` → absolute path of its bundle. Builds only if something changed.
 */
export async function ensureBundles<Name extends string>(
  root: string,
  cacheDir: string,
  entries: Record<Name, string>,
): Promise<Record<Name, string>> {
  const fresh = freshBundles(root, cacheDir, entries);
  if (fresh) return fresh;
  const manifestFile = path.join(cacheDir, "manifest.json");
  const built = await build(root, cacheDir, entries);
  const temporary = `${manifestFile}.${randomBytes(4).toString("hex")}`;
  await writeFile(temporary, JSON.stringify(built));
  await rename(temporary, manifestFile);
  await removeOldBuilds(cacheDir, path.dirname(Object.values(built.outputs)[0]!));
  return absoluteOutputs(built, cacheDir) as Record<Name, string>;
}

/**
 * The bundles of `entries` if the last build is still what the files on disk would give, else
 * `undefined` (no build yet, or something changed). Reads and hashes, never builds: scripts/demo.mjs
 * asks this before it runs the orchestrator from its bundle.
 */
export function freshBundles<Name extends string>(root: string, cacheDir: string, entries: Record<Name, string>): Record<Name, string> | undefined {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(path.join(cacheDir, "manifest.json"), "utf8")) as Manifest;
  } catch {
    return undefined; // none yet (a fresh clone), or unreadable
  }
  return isFresh(manifest, root, cacheDir, entries) ? (absoluteOutputs(manifest, cacheDir) as Record<Name, string>) : undefined;
}

function isFresh(manifest: Manifest, root: string, cacheDir: string, entries: Record<string, string>): boolean {
  if (manifest.recipe !== RECIPE || canonical(manifest.entries) !== canonical(entries)) return false;
  if (Object.values(manifest.outputs).some((file) => !existsSync(path.join(cacheDir, file)))) return false;
  for (const file of SETTINGS_FILES) if (!(file in manifest.sources)) return false;
  for (const [file, hash] of Object.entries(manifest.sources)) {
    let content: Buffer;
    try {
      content = readFileSync(path.join(root, file));
    } catch {
      return false; // deleted or renamed
    }
    if (sha256(content) !== hash) return false;
  }
  for (const [file, [size, mtimeMs]] of Object.entries(manifest.packages)) {
    const now = statSync(file, { throwIfNoEntry: false });
    if (!now || now.size !== size || now.mtimeMs !== mtimeMs) return false;
  }
  return true;
}

async function build(root: string, cacheDir: string, entries: Record<string, string>): Promise<Manifest> {
  const esbuild = await import("esbuild");
  const buildDir = `build-${Date.now().toString(36)}-${randomBytes(4).toString("hex")}`;
  const outdir = path.join(cacheDir, buildDir);
  const sources: Record<string, string> = {};
  // The settings are hashed before the build and each source as esbuild reads it (the plugin): an
  // edit made while the build runs then differs from what is recorded, and the next run rebuilds.
  for (const file of SETTINGS_FILES) sources[file] = sha256(await readFile(path.join(root, file)));
  const recordSources: Plugin = {
    name: "record-sources",
    setup(builder) {
      // Every project source: TypeScript, and the plain-JavaScript modules (.mjs) it imports.
      builder.onLoad({ filter: /\.(?:[cm]?ts|mjs)$/ }, async (args) => {
        if (isPackageFile(args.path)) return undefined;
        const content = await readFile(args.path);
        sources[path.relative(root, args.path)] = sha256(content);
        // A source's import.meta.url keeps naming the source file, as under tsx (scripts/processes.ts
        // finds the project root with it), not the bundle in .cache/bundles.
        const url = JSON.stringify(pathToFileURL(args.path).href);
        return { contents: content.toString("utf8").replace(/\bimport\.meta\.url\b/g, url), loader: "ts" };
      });
    },
  };
  await mkdir(outdir, { recursive: true });
  let metafile;
  try {
    ({ metafile } = await esbuild.build({
      ...BUILD_OPTIONS,
      absWorkingDir: root,
      entryPoints: Object.fromEntries(Object.entries(entries).map(([name, entry]) => [name, path.join(root, entry)])),
      outdir,
      metafile: true,
      plugins: [recordSources],
    }));
  } catch (error) {
    await rm(outdir, { recursive: true, force: true });
    const messages = (error as Partial<BuildFailure>).errors;
    const detail = messages ? (await esbuild.formatMessages(messages, { kind: "error", color: false })).join("").trimEnd() : (error as Error).message;
    throw new BundleError(`could not bundle ${Object.values(entries).join(", ")} (esbuild):\n${detail}`);
  }

  const packages: Manifest["packages"] = {};
  const inputs = [...Object.keys(metafile.inputs).map((input) => path.resolve(root, input)), createRequire(import.meta.url).resolve("esbuild")];
  for (const file of inputs) {
    if (isPackageFile(file)) {
      const { size, mtimeMs } = await stat(file);
      packages[file] = [size, mtimeMs];
    } else {
      sources[path.relative(root, file)] ??= sha256(await readFile(file));
    }
  }
  const outputs = Object.fromEntries(Object.keys(entries).map((name) => [name, path.join(buildDir, `${name}.mjs`)]));
  return { recipe: RECIPE, entries, outputs, sources, packages };
}

/** Builds older than a few minutes that the manifest no longer names (a run that started from one has long loaded it). */
async function removeOldBuilds(cacheDir: string, keep: string): Promise<void> {
  for (const entry of await readdir(cacheDir)) {
    if (!entry.startsWith("build-") || entry === keep) continue;
    const dir = path.join(cacheDir, entry);
    const { mtimeMs } = await stat(dir).catch(() => ({ mtimeMs: Date.now() }));
    if (Date.now() - mtimeMs > 5 * 60_000) await rm(dir, { recursive: true, force: true });
  }
}

const isPackageFile = (file: string) => file.split(path.sep).includes("node_modules");
const sha256 = (content: Buffer) => createHash("sha256").update(content).digest("hex");
const canonical = (entries: Record<string, string>) => JSON.stringify(Object.entries(entries).sort());
const absoluteOutputs = (manifest: Manifest, cacheDir: string) =>
  Object.fromEntries(Object.entries(manifest.outputs).map(([name, file]) => [name, path.join(cacheDir, file)]));
