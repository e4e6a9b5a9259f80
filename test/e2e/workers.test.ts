// --workers N (src/core/workers.ts, src/stats/merge.ts) against two real redis-servers, on the
// Node bundle (node:cluster on Node 20, SO_REUSEPORT from 22.12) and the Bun binary
// (SO_REUSEPORT): 200 held clients spread over both workers, each worker's private stats socket
// and the primary's sums (stats JSON and metrics); a worker killed with -9 drops only its own
// clients and is started again; SIGUSR2 and POST /reload reach every worker (a new pool served by
// both, a broken file refused by both); SIGTERM stops every process and removes the sockets and
// the pid file; SIGTTOU/SIGTTIN/SIGHUP reach every worker; -d passes --workers to the daemon; a primary killed with -9 takes its workers with
// it; --workers 1 is one process.
//
// Which worker holds which client is read off /proc (the worker's socket inodes against
// /proc/net/tcp), not inferred from the proxy's own counters.

import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, readlinkSync, renameSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parsePrometheus, type PromFamily, sampleValue } from "../helpers/prom_parse.ts";
import { type Running, startProxy, TARGETS, type Target, writeConf } from "../helpers/proxy.ts";
import { type Backend, startRedis } from "../helpers/real_backends.ts";
import { freePort, waitForPort } from "../helpers/runtimes.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll `f` until it gives something other than null/undefined/false; throw after `timeoutMs`, with the last error `f` threw. */
async function until<T>(what: string, f: () => T | null | undefined | false | Promise<T | null | undefined | false>, timeoutMs = 8000): Promise<T> {
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
function procState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  } catch {
    return null;
  }
}

/** Running: there and not a zombie (a worker whose primary is gone is reparented, maybe to a pid 1 that does not reap). */
const alive = (pid: number): boolean => {
  const s = procState(pid);
  return s !== null && s !== "Z" && s !== "X";
};

