// The stats port against nutcracker 0.5.0: the same JSON shape (keys, order, kinds, separators)
// and the same counters after the same load, for a redis and a memcache pool.

import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exchange, resp } from "../helpers/client.ts";
import { type Running, startProxy, type Target, writeConf } from "../helpers/proxy.ts";
import { type Backend, startMemcached, startRedis } from "../helpers/real_backends.ts";
import { freePort } from "../helpers/runtimes.ts";
import { POOL_EXTRA_FIELDS } from "../../src/stats/server.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function readStats(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port });
    let d = "";
    s.on("data", (x) => (d += x.toString()));
    s.on("error", reject);
    s.on("close", () => resolve(d));
  });
}

/** Our extra pool keys (latency percentiles), removed to compare with nutcracker's text. */
const EXTRA = new RegExp(`, "(?:${POOL_EXTRA_FIELDS.join("|")})":\\d+`, "g");
const withoutExtras = (t: string): string => t.replace(EXTRA, "");

/** Keys in order, recursively, with the kind of each leaf. */
function shape(v: unknown): unknown {
  if (v !== null && typeof v === "object") return Object.entries(v).map(([k, x]) => [k, shape(x)]);
  return typeof v;
}

let r1: Backend;
let r2: Backend;
/** Each system's own two memcached, so `gets` answers the same cas uniques through each. */
const mcs: Backend[] = [];
const systems: { name: Target; proxy: Running; redis: number; memcache: number; stats: number }[] = [];

beforeAll(async () => {
  [r1, r2] = await Promise.all([startRedis(), startRedis()]);
  for (const name of ["nutcracker", "node", "bun"] as Target[]) {
    const [mc, mc2] = await Promise.all([startMemcached(), startMemcached()]);
    mcs.push(mc!, mc2!);
    const [redis, memcache, stats] = [await freePort(), await freePort(), await freePort()];
    // pools written out of name order: both must list them sorted (shorter names first)
    const conf = writeConf(`zeta:
  listen: 127.0.0.1:${memcache}
  servers:
   - 127.0.0.1:${mc!.port}:1 mca
   - 127.0.0.1:${mc2!.port}:1 mcb
red:
  listen: 127.0.0.1:${redis}
  redis: true
  servers:
   - 127.0.0.1:${r1.port}:1 second
   - 127.0.0.1:${r2.port}:1 s1
`);
    const proxy = await startProxy(name, ["-c", conf, "-s", String(stats), "-i", "200"], stats);
    systems.push({ name, proxy, redis, memcache, stats });
  }
});

afterAll(async () => {
  await Promise.all(systems.map((s) => s.proxy.stop()));
  await Promise.all([r1, r2, ...mcs].filter(Boolean).map((b) => b.stop()));
});

