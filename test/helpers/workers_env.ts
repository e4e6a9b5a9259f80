// What the --workers tests read off a running group: processes and their sockets from /proc, a
// small RESP client that holds its connection, the stats and metrics of the primary and of each
// worker's private socket, and the sums the primary should give.

import { readdirSync, readFileSync, readlinkSync, renameSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { expect } from "vitest";
import { parsePrometheus, type PromFamily } from "./prom_parse.ts";
import type { Backend } from "./real_backends.ts";

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll `f` until it gives something other than null/undefined/false; throw after `timeoutMs`, with the last error `f` threw. */
export async function until<T>(what: string, f: () => T | null | undefined | false | Promise<T | null | undefined | false>, timeoutMs = 8000): Promise<T> {
  const t0 = Date.now();
  let last: unknown = null;
  for (;;) {
    try {
      const v = await f();
      if (v !== null && v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() - t0 > timeoutMs) throw new Error(`not within ${timeoutMs} ms: ${what}${last === null ? "" : ` (last: ${(last as Error).message})`}`);
    await sleep(25);
  }
}

// ---------------------------------------------------------------------------------------------
// processes, read off /proc

/** The state letter of `pid` (R, S, Z...), or null when there is no such process. */
export function procState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  } catch {
    return null;
  }
}

/** Running: there and not a zombie (a worker whose primary is gone is reparented, maybe to a pid 1 that does not reap). */
export const alive = (pid: number): boolean => {
  const s = procState(pid);
  return s !== null && s !== "Z" && s !== "X";
};

/** The live children of `pid`, as `pgrep -P` lists them. */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(rest[1]) === pid && rest[0] !== "Z" && rest[0] !== "X") out.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return out.sort((a, b) => a - b);
}

/** The primary's workers by slot, from their command lines (`--worker-slot=I:PREFIX`). */
export function workersOf(primary: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of childrenOf(primary)) {
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    } catch {
      continue;
    }
    const slot = argv.map((a) => /^--worker-slot=(\d+):/.exec(a)).find((m) => m !== null);
    if (slot) out.set(Number(slot[1]), pid);
  }
  return out;
}

/** Both workers' pids, once both run. */
export const bothWorkers = (primary: number): Promise<[number, number]> =>
  until(`two workers under ${primary}`, () => {
    const w = workersOf(primary);
    return w.size === 2 && w.has(0) && w.has(1) ? ([w.get(0)!, w.get(1)!] as [number, number]) : null;
  });

/** Established TCP sockets by inode: local and remote port (IPv4 and IPv6 tables). */
export function tcpByInode(): Map<string, { local: number; remote: number }> {
  const out = new Map<string, { local: number; remote: number }>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== "01") continue; // 01: ESTABLISHED
      const port = (addr: string) => Number.parseInt(addr.slice(addr.lastIndexOf(":") + 1), 16);
      out.set(f[9]!, { local: port(f[1]!), remote: port(f[2]!) });
    }
  }
  return out;
}

/** The client ports (their local ports) of the connections `pid` holds accepted on `listenPort`. */
export function clientPortsOf(pid: number, listenPort: number): Set<number> {
  const tcp = tcpByInode();
  const out = new Set<number>();
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return out;
  }
  for (const fd of fds) {
    let link: string;
    try {
      link = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue;
    }
    const m = /^socket:\[(\d+)\]$/.exec(link);
    const s = m === null ? undefined : tcp.get(m[1]!);
    if (s !== undefined && s.local === listenPort) out.add(s.remote);
  }
  return out;
}

/** Which worker holds each of `clients`, once every one is held by exactly one of `pids`. */
export function placeClients(clients: readonly Client[], pids: readonly number[], listenPort: number): Promise<number[][]> {
  return until(`every client held by exactly one worker`, () => {
    const held = pids.map((p) => clientPortsOf(p, listenPort));
    const by: number[][] = pids.map(() => []);
    for (const [i, c] of clients.entries()) {
      const at = held.flatMap((h, w) => (h.has(c.localPort) ? [w] : []));
      if (at.length !== 1) return null;
      by[at[0]!]!.push(i);
    }
    return by;
  });
}

