/**
 * The consent pages waiting for an answer (A11), bounded (A9) so that one client's flood costs only that
 * client: each client has its own share of at most `perClient` pending requests — a new page evicts the
 * oldest of *its own* — and at most `maxClients` clients hold pending pages at once. When every one of
 * those still has a live page, a new client's page is refused rather than anyone's evicted.
 */
import { BoundedStore } from "../store.ts";

export interface PendingOptions {
  perClient: number;
  maxClients: number;
  /** How long a page stays answerable. */
  ttlMs: number;
  now: () => number;
}

export class PendingConsents<V> {
  readonly #shares: BoundedStore<BoundedStore<V>>;
  readonly #options: PendingOptions;

  constructor(options: PendingOptions) {
    this.#options = options;
    this.#shares = new BoundedStore<BoundedStore<V>>({
      capacity: options.maxClients,
      now: options.now,
      sweepIntervalMs: 0,
      // A share with a live page is never evicted to make room for another client's.
      keep: (share) => {
        share.sweep();
        return share.size > 0;
      },
    });
  }

  /** Keep `value` under `request_id` in `client_id`'s share; false when no share can be had (refuse the page). */
  add(client_id: string, request_id: string, value: V): boolean {
    const { perClient, ttlMs, now } = this.#options;
    let share = this.#shares.get(client_id);
    if (!share) {
      share = new BoundedStore<V>({ capacity: perClient, now, sweepIntervalMs: 0 });
      if (!this.#shares.set(client_id, share)) return false;
    }
    share.set(request_id, value, now() + ttlMs); // full: the client's own oldest page goes
    return true;
  }

  /** The live pending request `request_id` of `client_id`, removed (one-time), or undefined. */
  take(client_id: string, request_id: string): V | undefined {
    const share = this.#shares.get(client_id);
    const value = share?.get(request_id);
    if (value !== undefined) share!.delete(request_id);
    return value;
  }
}