/** The live children of `pid`, as `pgrep -P` lists them. */
function childrenOf(pid: number): number[] {
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
function workersOf(primary: number): Map<number, number> {
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
const bothWorkers = (primary: number): Promise<[number, number]> =>
  until(`two workers under ${primary}`, () => {
    const w = workersOf(primary);
    return w.size === 2 && w.has(0) && w.has(1) ? ([w.get(0)!, w.get(1)!] as [number, number]) : null;
  });

/** Established TCP sockets by inode: local and remote port (IPv4 and IPv6 tables). */
function tcpByInode(): Map<string, { local: number; remote: number }> {
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
function clientPortsOf(pid: number, listenPort: number): Set<number> {
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
function placeClients(clients: readonly Client[], pids: readonly number[], listenPort: number): Promise<number[][]> {
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
function replyEnd(b: Buffer, p: number): number {
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

const respOf = (...args: string[]): Buffer => {
  let s = `*${args.length}\r\n`;
  for (const a of args) s += `$${Buffer.byteLength(a)}\r\n${a}\r\n`;
  return Buffer.from(s);
};

/** A connection held open: one command at a time, each answered in order. */
class Client {
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
async function setGet(c: Client, key: string): Promise<void> {
  expect(await c.cmd("SET", `${key}:a`, `va-${key}`)).toBe("+OK\r\n");
  expect(await c.cmd("GET", `${key}:a`)).toBe(`$${`va-${key}`.length}\r\nva-${key}\r\n`);
  expect(await c.cmd("SET", `${key}:b`, `vb-${key}`)).toBe("+OK\r\n");
  expect(await c.cmd("GET", `${key}:b`)).toBe(`$${`vb-${key}`.length}\r\nvb-${key}\r\n`);
}
const REQS_PER_CLIENT = 4;

const openMany = (port: number, n: number): Promise<Client[]> => Promise.all(Array.from({ length: n }, () => Client.open(port)));

// ---------------------------------------------------------------------------------------------
// stats and metrics

type Obj = { [k: string]: unknown };

/** Everything a stream socket (`{ path }` or `{ host, port }`) sends after `request`, until it closes. */
function readAll(opts: { path: string } | { host: string; port: number }, request?: string): Promise<string> {
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

const statsAt = async (port: number): Promise<Obj> => JSON.parse(await readAll({ host: "127.0.0.1", port })) as Obj;

/** The prefix of the primary's private sockets (src/core/workers.ts). */
const prefixOf = (primary: number): string => `${process.env.TMPDIR ?? "/tmp"}/nutcracker-${primary}`;
const socketFiles = (primary: number): string[] => {
  const p = prefixOf(primary);
  const dir = p.slice(0, p.lastIndexOf("/"));
  const base = p.slice(p.lastIndexOf("/") + 1);
  return readdirSync(dir).filter((f) => f.startsWith(`${base}-w`));
};

const workerStats = async (primary: number, i: number): Promise<Obj> => JSON.parse(await readAll({ path: `${prefixOf(primary)}-w${i}.stats` })) as Obj;

/** A worker's own metrics, off its private socket. */
async function workerMetrics(primary: number, i: number): Promise<Map<string, PromFamily>> {
  const reply = await readAll({ path: `${prefixOf(primary)}-w${i}.metrics` }, "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n");
  expect(reply.startsWith("HTTP/1.1 200 ")).toBe(true);
  return parsePrometheus(reply.slice(reply.indexOf("\r\n\r\n") + 4));
}

async function metricsAt(port: number): Promise<Map<string, PromFamily>> {
  const r = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(r.status).toBe(200);
  return parsePrometheus(await r.text());
}

async function postReload(port: number): Promise<{ status: number; body: Obj }> {
  const r = await fetch(`http://127.0.0.1:${port}/reload`, { method: "POST" });
  return { status: r.status, body: (await r.json()) as Obj };
}

/** The stats keys whose group value is the largest worker's, not the sum. */
const MAX_KEYS = new Set(["latency_p50_us", "latency_p99_us", "latency_p999_us", "server_ejected_at"]);

/** What the group's stats JSON must say from its workers': the connection counts and every pool and server number summed (or the max). */
function expectedSums(ws: readonly Obj[]): Obj {
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
const summed = (g: Obj): Obj => {
  const { service: _s, source: _src, version: _v, uptime: _u, timestamp: _t, ...rest } = g;
  return rest;
};

const pool = (s: Obj, name: string): Obj => s[name] as Obj;
/** A pool's requests (or another server key) over its servers. */
const serverSum = (p: Obj, key: string): number =>
  Object.values(p)
    .filter((v): v is Obj => typeof v === "object" && v !== null)
    .reduce((n, srv) => n + (srv[key] as number), 0);

// ---------------------------------------------------------------------------------------------

const confText = (pools: readonly { name: string; port: number }[], backends: readonly Backend[]): string =>
  pools
    .map((p) => `${p.name}:\n  listen: 127.0.0.1:${p.port}\n  redis: true\n  servers:\n${backends.map((b) => `   - 127.0.0.1:${b.port}:1\n`).join("")}`)
    .join("");

/** Replace `file` whole (rename), so a reload never reads half of it. */
function rewrite(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

let r1: Backend;
let r2: Backend;

beforeAll(async () => {
  [r1, r2] = await Promise.all([startRedis(), startRedis()]);
});

afterAll(async () => {
  await Promise.all([r1, r2].filter(Boolean).map((b) => b.stop()));
});

describe.each(["node", "binary"] as Target[])("--workers on %s", (target) => {
  const started: Running[] = [];
  const held: Client[] = [];

  afterAll(async () => {
    for (const c of held) c.close();
    await Promise.all(started.map((p) => p.stop()));
  });

  async function start(args: string[], port: number): Promise<Running> {
    const p = await startProxy(target, args, port);
    started.push(p);
    return p;
  }

  describe("a group of two", () => {
    const port = { alpha: 0, beta: 0, gamma: 0, stats: 0, metrics: 0 };
    let file: string;
    let proxy: Running;
    let primary: number;
    /** The 200 clients of case 1, by index; which worker holds each. */
    let clients: Client[] = [];
    let byWorker: number[][] = [];

    beforeAll(async () => {
      for (const k of Object.keys(port) as (keyof typeof port)[]) port[k] = await freePort();
      file = writeConf(confText([{ name: "alpha", port: port.alpha }], [r1, r2]));
      proxy = await start(["-c", file, "--workers", "2", "-s", String(port.stats), `--metrics-port=${port.metrics}`, "-i", "100"], port.alpha);
      primary = proxy.proc.pid!;
      await bothWorkers(primary);
      // both listen (with SO_REUSEPORT one may accept before the other has bound)
      await until("both workers answer on their private sockets", async () => {
        const [a, b] = await Promise.all([workerStats(primary, 0), workerStats(primary, 1)]);
        return a.alpha !== undefined && b.alpha !== undefined;
      });
    });

    it("200 held clients are spread over both workers, and the primary's stats and metrics are the workers' sums", async () => {
      clients = await openMany(port.alpha, 200);
      held.push(...clients);
      await Promise.all(clients.map((c, i) => setGet(c, `w1:${target}:${i}`)));
      const pids = await bothWorkers(primary);
      byWorker = await placeClients(clients, pids, port.alpha);
      // the kernel (or node:cluster) gave each some
      expect(byWorker[0]!.length).toBeGreaterThan(0);
      expect(byWorker[1]!.length).toBeGreaterThan(0);

      // each worker's own stats socket: its own clients, as /proc counts them
      const ws = await until("each worker's stats show its clients", async () => {
        const w = await Promise.all([workerStats(primary, 0), workerStats(primary, 1)]);
        return w.every((s, i) => pool(s, "alpha").client_connections === byWorker[i]!.length) ? w : null;
      });
      expect(ws.map((s) => pool(s, "alpha").client_connections)).toEqual([byWorker[0]!.length, byWorker[1]!.length]);

      // the primary's -s: what was sent, and the sums of the workers' JSON read at the same state
      const [g, w0, w1] = await until("the primary's stats equal the workers' sums", async () => {
        const [w0, w1] = await Promise.all([workerStats(primary, 0), workerStats(primary, 1)]);
        const g = await statsAt(port.stats);
        const [v0, v1] = await Promise.all([workerStats(primary, 0), workerStats(primary, 1)]);
        // the workers' snapshots did not move while the primary read them
        if (JSON.stringify(summed(expectedSums([w0, w1]))) !== JSON.stringify(summed(expectedSums([v0, v1])))) return null;
        // a snapshot (-i) taken while the last replies were on their way counts every request but not every response
        if (serverSum(pool(g, "alpha"), "requests") !== 200 * REQS_PER_CLIENT || serverSum(pool(g, "alpha"), "responses") !== 200 * REQS_PER_CLIENT) return null;
        expect(summed(g)).toEqual(expectedSums([w0, w1]));
        return [g, w0, w1] as const;
      });
      expect(summed(g)).toEqual(expectedSums([w0, w1]));
      expect(g.workers).toBe(2);
      expect(pool(g, "alpha").client_connections).toBe(200);
      expect(serverSum(pool(g, "alpha"), "requests")).toBe(200 * REQS_PER_CLIENT);
      expect(serverSum(pool(g, "alpha"), "responses")).toBe(200 * REQS_PER_CLIENT);
      expect(pool(g, "alpha").client_err).toBe(0);

      // the metrics port: strict exposition text, both workers up, never restarted, the same sums
      const m = await metricsAt(port.metrics);
      for (const w of ["0", "1"]) {
        expect(sampleValue(m, "nutcracker_worker_up", { worker: w })).toBe(1);
        expect(sampleValue(m, "nutcracker_worker_restarts_total", { worker: w })).toBe(0);
      }
      expect(sampleValue(m, "nutcracker_pool_client_connections", { pool: "alpha" })).toBe(200);
      const reqs = m.get("nutcracker_server_requests_total")!.samples.filter((s) => s.labels.pool === "alpha");
      expect(reqs.length).toBe(2);
      expect(reqs.reduce((n, s) => n + s.value, 0)).toBe(200 * REQS_PER_CLIENT);
    });

    it("a worker killed with -9 drops only its own clients, the other's keep their connections, and it is started again", async () => {
      expect(clients.length).toBe(200);
      const [victim, other] = await bothWorkers(primary);
      const onVictim = byWorker[0]!.map((i) => clients[i]!);
      const onOther = byWorker[1]!.map((i) => clients[i]!);
      process.kill(victim, "SIGKILL");

      // every client of the dead worker sees its connection close
      await until("the dead worker's clients closed", () => onVictim.every((c) => c.closed));
      // and those of the other one work on the same connection (the same local port /proc saw)
      await Promise.all(onOther.map((c, i) => setGet(c, `w2:${target}:${i}`)));
      expect(onOther.filter((c) => c.closed).length).toBe(0);
      expect([...clientPortsOf(other, port.alpha)].sort()).toEqual(onOther.map((c) => c.localPort).sort());

      // started again in its slot, a new process; the metrics say so
      const again = await until("slot 0 running a new worker", () => {
        const w = workersOf(primary).get(0);
        return w !== undefined && w !== victim ? w : null;
      });
      expect(alive(victim)).toBe(false);
      expect(workersOf(primary).get(1)).toBe(other);
      await until("restarts_total 1 and worker_up 1 for worker 0", async () => {
        const m = await metricsAt(port.metrics);
        return sampleValue(m, "nutcracker_worker_restarts_total", { worker: "0" }) === 1 && sampleValue(m, "nutcracker_worker_up", { worker: "0" }) === 1;
      });
      const m = await metricsAt(port.metrics);
      expect(sampleValue(m, "nutcracker_worker_restarts_total", { worker: "1" })).toBe(0);
      expect(sampleValue(m, "nutcracker_worker_up", { worker: "1" })).toBe(1);

      // new connections work, and the new worker takes some of them
      await until("the new worker answers on its stats socket", async () => pool(await workerStats(primary, 0), "alpha") !== undefined);
      const fresh = await openMany(port.alpha, 60);
      held.push(...fresh);
      await Promise.all(fresh.map((c, i) => setGet(c, `w2new:${target}:${i}`)));
      const placed = await placeClients(fresh, [again, other], port.alpha);
      expect(placed[0]!.length).toBeGreaterThan(0);
      expect(placed[0]!.length + placed[1]!.length).toBe(60);
      for (const c of fresh) c.close();
    });

    /** Hold `n` clients on `p`, each served, until both workers' stats show the pool with clients of its own (summing to n). */
    async function servedByBoth(name: string, p: number, n: number): Promise<void> {
      const cs = await openMany(p, n);
      held.push(...cs);
      await Promise.all(cs.map((c, i) => setGet(c, `w3:${target}:${name}:${i}`)));
      const ws = await until(`both workers' stats show ${n} clients of ${name}`, async () => {
        const w = await Promise.all([workerStats(primary, 0), workerStats(primary, 1)]);
        const got = w.map((s) => (pool(s, name)?.client_connections as number | undefined) ?? 0);
        return got[0]! + got[1]! === n ? w : null;
      });
      expect((pool(ws[0]!, name).client_connections as number) > 0 && (pool(ws[1]!, name).client_connections as number) > 0).toBe(true);
      for (const c of cs) c.close();
    }

    /** Each worker's own reload counters (its metrics socket): [applied, refused] per worker. */
    const workerReloads = async (): Promise<number[][]> =>
      Promise.all(
        [0, 1].map(async (i) => {
          const m = await workerMetrics(primary, i);
          return [sampleValue(m, "nutcracker_reloads_total"), sampleValue(m, "nutcracker_reloads_failed_total")];
        }),
      );

    it("SIGUSR2 and POST /reload reach both workers: a new pool served by both; a broken file refused by both, nothing changed", async () => {
      await bothWorkers(primary);
      expect(await workerReloads()).toEqual([[0, 0], [0, 0]]);

      // SIGUSR2 to the primary: pool beta added
      rewrite(file, confText([{ name: "alpha", port: port.alpha }, { name: "beta", port: port.beta }], [r1, r2]));
      proxy.proc.kill("SIGUSR2");
      await until("the primary counts one applied reload", async () => sampleValue(await metricsAt(port.metrics), "nutcracker_reloads_total") === 1);
      expect(await workerReloads()).toEqual([[1, 0], [1, 0]]);
      await servedByBoth("beta", port.beta, 60);

      // POST /reload on the metrics port: pool gamma added, one answer per worker
      rewrite(file, confText([{ name: "alpha", port: port.alpha }, { name: "beta", port: port.beta }, { name: "gamma", port: port.gamma }], [r1, r2]));
      const post = await postReload(port.metrics);
      expect(post.status).toBe(200);
      expect({ ok: post.body.ok, workers: post.body.workers, added: post.body.added, unchanged: post.body.unchanged }).toEqual({
        ok: true,
        workers: [true, true],
        added: ["gamma"],
        unchanged: ["alpha", "beta"],
      });
      expect(await workerReloads()).toEqual([[2, 0], [2, 0]]);
      await servedByBoth("gamma", port.gamma, 60);

      // a broken file: refused by both, by POST and by SIGUSR2
      const gone = await freePort();
      rewrite(file, `alpha:\n  listen: 127.0.0.1:${port.alpha}\n  redis: true\n  servers: [\ndelta:\n  listen: 127.0.0.1:${gone}\n`);
      const bad = await postReload(port.metrics);
      expect(bad.status).toBe(422);
      expect({ ok: bad.body.ok, workers: bad.body.workers }).toEqual({ ok: false, workers: [false, false] });
      expect(typeof bad.body.error).toBe("string");
      expect(await workerReloads()).toEqual([[2, 1], [2, 1]]);
      proxy.proc.kill("SIGUSR2");
      await until("the primary counts two refused reloads", async () => sampleValue(await metricsAt(port.metrics), "nutcracker_reloads_failed_total") === 2);
      expect(await workerReloads()).toEqual([[2, 2], [2, 2]]);
      // a unix-socket listener cannot be shared by the workers: the file is refused by both, saying why
      const sock = join(tmpdir(), `nc-workers-u-${target}-${process.pid}.sock`);
      const three = confText([{ name: "alpha", port: port.alpha }, { name: "beta", port: port.beta }, { name: "gamma", port: port.gamma }], [r1, r2]);
      rewrite(file, `${three}unix:\n  listen: ${sock}\n  redis: true\n  servers:\n   - 127.0.0.1:${r1.port}:1\n`);
      const u = await postReload(port.metrics);
      expect(u.status).toBe(422);
      expect({ ok: u.body.ok, workers: u.body.workers }).toEqual({ ok: false, workers: [false, false] });
      expect(JSON.stringify(u.body)).toContain("which worker processes cannot share");
      expect(await workerReloads()).toEqual([[2, 3], [2, 3]]);
      expect(existsSync(sock)).toBe(false);
      const m = await metricsAt(port.metrics);
      expect(sampleValue(m, "nutcracker_reloads_total")).toBe(2);

      // nothing changed: the same pools in both workers, all three ports served, nothing on the broken file's port
      const ws = await Promise.all([workerStats(primary, 0), workerStats(primary, 1)]);
      for (const w of ws) expect(Object.keys(w).filter((k) => typeof w[k] === "object").sort()).toEqual(["alpha", "beta", "gamma"]);
      for (const p of [port.alpha, port.beta, port.gamma]) {
        const cs = await openMany(p, 10);
        await Promise.all(cs.map((c, i) => setGet(c, `w3after:${target}:${p}:${i}`)));
        for (const c of cs) c.close();
      }
      await expect(waitForPort("127.0.0.1", gone, 300)).rejects.toThrow();
    });
  });

  it("SIGTERM to the primary stops every process; the pid file holds the primary's pid until then; the sockets go", async () => {
    const [listen, stats] = [await freePort(), await freePort()];
    const pidFile = join(tmpdir(), `nc-workers-${target}-${process.pid}-${listen}.pid`);
    const file = writeConf(confText([{ name: "alpha", port: listen }], [r1, r2]));
    const proxy = await start(["-c", file, "--workers", "2", "-s", String(stats), "-p", pidFile], listen);
    const primary = proxy.proc.pid!;
    const pids = await bothWorkers(primary);
    expect(readFileSync(pidFile, "utf8").trim()).toBe(String(primary));
    await until("the four private sockets", () => socketFiles(primary).length === 4);
    expect(socketFiles(primary).sort()).toEqual(["w0.metrics", "w0.stats", "w1.metrics", "w1.stats"].map((s) => `nutcracker-${primary}-${s}`));
    const c = await Client.open(listen);
    await setGet(c, `w4:${target}`);

    const exited = new Promise<number | null>((resolve) => proxy.proc.once("exit", (code) => resolve(code)));
    proxy.proc.kill("SIGTERM");
    const code = await Promise.race([exited, sleep(8000).then(() => "still running")]);
    expect(code).toBe(0);
    expect(pids.filter(alive)).toEqual([]);
    expect(socketFiles(primary)).toEqual([]);
    expect(existsSync(pidFile)).toBe(false);
    await until("the held client closed", () => c.closed);
    await expect(waitForPort("127.0.0.1", listen, 300)).rejects.toThrow();
  });

  it("a primary killed with -9: its workers leave by themselves within a few seconds, and take their sockets with them", async () => {
    const [listen, stats] = [await freePort(), await freePort()];
    const file = writeConf(confText([{ name: "alpha", port: listen }], [r1, r2]));
    const proxy = await start(["-c", file, "--workers", "2", "-s", String(stats)], listen);
    const primary = proxy.proc.pid!;
    const pids = await bothWorkers(primary);
    await until("the four private sockets", () => socketFiles(primary).length === 4);
    proxy.proc.kill("SIGKILL");
    await until("no worker left", () => pids.every((p) => !alive(p)), 5000);
    await until("no private socket left", () => socketFiles(primary).length === 0, 2000);
    expect(proxy.stderr()).toContain("the primary is gone, exiting");
  });

  it("SIGTTOU, SIGTTIN and SIGHUP to the primary reach every worker: the level of every log line changes, and every process reopens the log", async () => {
    const [listen, stats] = [await freePort(), await freePort()];
    const log = join(tmpdir(), `nc-workers-log-${target}-${process.pid}-${listen}.log`);
    const file = writeConf(confText([{ name: "alpha", port: listen }], [r1, r2]));
    const proxy = await start(["-c", file, "--workers", "2", "-s", String(stats), "-o", log], listen);
    const primary = proxy.proc.pid!;
    const pids = await bothWorkers(primary);
    await until("both workers listening", () => readFileSync(log, "utf8").split("listening on").length - 1 === 2);
    const count = (path: string, text: string): number => readFileSync(path, "utf8").split(text).length - 1;
    /** n connections that each do a SET/GET, closed, spread over both workers (checked off /proc). */
    const burst = async (n: number): Promise<void> => {
      const cs = await openMany(listen, n);
      await Promise.all(cs.map((c, i) => setGet(c, `w8:${target}:${i}`)));
      for (const w of pids) expect(clientPortsOf(w, listen).size, `clients on worker ${w}`).toBeGreaterThan(0);
      for (const c of cs) c.close();
    };
    const accepted = "accepted c ";

    process.kill(primary, "SIGTTOU");
    await until("three processes lowered their level", () => count(log, "(SIGTTOU) received, down logging level") === 3);
    const before = count(log, accepted);
    await burst(40);
    // at level 4 no process logs an accept (a notice)
    expect(count(log, accepted)).toBe(before);

    process.kill(primary, "SIGTTIN");
    await until("three processes raised their level", () => count(log, "(SIGTTIN) received, up logging level") === 3);
    await burst(40);
    await until("every accept of both workers logged again", () => count(log, accepted) === before + 40);

    renameSync(log, `${log}.1`);
    process.kill(primary, "SIGHUP");
    await until("three processes reopening", () => count(`${log}.1`, "(SIGHUP) received, reopening log file") === 3);
    await until("the log file made again", () => existsSync(log));
    await burst(40);
    await until("both workers' accepts in the new file", () => count(log, accepted) === 40);
    expect(count(`${log}.1`, accepted)).toBe(before + 40);
  });

  it("-d --workers 2: the command returns, the pid file holds the daemon's primary with two workers, SIGTERM to it stops all", async () => {
    const listen = await freePort();
    const pidFile = join(tmpdir(), `nc-workers-d-${target}-${process.pid}-${listen}.pid`);
    const file = writeConf(confText([{ name: "alpha", port: listen }], [r1, r2]));
    const [cmd, ...args] = TARGETS[target](["-d", "-c", file, "--workers", "2", "-s", String(await freePort()), "-p", pidFile]);
    const r = spawnSync(cmd!, args, { encoding: "utf8", timeout: 10_000 });
    expect(r.status, r.stderr).toBe(0);
    const primary = await until("the daemon's pid file", () => (existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8").trim()) : null));
    try {
      const pids = await bothWorkers(primary);
      expect(pids.length).toBe(2);
      await waitForPort("127.0.0.1", listen, 10_000);
      const c = await Client.open(listen);
      await setGet(c, `w7:${target}`);
      c.close();
      process.kill(primary, "SIGTERM");
      await until("the daemon and its workers gone", () => [primary, ...pids].every((p) => !alive(p)), 8000);
      expect(existsSync(pidFile)).toBe(false);
    } finally {
      if (alive(primary)) process.kill(primary, "SIGKILL");
    }
  });

  it("--workers 1 is one process, as nutcracker; --workers=x is refused, and so is a unix-socket listener with two workers", async () => {
    const [listen, stats] = [await freePort(), await freePort()];
    const file = writeConf(confText([{ name: "alpha", port: listen }], [r1, r2]));
    const proxy = await start(["-c", file, "--workers", "1", "-s", String(stats), "-i", "100"], listen);
    const pid = proxy.proc.pid!;
    const cs = await openMany(listen, 5);
    await Promise.all(cs.map((c, i) => setGet(c, `w6:${target}:${i}`)));
    // it holds the clients itself
    expect(clientPortsOf(pid, listen).size).toBe(5);
    expect(childrenOf(pid)).toEqual([]);
    expect(spawnSync("pgrep", ["-P", String(pid)]).stdout.toString()).toBe("");
    expect(socketFiles(pid)).toEqual([]);
    const s = await until("the stats show the 5 clients", async () => {
      const j = await statsAt(stats);
      return pool(j, "alpha").client_connections === 5 ? j : null;
    });
    // nutcracker's JSON: no group keys
    expect(s.workers).toBeUndefined();
    expect(serverSum(pool(s, "alpha"), "requests")).toBe(5 * REQS_PER_CLIENT);
    for (const c of cs) c.close();

    const [cmd, ...args] = TARGETS[target](["-c", file, "--workers=x"]);
    const r = spawnSync(cmd!, args, { encoding: "utf8", timeout: 10_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("nutcracker: option --workers requires a number");

    // a unix-socket listener and more than one worker: refused at start, saying why
    const unixConf = writeConf(`u:\n  listen: ${join(tmpdir(), `nc-workers-u0-${target}-${process.pid}.sock`)}\n  redis: true\n  servers:\n   - 127.0.0.1:${r1.port}:1\n`);
    const [ucmd, ...uargs] = TARGETS[target](["-c", unixConf, "--workers", "2", "-s", String(await freePort())]);
    const ur = spawnSync(ucmd!, uargs, { encoding: "utf8", timeout: 10_000 });
    expect(ur.status).toBe(1);
    expect(ur.stderr).toContain("pool 'u' listens on the unix socket");
    expect(ur.stderr).toContain("run with --workers 1");
  });
});
