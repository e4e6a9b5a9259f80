// A Redis Cluster for end-to-end tests: redis-server nodes with cluster-enabled on free loopback
// ports, each in its own temp dir (its nodes.conf, log), made a cluster by `redis-cli --cluster
// create`; spare nodes started alone for add-node. The map as every node sees it (CLUSTER NODES),
// settle() until they agree, resharding, rebalancing, CLUSTER FAILOVER, kill -9 and restart; the
// key slot computed here (CRC16/XMODEM of the key or its {tag}), never by the proxy's code; a
// pipelining caller for bulk writes and reads; and ClusterLoad, clients that keep batches of
// SET/GET/MGET in flight and check every reply against what they wrote.
//
// The cluster's own timing, as the tests lean on it (redis 7.0 cluster.c):
//  - with cluster-node-timeout 1000 a killed master is PFAIL after 1 s and FAIL once a majority
//    of masters say so; its replica waits 500 ms + random 0-500 ms + rank * 1 s, then takes over.
//  - a node restarted on its nodes.conf after its replica took over learns of the newer epoch and
//    turns itself into that node's replica (a full sync follows).
//  - `redis-cli --cluster reshard` moves a slot at a time: SETSLOT IMPORTING on the target,
//    MIGRATING on the source, MIGRATE of its keys, then SETSLOT NODE; meanwhile the source answers
//    -ASK for keys already gone, and a multi-key request split across both gets -TRYAGAIN.

import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { resp } from "./client.ts";
import { respEnd } from "./diff.ts";
import { freePort, waitForPort } from "./runtimes.ts";
import { redisCall, type Reply, ReplyError } from "./sentinel_env.ts";

export const REDIS_SERVER = "/usr/bin/redis-server";
export const REDIS_CLI = "/usr/bin/redis-cli";
export const NODE_TIMEOUT_MS = 1000;
export const SLOTS = 16384;
const HOST = "127.0.0.1";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// key slots (the cluster specification, "Key distribution model")

const CRC16_TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let j = 0; j < 8; j++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    t[i] = c;
  }
  return t;
})();

/** CRC16/XMODEM (poly 0x1021, init 0), the cluster's: crc16("123456789") is 0x31c3. */
export function crc16(b: Uint8Array): number {
  let crc = 0;
  for (const x of b) crc = ((crc << 8) & 0xffff) ^ CRC16_TABLE[((crc >> 8) ^ x) & 0xff]!;
  return crc;
}

/** The slot of `key`: CRC16 of the part between the first `{` and the next `}` when that is not empty, else of the key. */
export function keySlot(key: string): number {
  const b = Buffer.from(key);
  const open = b.indexOf(0x7b); // {
  if (open >= 0) {
    const close = b.indexOf(0x7d, open + 1); // }
    if (close > open + 1) return crc16(b.subarray(open + 1, close)) & (SLOTS - 1);
  }
  return crc16(b) & (SLOTS - 1);
}

// ---------------------------------------------------------------------------------------------
// processes

/** Every child still running, killed if the test process exits without its afterAll. */
const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const p of live) p.kill("SIGKILL");
});

/** One redis-server with cluster-enabled, on a fixed port and dir (its nodes.conf survives a kill). */
export class ClusterNode {
  readonly port: number;
  readonly dir: string;
  private proc: ChildProcess | null = null;

  constructor(port: number, dir: string) {
    this.port = port;
    this.dir = dir;
  }

  get addr(): string {
    return `${HOST}:${this.port}`;
  }

