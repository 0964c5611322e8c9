/**
 * client/step-up/ is the part a reader lifts into their own client. Two promises kept here:
 *   1. it imports only the MCP SDK and its own folder — nothing from the demo, nor the demo's scope
 *      catalog — so copying the folder is enough;
 *   2. it works with an authorizer of the reader's own, written here from the `StepUpAuthorizer`
 *      interface alone, and the rules hold with it — the declined rule (C4.4) included, which the
 *      middleware keeps itself rather than leaving it to the authorizer.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { InsufficientScopeError, withStepUp, type StepUpAuthorizer } from "../../client/step-up/index.ts";

const FOLDER = path.resolve(import.meta.dirname, "../../client/step-up");

test("client/step-up imports only the MCP SDK and its own folder, and names no demo scope", () => {
  const files = readdirSync(FOLDER).filter((f) => f.endsWith(".ts"));
  assert.ok(files.includes("step-up.ts") && files.includes("index.ts"), `unexpected folder: ${files.join(", ")}`);
  let specifiers = 0;
  for (const file of files) {
    const source = readFileSync(path.join(FOLDER, file), "utf8");
    // Static `import … from` / `export … from`, side-effect `import "…"`, dynamic `import("…")`, `require("…")`.
    const found = [...source.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)["']([^"']+)["']/g)].map((m) => m[1]!);
    for (const specifier of found) {
      specifiers++;
      const ok =
        specifier.startsWith("@modelcontextprotocol/sdk/") ||
        (/^\.\/[\w-]+\.ts$/.test(specifier) && files.includes(specifier.slice(2)));
      assert.ok(ok, `${file} imports ${specifier}: only the SDK and ./<file in client/step-up> are allowed`);
    }
    assert.ok(!source.includes("files:"), `${file} mentions the demo's scope catalog (files:*)`);
  }
  assert.ok(specifiers >= files.length, "the import scan found the imports (it is not vacuous)");
});

// ---- a reader's own authorizer and a small protected resource ----

/** Each tool and the scope it needs (a reader's own catalog: nothing like the demo's). */
const NEEDS: Record<string, string> = { read: "docs.read", edit: "docs.edit", purge: "docs.purge", stats: "stats" };

/**
 * The reader's resource server, as a fetch: no token or an unknown one → 401; a token without the
 * tool's scope → 403 insufficient_scope naming it; else 200. `issued` maps tokens to their scope.
 */
function resourceServer(issued: Map<string, string[]>) {
  const tools: string[] = [];
  const fetchFn = async (_url: string | URL, init?: RequestInit) => {
    const tool = JSON.parse(String(init?.body)).params.name as string;
    const token = new Headers(init?.headers).get("authorization")?.replace(/^Bearer /, "");
    const scopes = token ? issued.get(token) : undefined;
    if (!scopes) return new Response(null, { status: 401, headers: { "www-authenticate": `Bearer scope="${NEEDS.read}"` } });
    if (!scopes.includes(NEEDS[tool]!)) {
      return new Response(null, { status: 403, headers: { "www-authenticate": `Bearer error="insufficient_scope", scope="${NEEDS[tool]}"` } });
    }
    tools.push(tool);
    return new Response(JSON.stringify({ ok: tool }), { status: 200 });
  };
  return { fetchFn, tools };
}

/**
 * The reader's authorizer: an AS that grants what `policy` allows of what was asked. `allOrNothing`
 * refuses a request that asks for anything ungrantable with `access_denied`; otherwise it grants
 * partially (RFC 6749 §3.3). It keeps no "requested" set: the middleware does.
 */
class MyAuthorizer implements StepUpAuthorizer {
  token?: string;
  scope: string[] = [];
  refreshToken?: string;
  readonly authorizations: string[][] = [];
  refreshes = 0;
  readonly issued = new Map<string, string[]>();
  private readonly policy: string[];
  private readonly allOrNothing: boolean;
  constructor(policy: string[], allOrNothing = false) {
    this.policy = policy;
    this.allOrNothing = allOrNothing;
  }

