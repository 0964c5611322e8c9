/**
 * C7's login flags, run as `client/main.ts` child processes against the real AS and RS in this
 * process: a pre-registered client (`--client-id`/`--client-secret`, no DCR) and the `--browser`
 * redirect listener — driven here without a browser (a plain fetch follows the auto-consent `302` to
 * the listener, as a browser would); test/browser/ drives it with Chromium and the consent page.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { listenLoopback, closeServer } from "../../shared/listen.ts";
import { startStack, type Stack } from "../helpers/stack.ts";
import { startClient } from "../helpers/client-process.ts";
import { startAuthorizationServer } from "../helpers/oauth.ts";
import { startStubResourceServer } from "../helpers/stub-rs.ts";

// A secret with characters that RFC 6749 §2.3.1's form-urlencoding changes before Basic encoding.
const SECRET = "s3cret+with%odd:chars=";
const CLIENTS = [{ client_id: "cli-tool", client_secret: SECRET, redirect_uris: ["http://127.0.0.1/callback"], client_name: "CLI tool" }];

let stack: Stack;
before(async () => {
  stack = await startStack({ AS_CLIENTS: JSON.stringify(CLIENTS) });
});
after(async () => {
  await stack.close();
});

const WRITE = ["--call", "write-file", "--args", JSON.stringify({ name: "login.txt", content: "hi" })];

test("--client-id/--client-secret: no DCR, client_secret_basic chosen from the metadata, step-up included, secret never printed", async () => {
  const { code, stdout, stderr } = await startClient([...WRITE, "--client-id", "cli-tool", "--client-secret", SECRET, "--issuer", stack.config.issuer, "--verbose", stack.config.resource]).exited;
  assert.equal(code, 0, stderr);
  assert.match(stdout, /wrote login\.txt .*written by cli-tool \[files:read files:write\]/);
  assert.doesNotMatch(stderr, /\/register/, "a pre-registered client does not register");
  assert.equal((stderr.match(/POST \/token grant_type=authorization_code → 200/g) ?? []).length, 2, "first authorization + step-up");
  const basic = Buffer.from(`cli-tool:${encodeURIComponent(SECRET)}`).toString("base64");
  for (const leak of [SECRET, "s3cret", basic.slice(0, 12)]) assert.ok(!stderr.includes(leak) && !stdout.includes(leak), `printed ${leak}`);
});

test("--client-id with a wrong secret: invalid_client ends the run with advice, no fallback to DCR", async () => {
  const { code, stderr } = await startClient(["--call", "list-files", "--client-id", "cli-tool", "--client-secret", "not-the-secret-at-all", "--issuer", stack.config.issuer, "--verbose", stack.config.resource]).exited;
  assert.equal(code, 1);
  assert.match(stderr, /refused the pre-registered client_id "cli-tool" \(invalid_client: .*\); check --client-id and --client-secret/);
  assert.doesNotMatch(stderr, /\/register/);
  assert.ok(!stderr.includes("not-the-secret"));
});

test("an AS without registration_endpoint: the message names --client-id and --client-secret", async () => {
  const rs = await startStubResourceServer(() => undefined);
  const as = await listenLoopback(0);
  as.server.on("request", (_req, res) => {
    // RFC 8414 metadata with everything a client needs except a registration endpoint.
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({
      issuer: as.url,
      authorization_endpoint: `${as.url}/authorize`,
      token_endpoint: `${as.url}/token`,
      response_types_supported: ["code"],
      code_challenge_methods_supported: ["S256"],
    }));
  });
  rs.setIssuer(as.url);
  try {
    const { code, stderr } = await startClient(["--call", "list-files", rs.resource]).exited;
    assert.equal(code, 1);
    assert.match(stderr, /offers no registration_endpoint .*--client-id ID \[--issuer http:\/\/127\.0\.0\.1:\d+ --client-secret SECRET\]/);
  } finally {
    await Promise.all([rs.close(), closeServer(as.server)]);
  }
});

test("--client-secret is bound to --issuer: a resource whose metadata names another AS is refused at discovery, and no request reaches that AS", async () => {
  // A fake MCP server whose PRM names its own AS, which counts every request it gets.
  const rogue = await listenLoopback(0);
  const reachedRogue: string[] = [];
  rogue.server.on("request", (req, res) => {
    reachedRogue.push(`${req.method} ${req.url} ${req.headers.authorization ?? ""}`);
    res.writeHead(404).end();
  });
  const rs = await startStubResourceServer(() => undefined);
  rs.setIssuer(rogue.url);
  try {
    for (const verbose of [[], ["--verbose"]]) {
      const { code, stdout, stderr } = await startClient(
        ["--call", "list-files", ...verbose, "--client-id", "cli-tool", "--client-secret", SECRET, "--issuer", stack.config.issuer, rs.resource],
      ).exited;
      assert.equal(code, 1, stderr);
      const refusal =
        `client: the RFC 9728 metadata of ${rs.resource} names the authorization server ${rogue.url}, not ${stack.config.issuer} (--issuer), ` +
        `where the client "cli-tool" is registered: refusing to take its credentials anywhere else\n`;
      assert.ok(stderr.endsWith(refusal), `a clear refusal: ${stderr}`);
      assert.ok(!stderr.includes(SECRET) && !stdout.includes(SECRET), "the secret is not printed");
    }
    assert.deepEqual(reachedRogue, [], "nothing was sent to the AS the resource named: not its metadata, not the secret");
    assert.deepEqual(rs.requests.map((r) => `${r.method} ${r.path}`).filter((r) => r !== "POST /mcp"), ["GET /.well-known/oauth-protected-resource/mcp", "GET /.well-known/oauth-protected-resource/mcp"]);
  } finally {
    await Promise.all([rs.close(), closeServer(rogue.server)]);
  }
});

test("--issuer: a resource that names it among several authorization servers is used with that one", async () => {
  const rogue = await listenLoopback(0);
  const reachedRogue: string[] = [];
  rogue.server.on("request", (req, res) => void (reachedRogue.push(`${req.method} ${req.url}`), res.writeHead(404).end()));
  let issuer = "";
  const rs = await startStubResourceServer(() => undefined, { authorizationServers: () => [rogue.url, issuer] });
  const as = await startAuthorizationServer({ RS_PORT: new URL(rs.url).port, AS_CLIENTS: JSON.stringify(CLIENTS) });
  issuer = as.config.issuer;
  try {
    const { code, stdout, stderr } = await startClient(["--call", "list-files", "--client-id", "cli-tool", "--client-secret", SECRET, "--issuer", issuer, rs.resource]).exited;
    assert.equal(code, 0, stderr);
    assert.match(stdout, /^list-files ran with \[files:read\]/);
    assert.deepEqual(reachedRogue, [], "the other AS got nothing");
  } finally {
    await Promise.all([rs.close(), as.close(), closeServer(rogue.server)]);
  }
});

test("--browser --no-open: the URL line, the redirect through the loopback listener, each step-up asks again", async () => {
  const run = startClient([...WRITE, "--browser", "--no-open", stack.config.resource]);
  for (const n of [0, 1]) {
    const url = new URL(await run.authorizationUrl(n));
    assert.equal(url.origin, stack.config.issuer);
    const redirectUri = new URL(url.searchParams.get("redirect_uri")!);
    assert.equal(redirectUri.hostname, "127.0.0.1");
    assert.equal(redirectUri.pathname, "/callback");
    assert.notEqual(redirectUri.port, "", "an ephemeral port (RFC 8252 §7.3)");
    // The auto-consent AS answers 302 to the listener; fetch follows it as a browser would.
    const page = await fetch(url);
    assert.equal(page.url.startsWith(`${redirectUri.origin}/callback?`), true);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-security-policy") ?? "", /default-src 'none'/);
    assert.equal(page.headers.get("x-frame-options"), "DENY");
    const html = await page.text();
    assert.match(html, /You can close this tab/);
    assert.doesNotMatch(html, /<script/i);
  }
  const { code, stdout, stderr } = await run.exited;
  assert.equal(code, 0, stderr);
  assert.match(stdout, /wrote login\.txt/);
  assert.equal((stderr.match(/^Open this URL to authorize: /gm) ?? []).length, 2, "one line per authorization");
});

test("--browser: a forged redirect fails the state check (as headless); the page escapes what it echoes", async () => {
  const run = startClient([...WRITE, "--browser", "--no-open", stack.config.resource]);
  const url = new URL(await run.authorizationUrl(0));
  const callback = new URL(url.searchParams.get("redirect_uri")!);
  callback.search = new URLSearchParams({ error: "<b>access_denied</b>", state: "forged", iss: stack.config.issuer }).toString();
  const page = await fetch(callback);
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.match(html, /&lt;b&gt;access_denied&lt;\/b&gt;/);
  assert.doesNotMatch(html, /<b>access_denied/);
  const { code, stderr } = await run.exited;
  assert.equal(code, 1);
  assert.match(stderr, /state does not match/);
  const late = await fetch(callback).catch((error: unknown) => error);
  assert.ok(late instanceof Error, "the listener is closed when the client ends");
});

test("--browser: nobody logs in → one clear line after CLIENT_BROWSER_TIMEOUT_MS, exit 2", async () => {
  const run = startClient(["--call", "list-files", "--browser", "--no-open", stack.config.resource], { CLIENT_BROWSER_TIMEOUT_MS: "800" });
  await run.authorizationUrl(0);
  const { code, stderr } = await run.exited;
  assert.equal(code, 2, stderr);
  assert.match(stderr, /^client: no authorization response from the browser within 800 ms .*CLIENT_BROWSER_TIMEOUT_MS/m);
});

test("login flags: usage errors exit 2", async () => {
  for (const [args, message] of [
    [["--call", "list-files", "--no-open"], /--no-open needs --browser/],
    [["--call", "list-files", "--client-secret", "x"], /--client-secret needs --client-id/],
    [["--call", "list-files", "--client-id", "cli-tool", "--client-secret", "x"], /--client-secret needs --issuer URL, the authorization server that issued it/],
    [["--call", "list-files", "--issuer", "http://127.0.0.1:1"], /--issuer needs --client-id/],
    [["--call", "list-files", "--client-id", "cli-tool", "--client-secret", "x", "--issuer", "127.0.0.1:3001"], /--issuer must be an http\(s\) URL/],
    [["--issuer", "http://127.0.0.1:1"], /--issuer need --call/],
    [["--browser"], /--browser need --call/],
  ] as const) {
    const { code, stderr } = await startClient([...args, stack.config.resource]).exited;
    assert.equal(code, 2, `${args.join(" ")}: ${stderr}`);
    assert.match(stderr, message);
  }
});
