// Redis Cluster behind one pool, against a real cluster: six redis-server nodes (three masters,
// one replica each) made a cluster by redis-cli for the whole file, plus two spare nodes for
// add-node (test/helpers/cluster_env.ts); a fresh proxy per test, on the Node bundle and the Bun
// binary. The proxy's pool names one seed node and `cluster_refresh: 2000`.
//
//  1. 100,000 keys (a tenth of them with a {tag}) written through the proxy: each is on the master
//     that owns its slot by the slot computed here (CRC16, checked against CLUSTER KEYSLOT, not the
//     proxy's code) and the map the nodes give, read there directly; each master holds exactly its
//     keys (DBSIZE); DBSIZE through the proxy is their sum and KEYS returns every key; the stats
//     JSON has an entry per node with twemproxy's server fields and role/addr/state/slots, and
//     counts each master's requests exactly.
//  2. MSET, MGET, EXISTS, TOUCH, DEL and UNLINK over keys of hundreds of slots: split per slot,
//     exact replies, never -CROSSSLOT; the MSET's values are on their owners.
//  3. one slot migrated by hand (SETSLOT IMPORTING/MIGRATING, MIGRATE): -ASK followed for a moved
//     key and a new one, -TRYAGAIN for an MGET over both nodes until its last key moves, -MOVED
//     once the slot is handed over (the proxy's slot counts follow; an ASK leaves them), each
//     counted in "redirects"; a redirect loop (migrating to a node that does not import) ends
//     after MAX_REDIRECTS with the node's -MOVED as the reply.
//  4. 1,000 slots resharded (redis-cli --cluster reshard) under 50 clients each keeping 8
//     requests in flight (SET a, SET b, GET a, MGET a b z): no error, every read is the value the
//     client last wrote; the redirects counter (stats JSON, metrics) is > 0; after a refresh the
//     proxy's slot counts are the cluster's.
//  5. CLUSTER FAILOVER on a replica under the same load: one reply per request, no lost or wrong
//     value; the proxy lists the replica as master after a refresh. Errors and the longest gap
//     without an acknowledged write are printed (cluster-figure).
//  6. a master added (add-node, rebalance --cluster-use-empty-masters): once a refresh shows its
//     slots in the stats JSON (and metrics), 2,000 writes through the proxy take no redirect, the
//     new node holds exactly the keys of its slots, and DBSIZE through the proxy counts it.
//  7. kill -9 of a master under the same load: one reply per request, the writes come back
//     (none failing in the last second); errors, the gap and lost writes are printed. The killed
//     node is restarted (it rejoins as a replica) and the cluster settles before the next test.
//  8. -t refuses `hash`, `hash_tag` and `distribution` in a redis_cluster pool, naming the key.
//
// What a cluster pool costs against a plain pool over the same redis-server is bench/cluster.ts's
// (a benchmark, not a timed test).
//
// "One reply per request" has one exception, nutcracker's own (README "Multi-key commands"): an
// MGET with a part that failed (its node dead) closes the client after its error reply, so the
// requests the client had written after it get none. The load clients reconnect, and count those
// requests apart (`dropped`); any other close, or a request unanswered otherwise, fails the test.

import { spawnSync } from "node:child_process";
import { performance } from "node:perf_hooks";
import { isDeepStrictEqual } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { SERVER_FIELDS } from "../../src/stats/table.ts";
import { exchange, resp } from "../helpers/client.ts";
import { ClusterEnv, type ClusterNode, ClusterLoad, keySlot, pipeline, SLOTS } from "../helpers/cluster_env.ts";
import { parsePrometheus, sampleValue } from "../helpers/prom_parse.ts";
import { type Running, startProxy, TARGETS, type Target, writeConf } from "../helpers/proxy.ts";
import { freePort, waitForPort } from "../helpers/runtimes.ts";

/** The two shipped builds (`bun build.ts bin` makes both). */
const BUILDS: readonly Target[] = ["node", "binary"];
const POOL = "cl";
const REFRESH_MS = 2000;
const KEYS = 100_000;
/** src/core/cluster.ts MAX_REDIRECTS, written out: the README says 5. */
const MAX_REDIRECTS = 5;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const bulk = (v: string) => `$${Buffer.byteLength(v)}\r\n${v}\r\n`;

