// Real client libraries against the proxy: ioredis and node-redis talk to a two-server redis pool
// (fnv1a_64, ketama) through our proxy on node. Single commands, 1,000-command pipelines, MGET and
// MSET of 1,000 keys split across both servers, binary values and a 1 MB value.
//
// This file runs them as a twemproxy user had to, told not to send what twemproxy closes on (the
// proxy serves those now; clients_default.test.ts runs every client at its defaults):
//  - ioredis 6 sends `HELLO 3` (protocol: 3 is its default), `CLIENT SETINFO LIB-VER/LIB-NAME`,
//    then `INFO` for its ready check: protocol: 2, disableClientInfo: true, enableReadyCheck: false
//    (and no connectionName, which would send CLIENT SETNAME; no db, which would send SELECT).
//  - node-redis 6 sends `HELLO 3` (RESP 3 is its default), `CLIENT SETINFO LIB-VER/LIB-NAME` and,
//    under RESP3, `CLIENT MAINT_NOTIFICATIONS ON ...`: RESP: 2, disableClientInfo: true,
//    maintNotifications: "disabled" (already the default under RESP 2; no name, database, readonly).
// Neither is allowed to reconnect, so a connection the proxy closes fails the test instead of
// being papered over by a retry.

import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { createClient, RESP_TYPES } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Running, startProxy, writeConf } from "../helpers/proxy.ts";
import { type Backend, startRedis } from "../helpers/real_backends.ts";
import { freePort } from "../helpers/runtimes.ts";

function connectNodeRedis(port: number) {
  return createClient({
    socket: { host: "127.0.0.1", port, reconnectStrategy: false },
    RESP: 2,
    disableClientInfo: true,
    maintNotifications: "disabled",
  });
}
type NodeRedis = ReturnType<typeof connectNodeRedis>;

function connectIoredis(port: number): Redis {
  return new Redis({
    host: "127.0.0.1",
    port,
    protocol: 2,
    disableClientInfo: true,
    enableReadyCheck: false,
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
  });
}

/** The operations the tests need, written once per client library. */
interface Api {
  set(k: string, v: string | Buffer): Promise<unknown>;
  get(k: string): Promise<string | null>;
  getBuffer(k: string): Promise<Buffer | null>;
  incr(k: string): Promise<number>;
  hset(k: string, fields: Record<string, string>): Promise<number>;
  hgetall(k: string): Promise<Record<string, string>>;
  lpush(k: string, vals: string[]): Promise<number>;
  lrange(k: string): Promise<string[]>;
  del(keys: string[]): Promise<number>;
  exists(keys: string[]): Promise<number>;
  mset(pairs: Record<string, string>): Promise<unknown>;
  mget(keys: string[]): Promise<(string | null)[]>;
  /** 1,000 commands sent back to back on the one connection; the replies in order. */
  pipeline(prefix: string): Promise<unknown[]>;
}

/** 1,000 commands: per i, SET p:i, INCR p:n:i, GET p:i, ... (4 commands for 250 i). */
const PIPE_N = 250;
function pipelineExpected(): unknown[] {
  const out: unknown[] = [];
  for (let i = 0; i < PIPE_N; i++) out.push("OK", 1, 2, `value-${i}`);
  return out;
}

function ioredisApi(r: Redis): Api {
  return {
    set: (k, v) => r.set(k, v),
    get: (k) => r.get(k),
    getBuffer: (k) => r.getBuffer(k),
    incr: (k) => r.incr(k),
    hset: (k, f) => r.hset(k, f),
    hgetall: (k) => r.hgetall(k),
    lpush: (k, v) => r.lpush(k, ...v),
    lrange: (k) => r.lrange(k, 0, -1),
    del: (keys) => r.del(...keys),
    exists: (keys) => r.exists(...keys),
    mset: (pairs) => r.mset(pairs),
    mget: (keys) => r.mget(...keys),
    pipeline: async (p) => {
      // .pipeline() (not .multi()): plain commands, no MULTI/EXEC around them
      const pipe = r.pipeline();
      for (let i = 0; i < PIPE_N; i++) pipe.set(`${p}:${i}`, `value-${i}`).incr(`${p}:n:${i}`).incr(`${p}:n:${i}`).get(`${p}:${i}`);
      const res = (await pipe.exec())!;
      return res.map(([err, val]) => (err ? err : val));
    },
  };
}

