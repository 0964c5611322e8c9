/**
 * Rate limit for Dynamic Client Registration (A9): `AS_DCR_RATE_LIMIT` registrations per minute per
 * client host, as a token bucket — a burst of up to the limit, then one more every 60/limit seconds.
 * (`tokenBuckets` is the bucket on its own, keyed by anything: the consent page limits pages per client.)
 * Every request to `/register` counts, valid or not: a flood of bad registrations is still a flood.
 *
 * The host is the TCP peer (`req.socket.remoteAddress`); `X-Forwarded-For` is never trusted. Every
 * loopback address is the same host: any local process can pick its source address anywhere in
 * 127.0.0.0/8 (or ::1), so a limit per loopback address would be no limit at all.
 */
import type { RequestHandler } from "express";
import { TooManyRequests } from "./errors.ts";
import { BoundedStore } from "./store.ts";

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/** RFC 1122 §3.2.1.3 / RFC 4291 §2.5.3 and §2.5.5.2: 127.0.0.0/8, ::1 and ::ffff:127.x are this machine. */
const LOOPBACK = /^(?:127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3})$/i;

/** The host a peer address counts as for the limit: `loopback` for every loopback address. */
export function clientHost(address: string | undefined): string {
  if (address === undefined) return "unknown";
  return LOOPBACK.test(address) ? "loopback" : address;
}

export interface RateLimitOptions {
  /** Requests allowed per minute (and the burst size). */
  perMinute: number;
  now: () => number;
  /** How many keys are tracked at once (oldest forgotten first). */
  maxKeys?: number;
}

/**
 * A token bucket per key: `take(key)` spends one request of `key`'s budget and returns `undefined`, or,
 * with the budget spent, the whole seconds until one request is allowed again (RFC 9110 §10.2.3).
 */
export function tokenBuckets({ perMinute, now, maxKeys = 10_000 }: RateLimitOptions): (key: string) => number | undefined {
  const refillPerMs = perMinute / 60_000;
  // A bucket left alone for a minute is full again, so it can be forgotten.
  const buckets = new BoundedStore<Bucket>({ capacity: maxKeys, now });
  return (key) => {
    const t = now();
    const previous = buckets.get(key);
    const tokens = previous ? Math.min(perMinute, previous.tokens + (t - previous.updatedAt) * refillPerMs) : perMinute;
    if (tokens < 1) {
      buckets.set(key, { tokens, updatedAt: t }, t + 60_000);
      return Math.max(1, Math.ceil((1 - tokens) / refillPerMs / 1000));
    }
    buckets.set(key, { tokens: tokens - 1, updatedAt: t }, t + 60_000);
    return undefined;
  };
}

export function rateLimitPerAddress(options: RateLimitOptions): RequestHandler {
  const take = tokenBuckets(options);
  return (req, _res, next) => {
    const retryAfter = take(clientHost(req.socket.remoteAddress));
    // RFC 6585 §4 + RFC 9110 §10.2.3: say when one request will be allowed again, in whole seconds.
    next(retryAfter === undefined ? undefined : new TooManyRequests(retryAfter));
  };
}
