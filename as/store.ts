/**
 * Bounded in-memory stores (A9). A demo AS keeps everything in memory, so every map has a cap: when
 * full, the oldest entry is evicted (never a 5xx, never unbounded growth) — except entries the store's
 * `keep` rule protects: if only those are left, the insertion is refused instead. Entries past their
 * retention time go first, and are swept on an unref'd timer (it never keeps a process alive).
 */

export interface StoreOptions<V> {
  /** Maximum number of entries; inserting one more evicts the oldest. */
  capacity: number;
  /** The clock, in milliseconds (injectable for tests). */
  now: () => number;
  /** How often to sweep expired entries; 0 disables the timer (sweeping still happens on read). */
  sweepIntervalMs?: number;
  /** Entries that must not be evicted to make room (A9: e.g. a client in use); default none. */
  keep?: (value: V, key: string) => boolean;
  /** Called for each live entry evicted to make room (not for expired or deleted ones). */
  onEvict?: (value: V, key: string) => void;
}

interface Entry<V> {
  value: V;
  /** Drop the entry after this instant (ms); `Infinity` keeps it until evicted. */
  retainUntil: number;
}

export class BoundedStore<V> {
  readonly #entries = new Map<string, Entry<V>>();
  readonly #capacity: number;
  readonly #now: () => number;
  readonly #keep: StoreOptions<V>["keep"];
  readonly #onEvict: StoreOptions<V>["onEvict"];
  readonly #timer: NodeJS.Timeout | undefined;

  constructor({ capacity, now, sweepIntervalMs = 30_000, keep, onEvict }: StoreOptions<V>) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.#capacity = capacity;
    this.#now = now;
    this.#keep = keep;
    this.#onEvict = onEvict;
    if (sweepIntervalMs > 0) {
      this.#timer = setInterval(() => this.sweep(), sweepIntervalMs);
      this.#timer.unref();
    }
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * Insert (or replace) `key`; it becomes the newest entry. Beyond the cap, expired entries go first,
   * then the oldest ones `keep` does not protect. Returns `false` (and stores nothing) when every
   * other entry is protected.
   */
  set(key: string, value: V, retainUntil = Infinity): boolean {
    this.#entries.delete(key);
    this.#entries.set(key, { value, retainUntil });
    if (this.#entries.size > this.#capacity) this.sweep();
    // A Map iterates in insertion order, so the first key is the oldest.
    for (const [oldest, entry] of this.#entries) {
      if (this.#entries.size <= this.#capacity) break;
      if (oldest === key || this.#keep?.(entry.value, oldest)) continue;
      this.#entries.delete(oldest);
      this.#onEvict?.(entry.value, oldest);
    }
    if (this.#entries.size <= this.#capacity) return true;
    this.#entries.delete(key);
    return false;
  }

  /** The live value for `key`; an entry past its retention time is dropped and reads as absent. */
  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.retainUntil <= this.#now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** Change how long `key` is kept, without changing its age for eviction. */
  retain(key: string, retainUntil: number): void {
    const entry = this.#entries.get(key);
    if (entry) entry.retainUntil = retainUntil;
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  /** The live entries, oldest first, with their retention time (for the state file, A12). */
  *entries(): Generator<[key: string, value: V, retainUntil: number]> {
    const now = this.#now();
    for (const [key, entry] of this.#entries) if (entry.retainUntil > now) yield [key, entry.value, entry.retainUntil];
  }

  /** Drop every entry past its retention time. */
  sweep(): void {
    const now = this.#now();
    for (const [key, entry] of this.#entries) if (entry.retainUntil <= now) this.#entries.delete(key);
  }

  /** Stop the sweep timer (the timer is unref'd, so this is only tidiness). */
  close(): void {
    if (this.#timer) clearInterval(this.#timer);
  }
}
