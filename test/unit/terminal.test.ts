/**
 * T9: narration on a terminal — wrapped at word boundaries to its width (at most 100 columns) with a
 * hanging indent, coloured unless NO_COLOR / FORCE_COLOR say otherwise; anywhere else, plain and unchanged.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { stripVTControlCharacters } from "node:util";
import fc from "fast-check";
import { hangingIndent, lineWriter, MAX_COLUMNS, styleFor, visibleWidth, wantsColour, wrapLine, wrapWidth } from "../../client/cli/terminal.ts";

const D1 =
  "D1 connect: 401 → discovery → DCR → authorize → token — RFC 9728 §5.1: the 401 points to the resource's metadata, which names the AS (RFC 8414); DCR per RFC 7591; PKCE S256 (RFC 7636); resource per RFC 8707; iss per RFC 9207";
const words = (text: string) => stripVTControlCharacters(text).split(/\s+/).filter(Boolean);

test("a line that fits comes back unchanged, spaces and all", () => {
  for (const line of ["", "   ✓ list-files → 200 (8 ms)", "replace-scope     [client]  breaks C4.1"]) assert.deepEqual(wrapLine(line, 80), [line]);
});

test("a long line breaks at spaces only: every row fits, no word is cut, the words are the same in the same order", () => {
  const rows = wrapLine(D1, 80);
  assert.ok(rows.length > 1);
  for (const row of rows) assert.ok(visibleWidth(row) <= 80, `${visibleWidth(row)} columns: ${row}`);
  assert.deepEqual(words(rows.join("\n")), words(D1));
});

test("the continuation hangs beside the line's marker: a step id, ✓, an exchange's side, [demo], a label", () => {
  assert.equal(hangingIndent(D1), 3);
  assert.equal(hangingIndent("   ✓ 401 scope=…"), 5);
  assert.equal(hangingIndent("     AS GET /authorize scope=…"), 8);
  assert.equal(hangingIndent("[demo] starting the AS on …"), 7);
  assert.equal(hangingIndent("   prediction: the client asks …"), 15);
  assert.equal(hangingIndent("Scope step-up story against …"), 2, "an ordinary first word is no marker");
  const rows = wrapLine(`     AS POST /register redirect_uris=["http://127.0.0.1:8976/callback"] → 201 client_id=0Tr-m60phX6iZv2TJv-8z`, 60);
  assert.ok(rows.slice(1).every((row) => row.startsWith(" ".repeat(8)) && row[8] !== " "), rows.join("\n"));
});

test("a citation, a quoted scope and a timing stay in one piece (when a row can hold them)", () => {
  const line = `   ✓ 403 scope="files:write" → authorize scope="files:read files:write" → retry 200, per RFC 6749 §6 and MCP 2026-07-28 (12 ms)`;
  for (let width = 40; width <= line.length; width++) {
    const text = wrapLine(line, width).map((row) => row.trim()).join("\n");
    for (const piece of ['scope="files:read files:write"', "RFC 6749 §6", "MCP 2026-07-28", "(12 ms)"]) {
      assert.ok(text.includes(piece), `width ${width} split ${piece}:\n${text}`);
    }
  }
});

test("a word longer than the line stays whole, on a row of its own", () => {
  const url = `http://127.0.0.1:8976/${"x".repeat(60)}`;
  const rows = wrapLine(`   ✓ redirected to ${url} and refused`, 40);
  assert.ok(rows.includes(`     ${url}`), rows.join("\n"));
});

test("colour escapes take no columns: a coloured line wraps where the plain one does", () => {
  const style = styleFor({ isTTY: true }, { FORCE_COLOR: "1" });
  const coloured = `${style.bold("D3 write-file → step-up")} — ${style.warn("403")} ${D1.slice(3)}`;
  const plain = stripVTControlCharacters(coloured);
  assert.notEqual(coloured, plain, "FORCE_COLOR=1 colours");
  assert.deepEqual(wrapLine(coloured, 72).map((row) => stripVTControlCharacters(row)), wrapLine(plain, 72));
});

test("property: for any words and width, rows fit unless one word is too long, and no word is lost or split", () => {
  const word = fc.stringMatching(/^[a-z→✓:="§.-]{1,14}$/);
  fc.assert(
    fc.property(fc.array(word, { minLength: 1, maxLength: 40 }), fc.integer({ min: 20, max: 120 }), fc.nat(6), (list, width, indent) => {
      const line = " ".repeat(indent) + list.join(" ");
      const rows = wrapLine(line, width);
      for (const row of rows) assert.ok(visibleWidth(row) <= width || !row.trim().includes(" "), row);
      assert.deepEqual(words(rows.join(" ")), words(line));
    }),
  );
});

test("wrapping happens on a terminal only, at its width, never wider than 100 columns", () => {
  assert.equal(wrapWidth({ isTTY: false, columns: 80 }), undefined, "a pipe is never wrapped");
  assert.equal(wrapWidth({}), undefined);
  assert.equal(wrapWidth({ isTTY: true, columns: 80 }), 80);
  assert.equal(wrapWidth({ isTTY: true, columns: 240 }), MAX_COLUMNS);
  assert.equal(MAX_COLUMNS, 100);
});

test("lineWriter: plain and unchanged into a pipe, wrapped on a terminal", () => {
  const sink = (isTTY: boolean) => {
    const chunks: string[] = [];
    const stream = Object.assign(new Writable({ write: (chunk, _enc, done) => (chunks.push(String(chunk)), done()) }), { isTTY, columns: 80 });
    return { stream, text: () => chunks.join("") };
  };
  const piped = sink(false);
  lineWriter(piped.stream)(D1);
  assert.equal(piped.text(), `${D1}\n`);
  const tty = sink(true);
  lineWriter(tty.stream)(D1);
  assert.deepEqual(tty.text().trimEnd().split("\n"), wrapLine(D1, 80));
});

test("colour: FORCE_COLOR wins (0 or false turns it off), then NO_COLOR (https://no-color.org), then a TTY that is not dumb", () => {
  const tty = { isTTY: true };
  const pipe = { isTTY: false };
  assert.equal(wantsColour(tty, {}), true);
  assert.equal(wantsColour(pipe, {}), false, "piped output is plain");
  assert.equal(wantsColour(tty, { NO_COLOR: "1" }), false);
  assert.equal(wantsColour(tty, { NO_COLOR: "" }), true, "an empty NO_COLOR is not set");
  assert.equal(wantsColour(tty, { TERM: "dumb" }), false);
  assert.equal(wantsColour(pipe, { FORCE_COLOR: "1" }), true, "pnpm demo tells its piped client to colour");
  assert.equal(wantsColour(pipe, { FORCE_COLOR: "" }), true);
  assert.equal(wantsColour(tty, { FORCE_COLOR: "0" }), false);
  assert.equal(wantsColour(tty, { FORCE_COLOR: "false", NO_COLOR: "" }), false);
  assert.equal(wantsColour(tty, { FORCE_COLOR: "1", NO_COLOR: "1" }), true, "as in Node: FORCE_COLOR overrides NO_COLOR");
  const plain = styleFor(pipe, {});
  for (const paint of [plain.bold, plain.dim, plain.ok, plain.fail, plain.warn, plain.broken]) assert.equal(paint("✓ text"), "✓ text");
  const colour = styleFor(tty, {});
  assert.equal(colour.ok("✓"), "\x1b[32m✓\x1b[39m", "green");
  assert.equal(colour.fail("✗"), "\x1b[31m✗\x1b[39m", "red");
  assert.equal(colour.warn("403"), "\x1b[33m403\x1b[39m", "yellow");
  assert.equal(colour.bold("D3"), "\x1b[1mD3\x1b[22m");
});
