// The redis proxy path on every runtime: 10,000 pipelined mixed commands through a two-server
// pool return byte for byte what one redis returns directly, with the default mbuf and -m 512.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exchange, resp } from "../helpers/client.ts";
import { RUNTIMES, startProxy, writeConf } from "../helpers/proxy.ts";
import { type Backend, startRedis } from "../helpers/real_backends.ts";
import { prng } from "../helpers/split.ts";
import { freePort } from "../helpers/runtimes.ts";

/** A deterministic mix of single-key commands, including errors, binary keys and large values. */
function workload(n: number, seed: number): Buffer {
  const rnd = prng(seed);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)]!;
  const key = (kind: string) => `${kind}:${Math.floor(rnd() * 300)}`;
  const val = () => (rnd() < 0.05 ? "v".repeat(1 + Math.floor(rnd() * 3000)) : `val${Math.floor(rnd() * 1e6)}`);
  const gens: (() => Buffer)[] = [
    () => resp("SET", key("s"), val()),
    () => resp("GET", key("s")),
    () => resp("get", key("s")),
    () => resp("APPEND", key("s"), "xy"),
    () => resp("STRLEN", key("s")),
    () => resp("INCR", key("n")),
    () => resp("INCRBY", key("n"), String(Math.floor(rnd() * 100))),
    () => resp("INCR", key("s")), // mostly "-ERR value is not an integer"
    () => resp("DEL", key("s")),
    () => resp("EXISTS", key("n")),
    () => resp("GETSET", key("n"), "7"),
    () => resp("LPUSH", key("l"), val(), val()),
    () => resp("RPUSH", key("l"), val()),
    () => resp("LRANGE", key("l"), "0", "-1"),
    () => resp("LLEN", key("l")),
    () => resp("LPOP", key("l")),
    // short values keep hashes listpack-encoded, whose HGETALL order is deterministic
    () => resp("HSET", key("h"), pick(["f1", "f2", "f3"]), `v${Math.floor(rnd() * 1e6)}`),
    () => resp("HGET", key("h"), "f1"),
    () => resp("HGETALL", key("h")),
    () => resp("HINCRBY", key("h"), "cnt", "3"),
    () => resp("SADD", key("t"), pick(["a", "b", "c", "d"])),
    () => resp("SCARD", key("t")),
    () => resp("SISMEMBER", key("t"), "a"),
    () => resp("ZADD", key("z"), String(Math.floor(rnd() * 50)), pick(["m1", "m2", "m3"])),
    () => resp("ZRANGE", key("z"), "0", "-1", "WITHSCORES"),
    () => resp("ZSCORE", key("z"), "m1"),
    () => resp("LPUSH", key("s"), "x"), // WRONGTYPE when the key holds a string
    () => resp("TYPE", key("h")),
    () => resp("SET", Buffer.from([0xff, 0x00, 0x0d, 0x0a, Math.floor(rnd() * 10)]), val()),
    () => resp("GET", Buffer.from([0xff, 0x00, 0x0d, 0x0a, Math.floor(rnd() * 10)])),
    () => resp("PING"),
    // multi-key commands are split per server and merged back
    () => resp("MGET", key("s"), key("s"), key("n"), key("s"), key("l")),
    () => resp("MSET", key("s"), val(), key("s"), val(), key("s"), val()),
    () => resp("DEL", key("s"), key("n"), key("s")),
    () => resp("EXISTS", key("s"), key("n"), key("h"), key("s")),
    () => resp("UNLINK", key("s"), key("s")),
    () => resp("TOUCH", key("s"), key("h"), key("n")),
    () => resp("SET", key("big"), "B".repeat(20_000 + Math.floor(rnd() * 50_000))),
    () => resp("GET", key("big")),
  ];
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) out.push(pick(gens)());
  return Buffer.concat(out);
}

const FLUSH = resp("FLUSHALL");
const QUIT = resp("QUIT");
let backends: Backend[] = [];
let reference: Backend;
const load = workload(10_000, 42);
let expected: Buffer;

beforeAll(async () => {
  [reference, ...backends] = await Promise.all([startRedis(), startRedis(), startRedis()]);
  // redis answers QUIT with +OK and closes; strip that to get the workload's replies
  const direct = await exchange(reference.port, Buffer.concat([load, QUIT]));
  expect(direct.subarray(direct.length - 5).toString()).toBe("+OK\r\n");
  expected = direct.subarray(0, direct.length - 5);
});

afterAll(async () => {
  await Promise.all([reference, ...backends].filter(Boolean).map((b) => b.stop()));
});

describe.each(RUNTIMES)("redis proxy on %s", (runtime) => {
  for (const mbuf of [16384, 512]) {
    it(`answers 10,000 pipelined commands like redis itself, multi-key ones split (-m ${mbuf})`, async () => {
      for (const b of backends) await exchange(b.port, Buffer.concat([FLUSH, QUIT]));
      const port = await freePort();
      const conf = writeConf(`alpha:
  listen: 127.0.0.1:${port}
  hash: fnv1a_64
  distribution: ketama
  redis: true
  servers:
${backends.map((b) => `   - 127.0.0.1:${b.port}:1`).join("\n")}
`);
      const proxy = await startProxy(runtime, ["-c", conf, "-m", String(mbuf), "-v", "4"], port);
      try {
        const got = await exchange(port, Buffer.concat([load, QUIT]), { chunk: 7919 });
        expect(got.length).toBe(expected.length);
        if (!got.equals(expected)) {
          let i = 0;
          while (got[i] === expected[i]) i++;
          const at = (b: Buffer) => JSON.stringify(b.subarray(Math.max(0, i - 80), i + 80).toString("latin1"));
          expect.fail(`first difference at byte ${i}:\n got ${at(got)}\nwant ${at(expected)}`);
        }
        // both servers took part
        for (const b of backends) {
          const info = (await exchange(b.port, Buffer.concat([resp("DBSIZE"), QUIT]))).toString();
          expect(Number(/^:(\d+)/.exec(info)?.[1])).toBeGreaterThan(100);
        }
      } finally {
        const code = await proxy.stop();
        expect(proxy.stderr()).not.toMatch(/TypeError|RangeError|ReferenceError|Uncaught|panic/);
        expect(code).toBe(0);
      }
    });
  }
});
