/**
 * Request parameters, read strictly. RFC 6749 §3.1 / §3.2: "Request and response parameters MUST NOT be
 * included more than once", and "parameters sent without a value MUST be treated as if they were
 * omitted from the request".
 *
 * Express 5's query parser and `express.urlencoded` both turn a repeated name into an array, so the
 * query is re-read from the raw string with `URLSearchParams` (counting every occurrence), and a parsed
 * form is refused as soon as a value is anything but a string.
 */
import type { NextFunction, Request, Response } from "express";
import { InvalidRequest, InvalidScope } from "./errors.ts";

export interface Params {
  /** The value of a parameter sent once; `undefined` when absent or empty (RFC 6749 §3.1). */
  get(name: string): string | undefined;
  /** Names that occurred more than once (or, in a form, with a non-string value). */
  readonly duplicated: readonly string[];
}

function paramsFrom(entries: Iterable<[string, unknown]>): Params {
  const values = new Map<string, string>();
  const counts = new Map<string, number>();
  for (const [name, value] of entries) {
    counts.set(name, (counts.get(name) ?? 0) + (typeof value === "string" ? 1 : 2));
    if (typeof value === "string" && value !== "") values.set(name, value);
  }
  const duplicated = [...counts].filter(([, n]) => n > 1).map(([name]) => name);
  return {
    get: (name) => (counts.get(name) === 1 ? values.get(name) : undefined),
    duplicated,
  };
}

/** The query string exactly as sent (not Express's `req.query`, which folds repeats into arrays). */
export function queryParams(req: Request): Params {
  const url = req.originalUrl;
  const start = url.indexOf("?");
  return paramsFrom(new URLSearchParams(start === -1 ? "" : url.slice(start + 1)));
}

/**
 * A form body parsed by `express.urlencoded` (extended: false). Repeated names arrive as arrays; any
 * value that is not a string counts as "included more than once".
 */
export function formParams(body: unknown): Params {
  if (body === undefined || body === null || typeof body !== "object") return paramsFrom([]);
  return paramsFrom(Object.entries(body as Record<string, unknown>));
}

/** True when the request carries a body at all (RFC 9112 §6.3), whatever its content type. */
export function hasBody(req: Request): boolean {
  const length = req.headers["content-length"];
  return req.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
}

/** RFC 6749 §5.1 / RFC 7591 §3.2.1: token and registration responses (and their errors) must not be cached. */
export function noStore(_req: Request, res: Response, next: NextFunction): void {
  res.set({ "Cache-Control": "no-store", Pragma: "no-cache" });
  next();
}

/**
 * The form of a token or revocation request. RFC 6749 §3.2 / RFC 7009 §2.1: the body is
 * `application/x-www-form-urlencoded`; no parameter may appear twice.
 */
export function strictForm(req: Request): Params {
  if (hasBody(req) && !req.is("application/x-www-form-urlencoded")) {
    throw new InvalidRequest("content type must be application/x-www-form-urlencoded");
  }
  const params = formParams(req.body);
  if (params.duplicated.length > 0) {
    throw new InvalidRequest(`repeated or malformed parameter: ${params.duplicated.join(", ")} (RFC 6749 section 3.2)`);
  }
  return params;
}

/**
 * A10 / RFC 6749 §3.3: `scope = scope-token *( SP scope-token )`, `scope-token = 1*( %x21 / %x23-5B /
 * %x5D-7E )`. Exactly one space separates tokens: a TAB, NBSP, U+FEFF, U+2028, a control character, a
 * leading, trailing or doubled space (an empty token) is not a separator but an invalid scope.
 */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/** The distinct tokens of a `scope` parameter, or `InvalidScope` when it is not RFC 6749 §3.3 syntax. */
export function scopeParam(value: string): string[] {
  const tokens = value.split(" ");
  if (tokens.includes("")) {
    throw new InvalidScope("scope has an empty token: separate scopes with single spaces, none leading or trailing (RFC 6749 section 3.3)");
  }
  const bad = tokens.find((token) => !SCOPE_TOKEN.test(token));
  if (bad !== undefined) {
    throw new InvalidScope(`scope token ${bad.slice(0, 100)} has a character RFC 6749 section 3.3 does not allow; only a single space separates scopes`);
  }
  return [...new Set(tokens)];
}
