// A Redis Sentinel group for end-to-end tests: one master, N replicas and three redis-sentinel
// processes on free loopback ports, each in its own temp dir. kill -9 and restart of any of them,
// SENTINEL FAILOVER, the +switch-master announcement as the test itself sees it, INFO parsing, and
// settle(): the group back in a known state (one master, every other node its replica and in sync,
// every live Sentinel agreeing), so the tests of a file depend on each other's order as little as
// possible.
//
// Sentinel's own timing, as the tests lean on it (redis 7.0 sentinel.c):
//  - SENTINEL FAILOVER needs no agreement: the Sentinel asked promotes a replica (REPLICAOF NO ONE,
//    CLIENT KILL TYPE normal on it), points the other replicas at it, and only then announces
//    +switch-master; the old master is still a writable master at that point.
//  - The old master is turned into a replica by Sentinel only once it has reported role:master for
//    8 s (SENTINEL_PUBLISH_PERIOD*4), and that REPLICAOF comes with CLIENT KILL TYPE normal, which
//    would drop a proxy's connections in a later test. settle() sends the REPLICAOF itself at once
//    instead (what Sentinel would send), so Sentinel never has to.
//  - Nodes run with repl-diskless-sync-delay 0: redis 7.0 waits 5 s by default before a diskless
//    full sync, which an old master rejoining needs (it took writes after the promotion).

import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { resp } from "./client.ts";
import { respEnd } from "./diff.ts";
import { freePort, waitForPort } from "./runtimes.ts";

export const REDIS_SERVER = "/usr/bin/redis-server";
export const REDIS_SENTINEL = "/usr/bin/redis-sentinel";
/** The Sentinel master name every Sentinel monitors. */
export const MASTER_NAME = "m1";
export const QUORUM = 2;
export const DOWN_AFTER_MS = 1000;
export const FAILOVER_TIMEOUT_MS = 5000;
const HOST = "127.0.0.1";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// RESP2 replies as values

/** An error reply (`-ERR ...`), kept as a value. */
export class ReplyError {
  readonly message: string;
  constructor(message: string) {
    this.message = message;
  }
}
export type Reply = string | number | null | ReplyError | Reply[];

/** The complete RESP2 value at `b[off..]` (respEnd said it is complete) and where it ends. */
function decode(b: Buffer, off: number): [Reply, number] {
  const line = b.indexOf("\r\n", off, "latin1");
  const head = b.toString("latin1", off + 1, line);
  switch (b[off]) {
    case 0x2b: // +
      return [head, line + 2];
    case 0x2d: // -
      return [new ReplyError(head), line + 2];
    case 0x3a: // :
      return [Number(head), line + 2];
    case 0x24: {
      // $
      const n = Number(head);
      if (n < 0) return [null, line + 2];
      return [b.toString("latin1", line + 2, line + 2 + n), line + 2 + n + 2];
    }
    default: {
      // * (respEnd threw on anything else)
      const n = Number(head);
      if (n < 0) return [null, line + 2];
      const out: Reply[] = [];
      let p = line + 2;
      for (let i = 0; i < n; i++) {
        const [v, e] = decode(b, p);
        out.push(v);
        p = e;
      }
      return [out, p];
    }
  }
}

/** A flat `[k1, v1, k2, v2...]` reply (SENTINEL REPLICAS' entries) as a record. */
export function pairs(r: Reply): Record<string, string> {
  if (!Array.isArray(r)) throw new Error(`not a flat key/value array: ${JSON.stringify(r)}`);
  const o: Record<string, string> = {};
  for (let i = 0; i + 1 < r.length; i += 2) o[String(r[i])] = String(r[i + 1]);
  return o;
}

/**
 * One RESP connection: call() pipelines commands and resolves each with its reply in order; a
 * value that arrives with no call waiting (a pub/sub message) goes to `onPush`.
 */
export class RespConn {
  private readonly sock: Socket;
  private buf: Buffer = Buffer.alloc(0);
  private readonly waiting: { resolve: (v: Reply) => void; reject: (e: Error) => void }[] = [];
  private closedWith: Error | null = null;
  onPush: ((v: Reply) => void) | null = null;
  readonly port: number;