// ---------------------------------------------------------------------------------------------
// a held redis client

/** One reply's end in `b` from `p`, for the replies these tests get (+, -, :, $); -1 when incomplete. */
export function replyEnd(b: Buffer, p: number): number {
  if (p >= b.length) return -1;
  const nl = b.indexOf("\r\n", p);
  if (nl < 0) return -1;
  const t = String.fromCharCode(b[p]!);
  if (t === "+" || t === "-" || t === ":") return nl + 2;
  if (t !== "$") throw new Error(`unexpected reply ${JSON.stringify(b.toString("latin1", p, nl))}`);
  const n = Number(b.toString("latin1", p + 1, nl));
  if (n < 0) return nl + 2;
  return b.length >= nl + 2 + n + 2 ? nl + 2 + n + 2 : -1;
}

export const respOf = (...args: string[]): Buffer => {
  let s = `*${args.length}\r\n`;
  for (const a of args) s += `$${Buffer.byteLength(a)}\r\n${a}\r\n`;
  return Buffer.from(s);
};

/** A connection held open: one command at a time, each answered in order. */
export class Client {
  readonly sock: Socket;
  localPort = 0;
  closed = false;
  private buf = Buffer.alloc(0);
  private waiting: { resolve: (r: string) => void; reject: (e: Error) => void }[] = [];
  readonly whenClosed: Promise<void>;

  private constructor(sock: Socket) {
    this.sock = sock;
    sock.on("data", (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      for (;;) {
        const e = replyEnd(this.buf, 0);
        if (e < 0) break;
        const r = this.buf.toString("latin1", 0, e);
        this.buf = this.buf.subarray(e);
        this.waiting.shift()?.resolve(r);
      }
    });
    sock.on("error", () => {});
    this.whenClosed = new Promise((resolve) =>
      sock.once("close", () => {
        this.closed = true;
        for (const w of this.waiting.splice(0)) w.reject(new Error(`closed on port ${this.localPort}`));
        resolve();
      }),
    );
  }

  static open(port: number): Promise<Client> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: "127.0.0.1", port });
      s.once("error", reject);
      s.once("connect", () => {
        s.off("error", reject);
        const c = new Client(s);
        c.localPort = s.localPort!;
        resolve(c);
      });
    });
  }

  cmd(...args: string[]): Promise<string> {
    if (this.closed) return Promise.reject(new Error(`closed on port ${this.localPort}`));
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.sock.write(respOf(...args));
    });
  }

  close(): void {
    this.sock.destroy();
  }
}

/** Four requests on `c`: two SETs and the GETs that read them back. */
export async function setGet(c: Client, key: string): Promise<void> {
  expect(await c.cmd("SET", `${key}:a`, `va-${key}`)).toBe("+OK\r\n");
  expect(await c.cmd("GET", `${key}:a`)).toBe(`$${`va-${key}`.length}\r\nva-${key}\r\n`);
  expect(await c.cmd("SET", `${key}:b`, `vb-${key}`)).toBe("+OK\r\n");
  expect(await c.cmd("GET", `${key}:b`)).toBe(`$${`vb-${key}`.length}\r\nvb-${key}\r\n`);
}
export const REQS_PER_CLIENT = 4;

export const openMany = (port: number, n: number): Promise<Client[]> => Promise.all(Array.from({ length: n }, () => Client.open(port)));

// ---------------------------------------------------------------------------------------------
// stats and metrics

export type Obj = { [k: string]: unknown };

