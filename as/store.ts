/**
 * Bounded in-memory stores (A9). A demo AS keeps everything in memory, so every map has a cap: when
 * full, the oldest entry is evicted (never a 5xx, never unbounded growth), and entries past their
 * retention time are swept on an unref'd timer (it never keeps a process alive).
 */

export interface StoreOptions {
  /** Maximum number of entries; inserting one more evicts the oldest. */
  capacity: number;
  /** The clock, in milliseconds (injectable for tests). */
  now: () => number;
  /** How often to sweep expired entries; 0 disables the timer (sweeping still happens on read). */
  sweepIntervalMs?: number;
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
  readonly #timer: NodeJS.Timeout | undefined;

  constructor({ capacity, now, sweepIntervalMs = 30_000 }: StoreOptions) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.#capacity = capacity;
    this.#now = now;
    if (sweepIntervalMs > 0) {
      this.#timer = setInterval(() => this.sweep(), sweepIntervalMs);
      this.#timer.unref();
    }
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Insert (or replace) `key`; it becomes the newest entry. Evicts the oldest entries beyond the cap. */
  set(key: string, value: V, retainUntil = Infinity): void {
    this.#entries.delete(key);
    this.#entries.set(key, { value, retainUntil });
    // A Map iterates in insertion order, so the first key is the oldest.
    for (const oldest of this.#entries.keys()) {
      if (this.#entries.size <= this.#capacity) break;
      this.#entries.delete(oldest);
    }
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
