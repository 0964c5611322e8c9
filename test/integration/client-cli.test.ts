/**
 * The CLI contract of `client/main.ts` (what `pnpm demo` and CI rely on), run as a child process
 * against the real AS and RS started in this process on port 0.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createApp as createResourceServer } from "../../resource-server/app.ts";
import { loadConfig } from "../../shared/config.ts";
import { closeServer, listenLoopback } from "../../shared/listen.ts";
import { startStack, type Stack } from "../helpers/stack.ts";
import { startStubResourceServer } from "../helpers/stub-rs.ts";

const MAIN = path.resolve(import.meta.dirname, "../../client/main.ts");

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** Asynchronous on purpose: the servers live in this process's event loop. */
function client(args: string[], env: Record<string, string> = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", MAIN, ...args],
      { env: { ...process.env, ...env }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

let stack: Stack;
let dir: string;
before(async () => {
  stack = await startStack();
  dir = await mkdtemp(path.join(tmpdir(), "client-cli-"));
});
after(async () => {
  await stack.close();
  await rm(dir, { recursive: true, force: true });
});

const ANSI = /\x1b\[/;

test("--json: stdout is exactly one JSON document, narration on stderr; --transcript writes the run", async () => {
  const transcript = path.join(dir, "run.md");
  const { code, stdout, stderr } = await client(["--server", stack.config.resource, "--json", "--transcript", transcript]);
  assert.equal(code, 0, stderr);
  const report = JSON.parse(stdout) as { ok: boolean; checks: Array<Record<string, unknown>>; durationMs: number };
  assert.deepEqual(Object.keys(report).sort(), ["checks", "durationMs", "ok"]);
  assert.equal(report.ok, true);
  assert.deepEqual(report.checks.map((c) => c.id), ["D1", "D2", "D3", "D4", "D5", "D6", "D7", "D8"]);
  for (const check of report.checks) {
    assert.deepEqual(Object.keys(check).sort(), ["detail", "id", "ms", "ok", "title"]);
    assert.equal(check.ok, true, String(check.detail));
    assert.equal(typeof check.ms, "number");
  }
  assert.match(stderr, /D3 write-file → step-up — RFC 6749 §6: a refresh cannot widen scope/);
  assert.doesNotMatch(stderr + stdout, ANSI, "no color on a pipe");

  const markdown = await readFile(transcript, "utf8");
  assert.match(markdown, /```mermaid\nsequenceDiagram\n/);
  assert.match(markdown, /participant Client\n {2}participant AS\n {2}participant RS/);
  assert.match(markdown, /RS-->>Client: 403 insufficient_scope scope="files:write"/);
  assert.match(markdown, /Client->>AS: GET \/authorize scope="files:read files:write"/);
  assert.match(markdown, /## Checklist\n\n- ✓ \*\*D1\*\*/);
  assert.doesNotMatch(markdown, /eyJ[\w-]{10,}\.[\w-]{10,}\.[\w-]{10,}/, "no whole JWT in the transcript");
});

test("without --json: narration and the ✓ checklist on stdout, exit 0", async () => {
  const { code, stdout } = await client([], { RS_URL: stack.config.resource, NO_COLOR: "1" });
  assert.equal(code, 0);
  assert.match(stdout, /^✓ D1 connect/m);
  assert.match(stdout, /^✓ D8 hardening, live/m);
  assert.match(stdout, /^PASS 8\/8 checks passed/m);
});

test("--call: the generic mode calls one tool, with step-up, and prints its result", async () => {
  const listed = await client(["--call", "list-files", stack.config.resource]);
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, /^listed \d+ files — read by \S+ \[files:read\]/);

  const written = await client(["--call", "write-file", "--args", '{"name":"cli.txt","content":"hi"}', "--server", stack.config.resource]);
  assert.equal(written.code, 0, written.stderr);
  assert.match(written.stdout, /\[files:read files:write\]/, "stepped up on the way");

  const declined = await client(["--call", "delete-file", "--args", '{"name":"notes.txt"}', stack.config.resource]);
  assert.equal(declined.code, 1);
  assert.match(declined.stderr, /insufficient_scope \(declined\): needs "files:admin"/);
});

test("usage and connection errors exit 2 with a clear message", async () => {
  const badArgs = await client(["--call", "list-files", "--args", "[1]", stack.config.resource]);
  assert.equal(badArgs.code, 2);
  assert.match(badArgs.stderr, /--args must be a JSON object/);

  const unknown = await client(["--bogus"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /usage:/);

  const remote = await client(["--server", "http://example.com/mcp"]);
  assert.equal(remote.code, 2);
  assert.match(remote.stderr, /loopback servers only/);

  const { server, address } = await listenLoopback(0);
  await closeServer(server); // a port nobody listens on
  const closed = `http://127.0.0.1:${address.port}/mcp`;
  const story = await client(["--server", closed, "--json"]);
  assert.equal(story.code, 2);
  assert.match(story.stderr, /cannot reach/);
  assert.equal((JSON.parse(story.stdout) as { ok: boolean }).ok, false, "still one JSON document");
  const call = await client(["--call", "list-files", closed]);
  assert.equal(call.code, 2);
  assert.match(call.stderr, new RegExp(`^client: cannot reach the MCP server ${closed} \\(ECONNREFUSED\\)$`, "m"));
});

test("--break with an AS rule against an AS not started with AS_BREAK: a usage error (exit 2), not a failed demonstration", async () => {
  const outcome = await client(["--server", stack.config.resource, "--break", "no-pkce"]);
  assert.equal(outcome.code, 2, outcome.stderr);
  assert.match(outcome.stderr, /--break no-pkce needs the AS started with AS_BREAK=no-pkce/);
  assert.match(outcome.stderr, /\/healthz does not say it breaks no-pkce/);
  assert.doesNotMatch(outcome.stdout, /BREAK/, "the story did not run");
});

test("--break scope-hierarchy needs both servers started broken: against a correct stack, a usage error naming the AS's switch", async () => {
  const outcome = await client(["--server", stack.config.resource, "--break", "scope-hierarchy"]);
  assert.equal(outcome.code, 2, outcome.stderr);
  assert.match(outcome.stderr, /--break scope-hierarchy needs the AS started with AS_BREAK=scope-hierarchy/);
  assert.doesNotMatch(outcome.stdout, /BREAK/, "the story did not run");
});

test("--step without a terminal on stdin, --only outside D2…D8, or --only with a break it cannot show: usage errors (exit 2), nothing sent", async () => {
  const rs = await startStubResourceServer(() => undefined);
  try {
    const cases: Array<[string[], RegExp]> = [
      [["--step"], /^client: --step waits for Enter after each step: it needs a terminal on stdin/],
      [["--only", "D9"], /^client: --only takes one of D2…D8 \(D1 always runs\), not "D9"/],
      [["--only", "D1"], /--only takes one of D2…D8/],
      [["--only", "D5", "--break", "no-pkce"], /^client: --break no-pkce shows in D8: run it with --only D8/],
    ];
    for (const [args, message] of cases) {
      const outcome = await client(["--server", rs.resource, ...args]);
      assert.equal(outcome.code, 2, `${args.join(" ")}: ${outcome.stderr}`);
      assert.match(outcome.stderr, message);
      assert.equal(outcome.stdout, "");
    }
    assert.deepEqual(rs.requests, [], "nothing was sent");
  } finally {
    await rs.close();
  }
});

test("a bad setting is a usage error, found before anything is printed or sent: exit 2, nothing on stdout", async () => {
  const rs = await startStubResourceServer(() => undefined); // counts what reaches it
  try {
    const modes = [["--server", rs.resource, "--json"], ["--server", rs.resource], ["--call", "list-files", rs.resource]];
    for (const args of modes) {
      const { code, stdout, stderr } = await client(args, { CLIENT_TIMEOUT_MS: "soon" });
      assert.equal(code, 2, `${args.join(" ")}: ${stderr}`);
      assert.equal(stdout, "", `${args.join(" ")}: a usage error is not a run — no JSON document, no narration`);
      assert.match(stderr, /^client: CLIENT_TIMEOUT_MS must be a positive integer, got "soon"\nusage: /, args.join(" "));
    }
    // The same contract for a usage error in the flags, --json or not.
    const misused = await client(["--json", "--args", "{}", "--server", rs.resource]);
    assert.equal(misused.code, 2);
    assert.equal(misused.stdout, "");
    assert.match(misused.stderr, /^client: --args needs --call\nusage: /);
    assert.deepEqual(rs.requests, [], "nothing was sent");
  } finally {
    await rs.close();
  }
});

test("when the authorization server is the one that is down, both modes say so — not the MCP server", async () => {
  // A running RS whose PRM names an AS port nobody listens on.
  const as = await listenLoopback(0);
  const rs = await listenLoopback(0);
  const config = loadConfig({ AS_PORT: String(as.address.port), RS_PORT: String(rs.address.port) });
  await closeServer(as.server);
  rs.server.on("request", await createResourceServer(config));
  try {
    const expected = new RegExp(
      `^client: cannot reach the authorization server ${config.issuer}: ` +
        `GET ${config.issuer}/\\.well-known/oauth-authorization-server failed \\(ECONNREFUSED\\)`,
      "m",
    );
    const call = await client(["--call", "list-files", config.resource]);
    assert.equal(call.code, 2, call.stderr);
    assert.match(call.stderr, expected);
    assert.doesNotMatch(call.stderr, /MCP server|TypeError|fetch failed/);

    const story = await client(["--server", config.resource, "--json"]);
    assert.equal(story.code, 2, story.stderr);
    assert.match(story.stderr, expected);
    const report = JSON.parse(story.stdout) as { ok: boolean; checks: Array<{ id: string; detail: string }> };
    assert.equal(report.ok, false);
    assert.match(report.checks[0]!.detail, /^cannot reach the authorization server /);
  } finally {
    await closeServer(rs.server);
  }
});