describe("stats port", () => {
  it("reports the same shape and the same counters as nutcracker after the same load", async () => {
    // multi-key requests split over both servers and ones whose keys all live on one (nutcracker
    // splits those too, into one part): every counter must come out the same
    const keys = Array.from({ length: 20 }, (_, i) => `stat:${i * 7919}`);
    const redisLoad = Buffer.concat([
      ...keys.map((k, i) => resp("SET", k, `v${i}`)),
      ...keys.map((k) => resp("GET", k)),
      resp("MGET", ...keys),
      resp("MGET", "stat:0", "stat:0"),
      resp("EXISTS", "stat:0"),
      resp("DEL", ...keys.slice(0, 10)),
      resp("MGET", ...keys, "nope"),
      resp("QUIT"),
    ]);
    const mkeys = Array.from({ length: 30 }, (_, i) => `m:${i * 7919}`);
    const mcLoad = Buffer.from(
      mkeys.map((k, i) => `set ${k} 0 0 2\r\nv${i % 10}\r\nget ${k}\r\n`).join("") +
        `get ${mkeys.join(" ")}\r\ngets ${mkeys.join(" ")} nope\r\nget m:0 m:0\r\ngets  m:7919   m:7919\r\nquit\r\n`,
    );
    for (const s of systems) {
      await exchange(s.redis, redisLoad);
      await exchange(s.memcache, mcLoad);
    }
    await sleep(700); // past a few -i 200 aggregations
    const raw = await Promise.all(systems.map((s) => readStats(s.stats)));
    await checkMsetRequestBytes(keys);
    // ours carry the latency keys in each pool, as plain numbers right after twemproxy's pool keys
    for (const [i, t] of raw.entries()) {
      if (i === 0) continue;
      for (const pool of ["red", "zeta"]) {
        const keys = Object.entries(JSON.parse(t)[pool] as Record<string, unknown>);
        const at = keys.findIndex(([k]) => k === "fragments");
        expect(keys.slice(at + 1, at + 1 + POOL_EXTRA_FIELDS.length).map(([k, v]) => [k, typeof v])).toEqual(
          POOL_EXTRA_FIELDS.map((k) => [k, "number"]),
        );
      }
    }
    const texts = raw.map(withoutExtras);
    expect(texts[0]).toBe(raw[0]);
    const json = texts.map((t) => JSON.parse(t) as Record<string, unknown>);
    const oracle = json[0]!;
    for (const [i, s] of systems.entries()) {
      if (i === 0) continue;
      const ours = json[i]!;
      expect(shape(ours), s.name).toEqual(shape(oracle));
      // same separators and layout: the texts differ only in numbers and the source host
      const norm = (t: string) => t.replace(/\d+/g, "N");
      expect(norm(texts[i]!), s.name).toBe(norm(texts[0]!));
      // every pool and server counter, the ones split requests move included
      for (const pool of ["red", "zeta"]) {
        const op = oracle[pool] as Record<string, unknown>;
        const wp = ours[pool] as Record<string, unknown>;
        for (const [f, v] of Object.entries(op)) {
          if (typeof v === "number") expect(wp[f], `${s.name} ${pool}.${f}`).toBe(v);
        }
        const servers = Object.keys(op).filter((k) => typeof op[k] === "object");
        expect(servers).toHaveLength(2);
        for (const server of servers) {
          const os = op[server] as Record<string, number>;
          const ws = wp[server] as Record<string, number>;
          expect(os.requests, `the load reaches ${pool}.${server}`).toBeGreaterThan(0);
          for (const f of Object.keys(os)) expect(ws[f], `${s.name} ${pool}.${server}.${f}`).toBe(os[f]);
        }
      }
      expect(ours.version).toBe("0.5.0");
      expect(ours.service).toBe("nutcracker");
    }
    // the load itself is visible: 40 single-key redis requests plus the parts of the multi-key ones
    const red = json[1]!.red as Record<string, Record<string, number>>;
    expect((red.s1?.requests ?? 0) + (red.second?.requests ?? 0)).toBeGreaterThan(40 + 5);
  });

  /**
   * A split MSET: nutcracker counts in request_bytes every value it copies with msg_append twice
   * (redis_copy_bulk adds the length msg_append already added), which is each value but the last of
   * the request, the one whose mbuf it takes whole; we count the bytes sent (a listed difference).
   */
  async function checkMsetRequestBytes(keys: string[]): Promise<void> {
    const total = async (port: number): Promise<number> => {
      const red = JSON.parse(await readStats(port)).red as Record<string, unknown>;
      return Object.values(red).reduce<number>((n, v) => n + (typeof v === "object" ? (v as Record<string, number>).request_bytes! : 0), 0);
    };
    const before = await Promise.all(systems.map((s) => total(s.stats)));
    for (const s of systems) await exchange(s.redis, Buffer.concat([resp("MSET", ...keys.flatMap((k) => [k, "w"])), resp("QUIT")]));
    await sleep(700);
    const after = await Promise.all(systems.map((s) => total(s.stats)));
    const counted = after.map((a, i) => a - before[i]!);
    // what the servers receive: per part `*N $4 mset` and its keys and values; the parts together
    // carry every key and value once, so the sum is the parts' headers plus every key/value bulk
    const bulk = (x: string): number => `$${x.length}\r\n${x}\r\n`.length;
    const bodies = keys.reduce((n, k) => n + bulk(k) + bulk("w"), 0);
    const header = (nkeys: number): number => `*${1 + 2 * nkeys}\r\n$4\r\nmset\r\n`.length;
    const doubled = (keys.length - 1) * bulk("w");
    for (const i of [1, 2]) {
      // two parts; their headers depend only on how many keys each has, at most 2 digits each
      expect(counted[i]! - bodies, systems[i]!.name).toBeGreaterThanOrEqual(2 * header(1));
      expect(counted[i]! - bodies, systems[i]!.name).toBeLessThanOrEqual(2 * header(10));
      expect(counted[0]! - counted[i]!, `nutcracker's double count against ${systems[i]!.name}`).toBe(doubled);
    }
  }

  it("reports each pool's latency percentiles over the last -i interval (ours), zero once idle", async () => {
    const load = Buffer.concat([...Array.from({ length: 50 }, (_, i) => resp("GET", `lat:${i}`)), resp("QUIT")]);
    for (const s of systems.filter((x) => x.name !== "nutcracker")) {
      // snapshots are taken every 200 ms: load until one covers an interval with traffic
      let pool: Record<string, number> = {};
      const end = Date.now() + 20_000;
      while (Date.now() < end) {
        await exchange(s.redis, load);
        await sleep(50);
        pool = JSON.parse(await readStats(s.stats)).red as Record<string, number>;
        if ((pool.latency_p50_us ?? 0) > 0) break;
      }
      const [p50, p99, p999] = POOL_EXTRA_FIELDS.map((k) => pool[k]!);
      expect(p50, s.name).toBeGreaterThan(0);
      expect(p50).toBeLessThanOrEqual(p99!);
      expect(p99).toBeLessThanOrEqual(p999!);
      expect(p999).toBeLessThan(5_000_000); // loopback requests: well under 5 s
      // the memcache pool had no traffic in that interval
      const zeta = JSON.parse(await readStats(s.stats)).zeta as Record<string, number>;
      expect(POOL_EXTRA_FIELDS.map((k) => zeta[k])).toEqual(POOL_EXTRA_FIELDS.map(() => 0));
      // two intervals later without traffic, the window is empty again
      await sleep(500);
      const idle = JSON.parse(await readStats(s.stats)).red as Record<string, number>;
      expect(POOL_EXTRA_FIELDS.map((k) => idle[k]), s.name).toEqual(POOL_EXTRA_FIELDS.map(() => 0));
    }
  });
});
