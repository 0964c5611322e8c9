/**
 * B1 — every answer of both servers, JSON errors as much as HTML pages, says what it is and nothing
 * else: `X-Content-Type-Options: nosniff` (WHATWG Fetch, "X-Content-Type-Options" header) stops a
 * browser from reading a JSON error that echoes input as a script or a stylesheet.
 */
import type { NextFunction, Request, Response } from "express";

export function noSniff(_req: Request, res: Response, next: NextFunction): void {
  res.setHeader("X-Content-Type-Options", "nosniff");
  next();
}