  alive(): boolean {
    return this.proc !== null && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  get pid(): number | undefined {
    return this.alive() ? this.proc!.pid : undefined;
  }

  /** Start redis-server (again, on the nodes.conf it wrote, after a kill). */
  async start(): Promise<void> {
    if (this.alive()) throw new Error(`${this.addr} is already running`);
    const args = [
      "--port", String(this.port), "--bind", HOST, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
      "--cluster-node-timeout", String(NODE_TIMEOUT_MS), "--save", "", "--appendonly", "no", "--daemonize", "no",
      "--dir", this.dir, "--logfile", join(this.dir, "redis.log"), "--repl-diskless-sync-delay", "0",
    ];
    const proc = spawn(REDIS_SERVER, args, { stdio: "ignore", cwd: this.dir });
    this.proc = proc;
    live.add(proc);
    proc.once("exit", () => live.delete(proc));
    try {
      await waitForPort(HOST, this.port, 10_000);
    } catch (e) {
      proc.kill("SIGKILL");
      throw new Error(`redis-server did not listen on ${this.port} (see ${this.dir}): ${(e as Error).message}`);
    }
  }

  kill9(): Promise<void> {
    return this.signal("SIGKILL");
  }

  stop(): Promise<void> {
    return this.signal("SIGTERM");
  }

  private signal(sig: NodeJS.Signals): Promise<void> {
    const p = this.proc;
    if (p === null || !this.alive()) return Promise.resolve();
    return new Promise((resolve) => {
      p.once("exit", () => resolve());
      p.kill(sig);
      if (sig !== "SIGKILL") setTimeout(() => p.kill("SIGKILL"), 2000).unref();
    });
  }

  /** One command on a fresh connection; throws on an error reply. */
  async call(...args: string[]): Promise<Reply> {
    const r = await redisCall(this.port, args);
    if (r instanceof ReplyError) throw new Error(`${args.join(" ")} on ${this.addr}: -${r.message}`);
    return r;
  }
}

/** Run redis-cli with `args`; resolve with its output, or throw with it when it exits non-zero. */
export function redisCli(args: readonly string[], timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(REDIS_CLI, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    p.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    p.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
    p.once("exit", (code, sig) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`redis-cli ${args.join(" ")} exited ${code ?? sig}:\n${out.slice(-3000)}`));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// the map, as one node sees it

/** One line of CLUSTER NODES. */
export interface NodeLine {
  readonly id: string;
  readonly port: number;
  readonly flags: readonly string[];
  /** The master's id for a replica, else null. */
  readonly masterId: string | null;
  readonly link: string;
  /** Slot ranges served, inclusive. */
  readonly ranges: readonly [number, number][];
  /** Slots being migrated or imported (`[slot->-id]`, `[slot-<-id]`). */
  readonly open: number;
}

export function parseClusterNodes(text: string): NodeLine[] {
  const out: NodeLine[] = [];
  for (const l of text.split("\n")) {
    if (l.trim() === "") continue;
    const f = l.trim().split(" ");
    const addr = f[1]!.split("@")[0]!;
    const ranges: [number, number][] = [];
    let open = 0;
    for (const s of f.slice(8)) {
      if (s.startsWith("[")) open++;
      else if (s.includes("-")) ranges.push([Number(s.split("-")[0]), Number(s.split("-")[1])]);
      else ranges.push([Number(s), Number(s)]);
    }
    out.push({
      id: f[0]!,
      port: Number(addr.slice(addr.lastIndexOf(":") + 1)),
      flags: f[2]!.split(","),
      masterId: f[3] === "-" ? null : f[3]!,
      link: f[7]!,
      ranges,
      open,
    });
  }
  return out;
}

/** A shard: its master's port, its replicas' ports and the slots it serves. */
export interface Shard {
  readonly master: number;
  readonly id: string;
  readonly replicas: readonly number[];
  readonly slots: number;
  readonly ranges: readonly [number, number][];
}

const count = (ranges: readonly [number, number][]) => ranges.reduce((n, [a, b]) => n + b - a + 1, 0);

// ---------------------------------------------------------------------------------------------
// the cluster

export class ClusterEnv {
  /** Every node started, in the cluster or spare. */
  readonly nodes: readonly ClusterNode[];
  /** The nodes that are in the cluster (the created ones, and the ones added since). */
  readonly members: ClusterNode[];
  private readonly spareNodes: ClusterNode[];
  private readonly dirs: string[];

  private constructor(members: ClusterNode[], spares: ClusterNode[], dirs: string[]) {
    this.nodes = [...members, ...spares];
    this.members = members;
    this.spareNodes = spares;
    this.dirs = dirs;
  }

  /** Start `size` nodes, make them a cluster with `replicas` replica per master, and wait until it serves; start `spares` lone nodes. */
  static async start(size = 6, replicas = 1, spares = 0): Promise<ClusterEnv> {
    const dirs: string[] = [];
    const make = async (what: string): Promise<ClusterNode> => {
      const d = mkdtempSync(join(tmpdir(), `nc-cluster-${what}-`));
      dirs.push(d);
      return new ClusterNode(await freePort(), d);
    };
    const members: ClusterNode[] = [];
    for (let i = 0; i < size; i++) members.push(await make(`node${i}`));
    const spare: ClusterNode[] = [];
    for (let i = 0; i < spares; i++) spare.push(await make(`spare${i}`));
    const env = new ClusterEnv(members, spare, dirs);
    try {
      await Promise.all(env.nodes.map((n) => n.start()));
      await redisCli(["--cluster", "create", ...members.map((n) => n.addr), "--cluster-replicas", String(replicas), "--cluster-yes"]);
      await env.settle(30_000);
    } catch (e) {
      await env.stop();
      throw e;
    }
    return env;
  }

  /** The next spare node (started, not in the cluster), or throws when none is left. */
  spare(): ClusterNode {
    const n = this.spareNodes.shift();
    if (n === undefined) throw new Error("no spare cluster node left");
    return n;
  }

  node(port: number): ClusterNode {
    const n = this.nodes.find((x) => x.port === port);
    if (n === undefined) throw new Error(`no cluster node on port ${port}`);
    return n;
  }

  /** CLUSTER NODES of the node at `port`. */
  async view(port: number): Promise<NodeLine[]> {
    const r = await this.node(port).call("CLUSTER", "NODES");
    if (typeof r !== "string") throw new Error(`CLUSTER NODES on ${port}: ${JSON.stringify(r)}`);
    return parseClusterNodes(r);
  }

  /** The shards as the first live member sees them (masters with slots), by master port. */
  async shards(via?: ClusterNode): Promise<Shard[]> {
    const n = via ?? this.members.find((m) => m.alive());
    if (n === undefined) throw new Error("no live cluster node");
    return toShards(await this.view(n.port));
  }

  /** slot → port of its master, as the first live member sees it. */
  async owners(): Promise<number[]> {
    const map = new Array<number>(SLOTS).fill(0);
    for (const s of await this.shards()) for (const [a, b] of s.ranges) for (let i = a; i <= b; i++) map[i] = s.master;
    return map;
  }

  async masters(): Promise<ClusterNode[]> {
    return (await this.shards()).map((s) => this.node(s.master));
  }

  /** The node id of the node at `port` (CLUSTER MYID). */
  async id(port: number): Promise<string> {
    return String(await this.node(port).call("CLUSTER", "MYID"));
  }

  /** Move `n` slots from the master at `from` to the master at `to`, with their keys (redis-cli --cluster reshard). */
  async reshard(from: number, to: number, n: number): Promise<void> {
    const [a, b] = [await this.id(from), await this.id(to)];
    await redisCli(["--cluster", "reshard", this.node(from).addr, "--cluster-from", a, "--cluster-to", b, "--cluster-slots", String(n), "--cluster-yes"], 120_000);
  }

  /** Join `node` as an empty master (add-node), then move slots to it (rebalance --cluster-use-empty-masters). */
  async addMaster(node: ClusterNode): Promise<void> {
    const seed = this.members.find((m) => m.alive())!;
    await redisCli(["--cluster", "add-node", node.addr, seed.addr]);
    this.members.push(node);
    // rebalance refuses while the new node is not known to every node yet
    await this.settle(20_000);
    await redisCli(["--cluster", "rebalance", seed.addr, "--cluster-use-empty-masters"], 120_000);
  }

  /** CLUSTER FAILOVER on the replica at `port`; resolves once it says it is a master. */
  async failover(port: number, timeoutMs = 15_000): Promise<void> {
    await this.node(port).call("CLUSTER", "FAILOVER");
    const end = performance.now() + timeoutMs;
    for (;;) {
      const me = (await this.view(port)).find((l) => l.flags.includes("myself"))!;
      if (me.flags.includes("master")) return;
      if (performance.now() > end) throw new Error(`${port} is still ${me.flags.join(",")} ${timeoutMs} ms after CLUSTER FAILOVER`);
      await sleep(20);
    }
  }

  /** Start every member that is not running (after a kill -9). */
  async restartDead(): Promise<void> {
    for (const n of this.members) if (!n.alive()) await n.start();
  }

  /**
   * Wait until every member runs, says cluster_state:ok, and every member's CLUSTER NODES shows
   * the same masters with the same slots, the same replicas of each, no slot open, no node
   * failing or disconnected, all 16384 slots served, and each replica's link to its master up.
   * Throws with what was still missing after `timeoutMs`.
   */
  async settle(timeoutMs = 30_000): Promise<void> {
    const end = performance.now() + timeoutMs;
    let missing: string[] = [];
    for (;;) {
      try {
        missing = await this.unsettled();
      } catch (e) {
        missing = [(e as Error).message];
      }
      if (missing.length === 0) return;
      if (performance.now() > end) throw new Error(`the cluster did not settle within ${timeoutMs} ms: ${missing.slice(0, 8).join("; ")}`);
      await sleep(100);
    }
  }

  private async unsettled(): Promise<string[]> {
    const missing: string[] = [];
    let first: string | null = null;
    for (const n of this.members) {
      if (!n.alive()) {
        missing.push(`${n.addr} is not running`);
        continue;
      }
      const info = String(await n.call("CLUSTER", "INFO"));
      if (!/cluster_state:ok/.test(info)) missing.push(`${n.addr}: ${/cluster_state:\w+/.exec(info)?.[0]}`);
      const lines = await this.view(n.port);
      const known = new Set(lines.map((l) => l.port));
      for (const m of this.members) if (!known.has(m.port)) missing.push(`${n.addr} does not know ${m.addr}`);
      for (const l of lines) {
        if (l.flags.some((f) => f === "fail" || f === "fail?" || f === "handshake" || f === "noaddr")) missing.push(`${n.addr} sees ${l.port} ${l.flags.join(",")}`);
        if (l.link !== "connected") missing.push(`${n.addr} sees ${l.port} ${l.link}`);
        if (l.open > 0) missing.push(`${n.addr} sees ${l.open} open slots on ${l.port}`);
      }
      const shards = toShards(lines);
      const served = shards.reduce((k, s) => k + s.slots, 0);
      if (served !== SLOTS) missing.push(`${n.addr} sees ${served} slots served`);
      const sig = JSON.stringify(shards);
      if (first === null) first = sig;
      else if (sig !== first) missing.push(`${n.addr} disagrees about the map`);
      const me = lines.find((l) => l.flags.includes("myself"));
      if (me?.flags.includes("slave")) {
        const r = String(await n.call("INFO", "replication"));
        if (!/master_link_status:up/.test(r)) missing.push(`${n.addr}: replica link not up`);
      }
    }
    return missing;
  }

  /** A test that failed midway may leave a slot migrating or importing: `redis-cli --cluster fix` closes it (its keys go to one owner). */
  async closeOpenSlots(): Promise<void> {
    // a node shows its own open slots only, on its "myself" line
    for (const n of this.members) {
      if (!n.alive()) continue;
      if ((await this.view(n.port)).some((l) => l.open > 0)) {
        await redisCli(["--cluster", "fix", n.addr, "--cluster-yes"], 60_000);
        return;
      }
    }
  }

  /** FLUSHALL on every master (the replicas follow). */
  async flushAll(): Promise<void> {
    for (const m of await this.masters()) await m.call("FLUSHALL");
  }

  /** Stop every node and remove the temp dirs. */
  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()));
    for (const d of this.dirs) rmSync(d, { recursive: true, force: true });
  }
}