/** Everything a stream socket (`{ path }` or `{ host, port }`) sends after `request`, until it closes. */
export function readAll(opts: { path: string } | { host: string; port: number }, request?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(opts as { path: string });
    let d = "";
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no close from ${JSON.stringify(opts)} within 5000 ms`));
    }, 5000);
    s.on("connect", () => {
      if (request !== undefined) s.write(request);
    });
    s.on("data", (x: Buffer) => (d += x.toString()));
    s.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    s.on("close", () => {
      clearTimeout(timer);
      resolve(d);
    });
  });
}

export const statsAt = async (port: number): Promise<Obj> => JSON.parse(await readAll({ host: "127.0.0.1", port })) as Obj;

/** The prefix of the primary's private sockets (src/core/workers.ts). */
export const prefixOf = (primary: number): string => `${process.env.TMPDIR ?? "/tmp"}/nutcracker-${primary}`;
export const socketFiles = (primary: number): string[] => {
  const p = prefixOf(primary);
  const dir = p.slice(0, p.lastIndexOf("/"));
  const base = p.slice(p.lastIndexOf("/") + 1);
  return readdirSync(dir).filter((f) => f.startsWith(`${base}-w`));
};

export const workerStats = async (primary: number, i: number): Promise<Obj> => JSON.parse(await readAll({ path: `${prefixOf(primary)}-w${i}.stats` })) as Obj;

/** A worker's own metrics, off its private socket. */
export async function workerMetrics(primary: number, i: number): Promise<Map<string, PromFamily>> {
  const reply = await readAll({ path: `${prefixOf(primary)}-w${i}.metrics` }, "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n");
  expect(reply.startsWith("HTTP/1.1 200 ")).toBe(true);
  return parsePrometheus(reply.slice(reply.indexOf("\r\n\r\n") + 4));
}

export async function metricsAt(port: number): Promise<Map<string, PromFamily>> {
  const r = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(r.status).toBe(200);
  return parsePrometheus(await r.text());
}

export async function postReload(port: number): Promise<{ status: number; body: Obj }> {
  const r = await fetch(`http://127.0.0.1:${port}/reload`, { method: "POST" });
  return { status: r.status, body: (await r.json()) as Obj };
}

/** The stats keys whose group value is the largest worker's, not the sum. */
export const MAX_KEYS = new Set(["latency_p50_us", "latency_p99_us", "latency_p999_us", "server_ejected_at"]);

/** What the group's stats JSON must say from its workers': the connection counts and every pool and server number summed (or the max). */
export function expectedSums(ws: readonly Obj[]): Obj {
  const sum = (objs: readonly Obj[]): Obj => {
    const out: Obj = {};
    for (const o of objs) {
      for (const [k, v] of Object.entries(o)) {
        if (typeof v === "number") out[k] = MAX_KEYS.has(k) ? Math.max((out[k] as number | undefined) ?? v, v) : ((out[k] as number | undefined) ?? 0) + v;
        else if (typeof v === "object" && v !== null) out[k] = sum([...(out[k] === undefined ? [] : [out[k] as Obj]), v as Obj]);
      }
    }
    return out;
  };
  const pools = sum(ws.map((w) => Object.fromEntries(Object.entries(w).filter(([, v]) => typeof v === "object"))));
  return {
    total_connections: ws.reduce((n, w) => n + (w.total_connections as number), 0),
    curr_connections: ws.reduce((n, w) => n + (w.curr_connections as number), 0),
    workers: ws.length,
    ...pools,
  };
}

/** The parts of a group's stats JSON that expectedSums() predicts (the header's own uptime and clock left out). */
export const summed = (g: Obj): Obj => {
  const { service: _s, source: _src, version: _v, uptime: _u, timestamp: _t, ...rest } = g;
  return rest;
};

export const pool = (s: Obj, name: string): Obj => s[name] as Obj;
/** A pool's requests (or another server key) over its servers. */
export const serverSum = (p: Obj, key: string): number =>
  Object.values(p)
    .filter((v): v is Obj => typeof v === "object" && v !== null)
    .reduce((n, srv) => n + (srv[key] as number), 0);

// ---------------------------------------------------------------------------------------------

export const confText = (pools: readonly { name: string; port: number }[], backends: readonly Backend[]): string =>
  pools
    .map((p) => `${p.name}:\n  listen: 127.0.0.1:${p.port}\n  redis: true\n  servers:\n${backends.map((b) => `   - 127.0.0.1:${b.port}:1\n`).join("")}`)
    .join("");

/** Replace `file` whole (rename), so a reload never reads half of it. */
export function rewrite(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}
