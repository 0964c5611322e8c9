import { test } from "node:test";
import assert from "node:assert/strict";
import { redact, createLogger } from "../../shared/log.ts";

test("redact keeps a short prefix only", () => {
  assert.equal(redact("L-R6XJabcdefghijklmnop"), "L-R6XJ…");
  assert.equal(redact("short"), "…");
  assert.equal(redact(undefined), "<none>");
  assert.equal(redact(""), "<none>");
});

test("redact shows a JWT by a prefix of its signature, so two tokens differ but neither is kept", () => {
  const jwt = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJkZW1vLXVzZXIifQ.c2lnbmF0dXJlLWJ5dGVz";
  assert.equal(redact(jwt), "eyJ….c2lnbm…");
  assert.ok(!redact(jwt).includes("eyJzdWIi"), "no claims leak");
});

test("createLogger prefixes every line with the process name", () => {
  const lines: string[] = [];
  const logger = createLogger("[as]", (line) => lines.push(line));
  logger.info("ready");
  logger.warn("careful");
  assert.deepEqual(lines, ["[as] ready\n", "[as] warn: careful\n"]);
});

test("createLogger shows a request's control characters escaped: no forged line, no ESC sequence reaches the terminal", () => {
  const lines: string[] = [];
  const logger = createLogger("[rs]", (line) => lines.push(line));
  logger.info("401 GET /mcp\n[rs] 200 forged line \x1b[2J\x1b]0;title\x07 \r✓ \u009b2J");
  assert.equal(lines.length, 1);
  assert.equal(lines[0], "[rs] 401 GET /mcp\\n[rs] 200 forged line \\x1b[2J\\x1b]0;title\\x07 \\r✓ \\x9b2J\n");
});