  private constructor(sock: Socket, port: number) {
    this.sock = sock;
    this.port = port;
    sock.on("data", (d: Buffer) => this.data(d));
    sock.on("error", (e: Error) => this.fail(e));
    sock.on("close", () => this.fail(new Error(`connection to ${port} closed`)));
  }

  /** Connect to `port` on the loopback; reject after `timeoutMs`. */
  static open(port: number, timeoutMs = 5000): Promise<RespConn> {
    return new Promise((resolve, reject) => {
      const sock = connect({ host: HOST, port, noDelay: true });
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new Error(`Cannot connect to ${HOST}:${port} within ${timeoutMs} ms`));
      }, timeoutMs);
      sock.once("connect", () => {
        clearTimeout(timer);
        sock.removeListener("error", onErr);
        resolve(new RespConn(sock, port));
      });
      const onErr = (e: Error): void => {
        clearTimeout(timer);
        reject(e);
      };
      sock.once("error", onErr);
    });
  }

  private data(d: Buffer): void {
    this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
    let p = 0;
    for (;;) {
      const e = p < this.buf.length ? respEnd(this.buf, p) : -1;
      if (e < 0) break;
      const [v] = decode(this.buf, p);
      p = e;
      const w = this.waiting.shift();
      if (w !== undefined) w.resolve(v);
      else this.onPush?.(v);
    }
    this.buf = this.buf.subarray(p);
  }

  private fail(e: Error): void {
    if (this.closedWith === null) this.closedWith = e;
    for (const w of this.waiting.splice(0)) w.reject(this.closedWith);
  }

  /** Send one command; resolve with its reply (an error reply resolves as a ReplyError). */
  call(...args: string[]): Promise<Reply> {
    if (this.closedWith !== null) return Promise.reject(this.closedWith);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.sock.write(resp(...args));
    });
  }

  close(): void {
    this.closedWith ??= new Error(`connection to ${this.port} closed by us`);
    this.sock.destroy();
  }
}

/** One command on a fresh connection to `port`; rejects if nothing answers within `timeoutMs`. */
export async function redisCall(port: number, args: string[], timeoutMs = 5000): Promise<Reply> {
  const c = await RespConn.open(port, timeoutMs);
  try {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${args.join(" ")} on ${port}: no reply within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([c.call(...args), late]);
    } finally {
      clearTimeout(timer);
    }
  } finally {
    c.close();
  }
}

/** `INFO <section>` as a record of its `key:value` lines. */
export function parseInfo(text: string): Record<string, string> {
  const o: Record<string, string> = {};
  for (const l of text.split("\r\n")) {
    const i = l.indexOf(":");
    if (i > 0 && !l.startsWith("#")) o[l.slice(0, i)] = l.slice(i + 1);
  }
  return o;
}

export async function info(port: number, section: string): Promise<Record<string, string>> {
  const r = await redisCall(port, ["INFO", section]);
  if (typeof r !== "string") throw new Error(`INFO ${section} on ${port}: ${JSON.stringify(r)}`);
  return parseInfo(r);
}

/** One command's line of INFO commandstats. rejected_calls: refused before running (-READONLY...). */
export interface CmdStat {
  readonly calls: number;
  readonly rejected_calls: number;
  readonly failed_calls: number;
}

/** INFO commandstats text as {cmd: {calls, rejected_calls, failed_calls}}; names lowercase (`set`, `client|kill`). */
export function parseCommandstats(text: string): Record<string, CmdStat> {
  const o: Record<string, CmdStat> = {};
  for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+),.*?rejected_calls=(\d+),failed_calls=(\d+)/gm)) {
    o[m[1]!] = { calls: Number(m[2]), rejected_calls: Number(m[3]), failed_calls: Number(m[4]) };
  }
  return o;
}

