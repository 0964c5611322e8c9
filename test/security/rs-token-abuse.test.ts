/**
 * RS attack catalog — token abuse at `/mcp` (R3, R4, R6; B1), one test per catalog entry
 * (catalog/rs-tokens.ts). Each entry is checked by catalog/rs-harness.ts: exact status, the strictly
 * parsed `WWW-Authenticate` (each parameter once), the JSON-RPC error body, no echoed credential, and
 * no side effect on the victim's session or the file store.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { TOKEN_ATTACKS } from "./catalog/rs-tokens.ts";
import { runAttack, startCatalogServer, type CatalogServer } from "./catalog/rs-harness.ts";
import { byCategory } from "./catalog/rs-types.ts";

let server: CatalogServer;
before(async () => {
  server = await startCatalogServer();
});
after(() => server.close());

test("the token catalog: ids are unique and every entry cites its rule", (t) => {
  const ids = TOKEN_ATTACKS.map((attack) => attack.id);
  assert.equal(new Set(ids).size, ids.length);
  for (const attack of TOKEN_ATTACKS) assert.ok(attack.cite.length > 0 && attack.title.length > 0, attack.id);
  // Entries the RS must accept (their write lands) are controls: they prove the checks are not simply closed.
  const controls = TOKEN_ATTACKS.filter((attack) => attack.expect.effect === "marker").length;
  for (const [category, attacks] of byCategory(TOKEN_ATTACKS)) t.diagnostic(`${category}: ${attacks.length} entries`);
  t.diagnostic(`catalog: ${TOKEN_ATTACKS.length - controls} RS token attacks (+ ${controls} controls) in ${byCategory(TOKEN_ATTACKS).size} categories`);
});

for (const [category, attacks] of byCategory(TOKEN_ATTACKS)) {
  describe(category, () => {
    for (const attack of attacks) {
      test(`${attack.id}: ${attack.title} → ${attack.expect.status}`, () => runAttack(server, attack));
    }
  });
}
