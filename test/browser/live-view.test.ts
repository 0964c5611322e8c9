/**
 * The live view in headless Chromium (scripts/browser.ts): `pnpm dev` and its page while `pnpm client
 * --call write-file` steps up; a `--break` run of the demo whose broken rule turns ✘ where it broke; the
 * same run's HTML transcript, opened offline. (Pictures for the docs: live-view-screenshots.ts.)
 *
 *   pnpm test:browser        (needs `apt-get install -y chromium`, or CHROMIUM_PATH)
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Browser, Locator, Page } from "playwright-core";
import { launchChromium } from "../../scripts/browser.ts";
import { freeLoopbackPorts, PROJECT_ROOT } from "../../scripts/processes.ts";
import { startClient } from "../helpers/client-process.ts";

let browser: Browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

/** A command through pnpm (as a user types it), its output followed until `ready` matches. */
function start(args: string[], env: NodeJS.ProcessEnv, ready: RegExp): { child: ChildProcess; output: () => string; match: Promise<RegExpExecArray>; exited: Promise<number | null> } {
  const execpath = process.env.npm_execpath;
  const [command, argv] = execpath?.includes("pnpm") ? [process.execPath, [execpath, ...args]] : ["pnpm", args];
  const child = spawn(command, argv, { cwd: PROJECT_ROOT, env: { ...process.env, NO_COLOR: "1", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
  const match = new Promise<RegExpExecArray>((resolve, reject) => {
    const check = () => {
      const found = ready.exec(output);
      if (found) resolve(found);
    };
    child.stdout!.on("data", (chunk) => ((output += chunk), check()));
    child.stderr!.on("data", (chunk) => ((output += chunk), check()));
    void exited.then((code) => reject(new Error(`pnpm ${args.join(" ")} exited (${code}) before it was ready:\n${output}`)));
  });
  return { child, output: () => output, match, exited };
}

/** The section of the page that shows one client (the first one unless its id is given). */
const clientSection = (page: Page, clientId?: string): Locator =>
  page.locator(clientId ? `section.group.client[data-id="${clientId}"]` : "section.group.client").first();
/** An exchange of the section whose label (request — response) holds `text`. */
const exchange = (section: Locator, text: string) => section.locator(`.exchange[aria-label*=${JSON.stringify(text)}]`).first();
const labelsOf = (section: Locator) => section.locator(".exchange").evaluateAll((items) => items.map((item) => item.getAttribute("aria-label") ?? ""));
const ruleMark = (section: Locator, rule: string) =>
  section.locator("li.rule").filter({ has: section.page().locator(".rule-title b", { hasText: new RegExp(`^${rule.replace(".", "\\.")}$`) }) });

/** Each of `wanted` (substrings) in this order, each after the one before. */
function assertInOrder(labels: string[], wanted: string[]): void {
  let at = -1;
  for (const part of wanted) {
    const next = labels.findIndex((label, i) => i > at && label.includes(part));
    assert.ok(next > at, `"${part}" after #${at + 1} in:\n${labels.map((l, i) => `#${i + 1} ${l}`).join("\n")}`);
    at = next;
  }
}

test("pnpm dev and its page: pnpm client --call write-file fills in, in order; the 403 opens to its WWW-Authenticate; C4.1 and C4.2 ✔", { timeout: 90_000 }, async () => {
  const [asPort, rsPort, viewPort] = await freeLoopbackPorts(3);
  const dev = start(["dev"], { AS_PORT: String(asPort), RS_PORT: String(rsPort), VIEW_PORT: String(viewPort), AS_STATE_DIR: "" }, /Live view: (\S+)[\s\S]*listening on .*\/mcp|listening on .*\/mcp[\s\S]*Live view: (\S+)/);
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  try {
    const found = await dev.match;
    const url = found[1] ?? found[2]!;
    assert.equal(url, `http://127.0.0.1:${viewPort}/`);
    await page.goto(url);
    await page.locator("#status", { hasText: "live" }).waitFor();

    const client = startClient(["--call", "write-file", "--args", JSON.stringify({ name: "a.txt", content: "x" }), `http://127.0.0.1:${rsPort}/mcp`]);
    const section = clientSection(page);
    // Arrows appear as the servers handle the exchanges: the retried write-file's 200 is the last of the step-up.
    await exchange(section, "tools/call write-file · token [files:read files:write] — 200").waitFor();
    const { code, stderr } = await client.exited;
    assert.equal(code, 0, stderr);
    assertInOrder(await labelsOf(section), [
      "POST /mcp · no token — 401",
      "GET /.well-known/oauth-protected-resource/mcp",
      "GET /.well-known/oauth-authorization-server",
      "POST /register",
      'GET /authorize scope="files:read" — 302',
      "POST /token authorization_code — 200",
      'tools/call write-file · token [files:read] — 403 insufficient_scope scope="files:write"',
      'GET /authorize scope="files:read files:write" — 302',
      "POST /token authorization_code — 200",
      "tools/call write-file · token [files:read files:write] — 200",
    ]);

    await exchange(section, "403 insufficient_scope").click();
    const detail = section.locator(".detail");
    await detail.locator("h3", { hasText: "tools/call write-file" }).waitFor();
    const header = detail.locator("tr", { has: page.locator("th", { hasText: /^www-authenticate$/ }) });
    assert.match(await header.innerText(), /Bearer error="insufficient_scope", scope="files:write"/);
    assert.match(await detail.innerText(), /Token: verified: client_id \S+, scope "files:read"/);

    for (const rule of ["C4.1", "C4.2"]) {
      assert.match((await ruleMark(section, rule).getAttribute("class")) ?? "", /\bpass\b/, `${rule} ✔`);
      assert.equal(await ruleMark(section, rule).locator(".mark").innerText(), "✔");
    }
    // The keyboard: ↓ moves from the 403 to the step-up's authorization, and its detail follows.
    await section.locator(".exchange.selected").focus();
    await page.keyboard.press("ArrowDown");
    await detail.locator("h3", { hasText: 'GET /authorize scope="files:read files:write"' }).waitFor();
    await exchange(section, 'POST /token authorization_code — 200 scope="files:read files:write"').click();
    assert.match(await detail.innerText(), /aud\s+http:\/\/127\.0\.0\.1:\d+\/mcp[\s\S]*scope\s+files:read files:write[\s\S]*exp\s+\d+/);
    assert.doesNotMatch(await page.content(), /eyJ[\w-]+\.[\w-]+\.[\w-]+/, "no access token whole on the page");
  } finally {
    await page.close();
    dev.child.kill("SIGTERM");
    await dev.exited;
  }
});

test("a broken client (--break ignore-decline): C4.4 ✘ at D6, where it asked again; its HTML transcript, offline, shows the same diagram", { timeout: 90_000 }, async () => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "live-view-")), "ignore-decline.html");
  const demo = start(["demo", "--break", "ignore-decline", "--web", "--no-open", "--web-timeout", "80000", "--transcript", file], {}, /the live view stays up at (\S+) /);
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const context = await browser.newContext({ offline: true });
  try {
    const url = (await demo.match)[1]!;
    await page.goto(url);
    const section = clientSection(page);
    await section.locator(".exchange").first().waitFor();
    const c44 = ruleMark(section, "C4.4");
    await c44.locator(".mark", { hasText: "✘" }).waitFor();
    assert.match(await c44.innerText(), /asked again for “files:admin” after it was declined \(C4\.4\)/);
    assert.equal(await ruleMark(section, "C4.2").locator(".mark").innerText(), "✔", "only the broken rule is ✘");

    // The ✘ is drawn at the exchange where it happened: D6's authorization that asked for files:admin again.
    const order = await section.locator("svg .band-text, svg .exchange").evaluateAll((items) =>
      items.map((item) => (item.classList.contains("band-text") ? `band ${item.textContent}` : `${item.getAttribute("aria-label")} ${item.querySelector(".finding.fail")?.textContent ?? ""}`)),
    );
    const firstFail = order.findIndex((line) => line.includes("✘ asked again for “files:admin” after it was declined (C4.4)"));
    assert.ok(firstFail > 0, order.join("\n"));
    assert.match(order.slice(0, firstFail).filter((line) => line.startsWith("band ")).at(-1)!, /^band D6 /);
    assert.match(order[firstFail]!, /GET \/authorize scope="files:read files:write files:admin"/);
    // A link of the rule selects that exchange.
    await c44.locator("button").first().click();
    await section.locator(".detail h3", { hasText: "#" }).waitFor();

    // The transcript of the same run, opened with no network at all: the same arrows, in the same order.
    const offline = await context.newPage();
    const requests: string[] = [];
    offline.on("request", (request) => requests.push(request.url()));
    await offline.goto(`file://${file}`);
    await offline.locator("#status", { hasText: "nothing is fetched" }).waitFor();
    const live = await labelsOf(section);
    assert.deepEqual(await labelsOf(clientSection(offline)), live);
    assert.equal(await ruleMark(clientSection(offline), "C4.4").locator(".mark").innerText(), "✘");
    await exchange(clientSection(offline), "403 insufficient_scope").click();
    assert.match(await clientSection(offline).locator(".detail").innerText(), /www-authenticate\s+Bearer error="insufficient_scope"/);
    assert.deepEqual(requests, [`file://${file}`], "the file fetches nothing");

    demo.child.kill("SIGINT");
    assert.equal(await demo.exited, 0, `the break was demonstrated:\n${demo.output()}`);
  } finally {
    await context.close();
    await page.close();
    demo.child.kill("SIGKILL");
  }
});