/** INFO commandstats of the redis at `port`, in full; pass `conn` to poll over one connection. */
export async function commandstatsFull(port: number, conn?: RespConn): Promise<Record<string, CmdStat>> {
  const r = conn === undefined ? await redisCall(port, ["INFO", "commandstats"]) : await conn.call("INFO", "commandstats");
  if (typeof r !== "string") throw new Error(`INFO commandstats on ${port}: ${JSON.stringify(r)}`);
  return parseCommandstats(r);
}

/** INFO commandstats of the redis at `port` as {cmd: calls}. */
export async function commandstats(port: number, conn?: RespConn): Promise<Record<string, number>> {
  const full = await commandstatsFull(port, conn);
  return Object.fromEntries(Object.entries(full).map(([k, v]) => [k, v.calls]));
}

/**
 * How many `cmd` requests reached the redis at `port`, run or refused (calls + rejected_calls): a
 * write sent to a replica is refused with -READONLY and counted only in rejected_calls.
 */
export async function reached(port: number, cmd: string, conn?: RespConn): Promise<number> {
  const s = (await commandstatsFull(port, conn))[cmd];
  return s === undefined ? 0 : s.calls + s.rejected_calls;
}

// ---------------------------------------------------------------------------------------------
// processes

/** A process the env started, on a fixed port, that can be killed with -9 and started again. */
abstract class Proc {
  readonly port: number;
  readonly dir: string;
  protected proc: ChildProcess | null = null;

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

  protected async spawnAndWait(cmd: string, args: string[]): Promise<void> {
    if (this.alive()) throw new Error(`${this.addr} is already running`);
    const proc = spawn(cmd, args, { stdio: "ignore", cwd: this.dir });
    this.proc = proc;
    live.add(proc);
    proc.once("exit", () => live.delete(proc));
    try {
      await waitForPort(HOST, this.port, 10_000);
    } catch (e) {
      proc.kill("SIGKILL");
      throw new Error(`${cmd} did not listen on ${this.port} (see ${this.dir}): ${(e as Error).message}`);
    }
  }

  /** kill -9, and resolve once it is gone. */
  kill9(): Promise<void> {
    return this.signal("SIGKILL");
  }

  /** SIGTERM (SIGKILL after 2 s), and resolve once it is gone. */
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
}

/** Every child still running, killed if the test process exits without its afterAll. */
const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const p of live) p.kill("SIGKILL");
});

export class RedisNode extends Proc {
  /** Start redis-server, as a replica of `replicaOf` when given; its dump.rdb and log go to its own dir. */
  start(replicaOf: number | null): Promise<void> {
    const args = [
      "--port", String(this.port), "--bind", HOST, "--save", "", "--appendonly", "no", "--daemonize", "no",
      "--dir", this.dir, "--logfile", join(this.dir, "redis.log"), "--repl-diskless-sync-delay", "0",
    ];
    if (replicaOf !== null) args.push("--replicaof", HOST, String(replicaOf));
    return this.spawnAndWait(REDIS_SERVER, args);
  }
}

export class SentinelNode extends Proc {
  /** The config file it starts with; Sentinel rewrites it (myid, epochs, known replicas and sentinels). */
  readonly conf: string;

  constructor(port: number, dir: string) {
    super(port, dir);
    this.conf = join(dir, "sentinel.conf");
  }

  writeConf(masterPort: number): void {
    writeFileSync(
      this.conf,
      [
        `port ${this.port}`,
        `bind ${HOST}`,
        "daemonize no",
        `dir ${this.dir}`,
        `logfile ${join(this.dir, "sentinel.log")}`,
        `sentinel monitor ${MASTER_NAME} ${HOST} ${masterPort} ${QUORUM}`,
        `sentinel down-after-milliseconds ${MASTER_NAME} ${DOWN_AFTER_MS}`,
        `sentinel failover-timeout ${MASTER_NAME} ${FAILOVER_TIMEOUT_MS}`,
        `sentinel parallel-syncs ${MASTER_NAME} 1`,
        "",
      ].join("\n"),
    );
  }

