// Replica groups with real Redis Sentinel: one master, two replicas and three redis-sentinel
// processes for the whole file (test/helpers/sentinel_env.ts), a fresh proxy per test, on the Node
// bundle and the Bun binary (the discovery test on Deno too).
//
//  1. discovery at start: the `servers:` line names 127.0.0.1:1, Sentinel names the real master;
//     the first SET and GET land on it (its commandstats).
//  2. SENTINEL FAILOVER under 50 raw clients, each keeping 8 INCRBYFLOATs in flight: one reply per
//     request, none hangs; from 300 ms after the switch (and after the proxy's first write on the
//     new master) on, for 1 s, no write reaches the old master. The failover is asked of a Sentinel
//     other than the one the proxy subscribes on (see the test for why).
//  3. kill -9 of the master under the same load: Sentinel promotes and the proxy follows; the
//     longest gap without an acknowledged write stays under down-after + failover-timeout + 2 s.
//  4. Sentinels killed one by one: with one left, its SENTINEL FAILOVER is followed; with none,
//     the proxy serves on the last master and warns `no sentinel answered`; once they are back, a
//     further failover is followed.
//  5. each read_from policy: where N GETs and N SETs land; a replica killed under read load.
//  6. a static group (`replicas:`, no Sentinel) with read_from: replica; a killed replica is
//     `down` in the stats and reads go on on the other one.
//  7. the stats JSON and the metrics port: role, addr, state, and failovers 1 after one failover.
//
// Which node a write reached is read off INFO commandstats. The write is INCRBYFLOAT: a replica
// receives it from its master as SET, so cmdstat_incrbyfloat on a node counts only the writes
// clients sent to it directly (and rejected_calls the ones it refused with -READONLY).
//
// Figures (console.log lines starting `sentinel-figure:`): the ms from the first +switch-master
// any Sentinel announced (the test subscribes on all of them) to the first write the new master
// ran; the kill's failed requests and longest gap; the read errors when a replica dies.

import { type Socket, connect } from "node:net";
import { performance } from "node:perf_hooks";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { SERVER_FIELDS } from "../../src/stats/table.ts";
import { exchange, request, resp } from "../helpers/client.ts";
import { respEnd } from "../helpers/diff.ts";
import { parsePrometheus, sampleValue, samples } from "../helpers/prom_parse.ts";
import { type Running, startProxy, type Target, writeConf } from "../helpers/proxy.ts";
import { freePort } from "../helpers/runtimes.ts";
import {
  commandstats,
  commandstatsFull,
  DOWN_AFTER_MS,
  FAILOVER_TIMEOUT_MS,
  MASTER_NAME,
  type RedisNode,
  reached,
  ReplyError,
  RespConn,
  SentinelEnv,
  type SentinelNode,
  type SwitchMessage,
  type SwitchWatch,
} from "../helpers/sentinel_env.ts";

/** The two shipped builds (`bun build.ts bin` makes both); Deno runs the discovery test too. */
const BUILDS: readonly Target[] = ["node", "binary"];
const DISCOVERY: readonly Target[] = ["node", "binary", "deno"];
const POLICIES = ["master", "prefer_master", "replica", "prefer_replica", "any"] as const;
type Policy = (typeof POLICIES)[number];
/**
 * Where a policy sends reads while every member is up: the master's share of them (all, none or
 * some), and which replicas get some (each of them, one, or none).
 */
const READS: Record<Policy, { readonly master: "all" | "none" | "some"; readonly replicas: readonly ("each" | "one" | "none")[] }> = {
  master: { master: "all", replicas: ["none"] },
  prefer_master: { master: "all", replicas: ["none"] },
  replica: { master: "none", replicas: ["each"] },
  prefer_replica: { master: "none", replicas: ["each", "one"] },
  any: { master: "some", replicas: ["each"] },
};
/** ms between the proxy's Sentinel polls (the default, written out). */
const INTERVAL = 1000;
/** How long a failed replica is skipped: longer than any test here, so it is not retried mid-test. */
const RETRY_MS = 30_000;
/** A client of the kill test waits this long after an error reply before it sends again. */
const ERROR_PAUSE_MS = 50;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sleepUntil = (t: number) => sleep(Math.max(0, t - performance.now()));

