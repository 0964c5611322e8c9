/**
 * startStack (scripts/processes.ts): the AS and the RS come up on ports no other process holds, and a
 * `/healthz` answer only counts when it comes from the child that was started.
 *
 * The race this covers: free ports are chosen, released, then bound by the children; a process that
 * takes one in between must neither make the start fail for good nor be mistaken for our server.
 */
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { test } from "node:test";
import { checkIdentity, freeLoopbackPorts, PortTakenError, startStack, stopChild, type Child } from "../../scripts/processes.ts";

const entries = { as: "as/server.ts", rs: "resource-server/server.ts" };
const env = { ...process.env, AS_STATE_DIR: "", AS_CONSENT: "auto" };

/** A stranger on a loopback port that answers every request, `/healthz` included, with 200. */
async function stranger(): Promise<{ port: number; close: () => Promise<void> }> {
  const server = http.createServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end('{"status":"ok"}'));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as { port: number }).port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** A holder that accepts and drops every connection: no HTTP answer, so only the child's own exit (EADDRINUSE) tells. */
async function silentHolder(): Promise<{ port: number; close: () => Promise<void> }> {
  const server = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as net.AddressInfo).port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

function healthz(port: number): Promise<{ pid?: number }> {
  return new Promise((resolve, reject) => {
    http
      .get(`http://127.0.0.1:${port}/healthz`, (res) => {
        let body = "";
        res.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
        res.on("end", () => resolve(JSON.parse(body)));
      })
      .on("error", reject);
  });
}

test("checkIdentity accepts only a /healthz body carrying the child's own pid", () => {
  const child = { name: "as", process: { pid: 4242 } } as Pick<Child, "name" | "process">;
  assert.doesNotThrow(() => checkIdentity(child, "http://127.0.0.1:1/healthz", { status: "ok", pid: 4242 }));
  assert.throws(() => checkIdentity(child, "http://127.0.0.1:1/healthz", { status: "ok", pid: 4243 }), PortTakenError);
  assert.throws(() => checkIdentity(child, "http://127.0.0.1:1/healthz", { status: "ok" }), PortTakenError);
  assert.throws(() => checkIdentity(child, "http://127.0.0.1:1/healthz", null), PortTakenError);
});

test("a port taken by another server before the AS binds it: the stack starts again on fresh ports", { timeout: 60_000 }, async () => {
  const busy = await stranger();
  const started: Child[] = [];
  const retries: string[] = [];
  try {
    const stack = await startStack({
      entries,
      env,
      signal: AbortSignal.timeout(45_000),
      // The first attempt gets the stranger's port for the AS, as a lost race would.
      choosePorts: async (attempt) => (attempt === 1 ? [busy.port, (await freeLoopbackPorts(1))[0]!] : freeLoopbackPorts(2)),
      onStart: ({ as, rs }) => started.push(as, rs),
      onRetry: (reason) => retries.push(reason),
    });
    assert.notEqual(stack.asPort, busy.port);
    assert.equal(retries.length, 1, retries.join("\n"));
    assert.match(retries[0]!, /another process .* answers|port was taken/);
    // What answers on the stack's ports is the stack's own children.
    assert.equal((await healthz(stack.asPort)).pid, stack.as.process.pid);
    assert.equal((await healthz(stack.rsPort)).pid, stack.rs.process.pid);
    // The first attempt's servers were stopped.
    for (const child of started.slice(0, 2)) assert.ok(child.process.exitCode !== null || child.process.signalCode !== null, `${child.name} of attempt 1 stopped`);
    // The stranger was never mistaken for the AS, and still answers as itself.
    assert.equal((await healthz(busy.port)).pid, undefined);
  } finally {
    await Promise.all(started.map((child) => stopChild(child)));
    await busy.close();
  }
});

test("the RS's port held by a silent process: the RS exits with EADDRINUSE, and the stack starts again on fresh ports", { timeout: 60_000 }, async () => {
  const busy = await silentHolder();
  const started: Child[] = [];
  const retries: string[] = [];
  try {
    const stack = await startStack({
      entries,
      env,
      signal: AbortSignal.timeout(45_000),
      choosePorts: async (attempt) => (attempt === 1 ? [(await freeLoopbackPorts(1))[0]!, busy.port] : freeLoopbackPorts(2)),
      onStart: ({ as, rs }) => started.push(as, rs),
      onRetry: (reason) => retries.push(reason),
    });
    assert.equal(retries.length, 1, retries.join("\n"));
    assert.match(retries[0]!, /^rs exited .*: its port was taken$/);
    assert.ok(started[1]!.log.some((line) => line.includes("EADDRINUSE")), started[1]!.log.join("\n"));
    assert.notEqual(stack.rsPort, busy.port);
    assert.equal((await healthz(stack.rsPort)).pid, stack.rs.process.pid);
  } finally {
    await Promise.all(started.map((child) => stopChild(child)));
    await busy.close();
  }
});

test("when every attempt finds its port taken, startStack fails with PortTakenError and leaves nothing running", { timeout: 60_000 }, async () => {
  const busy = await stranger();
  const started: Child[] = [];
  try {
    await assert.rejects(
      startStack({
        entries,
        env,
        signal: AbortSignal.timeout(45_000),
        attempts: 2,
        choosePorts: async () => [busy.port, (await freeLoopbackPorts(1))[0]!],
        onStart: ({ as, rs }) => started.push(as, rs),
      }),
      PortTakenError,
    );
    assert.equal(started.length, 4, "two attempts, two servers each");
    for (const child of started) assert.ok(child.process.exitCode !== null || child.process.signalCode !== null, `${child.name} stopped`);
  } finally {
    await Promise.all(started.map((child) => stopChild(child)));
    await busy.close();
  }
});
