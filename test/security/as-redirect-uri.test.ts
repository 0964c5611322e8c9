/**
 * AS attack catalog — redirect URIs (A3, A4). The entries are data in `catalog/as-redirect-uri.ts`;
 * each becomes its own test against a real AS on a free loopback port.
 */
import { REDIRECT_URI_ATTACKS } from "./catalog/as-catalog.ts";
import { runCatalog } from "./run-as-catalog.ts";

runCatalog("redirect URIs", REDIRECT_URI_ATTACKS);
