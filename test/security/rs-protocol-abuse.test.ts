/**
 * RS attack catalog — protocol abuse at `/mcp` (R5, R6, R8; B1), one test per catalog entry
 * (catalog/rs-protocol.ts): bodies, content types, JSON-RPC shapes, batches, unknown tools and
 * methods, odd params and session ids, all sent with the victim's own valid token. Each entry is
 * checked by catalog/rs-harness.ts: exact status, the strictly parsed `WWW-Authenticate` (each
 * parameter once, or none), the JSON-RPC body, no echoed credential, and no side effect on the
 * victim's session or the file store.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { PROTOCOL_ATTACKS } from "./catalog/rs-protocol.ts";
import { runAttack, startCatalogServer, type CatalogServer } from "./catalog/rs-harness.ts";
import { byCategory } from "./catalog/rs-types.ts";

let server: CatalogServer;
before(async () => {
  server = await startCatalogServer();
});
after(() => server.close());

test("the protocol catalog: ids are unique and every entry cites its rule", (t) => {
  const ids = PROTOCOL_ATTACKS.map((attack) => attack.id);
  assert.equal(new Set(ids).size, ids.length);
  for (const attack of PROTOCOL_ATTACKS) assert.ok(attack.cite.length > 0 && attack.title.length > 0, attack.id);
  // Entries the RS must accept (their write lands) are controls: they prove the checks are not simply closed.
  const controls = PROTOCOL_ATTACKS.filter((attack) => attack.expect.effect === "marker").length;
  for (const [category, attacks] of byCategory(PROTOCOL_ATTACKS)) t.diagnostic(`${category}: ${attacks.length} entries`);
  t.diagnostic(`catalog: ${PROTOCOL_ATTACKS.length - controls} RS protocol attacks (+ ${controls} controls) in ${byCategory(PROTOCOL_ATTACKS).size} categories`);
});

for (const [category, attacks] of byCategory(PROTOCOL_ATTACKS)) {
  describe(category, () => {
    for (const attack of attacks) {
      test(`${attack.id}: ${attack.title} → ${attack.expect.status}`, () => runAttack(server, attack));
    }
  });
}
