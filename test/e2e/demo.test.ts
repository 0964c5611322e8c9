/**
 * End-to-end: `pnpm demo` as an examples runner sees it — a child process, its exit code, its JSON.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import net from "node:net";
import { PROJECT_ROOT } from "../../scripts/processes.ts";
import { runDemo } from "../helpers/demo-process.ts";

/** The pids and ports the demo announced (`[demo] starting the AS on http://127.0.0.1:P (pid N) …`). */
function announced(output: string): { pids: number[]; ports: number[] } {
  const match = /starting the AS on http:\/\/127\.0\.0\.1:(\d+) \(pid (\d+)\) and the RS on http:\/\/127\.0\.0\.1:(\d+)\/mcp \(pid (\d+)\)/.exec(output);
  assert.ok(match, `the demo announces its servers:\n${output}`);
  return { ports: [Number(match[1]), Number(match[3])], pids: [Number(match[2]), Number(match[4])] };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function acceptsConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
  });
}

/** A SIGKILLed process is gone once the OS has reaped it: wait for that, boundedly. */
async function isStillAliveAfterGrace(pid: number): Promise<boolean> {
  for (let i = 0; i < 30 && isAlive(pid); i++) await new Promise((resolve) => setTimeout(resolve, 100));
  return isAlive(pid);
}

async function assertNothingLeftBehind(output: string) {
  const { pids, ports } = announced(output);
  for (const pid of pids) assert.equal(await isStillAliveAfterGrace(pid), false, `server pid ${pid} was stopped`);
  for (const port of ports) assert.equal(await acceptsConnections(port), false, `port ${port} was released`);
}

/** Hold 3000 and 3001 (when free) so the demo has to pick other ports. */
async function occupyDefaultPorts(): Promise<net.Server[]> {
  const held: net.Server[] = [];
  for (const port of [3000, 3001]) {
    const server = net.createServer();
    const ok = await new Promise<boolean>((resolve) => {
      server.once("error", () => resolve(false));
      server.listen(port, "127.0.0.1", () => resolve(true));
    });
    if (ok) held.push(server);
  }
  return held;
}

test("pnpm demo --json: exit 0, one JSON document, every check ok — also while 3000/3001 are busy", async () => {
  const held = await occupyDefaultPorts();
  try {
    const run = await runDemo(["--json"]);
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout);
    assert.equal(report.ok, true);
    assert.equal(typeof report.durationMs, "number");
    assert.ok(report.checks.length >= 8, "one check per story step at least");
    for (const check of report.checks) {
      assert.deepEqual(Object.keys(check).sort(), ["detail", "id", "ms", "ok", "title"]);
      assert.equal(check.ok, true, `${check.id} ${check.title}: ${check.detail}`);
    }
    for (const id of ["D1", "D2", "D3", "D4", "D5", "D6", "D7", "D8"]) {
      assert.ok(report.checks.some((check: { id: string }) => check.id.startsWith(id)), `a check for ${id}`);
    }
    await assertNothingLeftBehind(run.stderr);
  } finally {
    for (const server of held) server.close();
  }
});

test("a failing story (an AS that grants nothing) exits non-zero, names the failed check, prints the server logs", async () => {
  const run = await runDemo(["--json"], { AS_GRANTABLE_SCOPES: "" });
  assert.notEqual(run.code, 0);
  const report = JSON.parse(run.stdout);
  assert.equal(report.ok, false);
  const failed = report.checks.filter((check: { ok: boolean }) => !check.ok);
  assert.ok(failed.length > 0, "at least one check is marked failed");
  assert.match(failed[0].id, /^D1/, "the first failure is the connect step");
  assert.match(run.stderr, /\[demo\] FAILED/);
  assert.match(run.stderr, /^\[as\] /m, "AS output is printed");
  assert.match(run.stderr, /^\[rs\] /m, "RS output is printed");
  await assertNothingLeftBehind(run.stderr);
});

test("servers that never start: non-zero exit, the reason, their output, nothing left behind", async () => {
  const run = await runDemo(["--json"], { HOST: "0.0.0.0" });
  assert.equal(run.code, 3);
  const report = JSON.parse(run.stdout);
  assert.equal(report.ok, false);
  const demoCheck = report.checks.find((check: { id: string }) => check.id === "demo");
  assert.ok(demoCheck, "a 'demo' check names the failure");
  assert.match(demoCheck.detail, /exited \(1\) before answering/);
  // Both servers refuse; whichever exits first ends the wait, and the other is stopped at once.
  assert.match(run.stderr, /\[(as|rs)\] .*127\.0\.0\.1 only/);
  await assertNothingLeftBehind(run.stderr);
});

