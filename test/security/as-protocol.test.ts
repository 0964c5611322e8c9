/**
 * AS attack catalog — protocol (B1). The entries are data in `catalog/as-protocol.ts`;
 * each becomes its own test against a real AS on a free loopback port.
 */
import { PROTOCOL_ATTACKS } from "./catalog/as-catalog.ts";
import { runCatalog } from "./run-as-catalog.ts";

runCatalog("protocol", PROTOCOL_ATTACKS);
