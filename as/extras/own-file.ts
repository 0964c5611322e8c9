/**
 * A12: the state directory and its file are trusted only when they are this AS's own. Anything another
 * user could have put there or changed — a planted `as-state-3001.json` in a shared `/tmp` directory
 * must never become the AS's signing key — is refused before a byte of it is read:
 *
 * - owned by another user, or writable by group or others (mode `g+w` / `o+w`);
 * - a symbolic link, at either level: the directory is examined with `lstat`, the file opened with
 *   `O_NOFOLLOW`;
 * - not a directory / not a regular file. The file is opened with `O_NONBLOCK`, so a FIFO planted under
 *   its name cannot hang start-up, and judged by `fstat` of the descriptor that is then read, so what
 *   was checked is what is read.
 *
 * Each refusal is a reason for one log line, never an exception.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readFileSync, type Stats } from "node:fs";

export type Refusal = { ok: false; missing: boolean; reason: string };

const refused = (reason: string): Refusal => ({ ok: false, missing: false, reason });
const errorCode = (error: unknown) => (error as NodeJS.ErrnoException).code ?? "error";

/** Why `stats` is not ours: another owner, or someone else may write it. */
function notOurs(stats: Stats, uid: number | undefined): string | undefined {
  // `uid` is undefined where the platform has no user ids (Windows): ownership cannot be judged there.
  if (uid !== undefined && stats.uid !== uid) return `it is owned by uid ${stats.uid}, not by this AS's user (uid ${uid})`;
  if ((stats.mode & 0o022) !== 0) return `group or others can write it (mode ${(stats.mode & 0o777).toString(8).padStart(3, "0")})`;
  return undefined;
}

/** Is `dir` a real directory (not a link to one), owned by `uid`, that nobody else can write? */
export function checkOwnDirectory(dir: string, uid: number | undefined): { ok: true } | Refusal {
  let stats: Stats;
  try {
    stats = lstatSync(dir);
  } catch (error) {
    const code = errorCode(error);
    return code === "ENOENT" ? { ok: false, missing: true, reason: "it does not exist" } : refused(`it cannot be examined (${code})`);
  }
  if (stats.isSymbolicLink()) return refused("it is a symbolic link (not followed)");
  if (!stats.isDirectory()) return refused("it is not a directory");
  const why = notOurs(stats, uid);
  return why ? refused(why) : { ok: true };
}

/** The text of `file` if it is a regular file of at most `maxBytes`, owned by `uid`, that nobody else can write. */
export function readOwnFile(file: string, uid: number | undefined, maxBytes: number): { ok: true; text: string } | Refusal {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = errorCode(error);
    if (code === "ENOENT") return { ok: false, missing: true, reason: "no state file yet" };
    // O_NOFOLLOW on a symbolic link: ELOOP (Linux, macOS), EMLINK (FreeBSD).
    if (code === "ELOOP" || code === "EMLINK") return refused("it is a symbolic link (not followed)");
    return refused(`it cannot be read (${code})`);
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) return refused("it is not a regular file");
    const why = notOurs(stats, uid);
    if (why) return refused(why);
    if (stats.size > maxBytes) return refused(`it is ${stats.size} bytes, more than the ${maxBytes} allowed`);
    return { ok: true, text: readFileSync(fd, "utf8") };
  } catch (error) {
    return refused(`it cannot be read (${errorCode(error)})`);
  } finally {
    closeSync(fd);
  }
}
