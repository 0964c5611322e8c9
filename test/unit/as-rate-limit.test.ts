import { test } from "node:test";
import assert from "node:assert/strict";
import { clientHost } from "../../as/rate-limit.ts";

test("A9: every loopback peer address is the one host `loopback` for the DCR limit", () => {
  for (const address of ["127.0.0.1", "127.0.0.2", "127.1.2.3", "127.255.255.254", "::1", "::ffff:127.0.0.1", "::ffff:127.9.8.7", "::FFFF:127.0.0.1"]) {
    assert.equal(clientHost(address), "loopback", address);
  }
});

test("A9: other addresses keep a budget of their own", () => {
  for (const address of ["10.0.0.1", "128.0.0.1", "::2", "::ffff:10.0.0.1", "1127.0.0.1", "fe80::1"]) assert.equal(clientHost(address), address);
  assert.equal(clientHost(undefined), "unknown");
});
