/**
 * Interop driver for the MCP Inspector 2.x web UI, run as a user runs it: the Inspector's own server
 * (on Node ≥ 22, from `.cache/`) and its page in a headless Chromium (driven by `playwright-core`),
 * clicking what a user clicks — the connect switch, the tool, its fields, "Execute Tool", and in the
 * "Additional permissions required" dialog "Authorize", then "Execute Tool" once more. The browser
 * may only reach loopback: every other request is aborted before it leaves.
 *
 * Usage: `node --import tsx scripts/interop/drivers/inspector.ts RESOURCE_URL STEP_TIMEOUT_MS`.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { freeLoopbackPorts } from "../../processes.ts";
import { NODE_22 } from "../../cache.ts";
import { launchChromium } from "../../browser.ts";
import { INSPECTOR_DIR } from "../clients.ts";
import { isLoopbackHttpUrl } from "../opener.ts";
import { runSteps, type DrivenClient } from "../steps.ts";

const [resourceUrl, stepTimeout] = process.argv.slice(2);
if (!resourceUrl || !stepTimeout) {
  process.stderr.write("usage: inspector.ts RESOURCE_URL STEP_TIMEOUT_MS\n");
  process.exit(2);
}

const workDir = mkdtempSync(path.join(os.tmpdir(), "interop-inspector-"));
const [clientPort, sandboxPort, appOriginPort] = (await freeLoopbackPorts(3)) as [number, number, number];
const launcher = path.join(INSPECTOR_DIR, "node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js");
const inspector = spawn(NODE_22, [launcher, "--web", "--transport", "http", "--server-url", resourceUrl], {
  cwd: workDir,
  env: {
    PATH: process.env.PATH,
    // A fresh home and store: every run starts unregistered, nothing outlives it.
    HOME: workDir,
    MCP_STORAGE_DIR: path.join(workDir, "storage"),
    MCP_INSPECTOR_SECRET_STORE: "memory",
    MCP_AUTO_OPEN_ENABLED: "false",
    CLIENT_PORT: String(clientPort),
    MCP_SANDBOX_PORT: String(sandboxPort),
    MCP_APP_ORIGIN_PORT: String(appOriginPort),
  },
  stdio: ["ignore", "pipe", "pipe"],
});
let banner = "";
inspector.stdout.setEncoding("utf8").on("data", (chunk: string) => ((banner += chunk), process.stderr.write(chunk)));
inspector.stderr.on("data", (chunk: Buffer) => process.stderr.write(chunk));
let browser: Browser | undefined;

function cleanUp(): void {
  inspector.kill("SIGKILL");
  rmSync(workDir, { recursive: true, force: true });
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    cleanUp();
    process.exit(130);
  });
}

/** The Inspector prints its URL (with its session token) once it listens. */
async function inspectorUrl(): Promise<string> {
  const pattern = new RegExp(`http://(?:127\\.0\\.0\\.1|localhost):${clientPort}\\S*`);
  for (let waited = 0; waited < 30_000; waited += 100) {
    const match = pattern.exec(banner);
    if (match) return match[0];
    if (inspector.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the Inspector did not start on port ${clientPort}`);
}

let page: Page;

async function openTool(name: string, args: Record<string, string>): Promise<void> {
  // The page may still be settling after the return from the AS: open the Tools view until the tool
  // shows (the step's timeout bounds the attempts).
  const tool = page.getByRole("button", { name, exact: true });
  for (;;) {
    await page.getByText("Tools", { exact: true }).first().click({ force: true });
    if (await tool.waitFor({ state: "visible", timeout: 2_000 }).then(() => true, () => false)) break;
  }
  await tool.click();
  for (const [field, value] of Object.entries(args)) await page.getByLabel(new RegExp(`^${field}\\b`)).first().fill(value);
}

const resultsCard = () => page.locator(".mantine-Card-root", { has: page.getByRole("heading", { name: "Results", exact: true }) });
const stepUpDialog = () => page.getByText("Additional permissions required", { exact: true });
/** What the Inspector shows in its notifications (tool errors, authorization outcomes). */
const notices = async () => (await page.getByRole("alert").allInnerTexts()).map((text) => text.replace(/\s+/g, " ").trim());

type Answer = { kind: "result" | "error"; text: string } | { kind: "dialog" };

/** Click "Execute Tool" and wait for what comes back: a result, a new error notice, or the step-up dialog. */
async function execute(): Promise<Answer> {
  const close = page.getByRole("button", { name: "Close results", exact: true });
  if (await close.isVisible()) await close.click();
  const before = new Set(await notices());
  await page.getByRole("button", { name: "Execute Tool", exact: true }).click();
  for (;;) {
    if (await stepUpDialog().isVisible()) return { kind: "dialog" };
    if (await resultsCard().isVisible()) {
      return { kind: "result", text: (await resultsCard().innerText()).replace(/^\s*Results\s*/, "").replace("⎘", "") };
    }
    const fresh = (await notices()).find((text) => !before.has(text));
    if (fresh) return { kind: "error", text: fresh };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The first new notification that says how an authorization ended (the step's timeout bounds the wait). */
async function freshNotice(before: Set<string>, saying: RegExp): Promise<string> {
  for (;;) {
    const fresh = (await notices()).find((text) => !before.has(text) && saying.test(text));
    if (fresh) return fresh;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function settle(answer: Answer & { kind: "result" | "error" }): string {
  if (answer.kind === "error") throw new Error(answer.text);
  return answer.text;
}

const driven: DrivenClient = {
  async connect() {
    const url = await inspectorUrl();
    browser = await launchChromium();
    const context = await browser.newContext();
    // Loopback only: web fonts and anything else off-machine are refused before they leave.
    await context.route("**/*", (route) => (isLoopbackHttpUrl(new URL(route.request().url())) ? route.continue() : route.abort()));
    page = await context.newPage();
    await page.goto(url);
    await page.getByRole("switch").first().click({ force: true });
    await page.getByText("Connected", { exact: true }).first().waitFor({ state: "visible" });
  },
  async callTool(name, args) {
    await openTool(name, args);
    const first = await execute();
    if (first.kind !== "dialog") return settle(first);
    // The user accepts the step-up and comes back from the AS. If the Inspector then says the grant
    // fell short, the user stops there; otherwise they run the tool again — once.
    const before = new Set(await notices());
    await page.getByRole("button", { name: "Authorize", exact: true }).click();
    const outcome = await freshNotice(before, /complete|not granted|denied|failed/i);
    if (/not granted|declin|partial/i.test(outcome)) throw new Error(outcome);
    await openTool(name, args);
    const again = await execute();
    if (again.kind !== "dialog") return settle(again);
    await page.getByRole("button", { name: "Cancel", exact: true }).click();
    throw new Error("the Inspector asked to authorize again after authorizing");
  },
  close: async () => {
    await browser?.close();
  },
};

await runSteps(driven, Number(stepTimeout));
await Promise.race([driven.close().catch(() => {}), new Promise((resolve) => setTimeout(resolve, 2_000))]);
cleanUp();
process.exit(0);
