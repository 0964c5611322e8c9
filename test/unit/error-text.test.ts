import { test } from "node:test";
import assert from "node:assert/strict";
import { restrictedText } from "../../shared/error-text.ts";

test("restrictedText keeps RFC 6749/6750's allowed characters and replaces the rest", () => {
  assert.equal(restrictedText("write-file requires files:write"), "write-file requires files:write");
  assert.equal(restrictedText('a "quoted" \\ value'), "a ?quoted? ? value");
  assert.equal(restrictedText("line\r\nbreak\ttab é"), "line??break?tab ?");
  assert.equal(restrictedText("!#[]~"), "!#[]~");
});