  /** Start redis-sentinel on its config file (the same file on a restart: what it rewrote). */
  start(): Promise<void> {
    return this.spawnAndWait(REDIS_SENTINEL, [this.conf]);
  }
}

// ---------------------------------------------------------------------------------------------
// the group

/** A +switch-master announcement: `<name> <old-ip> <old-port> <new-ip> <new-port>`. */
export interface SwitchMessage {
  readonly name: string;
  readonly from: number;
  readonly to: number;
  /** performance.now() when the first Sentinel's message arrived here. */
  readonly at: number;
  /** The Sentinel it came from. */
  readonly sentinel: number;
  readonly text: string;
}

export interface SwitchWatch {
  /** The first +switch-master, on any live Sentinel, that names a master other than the current one. */
  readonly switched: Promise<SwitchMessage>;
  /** When each Sentinel announced it (performance.now()), by Sentinel port, as they arrive. */
  readonly announced: ReadonlyMap<number, number>;
  close(): void;
}

export class SentinelEnv {
  readonly nodes: readonly RedisNode[];
  readonly sentinels: readonly SentinelNode[];
  private readonly dirs: string[];
  /** The master as of the last settle(). */
  master: RedisNode;

  private constructor(nodes: RedisNode[], sentinels: SentinelNode[], dirs: string[]) {
    this.nodes = nodes;
    this.sentinels = sentinels;
    this.dirs = dirs;
    this.master = nodes[0]!;
  }

  /** Start a master, `replicas` replicas and 3 Sentinels, and wait until all of them know each other. */
  static async start(replicas = 2, sentinelCount = 3): Promise<SentinelEnv> {
    const dirs: string[] = [];
    const dir = (what: string): string => {
      const d = mkdtempSync(join(tmpdir(), `nc-sentinel-${what}-`));
      dirs.push(d);
      return d;
    };
    const nodes: RedisNode[] = [];
    for (let i = 0; i <= replicas; i++) nodes.push(new RedisNode(await freePort(), dir(`redis${i}`)));
    const sentinels: SentinelNode[] = [];
    for (let i = 0; i < sentinelCount; i++) sentinels.push(new SentinelNode(await freePort(), dir(`sentinel${i}`)));
    const env = new SentinelEnv(nodes, sentinels, dirs);
    try {
      const master = nodes[0]!;
      await master.start(null);
      await Promise.all(nodes.slice(1).map((n) => n.start(master.port)));
      for (const s of sentinels) s.writeConf(master.port);
      await Promise.all(sentinels.map((s) => s.start()));
      await env.settle(master, 30_000);
    } catch (e) {
      await env.stop();
      throw e;
    }
    return env;
  }

  /** Every node but the master of the last settle(). */
  get replicas(): RedisNode[] {
    return this.nodes.filter((n) => n !== this.master);
  }

  node(port: number): RedisNode {
    const n = this.nodes.find((x) => x.port === port);
    if (n === undefined) throw new Error(`no redis node on port ${port}`);
    return n;
  }

  liveSentinels(): SentinelNode[] {
    return this.sentinels.filter((s) => s.alive());
  }

  /** The `sentinels:` list of a proxy config, indented for a pool. */
  sentinelsYaml(indent = "    "): string {
    return this.sentinels.map((s) => `${indent}- ${s.addr}:1\n`).join("");
  }

  /**
   * SENTINEL FAILOVER on `via` (the first live Sentinel by default). -NOGOODSLAVE and -INPROG are
   * retried for up to 10 s: right after a restart a Sentinel may not have fresh INFO of a replica yet.
   */
  async failover(via?: SentinelNode): Promise<void> {
    const s = via ?? this.liveSentinels()[0];
    if (s === undefined) throw new Error("no live sentinel to ask for a failover");
    const end = Date.now() + 10_000;
    for (;;) {
      const r = await redisCall(s.port, ["SENTINEL", "FAILOVER", MASTER_NAME]);
      if (r === "OK") return;
      const retry = r instanceof ReplyError && /^(NOGOODSLAVE|INPROG)/.test(r.message);
      if (!retry || Date.now() > end) throw new Error(`SENTINEL FAILOVER on ${s.port}: ${JSON.stringify(r)}`);
      await sleep(200);
    }
  }

