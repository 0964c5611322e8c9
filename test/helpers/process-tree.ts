/**
 * What a process tree holds, read from Linux's procfs (proc(5)): every descendant of a pid and the TCP
 * ports they listen on. The signal tests use it to prove that nothing of a run survives it — not the
 * process itself, not a grandchild, not a bound port. `supported` is false where there is no procfs.
 */
import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";

export const supported = process.platform === "linux" && existsSync("/proc/self/stat");

/** proc(5) /proc/PID/stat: the fields after the parenthesised command name (which may hold spaces). */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined; // gone
  }
}

/** Alive = exists and is not a zombie (an exited process its parent has not reaped yet). */
export function isAlive(pid: number): boolean {
  const state = statFields(pid)?.[0];
  return state !== undefined && state !== "Z";
}

/** `pid` and every live process below it (children, grandchildren, …). */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(Number(entry));
    if (!fields || fields[0] === "Z") continue;
    const ppid = Number(fields[1]); // field 4 of the whole line
    children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
  }
  const tree: number[] = [];
  const queue = isAlive(pid) ? [pid] : [];
  while (queue.length > 0) {
    const next = queue.shift()!;
    tree.push(next);
    queue.push(...(children.get(next) ?? []));
  }
  return tree;
}

/** socket inode → port, for every TCP socket in the LISTEN state (st = 0A) on IPv4 and IPv6. */
function listeningSockets(): Map<string, number> {
  const sockets = new Map<string, number>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const columns = line.trim().split(/\s+/);
      if (columns[3] !== "0A") continue;
      sockets.set(columns[9]!, parseInt(columns[1]!.split(":")[1]!, 16));
    }
  }
  return sockets;
}

/** The TCP ports the processes `pids` listen on. */
export function listeningPorts(pids: number[]): number[] {
  const sockets = listeningSockets();
  const ports = new Set<number>();
  for (const pid of pids) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let target = "";
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      const port = inode === undefined ? undefined : sockets.get(inode);
      if (port !== undefined) ports.add(port);
    }
  }
  return [...ports].sort((a, b) => a - b);
}

/** Is anything at all (any process) listening on `port`? */
export function isListening(port: number): boolean {
  return [...listeningSockets().values()].includes(port);
}
