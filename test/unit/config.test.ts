import { test } from "node:test";
import assert from "node:assert/strict";
import { loadConfig, loadClientConfig, loadDemoTimeoutMs, ConfigError } from "../../shared/config.ts";

test("defaults derive every URL from the two ports on 127.0.0.1", () => {
  const config = loadConfig({});
  assert.equal(config.issuer, "http://127.0.0.1:3001");
  assert.equal(config.resource, "http://127.0.0.1:3000/mcp");
  assert.equal(config.resourceMetadataUrl, "http://127.0.0.1:3000/.well-known/oauth-protected-resource/mcp");
  assert.deepEqual(config.grantableScopes, ["files:read", "files:write"]);
  assert.equal(config.accessTokenTtl, 300);
  assert.equal(config.dcrRateLimit, 60);
});

test("ports and settings come from the environment", () => {
  const config = loadConfig({ AS_PORT: "4001", RS_PORT: "4000", AS_GRANTABLE_SCOPES: " files:read  files:admin " });
  assert.equal(config.issuer, "http://127.0.0.1:4001");
  assert.equal(config.resource, "http://127.0.0.1:4000/mcp");
  assert.deepEqual(config.grantableScopes, ["files:read", "files:admin"]);
});

test("a bind address other than 127.0.0.1 is refused with a clear message", () => {
  assert.throws(() => loadConfig({ HOST: "0.0.0.0" }), (e: unknown) => e instanceof ConfigError && /127\.0\.0\.1 only/.test(e.message));
  assert.throws(() => loadConfig({ RS_HOST: "::" }), ConfigError);
  assert.doesNotThrow(() => loadConfig({ HOST: "127.0.0.1" }));
});

test("bad numbers are refused", () => {
  assert.throws(() => loadConfig({ AS_PORT: "70000" }), ConfigError);
  assert.throws(() => loadConfig({ AS_ACCESS_TOKEN_TTL: "-5" }), ConfigError);
  assert.throws(() => loadConfig({ AS_DCR_RATE_LIMIT: "abc" }), ConfigError);
});

test("client and demo settings: RS_URL, CLIENT_TIMEOUT_MS, DEMO_TIMEOUT_MS", () => {
  assert.equal(loadClientConfig({}).rsUrl, "http://127.0.0.1:3000/mcp");
  assert.equal(loadClientConfig({ RS_PORT: "4000" }).rsUrl, "http://127.0.0.1:4000/mcp");
  assert.equal(loadClientConfig({ RS_URL: "http://127.0.0.1:9/mcp" }).rsUrl, "http://127.0.0.1:9/mcp");
  assert.equal(loadClientConfig({ HOST: "0.0.0.0", AS_PORT: "abc" }).clientTimeoutMs, 10_000, "the client binds nothing: server settings are not its business");
  assert.throws(() => loadClientConfig({ CLIENT_TIMEOUT_MS: "0" }), ConfigError);
  assert.equal(loadClientConfig({}).browserTimeoutMs, 300_000, "a person gets five minutes to log in");
  assert.equal(loadClientConfig({ CLIENT_BROWSER_TIMEOUT_MS: "1500" }).browserTimeoutMs, 1500);
  assert.throws(() => loadClientConfig({ CLIENT_BROWSER_TIMEOUT_MS: "soon" }), ConfigError);
  assert.equal(loadDemoTimeoutMs({}), 30_000);
  assert.equal(loadDemoTimeoutMs({ DEMO_TIMEOUT_MS: "400", HOST: "0.0.0.0" }), 400, "the servers judge HOST, not the demo");
  assert.throws(() => loadDemoTimeoutMs({ DEMO_TIMEOUT_MS: "soon" }), ConfigError);
});

test("AS_BREAK: unset keeps every rule; only the rules the AS breaks are accepted", () => {
  assert.equal(loadConfig({}).asBreak, undefined);
  assert.equal(loadConfig({ AS_BREAK: "" }).asBreak, undefined);
  assert.equal(loadConfig({ AS_BREAK: "no-pkce" }).asBreak, "no-pkce");
  assert.equal(loadConfig({ AS_BREAK: "lenient-redirect" }).asBreak, "lenient-redirect");
  assert.equal(loadConfig({ AS_BREAK: "scope-hierarchy" }).asBreak, "scope-hierarchy");
  assert.throws(() => loadConfig({ AS_BREAK: "replace-scope" }), /AS_BREAK must be one of scope-hierarchy, lenient-redirect, no-pkce/, "a client rule is not the AS's to break");
  assert.throws(() => loadConfig({ AS_BREAK: "everything" }), ConfigError);
});

test("RS_BREAK: unset keeps every rule; only scope-hierarchy is the RS's to break", () => {
  assert.equal(loadConfig({}).rsBreak, undefined);
  assert.equal(loadConfig({ RS_BREAK: "scope-hierarchy" }).rsBreak, "scope-hierarchy");
  assert.equal(loadConfig({ RS_BREAK: "scope-hierarchy" }).asBreak, undefined, "each server has its own switch");
  assert.throws(() => loadConfig({ RS_BREAK: "no-pkce" }), /RS_BREAK must be one of scope-hierarchy \(or unset\)/);
});

test("AS_CONSENT is auto (headless) unless set to prompt; anything else is refused", () => {
  assert.equal(loadConfig({}).consent, "auto");
  assert.equal(loadConfig({ AS_CONSENT: "prompt" }).consent, "prompt");
  assert.throws(() => loadConfig({ AS_CONSENT: "yes" }), ConfigError);
  assert.deepEqual(loadConfig({}).preRegisteredClients, []);
});