function nodeRedisApi(c: NodeRedis): Api {
  // RESP2 bulk strings as Buffers: the v5/v6 successor of v4's commandOptions({ returnBuffers: true })
  const bin = c.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
  return {
    set: (k, v) => c.set(k, v),
    get: (k) => c.get(k),
    getBuffer: (k) => bin.get(k),
    incr: (k) => c.incr(k),
    hset: (k, f) => c.hSet(k, f),
    hgetall: async (k) => ({ ...(await c.hGetAll(k)) }),
    lpush: (k, v) => c.lPush(k, v),
    lrange: (k) => c.lRange(k, 0, -1),
    del: (keys) => c.del(keys),
    exists: (keys) => c.exists(keys),
    mset: (pairs) => c.mSet(pairs),
    mget: (keys) => c.mGet(keys),
    pipeline: (p) => {
      // no MULTI (the proxy does not take it): commands issued in one tick go out as one
      // pipeline, node-redis batches them into one write
      const all: Promise<unknown>[] = [];
      for (let i = 0; i < PIPE_N; i++) {
        all.push(c.set(`${p}:${i}`, `value-${i}`), c.incr(`${p}:n:${i}`), c.incr(`${p}:n:${i}`), c.get(`${p}:${i}`));
      }
      return Promise.all(all);
    },
  };
}

/** Keys that spread over the ring: fnv1a_64 clusters keys that differ only in a trailing counter. */
const spread = (prefix: string, i: number) => `${prefix}:${((i + 1) * 2654435761 % 4294967291).toString(36)}:${i}`;

let backends: Backend[] = [];
let direct: Redis[] = [];
let proxy: Running | undefined;
let io: Redis | undefined;
let nr: NodeRedis | undefined;
const drops: string[] = [];
const apis: Record<"ioredis" | "node-redis", () => Api> = {
  ioredis: () => ioredisApi(io!),
  "node-redis": () => nodeRedisApi(nr!),
};

beforeAll(async () => {
  backends = await Promise.all([startRedis(), startRedis()]);
  const port = await freePort();
  const stats = await freePort();
  // named servers: the ketama ring hashes the names, not the (random) ports, so the split is stable
  const conf = writeConf(`alpha:
  listen: 127.0.0.1:${port}
  hash: fnv1a_64
  distribution: ketama
  redis: true
  servers:
${backends.map((b, i) => `   - 127.0.0.1:${b.port}:1 s${i + 1}`).join("\n")}
`);
  proxy = await startProxy("node", ["-c", conf, "-s", String(stats), "-v", "6"], port);

  io = connectIoredis(port);
  io.on("error", (e: Error) => drops.push(`ioredis error: ${e.message}`));
  io.on("close", () => drops.push("ioredis close"));
  await io.connect();

  nr = connectNodeRedis(port);
  nr.on("error", (e: Error) => drops.push(`node-redis error: ${e.message}`));
  nr.on("end", () => drops.push("node-redis end"));
  await nr.connect();

  direct = backends.map((b) => new Redis({ host: "127.0.0.1", port: b.port, protocol: 2, lazyConnect: true }));
  await Promise.all(direct.map((d) => d.connect()));
});

afterAll(async () => {
  await io?.quit().catch(() => io?.disconnect());
  await nr?.close().catch(() => nr?.destroy());
  for (const d of direct) d.disconnect();
  const code = await proxy?.stop();
  await Promise.all(backends.map((b) => b.stop()));
  if (proxy) expect(code).toBe(0); // SIGTERM: a clean exit
});