  accessToken() {
    return this.token;
  }
  grantedScope() {
    return this.scope;
  }
  canRefresh() {
    return this.refreshToken !== undefined;
  }
  async authorize(scope: string[]) {
    this.authorizations.push(scope);
    const granted = scope.filter((s) => this.policy.includes(s));
    if (granted.length === 0 || (this.allOrNothing && granted.length < scope.length)) {
      throw Object.assign(new Error("access_denied"), { error: "access_denied" });
    }
    this.issue(granted);
    this.refreshToken = `rt${this.authorizations.length}`;
  }
  async refresh() {
    this.refreshes++;
    this.issue(this.scope);
    return true;
  }
  private issue(scope: string[]) {
    this.token = `at${this.issued.size + 1}`;
    this.scope = scope;
    this.issued.set(this.token, scope);
  }
}

const callTool = (name: string): RequestInit => ({
  method: "POST",
  body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name } }),
});

test("a reader's own authorizer: connect, step-up with the union, and a partial grant is declined once, never asked again", async () => {
  const me = new MyAuthorizer(["docs.read", "docs.edit", "stats"]);
  const rs = resourceServer(me.issued);
  const stepUp = withStepUp(me, { resource: "https://docs.example/mcp" });
  const fetchFn = stepUp(rs.fetchFn);
  const run = (tool: string) => fetchFn("https://docs.example/mcp", callTool(tool));

  assert.equal((await run("read")).status, 200, "401 → authorize the challenge's scope");
  assert.equal((await run("edit")).status, 200, "403 → step-up with the union");
  assert.deepEqual(me.authorizations, [["docs.read"], ["docs.read", "docs.edit"]], "C4.1: the union, nothing lost");

  const declined = await run("purge").catch((e: unknown) => e);
  assert.ok(declined instanceof InsufficientScopeError, String(declined));
  assert.equal(declined.reason, "declined");
  assert.equal(declined.requiredScope, "docs.purge");
  assert.deepEqual(me.authorizations.at(-1), ["docs.read", "docs.edit", "docs.purge"], "one authorization asked for it");
  assert.deepEqual(stepUp.requestedScope(), ["docs.read", "docs.edit"], "C4.4: the declined scope left the requested set");

  assert.equal((await run("stats")).status, 200, "a later step-up for another operation");
  assert.deepEqual(me.authorizations.at(-1), ["docs.read", "docs.edit", "stats"], "… does not ask for docs.purge again");
  assert.equal(me.authorizations.length, 4);
  assert.deepEqual(rs.tools, ["read", "edit", "stats"], "the declined call never ran and was not resent");
});

test("a reader's own all-or-nothing authorizer: access_denied is a decline, and the declined scope is not asked again", async () => {
  const me = new MyAuthorizer(["docs.read", "docs.edit"], true);
  const rs = resourceServer(me.issued);
  const stepUp = withStepUp(me, { resource: "https://docs.example/mcp" });
  const run = (tool: string) => stepUp(rs.fetchFn)("https://docs.example/mcp", callTool(tool));

  assert.equal((await run("read")).status, 200);
  const declined = await run("purge").catch((e: unknown) => e);
  assert.ok(declined instanceof InsufficientScopeError && declined.reason === "declined", String(declined));
  assert.match(String((declined.cause as Error | undefined)?.message), /access_denied/, "the AS's refusal is the cause");
  assert.deepEqual(me.scope, ["docs.read"], "the held grant is unchanged");
  assert.deepEqual(stepUp.requestedScope(), ["docs.read"]);

  assert.equal((await run("edit")).status, 200);
  assert.deepEqual(me.authorizations, [["docs.read"], ["docs.read", "docs.purge"], ["docs.read", "docs.edit"]]);
  assert.equal(me.refreshes, 0);
});