/** Masters with slots, each with its replicas, sorted by port (a stable signature of the map). */
function toShards(lines: readonly NodeLine[]): Shard[] {
  const out: Shard[] = [];
  for (const l of lines) {
    if (!l.flags.includes("master") || l.ranges.length === 0) continue;
    const replicas = lines.filter((r) => r.masterId === l.id).map((r) => r.port).sort((a, b) => a - b);
    out.push({ master: l.port, id: l.id, replicas, slots: count(l.ranges), ranges: l.ranges });
  }
  return out.sort((a, b) => a.master - b.master);
}

// ---------------------------------------------------------------------------------------------
// bulk requests

/**
 * Send `commands` to `port` over one connection, `window` at a time (the next window once the
 * last is answered); resolve with every reply as latin1 text, in order.
 */
export function pipeline(port: number, commands: readonly Buffer[], window = 1000, timeoutMs = 60_000): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: HOST, port, noDelay: true });
    const out: string[] = [];
    let buf: Buffer = Buffer.alloc(0);
    let sent = 0;
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`${out.length} of ${commands.length} replies from ${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    const next = (): void => {
      const end = Math.min(commands.length, sent + window);
      sock.write(Buffer.concat(commands.slice(sent, end)));
      sent = end;
    };
    sock.once("connect", next);
    sock.on("data", (d: Buffer) => {
      buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
      let p = 0;
      for (;;) {
        const e = p < buf.length ? respEnd(buf, p) : -1;
        if (e < 0) break;
        out.push(buf.toString("latin1", p, e));
        p = e;
      }
      buf = buf.subarray(p);
      if (out.length === commands.length) {
        clearTimeout(timer);
        sock.destroy();
        resolve(out);
      } else if (out.length === sent) next();
    });
    sock.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.on("close", () => {
      clearTimeout(timer);
      if (out.length < commands.length) reject(new Error(`${port} closed after ${out.length} of ${commands.length} replies`));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// load

/** What a ClusterLoad saw, over all its clients. */
export interface LoadReport {
  readonly sent: number;
  readonly replies: number;
  /** Error replies (`-...`). */
  readonly errors: number;
  /** The error replies by text. */
  readonly errorTexts: string;
  /** Replies that are neither an error nor a value this client could have read (another key's, a wrong type, a later value). */
  readonly wrong: number;
  /** GET/MGET values older than one a SET of this client acknowledged since (a lost write). */
  readonly stale: number;
  /** Replies with no request waiting for them. */
  readonly extra: number;
  /** Connections the proxy closed while the load ran. */
  readonly closes: number;
  /** Of those, the ones whose last reply was a failed MGET (nutcracker 0.5.0 closes the client after one; README "Multi-key commands"). */
  readonly closesAfterFailedMget: number;
  /** Requests written after such an MGET on a connection it closed: no reply comes. */
  readonly dropped: number;
  /** Requests with no reply on a connection closed otherwise. */
  readonly lost: number;
  readonly examples: readonly string[];
}

type Want = { kind: "set"; key: number; n: number } | { kind: "get"; key: number } | { kind: "mget"; a: number; b: number };

/**
 * `clients` connections to `port`, each keeping `window` requests in flight in batches of
 * `SET a va, SET b vb, GET a, MGET a b z` written at once (LoadClient's pattern, test/helpers/
 * load.ts), with keys of its own (`keys` of them, so no two batches in flight share a key; z is
 * never written). Replies are read in order and checked against what the client wrote: a GET
 * must return the value of the last SET of that key whose reply came back, or of a later SET
 * whose reply was an error or never came (it may have run). After an error reply a client waits
 * `errorPauseMs` before it writes again; a connection the proxy closes is opened again after the
 * same pause, and its requests without a reply are counted (`dropped` when the last reply was a
 * failed MGET, else `lost`). Each acknowledged SET's time is kept, for the longest gap without one.
 */
export class ClusterLoad {
  private readonly port: number;
  private readonly clients: number;
  private readonly window: number;
  private readonly nkeys: number;
  private readonly keyOf: (c: number, i: number) => string;
  private readonly errorPauseMs: number;
  private readonly socks: (Socket | null)[] = [];
  private running = false;
  /** stop() is closing the connections: their close is ours. */
  private closing = false;
  private readonly inflight: number[] = [];
  sent = 0;
  replies = 0;
  errors = 0;
  wrong = 0;
  stale = 0;
  extra = 0;
  closes = 0;
  closesAfterFailedMget = 0;
  dropped = 0;
  lost = 0;
  readonly examples: string[] = [];
  readonly errorTexts = new Map<string, number>();
  /** performance.now() of each acknowledged SET, per client. */
  private readonly acks: number[][] = [];
  /** performance.now() of each error reply. */
  readonly errorAt: number[] = [];
  startedAt = 0;
  stoppedAt = 0;

  constructor(port: number, opts: { clients?: number; window?: number; keys?: number; keyOf: (c: number, i: number) => string; errorPauseMs?: number }) {
    this.port = port;
    this.clients = opts.clients ?? 50;
    this.window = opts.window ?? 8;
    this.nkeys = opts.keys ?? 16;
    this.keyOf = opts.keyOf;
    this.errorPauseMs = opts.errorPauseMs ?? 50;
  }

  async start(): Promise<void> {
    this.running = true;
    this.startedAt = performance.now();
    await Promise.all(Array.from({ length: this.clients }, (_, c) => this.client(c)));
  }

  private note(s: string): void {
    if (this.examples.length < 10) this.examples.push(s);
  }

  /** Client `c`: its keys' state lives across its connections. Resolves once its first connection is up. */
  private client(c: number): Promise<void> {
    this.inflight[c] = 0;
    this.acks[c] = [];
    let want: Want[] = [];
    let head = 0;
    let seq = 0;
    let paused = false;
    /** The last reply on the current connection was an error to an MGET. */
    let lastFailedMget = false;
    // per key: the value acknowledged last (-1: none) and the ones written since whose reply was an error or never came
    const acked = new Array<number>(this.nkeys).fill(-1);
    const maybe: Set<number>[] = Array.from({ length: this.nkeys }, () => new Set<number>());
    const z = this.keyOf(c, -1);
    const value = (i: number, n: number) => `${c}:${i}:${n}`;

    // a read value: right (the last acknowledged one, or one whose SET may have run since), stale
    // (older than the last acknowledged: a lost write), or wrong (another key's, a later one, junk)
    const judge = (key: number, v: string | null, what: string): void => {
      const prefix = `${c}:${key}:`;
      const n = v === null ? -1 : v.startsWith(prefix) ? Number(v.slice(prefix.length)) : Number.NaN;
      if (n === acked[key] || maybe[key]!.has(n)) return;
      if (n < acked[key]!) {
        this.stale++;
        this.note(`client ${c}: ${what} of key ${key} read ${JSON.stringify(v)}, acknowledged ${acked[key]}`);
      } else {
        this.wrong++;
        this.note(`client ${c}: ${what} of key ${key} read ${JSON.stringify(v)}, acknowledged ${acked[key]}, maybe [${[...maybe[key]!]}]`);
      }
    };

    const reply = (got: Buffer, now: number): boolean => {
      this.replies++;
      const w = head < want.length ? want[head++]! : undefined;
      if (w === undefined) {
        this.extra++;
        this.note(`client ${c}: a reply with no request: ${JSON.stringify(got.toString("latin1").slice(0, 80))}`);
        return true;
      }
      this.inflight[c]!--;
      lastFailedMget = false;
      if (got[0] === 0x2d) {
        // 0x2d = '-'
        const text = got.toString("latin1", 1, got.indexOf("\r\n"));
        this.errors++;
        this.errorAt.push(now);
        this.errorTexts.set(text, (this.errorTexts.get(text) ?? 0) + 1);
        if (w.kind === "set") maybe[w.key]!.add(w.n);
        lastFailedMget = w.kind === "mget";
        return false;
      }
      const text = got.toString("latin1");
      if (w.kind === "set") {
        if (text !== "+OK\r\n") {
          this.wrong++;
          this.note(`client ${c}: SET got ${JSON.stringify(text)}`);
        } else {
          acked[w.key] = w.n;
          maybe[w.key]!.clear();
          this.acks[c]!.push(now);
        }
        return true;
      }
      const bulks = [...text.matchAll(/\$(-1|\d+)\r\n/g)].map((m) => (m[1] === "-1" ? null : text.substr(m.index + m[0].length, Number(m[1]))));
      if (w.kind === "get") {
        if (!text.startsWith("$") || bulks.length !== 1) {
          this.wrong++;
          this.note(`client ${c}: GET got ${JSON.stringify(text)}`);
        } else judge(w.key, bulks[0]!, "GET");
        return true;
      }
      if (!text.startsWith("*3\r\n") || bulks.length !== 3) {
        this.wrong++;
        this.note(`client ${c}: MGET got ${JSON.stringify(text)}`);
        return true;
      }
      judge(w.a, bulks[0]!, "MGET");
      judge(w.b, bulks[1]!, "MGET");
      if (bulks[2] !== null) {
        this.wrong++;
        this.note(`client ${c}: MGET of the never written key read ${JSON.stringify(bulks[2])}`);
      }
      return true;
    };

    const open = (): Promise<void> =>
      new Promise((resolve, reject) => {
        const sock = connect({ host: HOST, port: this.port, noDelay: true });
        let buf: Buffer = Buffer.alloc(0);
        let connected = false;
        let gone = false;
        const fill = (): void => {
          while (this.running && !paused && !gone && this.inflight[c]! + 4 <= this.window) {
            const n = seq++;
            const ia = (n * 2) % this.nkeys;
            const ib = (n * 2 + 1) % this.nkeys;
            const [a, b] = [this.keyOf(c, ia), this.keyOf(c, ib)];
            sock.write(Buffer.concat([resp("SET", a, value(ia, n)), resp("SET", b, value(ib, n)), resp("GET", a), resp("MGET", a, b, z)]));
            want.push({ kind: "set", key: ia, n }, { kind: "set", key: ib, n }, { kind: "get", key: ia }, { kind: "mget", a: ia, b: ib });
            this.sent += 4;
            this.inflight[c]! += 4;
          }
          if (head > 4096) {
            want.splice(0, head);
            head = 0;
          }
        };
        const pause = (): void => {
          if (paused) return;
          paused = true;
          setTimeout(() => {
            paused = false;
            fill();
          }, this.errorPauseMs);
        };
        sock.once("connect", () => {
          connected = true;
          lastFailedMget = false;
          this.socks[c] = sock;
          resolve();
          fill();
        });
        sock.on("data", (d: Buffer) => {
          buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
          let p = 0;
          let bad = false;
          const now = performance.now();
          for (;;) {
            let e: number;
            try {
              e = p < buf.length ? respEnd(buf, p) : -1;
            } catch (err) {
              this.wrong++;
              this.note(`client ${c}: not RESP: ${(err as Error).message}`);
              sock.destroy();
              return;
            }
            if (e < 0) break;
            if (!reply(buf.subarray(p, e), now)) bad = true;
            p = e;
          }
          buf = buf.subarray(p);
          if (bad) pause();
          fill();
        });
        sock.on("error", (e: Error) => {
          if (!connected) reject(e);
        });
        sock.on("close", () => {
          gone = true;
          this.socks[c] = null;
          if (!connected || this.closing) return;
          // closed by the proxy: what was in flight gets no reply; its SETs may have run
          const left = this.inflight[c]!;
          this.closes++;
          if (lastFailedMget) {
            this.closesAfterFailedMget++;
            this.dropped += left;
          } else {
            this.lost += left;
            this.note(`client ${c}: closed with ${left} requests in flight, the last reply not a failed MGET`);
          }
          for (let i = head; i < want.length; i++) {
            const w = want[i]!;
            if (w.kind === "set") maybe[w.key]!.add(w.n);
          }
          want = [];
          head = 0;
          this.inflight[c] = 0;
          setTimeout(() => {
            if (this.running) open().catch((e: Error) => this.note(`client ${c}: reconnect failed: ${e.message}`));
          }, this.errorPauseMs);
        });
      });
    return open();
  }

  /** Stop writing; resolve once every request has its reply, or throw after `drainMs` naming what is missing. */
  async stop(drainMs = 10_000): Promise<void> {
    this.stoppedAt = performance.now();
    const end = performance.now() + drainMs;
    // no more writes; a close while draining is still the proxy's, and counted
    this.running = false;
    try {
      while (!this.inflight.every((n) => n === 0)) {
        if (performance.now() > end) {
          const waiting = this.inflight.map((n, c) => [c, n] as const).filter(([, n]) => n > 0);
          throw new Error(`${waiting.reduce((k, [, n]) => k + n, 0)} of ${this.sent} requests got no reply within ${drainMs} ms: ${waiting.map(([c, n]) => `client ${c}: ${n}`).join(", ")}`);
        }
        await sleep(10);
      }
    } finally {
      this.closing = true;
      for (const s of this.socks) s?.destroy();
    }
  }

  /** Acknowledged SETs with their reply time in [t0, t1), and error replies in it. */
  count(t0: number, t1: number): { acks: number; errors: number } {
    let acks = 0;
    for (const a of this.acks) for (const t of a) if (t >= t0 && t < t1) acks++;
    return { acks, errors: this.errorAt.filter((t) => t >= t0 && t < t1).length };
  }

  /** The longest time from start to stop with no acknowledged SET on any client. */
  maxAckGap(): number {
    const all = this.acks.flat().sort((a, b) => a - b);
    let last = this.startedAt;
    let gap = 0;
    for (const t of all) {
      gap = Math.max(gap, t - last);
      last = t;
    }
    return Math.max(gap, this.stoppedAt - last);
  }

  get report(): LoadReport {
    return {
      sent: this.sent,
      replies: this.replies,
      errors: this.errors,
      errorTexts: [...this.errorTexts].map(([t, n]) => `${n} x "${t}"`).join(", ") || "none",
      wrong: this.wrong,
      stale: this.stale,
      extra: this.extra,
      closes: this.closes,
      closesAfterFailedMget: this.closesAfterFailedMget,
      dropped: this.dropped,
      lost: this.lost,
      examples: this.examples,
    };
  }
}