  /**
   * Subscribe to +switch-master on every live Sentinel; resolves once all subscriptions are
   * confirmed. Each Sentinel announces a switch when it adopts the new config (the one that ran the
   * failover first, the others from its hello messages), so the earliest of them is the moment the
   * switch was first announced anywhere.
   */
  async watchSwitch(): Promise<SwitchWatch> {
    const current = this.master.port;
    const conns: RespConn[] = [];
    const announced = new Map<number, number>();
    let resolve!: (m: SwitchMessage) => void;
    const switched = new Promise<SwitchMessage>((r) => (resolve = r));
    for (const s of this.liveSentinels()) {
      const c = await RespConn.open(s.port);
      conns.push(c);
      c.onPush = (v) => {
        const at = performance.now();
        if (!Array.isArray(v) || v[0] !== "message" || typeof v[2] !== "string") return;
        const f = v[2].split(" ");
        const to = Number(f[4]);
        if (f[0] !== MASTER_NAME || to === current) return; // a stale Sentinel catching up to the current master
        if (!announced.has(s.port)) announced.set(s.port, at);
        resolve({ name: f[0]!, from: Number(f[2]), to, at, sentinel: s.port, text: v[2] });
      };
      const ok = await c.call("SUBSCRIBE", "+switch-master");
      if (!Array.isArray(ok) || ok[0] !== "subscribe") throw new Error(`SUBSCRIBE on sentinel ${s.port}: ${JSON.stringify(ok)}`);
    }
    return { switched, announced, close: () => conns.forEach((c) => c.close()) };
  }

  /** The clients subscribed to something on each live Sentinel (CLIENT LIST, sub > 0): their addresses, by Sentinel port. */
  async subscribers(): Promise<Map<number, string[]>> {
    const out = new Map<number, string[]>();
    for (const s of this.liveSentinels()) {
      const r = await redisCall(s.port, ["CLIENT", "LIST"]);
      if (typeof r !== "string") throw new Error(`CLIENT LIST on sentinel ${s.port}: ${JSON.stringify(r)}`);
      const subs = r.split("\n").filter((l) => /(?:^| )sub=[1-9]/.test(l)).map((l) => /(?:^| )addr=(\S+)/.exec(l)?.[1] ?? l);
      out.set(s.port, subs);
    }
    return out;
  }

