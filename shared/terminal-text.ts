/**
 * Text that came from the network, made safe to print on a terminal. A server (or anything on the
 * wire) chooses its `error_description`, its JSON-RPC error messages and its tool results; printed raw,
 * an ESC sequence in them could clear the screen (`ESC[2J`), move the cursor over earlier lines,
 * retitle the window or write the clipboard (OSC 52), and a lone CR could overwrite the start of a
 * line — a forged "✓" over a failure. Such characters are shown escaped instead (ECMA-48 §5: C0 and C1
 * control functions; Unicode UAX #9 §2: the bidirectional formatting characters, which reorder what
 * is shown).
 *
 * Escaped: every C0 control (U+0000–U+001F, ESC included), DEL, every C1 control (U+0080–U+009F: CSI
 * and OSC have one-character forms there), the line and paragraph separators (U+2028, U+2029) and the
 * bidi controls (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069). With `lines`, line breaks stay:
 * `\n` and CRLF (as `\n`), and TAB; a CR that ends no line is still escaped.
 */

const UNSAFE = /\r\n|[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

function escaped(c: string): string {
  const named = NAMED[c];
  if (named) return named;
  const code = c.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
}

/** `text` with every character that could steer a terminal shown escaped (`\x1b`, `\r`, `\u202e`). */
export function terminalText(text: string, { lines = false }: { lines?: boolean } = {}): string {
  return text.replace(UNSAFE, (match) => {
    if (match === "\r\n") return lines ? "\n" : "\\r\\n";
    if (lines && (match === "\n" || match === "\t")) return match;
    return escaped(match);
  });
}
