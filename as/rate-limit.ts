/**
 * Rate limit for Dynamic Client Registration (A9): `AS_DCR_RATE_LIMIT` registrations per minute per
 * client address, as a token bucket — a burst of up to the limit, then one more every 60/limit seconds.
 * Every request to `/register` counts, valid or not: a flood of bad registrations is still a flood.
 *
 * The address is the TCP peer (`req.socket.remoteAddress`); `X-Forwarded-For` is never trusted.
 */
import type { RequestHandler } from "express";
import { TooManyRequests } from "./errors.ts";
import { BoundedStore } from "./store.ts";

interface Bucket {
  tokens: number;
  updatedAt: number;
}

export interface RateLimitOptions {
  /** Requests allowed per minute (and the burst size). */
  perMinute: number;
  now: () => number;
  /** How many addresses are tracked at once (oldest forgotten first). */
  maxAddresses?: number;
}

export function rateLimitPerAddress({ perMinute, now, maxAddresses = 10_000 }: RateLimitOptions): RequestHandler {
  const refillPerMs = perMinute / 60_000;
  // A bucket left alone for a minute is full again, so it can be forgotten.
  const buckets = new BoundedStore<Bucket>({ capacity: maxAddresses, now });

  return (req, _res, next) => {
    const address = req.socket.remoteAddress ?? "unknown";
    const t = now();
    const previous = buckets.get(address);
    const tokens = previous ? Math.min(perMinute, previous.tokens + (t - previous.updatedAt) * refillPerMs) : perMinute;
    if (tokens < 1) {
      // RFC 6585 §4 + RFC 9110 §10.2.3: say when one request will be allowed again, in whole seconds.
      const retryAfter = Math.max(1, Math.ceil((1 - tokens) / refillPerMs / 1000));
      buckets.set(address, { tokens, updatedAt: t }, t + 60_000);
      next(new TooManyRequests(retryAfter));
      return;
    }
    buckets.set(address, { tokens: tokens - 1, updatedAt: t }, t + 60_000);
    next();
  };
}