async function until(what: string, f: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const end = performance.now() + ms;
  while (!(await f())) {
    if (performance.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

let env: SentinelEnv;
const proxies: Running[] = [];
/** Switch watches still open when a test ends (one that failed midway). */
const watches: SwitchWatch[] = [];

async function watchSwitch(): Promise<SwitchWatch> {
  const w = await env.watchSwitch();
  watches.push(w);
  return w;
}

beforeAll(async () => {
  env = await SentinelEnv.start(2);
}, 60_000);

afterEach(async () => {
  for (const w of watches.splice(0)) w.close();
  for (const p of proxies.splice(0)) {
    await p.stop();
    expect(p.stderr(), "the proxy's log").not.toMatch(/TypeError|RangeError|ReferenceError|Uncaught|panic|SIGSEGV/);
  }
});

afterAll(async () => {
  await env?.stop();
});

// ---------------------------------------------------------------------------------------------
// the proxy

interface Proxy {
  readonly run: Running;
  readonly port: number;
  readonly stats: number;
  readonly metrics: number;
}

/** The Sentinel pool: the master's address on the `servers:` line is a wrong one, 127.0.0.1:1. */
function sentinelPool(readFrom: Policy): string {
  return (
    `  sentinel_interval: ${INTERVAL}\n  read_from: ${readFrom}\n  server_retry_timeout: ${RETRY_MS}\n` +
    `  servers:\n    - 127.0.0.1:1:1 ${MASTER_NAME}\n  sentinels:\n${env.sentinelsYaml()}`
  );
}

/** A static group: the current master and both replicas, by address, as shard1. */
function staticPool(): string {
  return (
    `  read_from: replica\n  server_retry_timeout: ${RETRY_MS}\n` +
    `  servers:\n    - ${env.master.addr}:1 shard1\n` +
    `  replicas:\n${env.replicas.map((r) => `    - ${r.addr}:1 shard1\n`).join("")}`
  );
}

async function startSigma(target: Target, pool: string): Promise<Proxy> {
  const [port, stats, metrics] = [await freePort(), await freePort(), await freePort()];
  const conf = writeConf(`sigma:\n  listen: 127.0.0.1:${port}\n  redis: true\n${pool}`);
  const args = ["-c", conf, "-s", String(stats), "-a", "127.0.0.1", "-i", "100", `--metrics-port=${metrics}`, "--metrics-addr", "127.0.0.1"];
  const run = await startProxy(target, args, port);
  proxies.push(run);
  return { run, port, stats, metrics };
}

type StatsEntry = Record<string, number | string>;

/** The `sigma` pool of the stats JSON: its server entries by name. */
async function poolStats(p: Proxy): Promise<Record<string, StatsEntry>> {
  const json = JSON.parse((await exchange(p.stats, Buffer.alloc(0))).toString()) as Record<string, unknown>;
  const pool = json.sigma as Record<string, unknown>;
  return Object.fromEntries(Object.entries(pool).filter(([, v]) => typeof v === "object" && v !== null)) as Record<string, StatsEntry>;
}

async function scrape(p: Proxy): Promise<string> {
  const raw = (await exchange(p.metrics, Buffer.from("GET /metrics HTTP/1.1\r\nHost: proxy\r\n\r\n"), { timeoutMs: 10_000 })).toString();
  expect(raw.startsWith("HTTP/1.1 200 ")).toBe(true);
  return raw.slice(raw.indexOf("\r\n\r\n") + 4);
}

/**
 * The Sentinel the proxy keeps its SUBSCRIBE connection on: the one live Sentinel with a
 * subscribed client (the test's own subscriptions are closed at this point). Waits up to 3 s for it.
 */
async function proxySentinel(): Promise<number> {
  let subs = new Map<number, string[]>();
  await until(
    "one SUBSCRIBE connection of the proxy on a Sentinel",
    async () => {
      subs = await env.subscribers();
      return [...subs.values()].flat().length === 1;
    },
    3000,
  ).catch((e: Error) => {
    throw new Error(`${e.message}; subscribed clients by Sentinel: ${JSON.stringify([...subs])}`);
  });
  return [...subs].find(([, a]) => a.length === 1)![0];
}

/** Wait for the proxy's log line of this switch (notice level); the whole line. */
async function switchLogged(p: Proxy, sw: SwitchMessage): Promise<string> {
  const line = `shard '${MASTER_NAME}' master switched from 127.0.0.1:${sw.from} to 127.0.0.1:${sw.to}`;
  await until(`the log line "${line}"`, () => p.run.stderr().includes(line), 3000).catch((e: Error) => {
    throw new Error(`${e.message}; the log:\n${p.run.stderr()}`);
  });
  return p.run.stderr().split("\n").find((l) => l.includes(line))!;
}

// ---------------------------------------------------------------------------------------------
// load

/**
 * `clients` raw connections to the proxy, each keeping `depth` requests in flight: a reply sends
 * the next request at once, an error reply after `errorPauseMs`. Every reply is recorded with its
 * time, so any window can be counted afterwards.
 */
class Load {
  private readonly port: number;
  private readonly clients: number;
  private readonly depth: number;
  private readonly make: (client: number, n: number) => Buffer;
  private readonly errorPauseMs: number;
  private readonly socks: Socket[] = [];
  private readonly inflight: number[] = [];
  private running = false;
  sent = 0;
  /** Replies that came with no request outstanding. */
  extra = 0;
  /** Connections the proxy closed while the load ran. */
  closes = 0;
  /** performance.now() of each reply, in arrival order, and whether it was an error reply. */
  readonly at: number[] = [];
  readonly failed: boolean[] = [];
  readonly errorTexts = new Map<string, number>();
  startedAt = 0;
  stoppedAt = 0;

  constructor(port: number, clients: number, depth: number, make: (client: number, n: number) => Buffer, errorPauseMs = 0) {
    this.port = port;
    this.clients = clients;
    this.depth = depth;
    this.make = make;
    this.errorPauseMs = errorPauseMs;
  }

  get replies(): number {
    return this.at.length;
  }

  get errors(): number {
    return this.failed.filter(Boolean).length;
  }

  async start(): Promise<void> {
    this.running = true;
    this.startedAt = performance.now();
    await Promise.all(Array.from({ length: this.clients }, (_, c) => this.open(c)));
  }

  private open(c: number): Promise<void> {
    this.inflight[c] = 0;
    return new Promise((resolve, reject) => {
      const sock = connect({ host: "127.0.0.1", port: this.port, noDelay: true });
      this.socks[c] = sock;
      let buf: Buffer = Buffer.alloc(0);
      let n = 0;
      let connected = false;
      const send = (k: number): void => {
        if (!this.running || k === 0 || sock.destroyed) return;
        const parts: Buffer[] = [];
        for (let i = 0; i < k; i++) parts.push(this.make(c, n++));
        this.sent += k;
        this.inflight[c]! += k;
        sock.write(Buffer.concat(parts));
      };
      sock.once("connect", () => {
        connected = true;
        resolve();
        send(this.depth);
      });
      sock.on("data", (d: Buffer) => {
        buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
        let p = 0;
        let ok = 0;
        let bad = 0;
        while (p < buf.length) {
          const e = respEnd(buf, p);
          if (e < 0) break;
          const now = performance.now();
          const err = buf[p] === 0x2d; // -
          if (err) {
            const text = buf.toString("latin1", p + 1, buf.indexOf("\r\n", p, "latin1"));
            this.errorTexts.set(text, (this.errorTexts.get(text) ?? 0) + 1);
            bad++;
          } else ok++;
          this.at.push(now);
          this.failed.push(err);
          if (this.inflight[c]! > 0) this.inflight[c]!--;
          else this.extra++;
          p = e;
        }
        buf = buf.subarray(p);
        send(ok);
        if (bad > 0) setTimeout(() => send(bad), this.errorPauseMs);
      });
      sock.on("error", (e: Error) => {
        if (!connected) reject(e);
      });
      sock.on("close", () => {
        if (this.running) this.closes++;
      });
    });
  }

  /** Stop sending; resolve once every request sent has its reply, or throw after `drainMs` with what is missing. */
  async stop(drainMs = 10_000): Promise<void> {
    this.running = false;
    this.stoppedAt = performance.now();
    try {
      await until("a reply to every request sent", () => this.inflight.every((n) => n === 0), drainMs);
    } catch {
      const waiting = this.inflight.map((n, c) => [c, n] as const).filter(([, n]) => n > 0);
      throw new Error(`${this.sent - this.replies} of ${this.sent} requests got no reply within ${drainMs} ms: ${waiting.map(([c, n]) => `client ${c}: ${n}`).join(", ")}`);
    } finally {
      for (const s of this.socks) s.destroy();
    }
  }

  /** Replies in [t0, t1): all of them and the error ones. */
  count(t0: number, t1: number): { replies: number; errors: number } {
    let replies = 0;
    let errors = 0;
    for (let i = 0; i < this.at.length; i++) {
      const t = this.at[i]!;
      if (t < t0 || t >= t1) continue;
      replies++;
      if (this.failed[i]) errors++;
    }
    return { replies, errors };
  }

  /** The longest time, from start to stop, with no acknowledged (non-error) reply. */
  maxAckGap(): number {
    let last = this.startedAt;
    let gap = 0;
    for (let i = 0; i < this.at.length; i++) {
      if (this.failed[i]) continue;
      gap = Math.max(gap, this.at[i]! - last);
      last = this.at[i]!;
    }
    return Math.max(gap, this.stoppedAt - last);
  }

  describeErrors(): string {
    return [...this.errorTexts].map(([t, n]) => `${n} x "${t}"`).join(", ") || "none";
  }
}

const incr = (c: number, n: number) => resp("INCRBYFLOAT", `w:${c}:${n % 4}`, "1");

/**
 * Polls each node's INCRBYFLOAT count every few ms over its own connection and records when it
 * first moved past its count at start: the first write a client sent that node. A connection
 * Sentinel kills (CLIENT KILL TYPE normal on a promoted or reconfigured replica) is opened again.
 */
class FirstWrites {
  readonly first = new Map<number, number>();
  private on = true;
  private loop: Promise<void> = Promise.resolve();

  static async start(nodes: readonly RedisNode[]): Promise<FirstWrites> {
    const w = new FirstWrites();
    const base = await Promise.all(nodes.map((n) => reached(n.port, "incrbyfloat")));
    const conns: (RespConn | null)[] = await Promise.all(nodes.map((n) => RespConn.open(n.port)));
    w.loop = (async () => {
      while (w.on) {
        for (const [i, n] of nodes.entries()) {
          if (w.first.has(n.port) || !n.alive()) continue;
          try {
            conns[i] ??= await RespConn.open(n.port);
            const v = await reached(n.port, "incrbyfloat", conns[i]!);
            if (v > base[i]!) w.first.set(n.port, performance.now());
          } catch {
            conns[i]?.close();
            conns[i] = null;
          }
        }
        await sleep(3);
      }
      for (const c of conns) c?.close();
    })();
    return w;
  }

  async stop(): Promise<void> {
    this.on = false;
    await this.loop;
  }
}

/** Send INCRBYFLOATs through the proxy, one at a time, until one lands on `node`; the time it did. */
async function writesLandOn(p: Proxy, node: RedisNode, ms: number): Promise<number> {
  const base = await reached(node.port, "incrbyfloat");
  const c = await RespConn.open(p.port);
  try {
    const end = performance.now() + ms;
    for (let i = 0; ; i++) {
      await c.call("INCRBYFLOAT", `probe:${i % 8}`, "1");
      if ((await reached(node.port, "incrbyfloat")) > base) return performance.now();
      if (performance.now() > end) throw new Error(`no write through the proxy reached ${node.addr} within ${ms} ms; log:\n${p.run.stderr()}`);
      await sleep(10);
    }
  } finally {
    c.close();
  }
}

/**
 * SENTINEL FAILOVER on `via` with one client writing through the proxy all along (one request in
 * flight): the switch, and when the new master ran the first of those writes, in ms after the
 * first +switch-master (negative: the proxy's poll saw the new master before any announcement).
 */
async function followedFailover(p: Proxy, via?: SentinelNode): Promise<{ sw: SwitchMessage; after: number }> {
  const probe = new Load(p.port, 1, 1, incr, 20);
  await probe.start();
  const writes = await FirstWrites.start(env.replicas);
  const watch = await watchSwitch();
  try {
    await env.failover(via);
    const sw = await within(watch.switched, 20_000, "+switch-master");
    await until(`a write through the proxy on the new master 127.0.0.1:${sw.to}`, () => writes.first.has(sw.to), sw.at + 5000 - performance.now()).catch(
      (e: Error) => {
        throw new Error(`${e.message}; log:\n${p.run.stderr()}`);
      },
    );
    return { sw, after: writes.first.get(sw.to)! - sw.at };
  } finally {
    watch.close();
    await writes.stop();
    await probe.stop();
    expect(probe.replies, "the probe's replies").toBe(probe.sent);
  }
}

/** Each node's INFO commandstats, by port. */
async function allStats(): Promise<Map<number, Record<string, { calls: number; rejected_calls: number }>>> {
  const m = new Map<number, Record<string, { calls: number; rejected_calls: number }>>();
  for (const n of env.nodes) if (n.alive()) m.set(n.port, await commandstatsFull(n.port));
  return m;
}

/** How many more `cmd` calls (or rejected calls) `port` has in `after` than in `before`. */
function delta(
  before: Map<number, Record<string, { calls: number; rejected_calls: number }>>,
  after: Map<number, Record<string, { calls: number; rejected_calls: number }>>,
  port: number,
  cmd: string,
  field: "calls" | "rejected_calls" = "calls",
): number {
  return (after.get(port)?.[cmd]?.[field] ?? 0) - (before.get(port)?.[cmd]?.[field] ?? 0);
}

/** `n` copies of one command through the proxy, pipelined over `conns` connections; every reply must be `want`. */
async function through(p: Proxy, n: number, conns: number, command: Buffer, want: string): Promise<void> {
  const per = n / conns;
  const got = await Promise.all(
    Array.from({ length: conns }, () => request(p.port, Buffer.concat(Array.from({ length: per }, () => command)), per * want.length, 20_000)),
  );
  for (const g of got) expect(g.toString()).toBe(want.repeat(per));
}

// ---------------------------------------------------------------------------------------------

describe.each(DISCOVERY)("Sentinel discovery at start, on %s", (target) => {
  it("asks Sentinel before serving: the first SET and GET land on the real master, not on 127.0.0.1:1", async () => {
    await env.restore();
    const key = `disc:${target}`;
    const before = await allStats();
    const p = await startSigma(target, sentinelPool("master"));
    const got = await request(p.port, Buffer.concat([resp("SET", key, "v1"), resp("GET", key)]), "+OK\r\n$2\r\nv1\r\n".length, 10_000);
    expect(got.toString()).toBe("+OK\r\n$2\r\nv1\r\n");
    await env.settle();
    const after = await allStats();
    expect(delta(before, after, env.master.port, "set")).toBe(1);
    expect(delta(before, after, env.master.port, "get")).toBe(1);
    for (const r of env.replicas) {
      expect(delta(before, after, r.port, "get"), `GETs on replica ${r.addr}`).toBe(0);
      expect(delta(before, after, r.port, "set", "rejected_calls"), `SETs refused by replica ${r.addr}`).toBe(0);
    }
  });
});

describe.each(BUILDS)("replica groups with Sentinel, on %s", (target) => {
  it("SENTINEL FAILOVER under 50 pipelining clients: one reply per request, no write reaches the old master once switched", async () => {
    await env.restore();
    const old = env.master;
    const p = await startSigma(target, sentinelPool("master"));
    const load = new Load(p.port, 50, 8, incr);
    await load.start();
    await sleep(500);
    expect(load.count(0, Infinity).replies, "replies before the failover").toBeGreaterThan(0);
    // The Sentinel that runs a failover announces +switch-master last, about 1 s after the others
    // (they adopt the new config from its hello messages; it announces once the replicas are
    // reconfigured). Asked on another Sentinel than the one the proxy subscribes on, the proxy's
    // Sentinel is among the first to announce, so the figure measures the subscription, not a poll.
    const own = await proxySentinel();
    const via = env.liveSentinels().find((s) => s.port !== own)!;
    const candidates = env.replicas;
    const writes = await FirstWrites.start(candidates);
    const base = new Map(await Promise.all(env.nodes.map(async (n) => [n.port, await reached(n.port, "incrbyfloat")] as const)));
    const watch = await watchSwitch();
    await env.failover(via);
    const sw = await within(watch.switched, 20_000, "+switch-master"); // kept open: the later announcements are printed
    expect(sw.from).toBe(old.port);
    const neo = env.node(sw.to);
    await until(`a write on the new master ${neo.addr}`, () => writes.first.has(neo.port), sw.at + 3000 - performance.now()).catch((e: Error) => {
      throw new Error(`${e.message}; log:\n${p.run.stderr()}`);
    });
    const followed = writes.first.get(neo.port)!;
    const figure = followed - sw.at;
    // the switch has settled (seen, and followed by the proxy, 300 ms ago): from here on, for 1 s
    // of load, nothing reaches the old master
    await sleepUntil(Math.max(sw.at, followed) + 300);
    const tA = performance.now();
    const [oldA, newA] = [await reached(old.port, "incrbyfloat"), await reached(neo.port, "incrbyfloat")];
    await sleep(1000);
    const [oldB, newB] = [await reached(old.port, "incrbyfloat"), await reached(neo.port, "incrbyfloat")];
    const tB = performance.now();
    watch.close();
    await writes.stop();
    await load.stop();
    const settled = load.count(tA, tB);
    const logged = await switchLogged(p, sw);
    const announced = [...watch.announced].map(([port, t]) => `${port === own ? "the proxy's " : ""}${port === via.port ? "leader " : ""}:${port} +${(t - sw.at).toFixed(0)}`);
    console.log(
      `sentinel-figure: ${target} SENTINEL FAILOVER, 50 clients x 8 in flight: first write on the new master ${figure.toFixed(0)} ms after the first +switch-master ` +
        `(Sentinels announced it at ${announced.join(", ")} ms); ` +
        `${load.replies} replies to ${load.sent} requests, ${load.errors} error replies (${load.describeErrors()}); ` +
        `after the switch + 300 ms: ${settled.replies} replies, ${newB - newA} writes on the new master, ${oldB - oldA} on the old one; ` +
        `the proxy logged: ${logged.trim()}`,
    );
    expect(load.replies).toBe(load.sent);
    expect(load.extra).toBe(0);
    expect(load.closes).toBe(0);
    expect(oldB - oldA, "writes that reached the old master after the switch settled").toBe(0);
    expect(newB - newA, "writes on the new master after the switch settled").toBeGreaterThan(0);
    expect(settled.replies).toBeGreaterThan(0);
    expect(settled.errors, `error replies after the switch settled: ${load.describeErrors()}`).toBe(0);
    for (const r of candidates.filter((x) => x !== neo)) {
      expect((await reached(r.port, "incrbyfloat")) - base.get(r.port)!, `writes on the replica ${r.addr}`).toBe(0);
    }
    expect(figure).toBeLessThan(1000);
    await env.settle(neo);
  });

  it("kill -9 of the master under 50 pipelining clients: Sentinel promotes, the proxy follows, the gap stays bounded", async () => {
    await env.restore();
    const old = env.master;
    const p = await startSigma(target, sentinelPool("master"));
    const load = new Load(p.port, 50, 8, incr, ERROR_PAUSE_MS);
    await load.start();
    await sleep(500);
    const writes = await FirstWrites.start(env.replicas);
    const watch = await watchSwitch();
    const killed = performance.now();
    await old.kill9();
    const sw = await within(watch.switched, 20_000, "+switch-master after the kill").finally(() => watch.close());
    expect(sw.from).toBe(old.port);
    const neo = env.node(sw.to);
    await until(`a write on the new master ${neo.addr}`, () => writes.first.has(neo.port), sw.at + 3000 - performance.now()).catch((e: Error) => {
      throw new Error(`${e.message}; log:\n${p.run.stderr()}`);
    });
    const followed = writes.first.get(neo.port)!;
    await sleepUntil(followed + 300);
    const tA = performance.now();
    const newA = await reached(neo.port, "incrbyfloat");
    await sleep(700);
    const newB = await reached(neo.port, "incrbyfloat");
    const tB = performance.now();
    await writes.stop();
    await load.stop();
    const gap = load.maxAckGap();
    const after = load.count(tA, tB);
    const logged = await switchLogged(p, sw);
    console.log(
      `sentinel-figure: ${target} kill -9 of the master, 50 clients x 8 in flight (${ERROR_PAUSE_MS} ms pause after an error): ` +
        `longest gap without an acknowledged write ${gap.toFixed(0)} ms (kill to +switch-master ${(sw.at - killed).toFixed(0)} ms, ` +
        `first write on the new master ${(followed - sw.at).toFixed(0)} ms after it); the proxy logged: ${logged.trim()}`,
    );
    console.log(`sentinel-figure: ${target} kill -9 of the master: ${load.errors} failed requests of ${load.replies} (${load.describeErrors()})`);
    expect(load.replies).toBe(load.sent);
    expect(load.extra).toBe(0);
    expect(load.closes).toBe(0);
    expect(gap).toBeLessThan(DOWN_AFTER_MS + FAILOVER_TIMEOUT_MS + 2000);
    expect(newB - newA, "writes acknowledged by the new master afterwards").toBeGreaterThan(0);
    expect(after.replies).toBeGreaterThan(0);
    expect(after.errors, `error replies once the proxy followed: ${load.describeErrors()}`).toBe(0);
    await old.start(neo.port);
    await env.settle(neo);
  });

  it("Sentinels killed one by one: a failover by the last one is followed; with none the proxy serves on the last master; once back, followed again", async () => {
    await env.restore();
    const p = await startSigma(target, sentinelPool("master"));
    const [s0, s1, s2] = env.sentinels as [SentinelNode, SentinelNode, SentinelNode];
    await writesLandOn(p, env.master, 3000);
    // one by one, each past a poll of the proxy
    for (const s of [s0, s1]) {
      await s.kill9();
      await sleep(INTERVAL + 500);
      await writesLandOn(p, env.master, 3000);
    }
    // 2 of 3 gone: the remaining one fails over on its own
    const lastOne = await followedFailover(p, s2);
    const logged1 = await switchLogged(p, lastOne.sw);
    await env.settle(env.node(lastOne.sw.to));
    // all 3 gone: the last topology stays
    const seen = p.run.stderr().length;
    await s2.kill9();
    await until("the warning `no sentinel answered`", () => p.run.stderr().slice(seen).includes("no sentinel answered"), 4 * INTERVAL);
    const before = await allStats();
    const n = 20;
    await through(p, n, 2, resp("SET", "nosent:k", "v"), "+OK\r\n");
    await through(p, n, 2, resp("GET", "nosent:k"), "$1\r\nv\r\n");
    await env.settle();
    const after = await allStats();
    expect(delta(before, after, env.master.port, "set"), "SETs on the last master").toBe(n);
    expect(delta(before, after, env.master.port, "get"), "GETs on the last master").toBe(n);
    // back (each restarts on the config file it rewrote): a further failover is followed
    for (const s of [s2, s0, s1]) await s.start();
    await env.settle();
    const again = await followedFailover(p);
    const logged2 = await switchLogged(p, again.sw);
    console.log(
      `sentinel-figure: ${target} failover by the last of 3 sentinels: first write on the new master ${lastOne.after.toFixed(0)} ms after +switch-master ` +
        `(the proxy logged: ${logged1.trim()}); after all 3 were killed and restarted: ${again.after.toFixed(0)} ms (${logged2.trim()})`,
    );
    await env.settle(env.node(again.sw.to));
  });

  it.each(POLICIES)("read_from: %s: GETs land only on the members the policy names, SETs on the master", async (policy) => {
    await env.restore();
    const p = await startSigma(target, sentinelPool(policy));
    const key = `rf:${target}:${policy}`;
    await through(p, 1, 1, resp("SET", key, "v"), "+OK\r\n");
    await env.settle(); // the replicas have the key
    const n = 400;
    let before = await allStats();
    await through(p, n, 4, resp("GET", key), "$1\r\nv\r\n");
    let after = await allStats();
    const onMaster = delta(before, after, env.master.port, "get");
    const onReplicas = env.replicas.map((r) => delta(before, after, r.port, "get"));
    const where = `GETs: master ${onMaster}, replicas ${onReplicas.join(" ")}`;
    expect(onMaster + onReplicas.reduce((a, b) => a + b, 0), where).toBe(n);
    expect(onMaster === n ? "all" : onMaster === 0 ? "none" : "some", where).toBe(READS[policy].master);
    const replicaShare = onReplicas.every((x) => x > 0) ? "each" : onReplicas.every((x) => x === 0) ? "none" : "one";
    expect(READS[policy].replicas, where).toContain(replicaShare);
    // writes: the master runs every one; a replica gets each once, from replication, and refuses none
    before = await allStats();
    await through(p, n, 4, resp("SET", key, "w"), "+OK\r\n");
    await env.settle();
    after = await allStats();
    expect(delta(before, after, env.master.port, "set"), "SETs on the master").toBe(n);
    for (const r of env.replicas) {
      expect(delta(before, after, r.port, "set", "rejected_calls"), `SETs sent to replica ${r.addr}`).toBe(0);
      expect(delta(before, after, r.port, "set"), `SETs replicated to ${r.addr}`).toBe(n);
    }
  });

  it("read_from: replica, a replica killed under read load: reads go on on the other one after at most the requests in flight", async () => {
    await env.restore();
    const p = await startSigma(target, sentinelPool("replica"));
    const key = `rk:${target}`;
    await through(p, 1, 1, resp("SET", key, "v"), "+OK\r\n");
    await env.settle();
    const [dead, other] = env.replicas as [RedisNode, RedisNode];
    const [clients, depth] = [8, 4];
    const load = new Load(p.port, clients, depth, () => resp("GET", key), 20);
    const deadStart = (await commandstats(dead.port)).get ?? 0;
    await load.start();
    await sleep(300);
    expect(((await commandstats(dead.port)).get ?? 0) - deadStart, "reads on the replica about to die").toBeGreaterThan(0);
    const killed = performance.now();
    await dead.kill9();
    await sleep(500);
    const tA = performance.now();
    const otherA = (await commandstats(other.port)).get ?? 0;
    await sleep(1000);
    const otherB = (await commandstats(other.port)).get ?? 0;
    const tB = performance.now();
    await load.stop();
    const errors = load.count(killed, Infinity).errors;
    const late = load.count(tA, tB);
    console.log(
      `sentinel-figure: ${target} read_from replica, ${clients} clients x ${depth} in flight, a replica killed: ${errors} failed reads ` +
        `(${load.describeErrors()}), then ${late.replies} reads in 1 s with ${late.errors} errors`,
    );
    expect(load.replies).toBe(load.sent);
    expect(load.closes).toBe(0);
    expect(errors, load.describeErrors()).toBeLessThanOrEqual(clients * depth);
    expect(late.replies).toBeGreaterThan(0);
    expect(late.errors).toBe(0);
    expect(otherB - otherA, `reads on ${other.addr} after the kill`).toBeGreaterThan(0);
    await dead.start(env.master.port);
    await env.settle();
  });

  it("a static group (replicas:, no Sentinel) with read_from: replica: reads on the replicas, writes on the master; a dead replica is down", async () => {
    await env.restore();
    const p = await startSigma(target, staticPool());
    const master = env.master;
    const [r1, r2] = env.replicas as [RedisNode, RedisNode];
    const key = `st:${target}`;
    await through(p, 1, 1, resp("SET", key, "v"), "+OK\r\n");
    await env.settle();
    const n = 400;
    let before = await allStats();
    await through(p, n, 4, resp("GET", key), "$1\r\nv\r\n");
    await through(p, n, 4, resp("SET", key, "v"), "+OK\r\n");
    await env.settle();
    let after = await allStats();
    const gets = [master, r1, r2].map((x) => delta(before, after, x.port, "get"));
    expect(gets[0], `GETs master/replicas: ${gets.join(" ")}`).toBe(0);
    expect(gets[1]! + gets[2]!).toBe(n);
    expect(gets[1], `GETs master/replicas: ${gets.join(" ")}`).toBeGreaterThan(0);
    expect(gets[2], `GETs master/replicas: ${gets.join(" ")}`).toBeGreaterThan(0);
    expect(delta(before, after, master.port, "set")).toBe(n);
    for (const r of [r1, r2]) expect(delta(before, after, r.port, "set", "rejected_calls")).toBe(0);
    // the stats: a shard entry and one per replica, all up
    const stats = await poolStats(p);
    expect(stats.shard1).toMatchObject({ role: "master", addr: master.addr, state: "up", failovers: 0 });
    for (const r of [r1, r2]) expect(stats[`shard1/${r.addr}`]).toMatchObject({ role: "replica", addr: r.addr, state: "up" });
    // r1 dies: one read at a time, so at most the one in flight fails; it is skipped from then on
    await r1.kill9();
    const c = await RespConn.open(p.port);
    let errors = 0;
    before = await allStats();
    for (let i = 0; i < 40; i++) if ((await c.call("GET", key)) instanceof ReplyError) errors++;
    await until(`shard1/${r1.addr} down in the stats`, async () => (await poolStats(p))[`shard1/${r1.addr}`]?.state === "down", 3000);
    for (let i = 0; i < 40; i++) expect(await c.call("GET", key)).toBe("v");
    c.close();
    after = await allStats();
    console.log(`sentinel-figure: ${target} static group, a replica killed, one read at a time: ${errors} failed reads`);
    expect(errors).toBeLessThanOrEqual(1);
    expect(delta(before, after, r2.port, "get")).toBe(80 - errors);
    expect(delta(before, after, master.port, "get")).toBe(0);
    await r1.start(master.port);
    await env.settle();
  });

  it("stats JSON and metrics: each member's role, address and state; failovers 1 after one failover", async () => {
    await env.restore();
    const old = env.master;
    const p = await startSigma(target, sentinelPool("master"));
    const members = async (): Promise<Record<string, StatsEntry>> => poolStats(p);
    const shape = (e: StatsEntry | undefined): string[] => Object.keys(e ?? {});
    const expectTopology = async (master: RedisNode, failovers: number): Promise<void> => {
      const replicas = env.nodes.filter((n) => n !== master);
      const names = [MASTER_NAME, ...replicas.map((r) => `${MASTER_NAME}/${r.addr}`)].sort();
      let got: Record<string, StatsEntry> = {};
      await until(
        `the stats naming ${master.addr} as the master and ${replicas.map((r) => r.addr).join(", ")} as replicas, all up`,
        async () => {
          got = await members();
          return (
            got[MASTER_NAME]?.addr === master.addr &&
            JSON.stringify(Object.keys(got).sort()) === JSON.stringify(names) &&
            Object.values(got).every((e) => e.state === "up")
          );
        },
        3 * INTERVAL,
      ).catch((e: Error) => {
        throw new Error(`${e.message}; last: ${JSON.stringify(got)}`);
      });
      expect(got[MASTER_NAME]).toMatchObject({ role: "master", addr: master.addr, state: "up", failovers });
      expect(shape(got[MASTER_NAME])).toEqual([...SERVER_FIELDS, "role", "addr", "state", "failovers"]);
      for (const r of replicas) {
        expect(got[`${MASTER_NAME}/${r.addr}`]).toMatchObject({ role: "replica", addr: r.addr, state: "up" });
        expect(shape(got[`${MASTER_NAME}/${r.addr}`])).toEqual([...SERVER_FIELDS, "role", "addr", "state"]);
      }
      const fams = parsePrometheus(await scrape(p));
      expect(sampleValue(fams, "nutcracker_shard_failovers_total", { pool: "sigma", shard: MASTER_NAME })).toBe(failovers);
      const roles = samples(fams, "nutcracker_server_role", { pool: "sigma", shard: MASTER_NAME });
      expect(roles.map((s) => `${s.labels.role} ${s.labels.addr} ${s.value}`).sort()).toEqual(
        [`master ${master.addr} 1`, ...replicas.map((r) => `replica ${r.addr} 1`)].sort(),
      );
      for (const s of roles) expect(s.labels.server, JSON.stringify(s.labels)).toBeTruthy();
    };
    await through(p, 10, 1, resp("SET", "statkey", "v"), "+OK\r\n");
    await expectTopology(old, 0);
    const watch = await watchSwitch();
    await env.failover();
    const sw = await within(watch.switched, 20_000, "+switch-master").finally(() => watch.close());
    const neo = env.node(sw.to);
    await env.settle(neo);
    await writesLandOn(p, neo, 3000);
    await expectTopology(neo, 1);
  });
});
