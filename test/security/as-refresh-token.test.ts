/**
 * AS attack catalog — refresh tokens (A6). The entries are data in `catalog/as-refresh-token.ts`;
 * each becomes its own test against a real AS on a free loopback port.
 */
import { REFRESH_TOKEN_ATTACKS } from "./catalog/as-catalog.ts";
import { runCatalog } from "./run-as-catalog.ts";

runCatalog("refresh tokens", REFRESH_TOKEN_ATTACKS);
