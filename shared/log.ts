/**
 * Logging for the three processes. One line per event, to stderr, never a whole secret:
 * anything that is a token, code or verifier goes through `redact` first. A message may hold text a
 * request chose (a path, a client's name, a token's claim): every control character in it — a newline
 * that would forge a second line, an ESC sequence that would steer the terminal — is shown escaped (B4).
 */
import { terminalText } from "./terminal-text.ts";

/**
 * Keep a short prefix so a reader can correlate lines, never enough to replay the value. Every JWT
 * starts `eyJhbG…` (its header), so for a JWT the prefix is taken from the signature instead: two
 * tokens stay distinguishable in a log or transcript and neither can be replayed.
 */
export function redact(secret: string | undefined | null, keep = 6): string {
  if (!secret) return "<none>";
  const parts = secret.split(".");
  if (parts.length === 3 && parts[0]!.startsWith("eyJ")) return `eyJ….${redact(parts[2], keep)}`;
  return secret.length <= keep ? "…" : `${secret.slice(0, keep)}…`;
}

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
}

/**
 * The optional stamp at the start of a line (`LOG_TIMESTAMPS=1`): `@<ms since the epoch, 3 decimals> `.
 * `performance.timeOrigin + performance.now()` is a high-resolution wall clock, so stamps written by
 * different processes on one machine compare; `pnpm demo --verbose` orders the lines by them.
 */
const STAMP = /^@(\d+\.\d{3}) /;

export function stamp(ms = performance.timeOrigin + performance.now()): string {
  return `@${ms.toFixed(3)} `;
}

/** The stamp's time and the line without it; `time` is undefined for an unstamped line. */
export function parseStamp(line: string): { time: number | undefined; text: string } {
  const match = STAMP.exec(line);
  return match ? { time: Number(match[1]), text: line.slice(match[0].length) } : { time: undefined, text: line };
}

export function createLogger(
  name: string,
  write: (line: string) => void = (l) => process.stderr.write(l),
  { timestamps = false }: { timestamps?: boolean } = {},
): Logger {
  const emit = (level: string, message: string) => write(`${timestamps ? stamp() : ""}${name}${level} ${terminalText(message)}\n`);
  return {
    info: (message) => emit("", message),
    warn: (message) => emit(" warn:", message),
  };
}

/** A logger that drops everything (the default inside tests that build apps in-process). */
export const silentLogger: Logger = { info() {}, warn() {} };
