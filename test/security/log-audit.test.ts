/**
 * Log audit (B3: no token or secret in a log line; C6: the transcript redacts).
 *
 * The secrets of a run — every access token, refresh token, authorization code and PKCE
 * `code_verifier` — are collected at the wire, where they are whole: from the token endpoint's JSON
 * responses, the authorization redirects' `Location`, and the token requests' form bodies. Then no
 * 20-character piece of any of them may appear in anything the run printed or wrote. A redacted prefix
 * (`abc123…`, at most 8 characters) is fine and is what the project prints.
 *
 * 1. In-process: the story (client/story.ts) against the AS and RS apps, their loggers and the
 *    narration captured line by line, the global fetch wrapped to collect the secrets.
 * 2. The real thing: `node --import tsx scripts/demo.ts --transcript …` as a child (four Node
 *    processes: the orchestrator, AS, RS and client). A small preload, passed to every one of them
 *    through NODE_OPTIONS, copies each process's stdout/stderr to a file and collects the secrets its
 *    fetch calls see — so the audit covers the servers' own logs too, which the demo prints only on
 *    failure.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { test } from "node:test";
import { runStory } from "../../client/story.ts";
import { renderTranscript } from "../../client/cli/transcript.ts";
import { loadConfig } from "../../shared/config.ts";
import { closeServer, listenLoopback } from "../../shared/listen.ts";
import { createApp as createAuthorizationServer, stateOf } from "../../as/app.ts";
import { createApp as createResourceServer } from "../../resource-server/app.ts";
import { capturingLogger } from "./catalog/rs-stack.ts";
import { expectOAuthError, obtainTokens, postToken, startAuthorizationServer } from "../helpers/oauth.ts";

const PROJECT_ROOT = path.resolve(import.meta.dirname, "../..");
const WINDOW = 20;

type SecretKind = "access_token" | "refresh_token" | "code" | "code_verifier";
type Secrets = Map<string, SecretKind>;

/** Every 20-character piece of a secret that occurs in `text` (each secret reported once). */
function leaks(secrets: Secrets, text: string): string[] {
  const pieces = new Set<string>();
  for (let i = 0; i + WINDOW <= text.length; i++) pieces.add(text.slice(i, i + WINDOW));
  const found: string[] = [];
  for (const [secret, kind] of secrets) {
    for (let i = 0; i + WINDOW <= secret.length; i++) {
      if (pieces.has(secret.slice(i, i + WINDOW))) {
        found.push(`${kind} ${secret.slice(0, 6)}… (at offset ${i})`);
        break;
      }
    }
  }
  return found;
}

function countKinds(secrets: Secrets): Record<SecretKind, number> {
  const counts: Record<SecretKind, number> = { access_token: 0, refresh_token: 0, code: 0, code_verifier: 0 };
  for (const kind of secrets.values()) counts[kind]++;
  return counts;
}

test("the leak detector finds a planted secret and tolerates a redacted prefix", () => {
  const secret = "Zq3kP9vX2mL7tR4wY8bN1cH6dF5gJ0sA";
  const secrets: Secrets = new Map([[secret, "refresh_token"]]);
  assert.deepEqual(leaks(secrets, `refresh_token=${secret.slice(0, 6)}… ok`), []);
  assert.equal(leaks(secrets, `…${secret.slice(5, 5 + WINDOW)}…`).length, 1);
  assert.equal(leaks(secrets, `token ${secret}`).length, 1);
});

// ---- 1. in-process: the story against the apps, every line captured ----

