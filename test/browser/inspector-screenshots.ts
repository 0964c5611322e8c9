/**
 * `node --import tsx test/browser/inspector-screenshots.ts` — retakes the README's MCP Inspector
 * pictures (docs/inspector-*.png) from a real run: the demo's AS and RS, MCP Inspector 2.x, and
 * headless Chromium (scripts/browser.ts).
 *
 * What runs where, all on 127.0.0.1 and on free ports: the AS and the RS (as `pnpm dev` runs them),
 * MCP Inspector's web app (its backend does all the OAuth and MCP traffic), and Chromium as the user.
 * Chromium may not reach anything off loopback: every such request (the Inspector page asks for a web
 * font) is aborted before it is sent.
 *
 * Flow: 1. connect (discovery, DCR with the Inspector's redirect URI, authorization, token) → picture
 *       2. write-file → 403 insufficient_scope → the "additional permissions" dialog → picture;
 *          Authorize (the union) → Execute again → the result
 *       3. delete-file → the dialog → Authorize → the policy grants no files:admin → picture
 *
 * Needs: Debian's `chromium` (or `CHROMIUM_PATH`); Node ≥ 22.19 for the Inspector, which is not a
 * dependency of the project: both are installed with npm into the git-ignored `.cache/` on first use,
 * as `pnpm interop` does (scripts/interop/clients.ts).
 */
import { spawn } from "node:child_process";
import path from "node:path";
import type { Browser } from "playwright-core";
import { rsUrls } from "../../shared/config.ts";
import { isLoopbackUrl } from "../../shared/loopback.ts";
import { freeLoopbackPorts, PROJECT_ROOT, startStack, stopChild, type Child } from "../../scripts/processes.ts";
import { launchChromium } from "../../scripts/browser.ts";
import { NODE_22 } from "../../scripts/cache.ts";
import { INSPECTOR_DIR, prepareInspector } from "../../scripts/interop/clients.ts";

const DOCS = path.join(PROJECT_ROOT, "docs");

// Node 22 and the Inspector `pnpm interop` pins, installed into `.cache/` on first use.
const notInstalled = prepareInspector();
if (notInstalled) throw new Error(`MCP Inspector: ${notInstalled}`);

const children: Child[] = [];
let inspector: ReturnType<typeof spawn> | undefined;
let browser: Browser | undefined;

try {
  const { rsPort } = await startStack({
    entries: { as: "as/server.ts", rs: "resource-server/server.ts" },
    env: { ...process.env, AS_STATE_DIR: "" }, // fresh, in memory (A12)
    signal: AbortSignal.timeout(60_000),
    onStart: ({ as, rs }) => children.push(as, rs),
  });
  const [inspectorPort, sandboxPort] = (await freeLoopbackPorts(2)) as [number, number];

  // The Inspector prints the URL of its web app, with the token that guards its backend.
  const { resource } = rsUrls(rsPort);
  inspector = spawn(
    NODE_22,
    [path.join(INSPECTOR_DIR, "node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js"), "--web", "--transport", "http", "--server-url", resource],
    {
      env: { ...process.env, CLIENT_PORT: String(inspectorPort), SERVER_PORT: String(sandboxPort), MCP_AUTO_OPEN_ENABLED: "false", MCP_INSPECTOR_SECRET_STORE: "memory" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const appUrl = await new Promise<string>((resolve, reject) => {
    let seen = "";
    const timer = setTimeout(() => reject(new Error(`the Inspector did not start:\n${seen}`)), 60_000);
    inspector!.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      seen += chunk;
      const match = /http:\/\/127\.0\.0\.1:\d+\?MCP_INSPECTOR_API_TOKEN=\w+/.exec(seen);
      if (match) {
        clearTimeout(timer);
        resolve(match[0]);
      }
    });
    inspector!.on("exit", (code) => reject(new Error(`the Inspector exited (${code}):\n${seen}`)));
  });

  browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  // Loopback only: anything else is aborted before it leaves the browser.
  await context.route((url) => /^https?:$/.test(url.protocol) && !isLoopbackUrl(url), (route) => route.abort());
  const page = await context.newPage();
  const shot = async (name: string) => {
    await page.waitForTimeout(1_000); // let the dialog or notification finish its entrance animation
    await page.screenshot({ path: path.join(DOCS, name) });
    console.log(`[shots] docs/${name}`);
  };
  const runTool = async (name: string, args: Record<string, string>) => {
    await page.getByText("Tools", { exact: true }).first().click();
    await page.getByText(name, { exact: true }).first().click();
    for (const [field, value] of Object.entries(args)) await page.getByRole("textbox", { name: new RegExp(`^${field}`) }).fill(value);
    await page.getByRole("button", { name: "Execute Tool" }).click();
  };

  // 1. connect
  await page.goto(appUrl);
  await page.locator(".mantine-Switch-track").first().click();
  await page.getByText("Authorization complete").waitFor({ timeout: 30_000 });
  await shot("inspector-connected.png");

  // 2. write-file: the step-up dialog, then Authorize and Execute again
  await runTool("write-file", { name: "hello.txt", content: "written from MCP Inspector" });
  await page.getByText("Additional permissions required").waitFor({ timeout: 30_000 });
  await shot("inspector-step-up.png");
  await page.getByRole("button", { name: "Authorize" }).click();
  await page.getByText("Step-up authorization succeeded").waitFor({ timeout: 30_000 });
  await runTool("write-file", { name: "hello.txt", content: "written from MCP Inspector" });
  await page.getByText("written by", { exact: false }).waitFor({ timeout: 30_000 });
  await shot("inspector-step-up-result.png");

  // 3. delete-file: the policy grants no files:admin
  await runTool("delete-file", { name: "notes.txt" });
  await page.getByText("Additional permissions required").waitFor({ timeout: 30_000 });
  await page.getByRole("button", { name: "Authorize" }).click();
  await page.getByText("Additional permissions not granted").waitFor({ timeout: 30_000 });
  await shot("inspector-declined.png");
} finally {
  await browser?.close().catch(() => {});
  if (inspector && inspector.exitCode === null) inspector.kill("SIGTERM");
  await Promise.all(children.map((child) => stopChild(child)));
}