describe.each(["ioredis", "node-redis"] as const)("%s through the proxy", (name) => {
  const p = `rc:${name}`;
  let api: Api;
  beforeAll(() => {
    api = apis[name]();
  });

  it("runs single commands: SET/GET/INCR/HSET/HGETALL/LPUSH/LRANGE/DEL/EXISTS", async () => {
    const [a, b, c] = [`${p}:a`, `${p}:b`, `${p}:c`];
    expect(await api.set(a, "alpha")).toBe("OK");
    expect(await api.get(a)).toBe("alpha");
    expect(await api.get(`${p}:missing`)).toBeNull();
    expect(await api.incr(`${p}:ctr`)).toBe(1);
    expect(await api.incr(`${p}:ctr`)).toBe(2);
    expect(await api.hset(b, { f1: "v1", f2: "v2", f3: "v3" })).toBe(3);
    expect(await api.hgetall(b)).toEqual({ f1: "v1", f2: "v2", f3: "v3" });
    expect(await api.hgetall(`${p}:nohash`)).toEqual({});
    expect(await api.lpush(c, ["x", "y", "z"])).toBe(3);
    expect(await api.lrange(c)).toEqual(["z", "y", "x"]);
    // multi-key EXISTS and DEL, split per server by the proxy and summed back
    const many = [a, b, c, `${p}:ctr`, `${p}:missing`, ...Array.from({ length: 20 }, (_, i) => spread(`${p}:x`, i))];
    for (let i = 0; i < 20; i++) await api.set(spread(`${p}:x`, i), String(i));
    expect(await api.exists(many)).toBe(24);
    expect(await api.exists([a, a, `${p}:missing`])).toBe(2);
    expect(await api.del(many)).toBe(24);
    expect(await api.exists(many)).toBe(0);
    expect(await api.get(a)).toBeNull();
  });

  it("pipelines 1,000 commands", async () => {
    const got = await api.pipeline(`${p}:pipe`);
    expect(got).toHaveLength(1000);
    expect(got).toEqual(pipelineExpected());
  });

  it("MSETs and MGETs 1,000 keys split across both servers", async () => {
    const keys = Array.from({ length: 1000 }, (_, i) => spread(`${p}:m`, i));
    const pairs = Object.fromEntries(keys.map((k, i) => [k, `mv-${i}-${"z".repeat(i % 50)}`]));
    expect(await api.mset(pairs)).toBe("OK");
    const got = await api.mget([...keys, `${p}:m:absent`]);
    expect(got).toEqual([...keys.map((k) => pairs[k]), null]);

    // each key lives on exactly one backend, with its value; both backends hold some
    const onEach = await Promise.all(direct.map((d) => d.mget(...keys)));
    const counts = onEach.map((vals) => vals.filter((v) => v !== null).length);
    for (const n of counts) expect(n).toBeGreaterThan(100);
    expect(counts[0]! + counts[1]!).toBe(1000);
    keys.forEach((k, i) => {
      const held = onEach.map((vals) => vals[i]).filter((v) => v !== null);
      expect(held).toEqual([pairs[k]]);
    });
  });

  it("keeps binary values intact: all 256 byte values", async () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const twice = Buffer.concat([all, Buffer.from(all).reverse(), Buffer.from("\r\n$-1\r\n*3\r\n")]);
    expect(await api.set(`${p}:bin`, all)).toBe("OK");
    expect(await api.set(`${p}:bin2`, twice)).toBe("OK");
    const got = await api.getBuffer(`${p}:bin`);
    expect(Buffer.isBuffer(got)).toBe(true);
    expect(got!.equals(all)).toBe(true);
    expect((await api.getBuffer(`${p}:bin2`))!.equals(twice)).toBe(true);
    expect(await api.getBuffer(`${p}:nobin`)).toBeNull();
  });

  it("stores and reads back a 1 MB value", async () => {
    const big = randomBytes(1024 * 1024);
    expect(await api.set(`${p}:big`, big)).toBe("OK");
    const got = await api.getBuffer(`${p}:big`);
    expect(got!.length).toBe(big.length);
    expect(got!.equals(big)).toBe(true);
    const text = "0123456789abcdef".repeat(65536);
    expect(await api.set(`${p}:bigtext`, text)).toBe("OK");
    expect(await api.get(`${p}:bigtext`)).toBe(text);
  });
});

describe("connections", () => {
  it("were never closed or errored, and the proxy saw no request it rejects", () => {
    expect(drops).toEqual([]);
    expect(io!.status).toBe("ready");
    expect(nr!.isReady).toBe(true);
    expect(proxy!.stderr()).not.toMatch(/parsed bad req|TypeError|RangeError|ReferenceError|Uncaught|panic/);
  });
});
