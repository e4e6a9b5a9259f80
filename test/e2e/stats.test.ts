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
let mc: Backend;
const systems: { name: Target; proxy: Running; redis: number; memcache: number; stats: number }[] = [];

beforeAll(async () => {
  [r1, r2, mc] = await Promise.all([startRedis(), startRedis(), startMemcached()]);
  for (const name of ["nutcracker", "node", "bun"] as Target[]) {
    const [redis, memcache, stats] = [await freePort(), await freePort(), await freePort()];
    // pools written out of name order: both must list them sorted (shorter names first)
    const conf = writeConf(`zeta:
  listen: 127.0.0.1:${memcache}
  servers:
   - 127.0.0.1:${mc.port}:1
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
  await Promise.all([r1, r2, mc].filter(Boolean).map((b) => b.stop()));
});

describe("stats port", () => {
  it("reports the same shape and the same counters as nutcracker after the same load", async () => {
    const redisLoad = Buffer.concat([
      ...Array.from({ length: 20 }, (_, i) => resp("SET", `stat:${i * 7919}`, `v${i}`)),
      ...Array.from({ length: 20 }, (_, i) => resp("GET", `stat:${i * 7919}`)),
      resp("QUIT"),
    ]);
    const mcLoad = Buffer.from(
      Array.from({ length: 10 }, (_, i) => `set m${i} 0 0 2\r\nv${i % 10}\r\nget m${i}\r\n`).join("") + "quit\r\n",
    );
    for (const s of systems) {
      await exchange(s.redis, redisLoad);
      await exchange(s.memcache, mcLoad);
    }
    await sleep(700); // past a few -i 200 aggregations
    const raw = await Promise.all(systems.map((s) => readStats(s.stats)));
    // ours carry the latency keys in each pool, as plain numbers right after twemproxy's pool keys
    for (const [i, t] of raw.entries()) {
      if (i === 0) continue;
      for (const pool of ["red", "zeta"]) {
        const keys = Object.entries(JSON.parse(t)[pool] as Record<string, unknown>);
        const at = keys.findIndex(([k]) => k === "fragments");
        expect(keys.slice(at + 1, at + 4).map(([k, v]) => [k, typeof v])).toEqual(POOL_EXTRA_FIELDS.map((k) => [k, "number"]));
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
      for (const pool of ["red", "zeta"]) {
        const op = oracle[pool] as Record<string, unknown>;
        const wp = ours[pool] as Record<string, unknown>;
        for (const server of Object.keys(op).filter((k) => typeof op[k] === "object")) {
          const os = op[server] as Record<string, number>;
          const ws = wp[server] as Record<string, number>;
          for (const f of ["requests", "request_bytes", "responses", "response_bytes", "server_connections", "server_err", "server_eof"]) {
            expect(ws[f], `${s.name} ${pool}.${server}.${f}`).toBe(os[f]);
          }
        }
      }
      expect(ours.version).toBe("0.5.0");
      expect(ours.service).toBe("nutcracker");
    }
    // the load itself is visible: 40 redis requests over the two servers
    const red = json[1]!.red as Record<string, Record<string, number>>;
    expect((red.s1?.requests ?? 0) + (red.second?.requests ?? 0)).toBe(40);
  });

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
      expect(POOL_EXTRA_FIELDS.map((k) => zeta[k])).toEqual([0, 0, 0]);
      // two intervals later without traffic, the window is empty again
      await sleep(500);
      const idle = JSON.parse(await readStats(s.stats)).red as Record<string, number>;
      expect(POOL_EXTRA_FIELDS.map((k) => idle[k]), s.name).toEqual([0, 0, 0]);
    }
  });
});