  /** What each live Sentinel says the master's address is. */
  async sentinelMasters(): Promise<{ sentinel: number; addr: string }[]> {
    const out: { sentinel: number; addr: string }[] = [];
    for (const s of this.liveSentinels()) {
      const r = await redisCall(s.port, ["SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME]);
      out.push({ sentinel: s.port, addr: Array.isArray(r) ? r.join(":") : JSON.stringify(r) });
    }
    return out;
  }

  /**
   * Whatever the last test left: restart every dead Sentinel (on the config it rewrote), take as
   * master the node named by the live Sentinel with the highest config epoch (waiting for Sentinel
   * to fail over a dead master), restart every dead node as its replica, then settle() on it. The
   * master comes from Sentinel, never from `master`: settle() on a node Sentinel does not name
   * would point the replicas one way while Sentinel points them the other.
   */
  async restore(timeoutMs = 30_000): Promise<void> {
    for (const s of this.sentinels) if (!s.alive()) await s.start();
    const end = Date.now() + timeoutMs;
    let master: RedisNode | undefined;
    for (;;) {
      let epoch = -1;
      let named: string | null = null;
      for (const s of this.liveSentinels()) {
        // the epoch from SENTINEL MASTER; the address from GET-MASTER-ADDR-BY-NAME, which the
        // Sentinel running a failover already answers with the promoted replica
        const e = Number(pairs(await redisCall(s.port, ["SENTINEL", "MASTER", MASTER_NAME]))["config-epoch"]);
        const addr = await redisCall(s.port, ["SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME]);
        if (e > epoch && Array.isArray(addr)) [epoch, named] = [e, addr.join(":")];
      }
      master = this.nodes.find((n) => n.addr === named && n.alive());
      if (master !== undefined) break;
      if (Date.now() > end) throw new Error(`no live master named by the sentinels within ${timeoutMs} ms (they name ${named})`);
      await sleep(200);
    }
    for (const n of this.nodes) if (!n.alive()) await n.start(master.port);
    await this.settle(master, Math.max(1000, end - Date.now()));
  }

  /**
   * Bring the group to a known state with `master` as its master: every other live node that is not
   * its replica is made one (REPLICAOF, what Sentinel would send), then wait until every live
   * replica is linked and has everything the master had, and every live Sentinel names `master`,
   * lists each live replica with no down or disconnected flag, and sees every other live Sentinel
   * up. Throws with what was still missing after `timeoutMs`.
   */
  async settle(master: RedisNode = this.master, timeoutMs = 30_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    let missing: string[] = [];
    for (;;) {
      missing = await this.unsettled(master);
      if (missing.length === 0) {
        this.master = master;
        return;
      }
      if (Date.now() > end) throw new Error(`the sentinel group did not settle on ${master.addr} within ${timeoutMs} ms: ${missing.join("; ")}`);
      await sleep(100);
    }
  }

  private async unsettled(master: RedisNode): Promise<string[]> {
    const missing: string[] = [];
    if (!master.alive()) return [`master ${master.addr} is not running`];
    const m = await info(master.port, "replication");
    if (m.role !== "master") missing.push(`${master.addr} is a ${m.role}`);
    const offset = Number(m.master_repl_offset);
    const replicas = this.nodes.filter((n) => n !== master && n.alive());
    for (const r of replicas) {
      const ri = await info(r.port, "replication");
      if (ri.role !== "slave" || Number(ri.master_port) !== master.port) {
        await redisCall(r.port, ["REPLICAOF", HOST, String(master.port)]);
        missing.push(`${r.addr} made a replica of ${master.addr}`);
      } else if (ri.master_link_status !== "up") missing.push(`${r.addr}: link ${ri.master_link_status}`);
      else if (Number(ri.slave_repl_offset) < offset) missing.push(`${r.addr}: offset ${ri.slave_repl_offset} < ${offset}`);
    }
    for (const s of this.liveSentinels()) {
      const at = `sentinel ${s.port}`;
      const addr = await redisCall(s.port, ["SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME]);
      if (!Array.isArray(addr) || addr.join(":") !== master.addr) {
        missing.push(`${at} names ${JSON.stringify(addr)}`);
        continue;
      }
      const known = await redisCall(s.port, ["SENTINEL", "REPLICAS", MASTER_NAME]);
      const list = Array.isArray(known) ? known.map(pairs) : [];
      for (const r of replicas) {
        const e = list.find((x) => Number(x.port) === r.port);
        if (e === undefined) missing.push(`${at} does not list ${r.addr}`);
        else if (/s_down|o_down|disconnected/.test(e.flags ?? "")) missing.push(`${at}: ${r.addr} ${e.flags}`);
      }
      const peers = await redisCall(s.port, ["SENTINEL", "SENTINELS", MASTER_NAME]);
      const plist = Array.isArray(peers) ? peers.map(pairs) : [];
      for (const o of this.liveSentinels()) {
        if (o === s) continue;
        const e = plist.find((x) => Number(x.port) === o.port);
        if (e === undefined) missing.push(`${at} does not know sentinel ${o.port}`);
        else if (/s_down|o_down|disconnected/.test(e.flags ?? "")) missing.push(`${at}: sentinel ${o.port} ${e.flags}`);
      }
    }
    return missing;
  }

  /** Stop every process (SIGTERM, then SIGKILL) and remove the temp dirs. */
  async stop(): Promise<void> {
    await Promise.all([...this.nodes, ...this.sentinels].map((p) => p.stop()));
    for (const d of this.dirs) rmSync(d, { recursive: true, force: true });
  }
}
