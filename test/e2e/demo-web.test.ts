/**
 * `pnpm demo --web` and `pnpm demo --transcript FILE.html` as a user runs them: the view of the run's
 * own servers on a loopback port until Ctrl-C (which ends the view, not the verdict), and the same view
 * as one self-contained file. (The page itself, in a browser: test/browser/live-view.test.ts.)
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { PROJECT_ROOT } from "../../scripts/processes.ts";
import { runDemo } from "../helpers/demo-process.ts";
import { rawHttp } from "../helpers/raw-http.ts";

test("--no-open and --web-timeout need --web; --web-timeout is a number of ms: usage errors (exit 2)", async () => {
  for (const args of [["--no-open"], ["--web-timeout", "100"], ["--web", "--web-timeout", "soon"]]) {
    const run = await runDemo(args);
    assert.equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
    assert.match(run.stderr, /usage: pnpm demo/);
  }
});

test("--transcript FILE.html: one file with the page, its style, its script and the run's model inline, allowed to fetch nothing", async () => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "live-view-")), "run.html");
  const run = await runDemo(["--transcript", file]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /live view of this run written to .*run\.html/);
  assert.doesNotMatch(run.stdout + run.stderr, /@@story/, "the step marks are for the view, not the reader");
  const html = readFileSync(file, "utf8");
  assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none';/);
  assert.doesNotMatch(html, /\s(?:src|href)=/, "no external script, style, font or link");
  const model = JSON.parse(/<script type="application\/json" id="model">(.*?)<\/script>/s.exec(html)![1]!) as { mode: string; groups: { kind: string; rows: { kind: string; text?: string }[] }[] };
  assert.equal(model.mode, "file");
  assert.deepEqual(model.groups.filter((g) => g.kind === "client").length, 2, "the story's two clients");
  assert.ok(model.groups[0]!.rows.some((row) => row.kind === "band" && row.text?.startsWith("D3 ")), "the story's steps are drawn");
});

test("--web --no-open: the view of the run on loopback (R10 applies), up after the checklist; Ctrl-C ends it with the run's verdict", { timeout: 60_000 }, async () => {
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/demo.ts", "--web", "--no-open", "--web-timeout", "50000"], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
  const waitingUp = new Promise<string>((resolve) => {
    child.stdout.on("data", (chunk) => {
      output += chunk;
      if (/the live view stays up/.test(output)) resolve(/^Live view: (http:\/\/127\.0\.0\.1:\d+\/)$/m.exec(output)![1]!);
    });
  });
  child.stderr.on("data", (chunk) => (output += chunk));
  try {
    const url = await waitingUp;
    assert.match(output, /all checks passed/);
    const page = await fetch(url);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-security-policy") ?? "", /default-src 'none'/);
    const model = (await (await fetch(new URL("model.json", url))).json()) as { groups: { kind: string }[] };
    assert.ok(model.groups.some((group) => group.kind === "client"));
    const port = Number(new URL(url).port);
    assert.equal((await rawHttp(port, "GET", "/", ["Host: attacker.example"])).status, 421, "DNS rebinding: refused");
    assert.equal((await rawHttp(port, "GET", "/", ["Host: 127.0.0.1", "Origin: https://attacker.example"])).status, 403);

    child.kill("SIGINT");
    assert.equal(await exited, 0, `Ctrl-C ends the view; the run passed:\n${output}`);
    await assert.rejects(fetch(url), "the view's port is released");
  } finally {
    child.kill("SIGKILL");
  }
});
