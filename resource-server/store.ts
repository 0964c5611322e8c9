/**
 * The protected data: a small in-memory file store, one per app, shared by every session (demo-only:
 * nothing is persisted). Bounded, so no caller can grow the process's memory: a full store or an
 * oversized file is refused with a `FileStoreError`, which the tools report as a tool error.
 */

export const SEED_FILES: Readonly<Record<string, string>> = {
  "notes.txt": "Step-up asks for more scope only when an operation needs it.\n",
  "todo.md": "- read the PRM\n- register\n- authorize with files:read\n",
  "readme.md": "# Scoped files\nfiles:read lists and reads, files:write writes, files:admin deletes.\n",
};

export interface StoreLimits {
  maxFiles: number;
  maxFileBytes: number;
}

export const DEFAULT_STORE_LIMITS: StoreLimits = { maxFiles: 32, maxFileBytes: 8 * 1024 };

/** A plain file name: letters, digits, `.`, `_`, `-`; no path, no leading dot. */
export const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** A refusal the caller can act on (not found, store full, too large, bad name). */
export class FileStoreError extends Error {
  override name = "FileStoreError";
}

export interface FileEntry {
  name: string;
  bytes: number;
}

export class FileStore {
  readonly #files = new Map<string, string>();
  readonly #limits: StoreLimits;

  constructor(seed: Readonly<Record<string, string>> = SEED_FILES, limits: StoreLimits = DEFAULT_STORE_LIMITS) {
    this.#limits = limits;
    for (const [name, content] of Object.entries(seed)) this.write(name, content);
  }

  list(): FileEntry[] {
    return [...this.#files.keys()].sort().map((name) => ({ name, bytes: byteLength(this.#files.get(name)!) }));
  }

  read(name: string): string {
    const content = this.#files.get(name);
    if (content === undefined) throw new FileStoreError(`no such file: ${name}`);
    return content;
  }

  /** Create or replace a file; returns its size in bytes (UTF-8). */
  write(name: string, content: string): number {
    if (!FILE_NAME.test(name)) throw new FileStoreError(`invalid file name (allowed: ${FILE_NAME.source})`);
    const bytes = byteLength(content);
    if (bytes > this.#limits.maxFileBytes) {
      throw new FileStoreError(`file too large: ${bytes} bytes (limit ${this.#limits.maxFileBytes})`);
    }
    if (!this.#files.has(name) && this.#files.size >= this.#limits.maxFiles) {
      throw new FileStoreError(`store full: at most ${this.#limits.maxFiles} files; delete one first`);
    }
    this.#files.set(name, content);
    return bytes;
  }

  delete(name: string): void {
    if (!this.#files.delete(name)) throw new FileStoreError(`no such file: ${name}`);
  }
}

function byteLength(content: string): number {
  return Buffer.byteLength(content, "utf8");
}
