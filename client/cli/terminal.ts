/**
 * How the narration looks on a terminal (T9). On a TTY: colour, through Node's own `util.styleText`, and
 * lines wrapped at word boundaries to the terminal's width — at most 100 columns — with a hanging indent.
 * Anywhere else (a pipe, a file, CI, `--json`'s stderr, a transcript) the text is plain and every line is
 * exactly the line the story wrote.
 *
 * Colour is decided here, not by `styleText`: its stream check differs across Node 20, 22 and 24, and the
 * story's narration reaches the terminal through `pnpm demo`'s pipe, which only the demo can see is a TTY
 * (it tells the client with FORCE_COLOR). So `styleText` is always called with `validateStream: false`.
 */
import util from "node:util";
import { plainStyle, type Style } from "../story.ts";

type Format = Parameters<typeof util.styleText>[0];
// util.styleText is Node 20.12+ (package.json allows 20.11, which then prints plain text).
const styled = (format: Format) => (text: string) =>
  typeof util.styleText === "function" ? util.styleText(format, text, { validateStream: false }) : text;
const colourStyle: Style = {
  bold: styled("bold"),
  dim: styled("dim"),
  ok: styled("green"),
  fail: styled("red"),
  warn: styled("yellow"),
  broken: styled(["bold", "magenta"]),
};

type Env = Record<string, string | undefined>;

/**
 * Colour or not, as Node itself decides for its own output: `FORCE_COLOR` wins when set (`0` or `false`
 * turns colour off, anything else on); then a non-empty `NO_COLOR` turns it off (https://no-color.org);
 * then only a TTY that is not `TERM=dumb` gets colour.
 */
export function wantsColour(stream: { isTTY?: boolean }, env: Env = process.env): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined) return force !== "0" && force !== "false";
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  return stream.isTTY === true && env.TERM !== "dumb";
}

export function styleFor(stream: { isTTY?: boolean }, env: Env = process.env): Style {
  return wantsColour(stream, env) ? colourStyle : plainStyle;
}

/** Narration never gets wider than this, however wide the terminal: long lines are hard to read. */
export const MAX_COLUMNS = 100;

/** The width to wrap at on this stream: its columns (at most 100) on a TTY, undefined (no wrapping) elsewhere. */
export function wrapWidth(stream: { isTTY?: boolean; columns?: number }): number | undefined {
  if (!stream.isTTY || !stream.columns || stream.columns < 20) return undefined;
  return Math.min(stream.columns, MAX_COLUMNS);
}

/** Columns a text takes: its characters without the escape sequences of its colour. */
export function visibleWidth(text: string): number {
  return [...util.stripVTControlCharacters(text)].length;
}

/**
 * Where a wrapped line's continuation starts: after the line's own indent and, when the line opens with a
 * marker (`✓`, `RS`, `D3`, `[demo]`, `prediction:`), after that marker too — so the text hangs beside it.
 */
export function hangingIndent(line: string): number {
  const plain = util.stripVTControlCharacters(line);
  const indent = /^ */.exec(plain)![0].length;
  const first = plain.slice(indent).split(" ", 1)[0]!;
  const marker = /^(?:[✓✗⚠–]|\[[\w-]+\]|[A-Z][A-Z0-9]*|\d+\.|[\w-]+:)$/u.test(first) && [...first].length <= 12;
  return indent + (marker ? [...first].length + 1 : 2);
}

const NBSP = "\u00a0";

/**
 * One narration line as the lines a terminal `width` columns wide shows: broken at spaces only, each
 * continuation indented by `hangingIndent` (or `indent`, for a table's column). A word longer than a
 * whole line stays whole, on a line of its own. A line that fits comes back unchanged.
 */
export function wrapLine(line: string, width: number, indent = hangingIndent(line)): string[] {
  if (visibleWidth(line) <= width) return [line];
  indent = Math.min(indent, Math.floor(width / 2));
  const lead = /^ */.exec(line)![0];
  // What reads as one item stays in one piece (held together by a no-break space): a citation ("RFC 6749
  // §6", "MCP 2026-07-28"), a short quoted value (scope="files:read files:write"), a timing ("(12 ms)").
  const glue = !line.includes(NBSP);
  const text = line.slice(lead.length);
  const glued = !glue
    ? text
    : text
        .replace(/\b(RFC|MCP) (?=\d)/g, `$1${NBSP}`)
        .replace(/(\d) (?=§)/g, `$1${NBSP}`)
        .replace(/"[^"]{1,40}"/g, (quoted) => quoted.replaceAll(" ", NBSP))
        .replace(/\((\d+) ms\)/g, `($1${NBSP}ms)`);
  // Words with the spaces between them; a glued piece too long for a row comes apart again.
  const [first, ...rest] = glued
    .split(/( +)/)
    .flatMap((piece) => (piece.includes(NBSP) && visibleWidth(piece) > width - indent ? piece.split(/(\u00a0)/).map((p) => (p === NBSP ? " " : p)) : [piece]));
  const lines: string[] = [];
  let current = lead + first!;
  let used = visibleWidth(current);
  for (let i = 0; i < rest.length; i += 2) {
    const [space, word] = [rest[i]!, rest[i + 1]!];
    const size = visibleWidth(word);
    if (used + space.length + size <= width) {
      current += space + word;
      used += space.length + size;
      continue;
    }
    lines.push(current);
    current = " ".repeat(indent) + word;
    used = indent + size;
  }
  lines.push(current);
  return glue ? lines.map((l) => l.replaceAll(NBSP, " ")) : lines;
}

/**
 * A writer of whole lines to `stream`: wrapped to its width on a TTY (read at each line, so a resize
 * counts), as given elsewhere. `indent` overrides the hanging indent.
 */
export function lineWriter(stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number }): (line: string, indent?: number) => void {
  return (line, indent) => {
    const width = wrapWidth(stream);
    stream.write(`${width === undefined ? line : line.split("\n").flatMap((part) => wrapLine(part, width, indent)).join("\n")}\n`);
  };
}
