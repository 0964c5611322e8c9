/**
 * AS attack catalog — authorization code and PKCE (B1). The entries are data in `catalog/as-authorization-code.ts`;
 * each becomes its own test against a real AS on a free loopback port.
 */
import { AUTHORIZATION_CODE_ATTACKS } from "./catalog/as-catalog.ts";
import { runCatalog } from "./run-as-catalog.ts";

runCatalog("authorization code and PKCE", AUTHORIZATION_CODE_ATTACKS);
