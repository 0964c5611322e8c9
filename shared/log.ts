/**
 * Logging for the three processes. One line per event, to stderr, never a whole secret:
 * anything that is a token, code or verifier goes through `redact` first.
 */

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

export function createLogger(name: string, write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const emit = (level: string, message: string) => write(`${name}${level} ${message}\n`);
  return {
    info: (message) => emit("", message),
    warn: (message) => emit(" warn:", message),
  };
}

/** A logger that drops everything (the default inside tests that build apps in-process). */
export const silentLogger: Logger = { info() {}, warn() {} };