async function until(what: string, f: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const end = performance.now() + ms;
  while (!(await f())) {
    if (performance.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

let env: ClusterEnv;
const proxies: Running[] = [];

beforeAll(async () => {
  env = await ClusterEnv.start(6, 1, BUILDS.length);
}, 60_000);

afterEach(async () => {
  // a test that failed midway leaves no node dead for the next one (its settle() waits for it to rejoin)
  await env.restartDead();
  await env.closeOpenSlots();
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

function clusterPool(port: number, seed: ClusterNode): string {
  return `${POOL}:\n  listen: 127.0.0.1:${port}\n  redis: true\n  redis_cluster: true\n  cluster_refresh: ${REFRESH_MS}\n  servers:\n   - ${seed.addr}:1\n`;
}

/** A proxy with the cluster pool, seeded with one live member. */
async function startCluster(target: Target): Promise<Proxy> {
  const [port, stats, metrics] = [await freePort(), await freePort(), await freePort()];
  const seed = env.members.find((m) => m.alive())!;
  const yaml = clusterPool(port, seed);
  const args = ["-c", writeConf(yaml), "-s", String(stats), "-a", "127.0.0.1", "-i", "100", `--metrics-port=${metrics}`, "--metrics-addr", "127.0.0.1"];
  const run = await startProxy(target, args, port);
  proxies.push(run);
  await waitForPort("127.0.0.1", metrics, 10_000);
  return { run, port, stats, metrics };
}

type Entry = Record<string, number | string>;

/** The cluster pool of the stats JSON: its own fields, and its node entries by name. */
async function poolStats(p: Proxy): Promise<{ pool: Record<string, unknown>; nodes: Record<string, Entry> }> {
  const json = JSON.parse((await exchange(p.stats, Buffer.alloc(0))).toString()) as Record<string, unknown>;
  const pool = json[POOL] as Record<string, unknown>;
  const nodes = Object.fromEntries(Object.entries(pool).filter(([, v]) => typeof v === "object" && v !== null)) as Record<string, Entry>;
  return { pool, nodes };
}

async function redirects(p: Proxy): Promise<number> {
  const v = (await poolStats(p)).pool.redirects;
  if (typeof v !== "number") throw new Error(`no "redirects" number in the stats of pool ${POOL}: ${JSON.stringify(v)}`);
  return v;
}

async function scrape(p: Proxy): Promise<ReturnType<typeof parsePrometheus>> {
  const raw = (await exchange(p.metrics, Buffer.from("GET /metrics HTTP/1.1\r\nHost: proxy\r\n\r\n"), { timeoutMs: 10_000 })).toString();
  expect(raw.startsWith("HTTP/1.1 200 ")).toBe(true);
  return parsePrometheus(raw.slice(raw.indexOf("\r\n\r\n") + 4));
}

/**
 * Wait until the proxy's stats JSON shows the cluster's map as it is now: every master with its
 * slot count and role master, every replica with role replica and 0 slots (a refresh happened
 * since the last change). Returns the stats' node entries.
 */
async function proxySeesMap(p: Proxy, ms = REFRESH_MS * 2 + 2000): Promise<Record<string, Entry>> {
  const shards = await env.shards();
  let nodes: Record<string, Entry> = {};
  const want = (): string[] => {
    const off: string[] = [];
    for (const s of shards) {
      const m = nodes[`127.0.0.1:${s.master}`];
      if (m?.role !== "master" || m.slots !== s.slots) off.push(`${s.master}: ${JSON.stringify(m && { role: m.role, slots: m.slots })}, want master ${s.slots}`);
      for (const r of s.replicas) {
        const e = nodes[`127.0.0.1:${r}`];
        if (e?.role !== "replica" || e.slots !== 0) off.push(`${r}: ${JSON.stringify(e && { role: e.role, slots: e.slots })}, want replica 0`);
      }
    }
    return off;
  };
  await until(
    "the proxy's stats to show the cluster's map",
    async () => {
      nodes = (await poolStats(p)).nodes;
      return want().length === 0;
    },
    ms,
  ).catch((e: Error) => {
    throw new Error(`${e.message}: ${want().join("; ")}`);
  });
  return nodes;
}

/** Each key's value read directly on the master that owns its slot (per `owners`); throws on the first miss. */
async function onOwners(keys: readonly string[], values: readonly string[], owners: readonly number[]): Promise<Map<number, number>> {
  const byNode = new Map<number, number[]>();
  for (let i = 0; i < keys.length; i++) {
    const port = owners[keySlot(keys[i]!)]!;
    let l = byNode.get(port);
    if (l === undefined) byNode.set(port, (l = []));
    l.push(i);
  }
  for (const [port, idx] of byNode) {
    const got = await pipeline(port, idx.map((i) => resp("GET", keys[i]!)));
    const bad = idx.filter((i, j) => got[j] !== bulk(values[i]!));
    expect(bad.length, `keys not found on their owner ${port}, e.g. ${bad.slice(0, 3).map((i) => `${keys[i]} (slot ${keySlot(keys[i]!)}): ${JSON.stringify(got[idx.indexOf(i)])}`).join(", ")}`).toBe(0);
  }
  return new Map([...byNode].map(([port, idx]) => [port, idx.length]));
}

/** The value of one reply: the number of `:n`, the text of `+s`, or throws. */
function num(r: string | undefined): number {
  const m = /^:(-?\d+)\r\n$/.exec(r ?? "");
  if (m === null) throw new Error(`not an integer reply: ${JSON.stringify(r)}`);
  return Number(m[1]);
}

/** A multi-bulk reply's elements (bulk strings or nil), in order. */
function elements(r: string): (string | null)[] {
  const m = /^\*(\d+)\r\n/.exec(r);
  if (m === null) throw new Error(`not an array reply: ${JSON.stringify(r.slice(0, 80))}`);
  const out: (string | null)[] = [];
  let p = m[0].length;
  for (let i = 0; i < Number(m[1]); i++) {
    const h = /^\$(-1|\d+)\r\n/.exec(r.slice(p, p + 24));
    if (h === null) throw new Error(`element ${i} is not a bulk: ${JSON.stringify(r.slice(p, p + 40))}`);
    p += h[0].length;
    if (h[1] === "-1") out.push(null);
    else {
      out.push(r.slice(p, p + Number(h[1])));
      p += Number(h[1]) + 2;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

describe.each(BUILDS)("Redis Cluster behind one pool, on %s", (target) => {
  it("100,000 keys written through the proxy are each on the master that owns its slot; DBSIZE and KEYS reach every master", async () => {
    await env.settle();
    await env.flushAll();
    const p = await startCluster(target);
    const owners = await env.owners();
    // the slot computed here is the cluster's own, or the check below proves nothing
    const probes = ["a", "foo", "{user1000}.following", "{}x", "x{}y", "{a}{b}", `k:${target}:12345`, "123456789"];
    const slotReplies = await pipeline(env.members[0]!.port, probes.map((k) => resp("CLUSTER", "KEYSLOT", k)));
    expect(slotReplies.map(num), `CLUSTER KEYSLOT of ${probes.join(" ")}`).toEqual(probes.map(keySlot));
    const keys = Array.from({ length: KEYS }, (_, i) => (i % 10 === 0 ? `{t${i % 97}}:${target}:${i}` : `k:${target}:${i}`));
    const values = keys.map((_, i) => `v${i}`);
    const conns = 4;
    const per = KEYS / conns;
    const got = await Promise.all(
      Array.from({ length: conns }, (_, c) => pipeline(p.port, keys.slice(c * per, (c + 1) * per).map((k, j) => resp("SET", k, values[c * per + j]!)))),
    );
    const notOk = got.flat().filter((r) => r !== "+OK\r\n");
    expect(notOk.length, `SET replies other than +OK, e.g. ${JSON.stringify(notOk.slice(0, 3))}`).toBe(0);
    const perNode = await onOwners(keys, values, owners);
    const masters = await env.masters();
    expect(perNode.size, "masters that got keys").toBe(masters.length);
    let sum = 0;
    for (const m of masters) {
      const n = num((await pipeline(m.port, [resp("DBSIZE")]))[0]);
      expect(n, `DBSIZE of ${m.addr}: exactly the keys of its slots`).toBe(perNode.get(m.port));
      sum += n;
    }
    expect(sum).toBe(KEYS);
    const [dbsize, all] = await pipeline(p.port, [resp("DBSIZE"), resp("KEYS", `*:${target}:*`)]);
    expect(num(dbsize), "DBSIZE through the proxy: the sum over the masters").toBe(sum);
    const listed = elements(all!);
    expect(listed.length).toBe(KEYS);
    expect(new Set(listed).size).toBe(KEYS);
    expect([...listed].sort()).toEqual([...keys].sort());
    // the stats: an entry per node, twemproxy's server fields and ours; each master got its SETs
    // and one part of DBSIZE and of KEYS, the replicas nothing (read_from: master)
    const shards = await env.shards();
    const want = new Map<string, number>();
    for (const sh of shards) {
      want.set(`127.0.0.1:${sh.master}`, perNode.get(sh.master)! + 2);
      for (const r of sh.replicas) want.set(`127.0.0.1:${r}`, 0);
    }
    let st = await poolStats(p);
    const requests = () => Object.fromEntries(Object.entries(st.nodes).map(([k, v]) => [k, v.requests]));
    await until("the stats to count every request", async () => {
      st = await poolStats(p);
      return isDeepStrictEqual(requests(), Object.fromEntries(want));
    }, 3000).catch(() => undefined); // the expects below say what differs
    expect(Object.keys(st.nodes).sort(), "the stats' node entries").toEqual([...want.keys()].sort());
    expect(requests(), "requests per node").toEqual(Object.fromEntries(want));
    for (const [name, e] of Object.entries(st.nodes)) expect(Object.keys(e), `fields of ${name}`).toEqual([...SERVER_FIELDS, "role", "addr", "state", "slots"]);
    expect(st.pool.redirects).toBe(0);
    expect(st.pool.slot_map_reads).toBeGreaterThanOrEqual(1);
  });

  it("MSET, MGET, EXISTS, TOUCH, DEL and UNLINK over keys of hundreds of slots: split per slot, exact replies, never CROSSSLOT", async () => {
    await env.settle();
    const p = await startCluster(target);
    const owners = await env.owners();
    // 300 keys: 200 plain ones and 100 in ten {tags}, so some parts carry several keys of one slot
    const keys = Array.from({ length: 300 }, (_, i) => (i < 200 ? `mk:${target}:${i}` : `{mt${i % 10}}:${target}:${i}`));
    const values = keys.map((_, i) => `mv${i}:${"x".repeat(i % 50)}`);
    const missing = Array.from({ length: 5 }, (_, i) => `mk:${target}:missing:${i}`);
    const slots = new Set(keys.map(keySlot));
    expect(slots.size, "distinct slots of the keys").toBeGreaterThan(150);
    const replies = await pipeline(
      p.port,
      [
        resp("MSET", ...keys.flatMap((k, i) => [k, values[i]!])),
        resp("MGET", ...keys, ...missing),
        resp("EXISTS", ...keys, keys[7]!, ...missing),
        resp("TOUCH", ...keys, ...missing),
      ],
      1,
    );
    expect(replies.filter((r) => r.includes("CROSSSLOT")), "CROSSSLOT replies").toEqual([]);
    expect(replies[0]).toBe("+OK\r\n");
    expect(elements(replies[1]!)).toEqual([...values, ...missing.map(() => null)]);
    expect(num(replies[2]), "EXISTS counts a key given twice twice").toBe(keys.length + 1);
    expect(num(replies[3])).toBe(keys.length);
    await onOwners(keys, values, owners);
    const gone = await pipeline(
      p.port,
      [resp("DEL", ...keys.slice(0, 150), ...missing), resp("UNLINK", ...keys.slice(150), missing[0]!), resp("MGET", ...keys), resp("EXISTS", ...keys)],
      1,
    );
    expect(gone.filter((r) => r.includes("CROSSSLOT")), "CROSSSLOT replies").toEqual([]);
    expect(num(gone[0])).toBe(150);
    expect(num(gone[1])).toBe(150);
    expect(elements(gone[2]!)).toEqual(keys.map(() => null));
    expect(num(gone[3])).toBe(0);
  });

  it("one slot migrated by hand: ASK, TRYAGAIN and MOVED followed, counted one by one; a redirect loop ends after 5 with the node's error", async () => {
    await env.settle();
    // the slot's key counts below are this test's keys only, not what the 100,000 left there
    await env.flushAll();
    const p = await startCluster(target);
    await proxySeesMap(p);
    const tag = `{mig:${target}}`;
    const slot = keySlot(tag);
    const owners = await env.owners();
    const a = env.node(owners[slot]!);
    const b = (await env.masters()).find((m) => m !== a)!;
    const [ida, idb] = [await env.id(a.port), await env.id(b.port)];
    const k = (s: string) => `${tag}:${s}`;
    await a.call("SET", k("k1"), "v1");
    await a.call("SET", k("k3"), "v3");
    await b.call("CLUSTER", "SETSLOT", String(slot), "IMPORTING", ida);
    await a.call("CLUSTER", "SETSLOT", String(slot), "MIGRATING", idb);
    await a.call("MIGRATE", "127.0.0.1", String(b.port), "", "0", "5000", "KEYS", k("k1"));
    const slotsIn = async () => {
      const n = (await poolStats(p)).nodes;
      return { a: Number(n[a.addr]?.slots), b: Number(n[b.addr]?.slots) };
    };
    const slots0 = await slotsIn();
    // each step's redirects, read off the counter (the stats are 100 ms behind)
    let seen = await redirects(p);
    const step = async (): Promise<number> => {
      await sleep(300);
      const now = await redirects(p);
      const d = now - seen;
      seen = now;
      return d;
    };
    // a key already moved: -ASK from a, then ASKING + GET on b
    expect(await pipeline(p.port, [resp("GET", k("k1"))])).toEqual([bulk("v1")]);
    expect(await step(), "redirects of a GET of a migrated key").toBe(1);
    // a new key of the migrating slot goes to the importing node
    expect(await pipeline(p.port, [resp("SET", k("k2"), "v2")])).toEqual(["+OK\r\n"]);
    expect(await step(), "redirects of a SET of a new key").toBe(1);
    expect(num((await pipeline(b.port, [resp("CLUSTER", "COUNTKEYSINSLOT", String(slot))]))[0]), "keys of the slot on the importing node").toBe(2);
    expect(num((await pipeline(a.port, [resp("CLUSTER", "COUNTKEYSINSLOT", String(slot))]))[0]), "keys of the slot left on the migrating node").toBe(1);
    // keys on both nodes: -TRYAGAIN (again every 100 ms) until the last one moves, then -ASK
    const mget = pipeline(p.port, [resp("MGET", k("k1"), k("k3"))]);
    await sleep(150);
    await a.call("MIGRATE", "127.0.0.1", String(b.port), "", "0", "5000", "KEYS", k("k3"));
    expect(await mget).toEqual([`*2\r\n${bulk("v1")}${bulk("v3")}`]);
    const tries = await step();
    expect(tries, "redirects of the MGET: TRYAGAIN at least once, then ASK").toBeGreaterThanOrEqual(2);
    expect(tries).toBeLessThanOrEqual(5);
    // an ASK leaves the proxy's map alone
    expect(await slotsIn(), "slots of the two nodes in the stats").toEqual(slots0);
    // the slot handed over (the importing node first, as redis-cli does): -MOVED, and the map follows
    await b.call("CLUSTER", "SETSLOT", String(slot), "NODE", idb);
    for (const m of await env.masters()) if (m !== b) await m.call("CLUSTER", "SETSLOT", String(slot), "NODE", idb);
    expect(await pipeline(p.port, [resp("GET", k("k2"))])).toEqual([bulk("v2")]);
    expect(await step(), "redirects of a GET once the slot moved").toBe(1);
    expect(await slotsIn(), "slots of the two nodes in the stats").toEqual({ a: slots0.a - 1, b: slots0.b + 1 });
    expect(await pipeline(p.port, [resp("GET", k("k2"))])).toEqual([bulk("v2")]);
    expect(await step(), "redirects of the next GET").toBe(0);
    // a loop: b migrating the slot to a, which does not import it, so -ASK a, -MOVED b, -ASK a...
    await b.call("CLUSTER", "SETSLOT", String(slot), "MIGRATING", ida);
    try {
      const t0 = performance.now();
      const looped = await pipeline(p.port, [resp("GET", k("nothing"))]);
      const took = performance.now() - t0;
      expect(looped, `the reply after ${MAX_REDIRECTS} redirects`).toEqual([`-MOVED ${slot} ${b.addr}\r\n`]);
      expect(took).toBeLessThan(2000);
      expect(await step(), "redirects of the looping GET").toBe(MAX_REDIRECTS);
    } finally {
      await b.call("CLUSTER", "SETSLOT", String(slot), "STABLE");
    }
    expect(await pipeline(p.port, [resp("MGET", k("k1"), k("k2"), k("k3"))])).toEqual([`*3\r\n${bulk("v1")}${bulk("v2")}${bulk("v3")}`]);
    await env.settle();
  });

  it("1,000 slots resharded under 50 pipelining clients: no error, every read the value last written, redirects counted", async () => {
    await env.settle();
    const p = await startCluster(target);
    await proxySeesMap(p);
    const shards = await env.shards();
    const from = [...shards].sort((a, b) => b.slots - a.slots)[0]!;
    const to = [...shards].sort((a, b) => a.slots - b.slots).find((s) => s !== from)!;
    const before = await env.owners();
    const redirectsBefore = await redirects(p);
    const keyOf = (c: number, i: number) => (i < 0 ? `rs:${target}:${c}:z` : `rs:${target}:${c}:${i}`);
    const load = new ClusterLoad(p.port, { clients: 50, window: 8, keys: 16, keyOf });
    await load.start();
    await sleep(300);
    const t0 = performance.now();
    await env.reshard(from.master, to.master, 1000);
    const took = performance.now() - t0;
    await sleep(500);
    await load.stop();
    const r = load.report;
    console.log(`cluster-figure: ${target} reshard of 1000 slots took ${took.toFixed(0)} ms under ${r.sent} requests; ${(await redirects(p)) - redirectsBefore} redirects followed`);
    expect(r, JSON.stringify(r)).toMatchObject({ errors: 0, wrong: 0, stale: 0, extra: 0, closes: 0, lost: 0 });
    expect(r.replies).toBe(r.sent);
    // the slots moved, and some of the load's keys were in them (or the test shows nothing)
    const after = await env.owners();
    const moved = new Set(Array.from({ length: SLOTS }, (_, i) => i).filter((i) => before[i] !== after[i]));
    expect(moved.size).toBe(1000);
    for (const i of moved) expect(after[i]).toBe(to.master);
    const hot = Array.from({ length: 50 }, (_, c) => Array.from({ length: 16 }, (_, i) => keyOf(c, i))).flat().filter((k) => moved.has(keySlot(k)));
    expect(hot.length, "load keys in the moved slots").toBeGreaterThan(0);
    await until("the redirects counter to move", async () => (await redirects(p)) > redirectsBefore, 2000);
    const fam = await scrape(p);
    expect(sampleValue(fam, "nutcracker_cluster_redirects_total", { pool: POOL })).toBeGreaterThan(0);
    await env.settle();
    // the proxy's slot counts are the cluster's once a refresh read the new map: stats JSON and metrics
    const nodes = await proxySeesMap(p);
    const fam2 = await scrape(p);
    for (const s of await env.shards()) {
      expect(nodes[`127.0.0.1:${s.master}`]).toMatchObject({ role: "master", addr: `127.0.0.1:${s.master}`, state: "up", slots: s.slots });
      expect(sampleValue(fam2, "nutcracker_cluster_slots", { pool: POOL, server: `127.0.0.1:${s.master}` }), `slots of ${s.master} on the metrics port`).toBe(s.slots);
    }
  });

  it("CLUSTER FAILOVER on a replica under 50 pipelining clients: one reply per request, no lost or wrong value", async () => {
    await env.settle();
    const p = await startCluster(target);
    await proxySeesMap(p);
    const shard = (await env.shards()).find((s) => s.replicas.length > 0)!;
    const replica = shard.replicas[0]!;
    const load = new ClusterLoad(p.port, { clients: 50, window: 8, keys: 16, keyOf: (c, i) => (i < 0 ? `fo:${target}:${c}:z` : `fo:${target}:${c}:${i}`) });
    await load.start();
    await sleep(500);
    const t0 = performance.now();
    await env.failover(replica);
    const promoted = performance.now() - t0;
    await env.settle();
    await sleep(1000);
    const tail = performance.now();
    await sleep(500);
    await load.stop();
    const r = load.report;
    const last = load.count(tail, Infinity);
    console.log(
      `cluster-figure: ${target} CLUSTER FAILOVER: ${r.errors} errors of ${r.replies} replies (${r.errorTexts}), longest gap without an acknowledged write ${load.maxAckGap().toFixed(0)} ms, ` +
        `replica master after ${promoted.toFixed(0)} ms, ${r.closes} clients closed after a failed MGET (${r.dropped} requests unanswered)`,
    );
    // one reply per request, but for the ones after a failed MGET on the connection it closes (as nutcracker does)
    expect(r, JSON.stringify(r)).toMatchObject({ wrong: 0, stale: 0, extra: 0, lost: 0, closes: r.closesAfterFailedMget });
    expect(r.replies + r.dropped, JSON.stringify(r)).toBe(r.sent);
    expect(last.acks, "writes acknowledged in the last 500 ms").toBeGreaterThan(0);
    expect(last.errors, "errors in the last 500 ms").toBe(0);
    const nodes = await proxySeesMap(p);
    expect(nodes[`127.0.0.1:${replica}`]).toMatchObject({ role: "master", addr: `127.0.0.1:${replica}`, state: "up", slots: shard.slots });
    expect(nodes[`127.0.0.1:${shard.master}`]).toMatchObject({ role: "replica", slots: 0 });
  });

  it("a master added (add-node, rebalance): after a refresh its slots are in the stats, and writes land on it without a redirect", async () => {
    await env.settle();
    const p = await startCluster(target);
    await proxySeesMap(p);
    const node = env.spare();
    await env.addMaster(node);
    await env.settle();
    const mine = (await env.shards()).find((s) => s.master === node.port);
    expect(mine?.slots, `slots of the new master ${node.addr}`).toBeGreaterThan(0);
    // the stats JSON and the metrics show its slots: a refresh read the new map
    const nodes = await proxySeesMap(p);
    expect(nodes[node.addr]).toMatchObject({ role: "master", addr: node.addr, slots: mine!.slots });
    expect(sampleValue(await scrape(p), "nutcracker_cluster_slots", { pool: POOL, server: node.addr })).toBe(mine!.slots);
    const owners = await env.owners();
    const redirectsBefore = await redirects(p);
    const keys = Array.from({ length: 2000 }, (_, i) => `add:${target}:${i}`);
    const values = keys.map((_, i) => `a${i}`);
    const got = await pipeline(p.port, keys.map((k, i) => resp("SET", k, values[i]!)));
    expect(got.filter((r) => r !== "+OK\r\n")).toEqual([]);
    const perNode = await onOwners(keys, values, owners);
    const expected = perNode.get(node.port) ?? 0;
    expect(expected, "keys of the new master's slots").toBeGreaterThan(0);
    // the rebalance brought it the older tests' keys too: count this test's
    const there = elements((await pipeline(node.port, [resp("KEYS", `add:${target}:*`)]))[0]!);
    expect(there.length, `keys of this test on ${node.addr}`).toBe(expected);
    expect(num((await pipeline(node.port, [resp("DBSIZE")]))[0]), `DBSIZE of ${node.addr}`).toBeGreaterThanOrEqual(expected);
    // keyspace-wide commands reach the new master too
    let sum = 0;
    for (const m of await env.masters()) sum += num((await pipeline(m.port, [resp("DBSIZE")]))[0]);
    expect(num((await pipeline(p.port, [resp("DBSIZE")]))[0]), "DBSIZE through the proxy: the sum over every master, the new one included").toBe(sum);
    await sleep(300);
    expect(await redirects(p), "redirects taken by writes after the refresh").toBe(redirectsBefore);
  });

  it("kill -9 of a master under 50 pipelining clients: one reply per request, the writes come back; the node restarted rejoins", async () => {
    await env.settle();
    const p = await startCluster(target);
    await proxySeesMap(p);
    const shard = (await env.shards()).find((s) => s.replicas.length > 0)!;
    const victim = env.node(shard.master);
    const survivor = env.members.find((m) => m !== victim && m.alive())!;
    const load = new ClusterLoad(p.port, { clients: 50, window: 8, keys: 16, keyOf: (c, i) => (i < 0 ? `kl:${target}:${c}:z` : `kl:${target}:${c}:${i}`), errorPauseMs: 50 });
    await load.start();
    await sleep(500);
    const t0 = performance.now();
    await victim.kill9();
    let promotedAt = 0;
    await until(
      `a replica of ${victim.addr} promoted`,
      async () => {
        const s = await env.shards(survivor).catch(() => []);
        if (!s.some((x) => shard.replicas.includes(x.master))) return false;
        promotedAt = performance.now();
        return true;
      },
      20_000,
    );
    // a refresh (every 2 s) has read the new map; from here on for 1 s, no write fails
    await sleep(REFRESH_MS + 1000);
    const tail = performance.now();
    await sleep(1000);
    await load.stop();
    const r = load.report;
    const last = load.count(tail, Infinity);
    console.log(
      `cluster-figure: ${target} kill -9 of a master: ${r.errors} errors of ${r.replies} replies (${r.errorTexts}), longest gap without an acknowledged write ${load.maxAckGap().toFixed(0)} ms, ` +
        `replica promoted after ${(promotedAt - t0).toFixed(0)} ms, ${r.stale} reads of a lost write, ${r.closes} clients closed after a failed MGET (${r.dropped} requests unanswered)`,
    );
    // one reply per request, but for the ones after a failed MGET on the connection it closes (as nutcracker does)
    expect(r, JSON.stringify(r)).toMatchObject({ wrong: 0, extra: 0, lost: 0, closes: r.closesAfterFailedMget });
    expect(r.replies + r.dropped, JSON.stringify(r)).toBe(r.sent);
    expect(last.acks, "writes acknowledged in the last second").toBeGreaterThan(0);
    expect(last.errors, `errors in the last second (${r.errorTexts})`).toBe(0);
    // the killed node back: it turns itself into a replica of the promoted one
    await env.restartDead();
  await env.closeOpenSlots();
    await env.settle(60_000);
    const nodes = await proxySeesMap(p);
    expect(nodes[victim.addr]).toMatchObject({ role: "replica", slots: 0 });
  });

  it("-t refuses hash, hash_tag and distribution in a redis_cluster pool, naming the key", () => {
    const check = (yaml: string) => {
      const [cmd, ...args] = TARGETS[target](["-t", "-c", writeConf(yaml)]);
      const r = spawnSync(cmd!, args, { encoding: "utf8" });
      return { status: r.status, out: r.stderr + r.stdout };
    };
    const base = clusterPool(1, env.members[0]!);
    const ok = check(base);
    expect(ok.status, ok.out).toBe(0);
    expect(ok.out).toMatch(/syntax is ok/);
    for (const [key, line] of [["hash", "hash: md5"], ["hash_tag", 'hash_tag: "{}"'], ["distribution", "distribution: ketama"]] as const) {
      const r = check(base.replace("  redis_cluster: true\n", `  redis_cluster: true\n  ${line}\n`));
      expect(r.status, `-t with ${line}: ${r.out}`).toBe(1);
      expect(r.out).toMatch(/syntax is invalid/);
      expect(r.out).toContain(`key "${key}": "${key}" is not used by a redis_cluster pool`);
    }
  });
});
