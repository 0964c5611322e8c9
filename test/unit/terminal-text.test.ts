/**
 * B4: text from the network reaches a terminal only with its control characters shown escaped
 * (shared/terminal-text.ts).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { terminalText } from "../../shared/terminal-text.ts";

test("terminalText shows every C0 and C1 control, DEL, ESC sequences and lone CRs escaped", () => {
  assert.equal(terminalText("clear\x1b[2J\x1b[H done"), "clear\\x1b[2J\\x1b[H done");
  assert.equal(terminalText("\x1b]52;c;cHduZWQ=\x07"), "\\x1b]52;c;cHduZWQ=\\x07", "OSC 52 (clipboard) is inert");
  assert.equal(terminalText("FAIL\r✓ PASS"), "FAIL\\r✓ PASS", "a lone CR cannot overwrite the line");
  assert.equal(terminalText("a\nb\tc\r\nd"), "a\\nb\\tc\\r\\nd", "one line: line breaks shown too");
  assert.equal(terminalText("\x00\x08\x7f\u0085\u009b31m"), "\\x00\\x08\\x7f\\x85\\x9b31m", "NUL, BS, DEL, NEL, the one-character CSI");
  for (let code = 0; code < 0x20; code++) {
    assert.doesNotMatch(terminalText(String.fromCharCode(code)), /[\x00-\x1f]/, `U+${code.toString(16)} is escaped`);
  }
});

test("terminalText shows bidi controls and line separators escaped, and leaves other text alone", () => {
  assert.equal(terminalText("file\u202Etxt.exe"), "file\\u202etxt.exe", "RLO would show the name reversed");
  assert.equal(terminalText("\u2066x\u2069 \u200e\u200f\u061c \u2028\u2029"), "\\u2066x\\u2069 \\u200e\\u200f\\u061c \\u2028\\u2029");
  const ordinary = `listed 3 files — read by L-R6XJ… [files:read] ✓ "quoted" \\back 日本語 ${"\u00e9"}`;
  assert.equal(terminalText(ordinary), ordinary);
});

test("terminalText with lines keeps line breaks and tabs, never a lone CR", () => {
  assert.equal(terminalText("one\ntwo\r\nthree\tcol", { lines: true }), "one\ntwo\nthree\tcol");
  assert.equal(terminalText("ok\rFAKE\x1b[1A", { lines: true }), "ok\\rFAKE\\x1b[1A");
});