/** Wrap the global fetch for the duration of `run`, collecting the secrets the client sees whole. */
async function collectingSecrets<T>(run: (secrets: Secrets) => Promise<T>): Promise<T> {
  const secrets: Secrets = new Map();
  const keep = (kind: SecretKind, value: unknown) => {
    if (typeof value === "string" && value.length >= WINDOW) secrets.set(value, kind);
  };
  const fromForm = (form: URLSearchParams) => {
    keep("code", form.get("code"));
    keep("code_verifier", form.get("code_verifier"));
    keep("refresh_token", form.get("refresh_token"));
  };
  const realFetch = globalThis.fetch;
  globalThis.fetch = async (input: string | URL | Request, init?: RequestInit) => {
    if (init?.body instanceof URLSearchParams) fromForm(init.body);
    else if (typeof init?.body === "string" && !/^\s*[[{]/.test(init.body)) fromForm(new URLSearchParams(init.body));
    const response = await realFetch(input, init);
    const location = response.headers.get("location");
    if (location && URL.canParse(location, String(input))) keep("code", new URL(location, String(input)).searchParams.get("code"));
    if (response.headers.get("content-type")?.includes("application/json")) {
      const json = (await response.clone().json().catch(() => undefined)) as Record<string, unknown> | undefined;
      keep("access_token", json?.access_token);
      keep("refresh_token", json?.refresh_token);
    }
    return response;
  };
  try {
    return await run(secrets);
  } finally {
    globalThis.fetch = realFetch;
  }
}

test("B3: an unexpected error at the AS is logged by its class only, never its message (which may quote a token)", async () => {
  const lines: string[] = [];
  const as = await startAuthorizationServer({}, { logger: capturingLogger("[as]", lines) });
  try {
    const tokens = await obtainTokens(as.config);
    // A fault planted in the store: its message quotes the token it was asked for.
    stateOf(as.app).refreshTokens.get = (key) => {
      throw new Error(`store failed on ${key}`);
    };
    await expectOAuthError(await postToken(as.config, { grant_type: "refresh_token", client_id: tokens.client_id, refresh_token: tokens.refresh_token }), 500, "server_error");
    assert.ok(lines.includes("[as] warn: unexpected error: Error"), lines.join("\n"));
    assert.deepEqual(leaks(new Map([[tokens.refresh_token!, "refresh_token"]]), lines.join("\n")), []);
  } finally {
    await as.close();
  }
});

test("in-process story: no secret in the AS/RS log lines, the narration, the transcript or the recorded exchanges", { timeout: 30_000 }, async () => {
  const lines: string[] = [];
  const as = await listenLoopback(0);
  const rs = await listenLoopback(0);
  const config = loadConfig({ AS_PORT: String(as.address.port), RS_PORT: String(rs.address.port) });
  as.server.on("request", await createAuthorizationServer(config, { logger: capturingLogger("[as]", lines) }));
  rs.server.on("request", await createResourceServer(config, { logger: capturingLogger("[rs]", lines) }));
  try {
    await collectingSecrets(async (secrets) => {
      const narration: string[] = [];
      const run = await runStory({ serverUrl: config.resource, narrate: (line) => narration.push(line) });
      assert.ok(run.ok, `the story passed: ${JSON.stringify(run.checks.filter((c) => !c.ok))}`);
      const transcript = renderTranscript(run);

      const counts = countKinds(secrets);
      assert.ok(counts.access_token >= 3 && counts.refresh_token >= 2 && counts.code >= 3 && counts.code_verifier >= 3, `secrets collected: ${JSON.stringify(counts)}`);
      assert.ok(lines.some((line) => line.startsWith("[as] ")) && lines.some((line) => line.startsWith("[rs] ")), "both servers logged");

      const corpus = {
        "server log lines": lines.join("\n"),
        narration: narration.join("\n"),
        transcript,
        "recorded exchanges": JSON.stringify(run.exchanges),
        checklist: JSON.stringify(run.checks),
      };
      for (const [where, text] of Object.entries(corpus)) assert.deepEqual(leaks(secrets, text), [], `secrets in the ${where}`);
    });
  } finally {
    await Promise.all([closeServer(as.server), closeServer(rs.server)]);
  }
});

// ---- 2. the real demo: four processes, every byte they print ----

/** Runs first in every Node process of the demo (NODE_OPTIONS=--import=…). Plain JS: no tsx yet. */
const PRELOAD = String.raw`
import { appendFileSync } from "node:fs";
const dir = process.env.LOG_AUDIT_DIR;
if (dir) {
  const out = dir + "/output-" + process.pid + ".log";
  for (const name of ["stdout", "stderr"]) {
    const stream = process[name];
    const write = stream.write.bind(stream);
    stream.write = (chunk, ...rest) => {
      try { appendFileSync(out, typeof chunk === "string" ? chunk : Buffer.from(chunk)); } catch {}
      return write(chunk, ...rest);
    };
  }
  const keep = (kind, value) => {
    if (typeof value === "string" && value.length >= ${WINDOW}) appendFileSync(dir + "/secrets-" + process.pid + ".txt", kind + " " + value + "\n");
  };
  const fromForm = (form) => { keep("code", form.get("code")); keep("code_verifier", form.get("code_verifier")); keep("refresh_token", form.get("refresh_token")); };
  const realFetch = globalThis.fetch;
  globalThis.fetch = async (input, init) => {
    if (init && init.body instanceof URLSearchParams) fromForm(init.body);
    else if (init && typeof init.body === "string" && !/^\s*[[{]/.test(init.body)) fromForm(new URLSearchParams(init.body));
    const response = await realFetch(input, init);
    const location = response.headers.get("location");
    if (location && URL.canParse(location, String(input))) keep("code", new URL(location, String(input)).searchParams.get("code"));
    if ((response.headers.get("content-type") || "").includes("application/json")) {
      const json = await response.clone().json().catch(() => undefined);
      if (json) { keep("access_token", json.access_token); keep("refresh_token", json.refresh_token); }
    }
    return response;
  };
}
`;

test("pnpm demo (three processes and the orchestrator): no secret in any output nor in the transcript", { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(path.join(tmpdir(), "log-audit-"));
  try {
    const preload = path.join(dir, "preload.mjs");
    await writeFile(preload, PRELOAD);
    const transcriptPath = path.join(dir, "transcript.md");
    const env = {
      ...process.env,
      LOG_AUDIT_DIR: dir,
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --import=${pathToFileURL(preload).href}`.trim(),
      DEMO_TIMEOUT_MS: "45000",
      NO_COLOR: "1",
    };
    const child = spawn(process.execPath, ["--import", "tsx", "scripts/demo.ts", "--transcript", transcriptPath], {
      cwd: PROJECT_ROOT,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    const code = await new Promise<number | string>((resolve) => {
      const killer = setTimeout(() => child.kill("SIGKILL"), 55_000);
      child.on("exit", (exitCode, signal) => {
        clearTimeout(killer);
        resolve(exitCode ?? signal ?? "unknown");
      });
    });
    assert.equal(code, 0, `the demo passed:\n${output.slice(-3000)}`);

    const files = await readdir(dir);
    const secrets: Secrets = new Map();
    for (const file of files.filter((f) => f.startsWith("secrets-"))) {
      for (const line of (await readFile(path.join(dir, file), "utf8")).split("\n").filter(Boolean)) {
        const [kind, value] = line.split(" ") as [SecretKind, string];
        secrets.set(value, kind);
      }
    }
    const counts = countKinds(secrets);
    assert.ok(counts.access_token >= 3 && counts.refresh_token >= 2 && counts.code >= 3 && counts.code_verifier >= 3, `secrets collected: ${JSON.stringify(counts)}`);

    const outputs = files.filter((f) => f.startsWith("output-"));
    const processOutput = (await Promise.all(outputs.map((f) => readFile(path.join(dir, f), "utf8")))).join("\n");
    assert.ok(outputs.length >= 4, `every process's output was captured (${outputs.length} files)`);
    assert.match(processOutput, /\[as\] authorized client_id=/, "the AS's own log lines are in the audit");
    assert.match(processOutput, /\[rs\] session \S+ opened by/, "the RS's own log lines are in the audit");
    const transcript = await readFile(transcriptPath, "utf8");
    assert.match(transcript, /sequenceDiagram/);

    assert.deepEqual(leaks(secrets, output), [], "secrets in the demo's stdout/stderr");
    assert.deepEqual(leaks(secrets, processOutput), [], "secrets in a process's output");
    assert.deepEqual(leaks(secrets, transcript), [], "secrets in the transcript");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