test("the deadline ends a run that cannot finish in time and says what it was waiting for", async () => {
  const run = await runDemo([], { DEMO_TIMEOUT_MS: "400" });
  assert.equal(run.code, 3);
  assert.match(run.stderr, /deadline of 400 ms \(DEMO_TIMEOUT_MS\) passed while waiting for /);
  await assertNothingLeftBehind(run.stdout);
});

test("the deadline includes the teardown, even with a stopped server (SIGSTOP): gone by DEMO_TIMEOUT_MS", { timeout: 30_000 }, async () => {
  const timeoutMs = 3_000;
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/demo.ts", "--json"], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, NO_COLOR: "1", DEMO_TIMEOUT_MS: String(timeoutMs) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => (stdout += chunk));
  const code = new Promise((resolve) => child.on("close", resolve));
  // Stop the AS as soon as it is announced: the demo waits for it until the deadline, then must tear
  // down a process that cannot act on SIGTERM while it is stopped.
  const asPid = await new Promise<number | undefined>((resolve) => {
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
      if (stderr.includes("[demo] starting the AS")) resolve(announced(stderr).pids[0]);
    });
    void code.then(() => resolve(undefined));
  });
  assert.ok(asPid, `the demo announced its servers\n${stderr}`);
  try {
    process.kill(asPid, "SIGSTOP");
    assert.equal(await code, 3, stderr);
    assert.match(stderr, new RegExp(`deadline of ${timeoutMs} ms \\(DEMO_TIMEOUT_MS\\) passed while waiting for the AS`));
    const report = JSON.parse(stdout);
    assert.equal(report.ok, false);
    // The demo's own clock, from its start to its report: the teardown happened inside the deadline.
    assert.ok(report.durationMs <= timeoutMs, `reported ${report.durationMs} ms`);
    await assertNothingLeftBehind(stderr);
  } finally {
    if (isAlive(asPid)) process.kill(asPid, "SIGKILL");
  }
});

/** What a transcript must keep from run to run: its headings, the diagram's shape, the checklist. */
function transcriptStructure(markdown: string) {
  const mermaid = /```mermaid\n([\s\S]*?)\n```/.exec(markdown)?.[1] ?? "";
  const arrows = mermaid.split("\n").filter((line) => line.includes("->>"));
  return {
    headings: markdown.split("\n").filter((line) => line.startsWith("#")),
    participants: mermaid.split("\n").filter((line) => line.trim().startsWith("participant")),
    startsAsSequenceDiagram: mermaid.startsWith("sequenceDiagram"),
    // The step-up's shape as it happened: requests per party, challenges, authorizations, refreshes.
    requestsTo: { AS: arrows.filter((l) => l.includes("Client->>AS")).length, RS: arrows.filter((l) => l.includes("Client->>RS")).length },
    insufficientScope: arrows.filter((l) => /-->>Client: 403 insufficient_scope/.test(l)).length,
    authorizations: arrows.filter((l) => /Client->>AS: GET \/authorize/.test(l)).length,
    refreshes: arrows.filter((l) => /Client->>AS: POST \/token grant_type=refresh_token/.test(l)).length,
    checklist: markdown.split("\n").filter((line) => /^- [✓✗] \*\*D\d\*\*/.test(line)).map((line) => line.slice(0, line.indexOf("**", 6) + 2)),
  };
}

test("pnpm demo --transcript writes a transcript with the structure of the committed docs/transcript.md", async () => {
  const { mkdtemp, readFile } = await import("node:fs/promises");
  const os = await import("node:os");
  const path = await import("node:path");
  const file = path.join(await mkdtemp(path.join(os.tmpdir(), "transcript-")), "run.md");
  const run = await runDemo(["--transcript", file]);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /^✓ D8 /m, "the human checklist is printed on stdout without --json");

  const fresh = transcriptStructure(await readFile(file, "utf8"));
  const committed = transcriptStructure(await readFile(path.join(PROJECT_ROOT, "docs/transcript.md"), "utf8"));
  assert.deepEqual(fresh, committed);
  // And the committed example shows what it is there to show.
  assert.equal(committed.startsAsSequenceDiagram, true);
  assert.deepEqual(committed.participants.map((l) => l.trim()), ["participant Client", "participant AS", "participant RS"]);
  assert.ok(committed.insufficientScope >= 1 && committed.authorizations >= 2, "the 403 and the second authorization");
  assert.equal(committed.checklist.length, 8);
  assert.ok(committed.checklist.every((line) => line.startsWith("- ✓")));
});

test("a reader that goes away (`pnpm demo | head -1`) still leaves no server behind", async () => {
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/demo.ts"], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "ignore"],
  });
  let firstLine = "";
  for await (const chunk of child.stdout) {
    firstLine += chunk;
    if (firstLine.includes("\n")) break; // leaving the loop destroys our end of the pipe
  }
  const code = await new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.on("exit", resolve)));
  assert.notEqual(code, 0, "the demo could not finish its report, so it does not claim success");
  await assertNothingLeftBehind(firstLine);
});
