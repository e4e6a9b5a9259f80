// Real clients at their defaults (issue 16): each redis client made with only a host and a port,
// through the proxy to three real redis-servers (md5, ketama), on the node bundle
// (dist/nutcracker.mjs) and on the Bun binary (dist/nutcracker-bun). Per client: connect and PING,
// SET/GET (and HSET/HGETALL), binary values, a pipeline of 1,000 commands, MSET/MGET across the
// servers, its SCAN iterator over the 100,000 keys loaded per target (every key exactly once),
// INFO, `SELECT 0`, and a reconnect after the proxy restarts.
//
// Clients: npm ioredis, iovalkey, redis (node-redis), run in this process; Debian's python3-redis
// (redis-py), php-redis, ruby-redis, libredis-perl, run as scripts under test/fixtures/clients/;
// redis-cli (interactive on a pty: its start-up sends `COMMAND DOCS`; `--scan`, `--pipe`, `-x`,
// one-shot MSET/MGET) and redis-benchmark at its defaults; and pylibmc at its defaults against a
// pool of three memcached. .ci/run installs the Debian packages.
//
// What each client sends on its own (recorded with a logging forwarder in front of redis 7.0):
//  - ioredis 6: `HELLO 3`, `CLIENT SETINFO LIB-VER ...`, `CLIENT SETINFO LIB-NAME ioredis` in one
//    write, then `INFO` (its ready check). On `-NOPROTO` or `-ERR unknown command 'HELLO'` it goes
//    back to RESP2 (and sends both SETINFO again); any other HELLO error, or an INFO error, and it
//    reconnects forever.
//  - iovalkey 0.4: `INFO` only.
//  - node-redis 6: `HELLO 3`, `CLIENT SETINFO` twice and `CLIENT MAINT_NOTIFICATIONS ON
//    moving-endpoint-type external-ip` in one write; a HELLO error of any kind is fatal to the
//    connection (reconnects forever, never ready), so it needs RESP3 for real: hGetAll and zScore
//    are checked for their RESP3 types below.
//  - redis-py 4.3, phpredis 5.3, ruby-redis 4.8, Redis.pm 2.000: nothing.
//  - SCAN iterators send `SCAN <cursor>` only (no MATCH/COUNT/TYPE). redis-py parses the cursor as
//    a Python int, phpredis as a C long (saturating at 2^63-1), redis-cli with strtoull; the rest
//    pass it back as the string they got.
//  - Reconnect: ioredis, iovalkey, node-redis reconnect on their own; redis-py, phpredis and
//    ruby-redis transparently on the next command; Redis.pm does not (reconnect => 0 at its
//    defaults): the next command croaks `Not connected to any server` until `$r->connect`; pylibmc's
//    first operation after the restart fails with `ConnectionError`, the next one reconnects.
//  - redis-cli --pipe ends with `\r\n` (an empty inline line) and `ECHO <20 random bytes>` and waits
//    for that echo. redis-benchmark starts with `CONFIG GET save` and `CONFIG GET appendonly` (an
//    error or a close there only prints a warning), then PING as an inline command, and stops with
//    exit 1 at the first error reply or close.

import { type ChildProcess, spawn } from "node:child_process";
import { createServer, type Server, type Socket, connect as netConnect } from "node:net";
import { join } from "node:path";
import { Redis } from "ioredis";
import { Redis as Valkey } from "iovalkey";
import { createClient, RESP_TYPES } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exchange, request, resp } from "../helpers/client.ts";
import { ROOT, type Running, startProxy, type Target, writeConf } from "../helpers/proxy.ts";
import { type Backend, startMemcached, startRedis } from "../helpers/real_backends.ts";
import { freePort, waitForPort } from "../helpers/runtimes.ts";

// Debian's python has python3-redis, python3-pylibmc; the python3 on PATH may not
const PYTHON = "/usr/bin/python3";
const FIX = join(ROOT, "test", "fixtures", "clients");
/** The two shipped builds: the node bundle and the Bun binary (`bun build.ts bin` makes both). */
const BUILDS: readonly Target[] = ["node", "binary"];
const SCAN_KEYS = 100_000;
/** The tests redis-benchmark runs at its defaults, in its order (its --csv names). */
const BENCH_TESTS = [
  "PING_INLINE",
  "PING_MBULK",
  "SET",
  "GET",
  "INCR",
  "LPUSH",
  "RPUSH",
  "LPOP",
  "RPOP",
  "SADD",
  "HSET",
  "SPOP",
  "ZADD",
  "ZPOPMIN",
  "LPUSH (needed to benchmark LRANGE)",
  "LRANGE_100 (first 100 elements)",
  "LRANGE_300 (first 300 elements)",
  "LRANGE_500 (first 500 elements)",
  "LRANGE_600 (first 600 elements)",
  "MSET (10 keys)",
];
/** All 256 byte values, reversed, and protocol-looking bytes. */
const BIN = Buffer.concat([
  Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
  Buffer.from(Array.from({ length: 256 }, (_, i) => 255 - i)),
  Buffer.from("\r\n$-1\r\n*3\r\n"),
]);
/** The same bytes the pylibmc script stores (memcache-looking instead of RESP-looking). */
const MC_BIN = Buffer.concat([BIN.subarray(0, 512), Buffer.from("\r\nEND\r\nVALUE x 0 1\r\n")]);

let redisBackends: Backend[] = [];
let mcBackends: Backend[] = [];
let direct: Redis[] = [];

beforeAll(async () => {
  [redisBackends, mcBackends] = await Promise.all([
    Promise.all([startRedis(), startRedis(), startRedis()]),
    Promise.all([startMemcached(), startMemcached(), startMemcached()]),
  ]);
  // RESP2, no ready check, no client info: plain reads of the backends, not under test
  direct = redisBackends.map(
    (b) => new Redis({ host: "127.0.0.1", port: b.port, protocol: 2, lazyConnect: true, enableReadyCheck: false, disableClientInfo: true }),
  );
  await Promise.all(direct.map((d) => d.connect()));
});

afterAll(async () => {
  for (const d of direct) d.disconnect();
  await Promise.all([...redisBackends, ...mcBackends].map((b) => b.stop()));
});

// ---------------------------------------------------------------------------------------------
// helpers

/** `p`, or a rejection naming `what` after `ms`: a client that never gets ready fails the test. */
function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timeout after ${ms} ms: ${what}`)), ms);
    }),
  ]);
}

/** Every key on the three backends, read directly. */
async function keyspace(): Promise<string[]> {
  return (await Promise.all(direct.map((d) => d.keys("*")))).flat();
}

/** What a scan returned against the keys that were there: each once, none missing, none made up. */
function scanSummary(got: string[], expected: Iterable<string>) {
  const want = new Set(expected);
  const seen = new Set<string>();
  const dups: string[] = [];
  for (const k of got) {
    if (seen.has(k)) dups.push(k);
    seen.add(k);
  }
  const missing = [...want].filter((k) => !seen.has(k));
  const extra = [...seen].filter((k) => !want.has(k));
  return {
    returned: got.length,
    duplicates: dups.length,
    someDuplicates: dups.slice(0, 5),
    missing: missing.length,
    someMissing: missing.slice(0, 5),
    extra: extra.slice(0, 5),
  };
}
function cleanScan(n: number) {
  return { returned: n, duplicates: 0, someDuplicates: [], missing: 0, someMissing: [], extra: [] };
}

/** The 300 MSET keys under `pre` sit on exactly one backend each, with their value, and every backend holds some. */
async function expectSpread(pre: string): Promise<void> {
  const keys = Array.from({ length: 300 }, (_, i) => `${pre}m:${i}`);
  const onEach = await Promise.all(direct.map((d) => d.mget(...keys)));
  const counts = onEach.map((vals) => vals.filter((v) => v !== null).length);
  for (const n of counts) expect(n, `keys per backend: ${counts.join(" ")}`).toBeGreaterThan(30);
  keys.forEach((_, i) => expect(onEach.map((vals) => vals[i]).filter((v) => v !== null)).toEqual([`mv-${i}`]));
}

const mgetExpected = (absent: unknown) => [...Array.from({ length: 300 }, (_, i) => `mv-${i}`), absent];
const pipelineExpected = (ok: unknown) => Array.from({ length: 500 }, (_, i) => [ok, `value-${i}`]).flat();

/** One pool of each kind on one proxy process, restartable on the same ports. */
class Proxy {
  running: Running | undefined;
  stderrs: string[] = [];
  exits: (number | null)[] = [];
  readonly target: Target;
  readonly args: string[];
  readonly port: number;
  readonly alsoPorts: number[];
  constructor(target: Target, args: string[], port: number, alsoPorts: number[]) {
    this.target = target;
    this.args = args;
    this.port = port;
    this.alsoPorts = alsoPorts;
  }
  async start(): Promise<void> {
    this.running = await startProxy(this.target, this.args, this.port);
    for (const p of this.alsoPorts) await waitForPort("127.0.0.1", p, 10_000);
  }
  async stop(): Promise<void> {
    if (!this.running) return;
    this.exits.push(await this.running.stop());
    this.stderrs.push(this.running.stderr());
    this.running = undefined;
  }
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }
  stderr(): string {
    return [...this.stderrs, this.running?.stderr() ?? ""].join("\n");
  }
}

interface ScriptRun {
  code: number | null;
  stderr: string;
  /** The script's JSON line before READY, and the one after the restart. */
  before: Record<string, unknown>;
  after: Record<string, unknown>;
  /** The keys on the backends when the script said READY, but for its own. */
  keysBefore: string[];
}

/**
 * Run a client script: it prints a JSON line and READY, then waits; the proxy is restarted, the
 * script told to go on, and it prints its second JSON line.
 */
async function runScript(cmd: string, args: string[], proxy: Proxy, pre: string): Promise<ScriptRun> {
  const child: ChildProcess = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"], cwd: ROOT });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const closed = new Promise<number | null>((resolve) => child.on("close", (c) => resolve(c)));
  const kill = setTimeout(() => child.kill("SIGKILL"), 100_000);
  let keysBefore: string[] = [];
  try {
    const ready = await Promise.race([
      (async () => {
        while (!/^READY$/m.test(out)) await new Promise((r) => setTimeout(r, 20));
        return true;
      })(),
      closed.then(() => false),
    ]);
    if (ready) {
      keysBefore = (await keyspace()).filter((k) => !k.startsWith(pre));
      await proxy.restart();
      child.stdin!.write("go\n");
    }
    child.stdin!.end();
    const code = await closed;
    const lines = out.split("\n").filter((l) => l.startsWith("{"));
    const parse = (l: string | undefined) => (l === undefined ? {} : (JSON.parse(l) as Record<string, unknown>));
    return { code, stderr: err, before: parse(lines[0]), after: parse(lines[1]), keysBefore };
  } finally {
    clearTimeout(kill);
  }
}

/** Run a command to its end; stdout as bytes. */
function run(cmd: string, args: string[], input?: Buffer, timeoutMs = 60_000): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let err = "";
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => {
      err += `\n[killed after ${timeoutMs} ms]`;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out), stderr: err });
    });
    child.stdin.end(input);
  });
}

/** A TCP relay in front of `port` that counts connections and keeps what clients sent on each. */
async function relay(port: number): Promise<{ port: number; sent: Buffer[][]; close(): Promise<void> }> {
  const sent: Buffer[][] = [];
  const socks = new Set<Socket>();
  const srv: Server = createServer((c) => {
    const mine: Buffer[] = [];
    sent.push(mine);
    const up = netConnect({ host: "127.0.0.1", port });
    socks.add(c).add(up);
    c.on("data", (d: Buffer) => {
      mine.push(d);
      up.write(d);
    });
    up.on("data", (d: Buffer) => c.write(d));
    c.on("close", () => up.destroy());
    up.on("close", () => c.destroy());
    c.on("error", () => undefined);
    up.on("error", () => undefined);
  });
  const lport = await freePort();
  await new Promise<void>((r) => srv.listen(lport, "127.0.0.1", r));
  return {
    port: lport,
    sent,
    close: () =>
      new Promise<void>((r) => {
        for (const s of socks) s.destroy();
        srv.close(() => r());
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// the npm clients, in this process

/** What the tests do, written once per npm client. */
interface JsApi {
  ping(): Promise<unknown>;
  set(k: string, v: string | Buffer): Promise<unknown>;
  get(k: string): Promise<string | null>;
  getBuffer(k: string): Promise<Buffer | null>;
  hset(k: string, f: Record<string, string>): Promise<unknown>;
  hgetall(k: string): Promise<unknown>;
  mset(pairs: Record<string, string>): Promise<unknown>;
  mget(keys: string[]): Promise<unknown[]>;
  pipeline(pre: string): Promise<unknown[]>;
  scan(): Promise<string[]>;
  info(): Promise<string>;
  select0(): Promise<unknown>;
  close(): void;
}

function ioApi(r: Redis): JsApi {
  return {
    ping: () => r.ping(),
    set: (k, v) => r.set(k, v),
    get: (k) => r.get(k),
    getBuffer: (k) => r.getBuffer(k),
    hset: (k, f) => r.hset(k, f),
    hgetall: (k) => r.hgetall(k),
    mset: (pairs) => r.mset(pairs),
    mget: (keys) => r.mget(...keys),
    pipeline: async (pre) => {
      const p = r.pipeline(); // not multi(): no MULTI/EXEC
      for (let i = 0; i < 500; i++) p.set(`${pre}p:${i}`, `value-${i}`).get(`${pre}p:${i}`);
      return (await p.exec())!.map(([e, v]) => e ?? v);
    },
    scan: async () => {
      const keys: string[] = [];
      for await (const batch of r.scanStream()) keys.push(...(batch as string[]));
      return keys;
    },
    info: () => r.info(),
    select0: () => r.select(0),
    close: () => r.disconnect(),
  };
}

function makeNodeRedis(port: number) {
  return createClient({ socket: { host: "127.0.0.1", port } }); // host and port only
}
type NodeRedis = ReturnType<typeof makeNodeRedis>;
function nodeRedisApi(c: NodeRedis): JsApi {
  const bin = c.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
  return {
    ping: () => c.ping(),
    set: (k, v) => c.set(k, v),
    get: (k) => c.get(k) as Promise<string | null>,
    getBuffer: (k) => bin.get(k),
    hset: (k, f) => c.hSet(k, f),
    hgetall: async (k) => ({ ...(await c.hGetAll(k)) }),
    mset: (pairs) => c.mSet(pairs),
    mget: (keys) => c.mGet(keys),
    pipeline: (pre) => {
      // commands issued in one tick go out as one pipeline (no MULTI)
      const all: Promise<unknown>[] = [];
      for (let i = 0; i < 500; i++) all.push(c.set(`${pre}p:${i}`, `value-${i}`), c.get(`${pre}p:${i}`));
      return Promise.all(all);
    },
    scan: async () => {
      const keys: string[] = [];
      for await (const batch of c.scanIterator()) keys.push(...batch);
      return keys;
    },
    info: () => c.info() as Promise<string>,
    select0: () => c.select(0),
    close: () => c.destroy(),
  };
}

/** What select(0) resolves to: node-redis's select() resolves to nothing, ioredis's to the reply. */
const JS_SELECT = { ioredis: "OK", iovalkey: "OK", "node-redis": undefined } as const;

/**
 * Wait for ioredis's 'ready' (its handshake and INFO ready check went through); a client that does
 * not get there (it would retry forever) is dropped, and its tests fail at once with the reason.
 */
async function ioReady(r: Redis, what: string): Promise<JsApi> {
  try {
    await within(10_000, `${what} 'ready'`, new Promise<void>((resolve) => r.once("ready", () => resolve())));
  } catch (e) {
    r.disconnect();
    throw e;
  }
  return ioApi(r);
}

const JS_CLIENTS = {
  ioredis: async (port: number, events: string[]) => {
    const r = new Redis(port, "127.0.0.1"); // host and port only
    r.on("error", (e: Error) => events.push(`error: ${e.message}`));
    return ioReady(r, "ioredis");
  },
  iovalkey: async (port: number, events: string[]) => {
    const r = new Valkey(port, "127.0.0.1"); // host and port only
    r.on("error", (e: Error) => events.push(`error: ${e.message}`));
    return ioReady(r as unknown as Redis, "iovalkey");
  },
  "node-redis": async (port: number, events: string[]) => {
    const c = makeNodeRedis(port);
    c.on("error", (e: Error) => events.push(`error: ${e.message}`));
    try {
      await within(10_000, "node-redis connect()", c.connect());
    } catch (e) {
      c.destroy(); // it would reconnect forever
      throw e;
    }
    return nodeRedisApi(c);
  },
} as const;

// ---------------------------------------------------------------------------------------------
// the scripts' clients: how each one's replies look for the same steps

/** The get before and after a restart, for clients that reconnect on their own. */
const RECONNECTS = { first: "alpha", second: "alpha" };
const SCRIPTS = {
  "redis-py": { cmd: PYTHON, file: "redis_py.py", ok: true, pong: true, hset: 2, missing: null, select: true, after: RECONNECTS },
  phpredis: { cmd: "php", file: "phpredis.php", ok: true, pong: true, hset: true, missing: false, select: true, after: RECONNECTS },
  "ruby-redis": { cmd: "ruby", file: "ruby_redis.rb", ok: "OK", pong: "PONG", hset: 2, missing: null, select: "OK", after: RECONNECTS },
  // Redis.pm at its defaults does not reconnect (reconnect => 0): an error, then the program's $r->connect
  "perl Redis": {
    cmd: "perl",
    file: "perl_redis.pl",
    ok: "OK",
    pong: "PONG",
    hset: "2",
    missing: null,
    select: "OK",
    after: { first: expect.stringMatching(/^<Error> Not connected to any server/), connect: 1, second: "alpha" },
  },
} as const;

// ---------------------------------------------------------------------------------------------

describe.each(BUILDS)("clients at their defaults through %s", (target) => {
  let proxy: Proxy;
  let port = 0; // redis pool
  let mcPort = 0; // memcache pool

  beforeAll(async () => {
    await Promise.all(direct.map((d) => d.flushall()));
    await Promise.all(mcBackends.map((b) => exchange(b.port, Buffer.from("flush_all\r\nquit\r\n"))));
    [port, mcPort] = [await freePort(), await freePort()];
    const conf = writeConf(
      `alpha:\n  listen: 127.0.0.1:${port}\n  hash: md5\n  distribution: ketama\n  redis: true\n  servers:\n` +
        redisBackends.map((b, i) => `   - 127.0.0.1:${b.port}:1 r${i + 1}\n`).join("") +
        `mc:\n  listen: 127.0.0.1:${mcPort}\n  hash: md5\n  distribution: ketama\n  servers:\n` +
        mcBackends.map((b, i) => `   - 127.0.0.1:${b.port}:1 m${i + 1}\n`).join(""),
    );
    proxy = new Proxy(target, ["-c", conf, "-s", String(await freePort())], port, [mcPort]);
    await proxy.start();
  });

  afterAll(async () => {
    await proxy?.stop();
    if (proxy) {
      expect(proxy.exits.every((c) => c === 0), `exit codes ${proxy.exits.join(" ")}`).toBe(true); // SIGTERM: clean exits
      expect(proxy.stderr()).not.toMatch(/TypeError|RangeError|ReferenceError|Uncaught|panic|SIGSEGV/);
    }
  });

  it(`loads ${SCAN_KEYS.toLocaleString("en")} keys with a pipelined MSET (1,000 MSETs of 100 keys)`, async () => {
    const cmds: Buffer[] = [];
    for (let i = 0; i < SCAN_KEYS; i += 100) {
      const args: string[] = ["MSET"];
      for (let j = i; j < i + 100; j++) args.push(`scan:${j}`, String(j));
      cmds.push(resp(...args));
    }
    const got = await request(port, Buffer.concat(cmds), 5 * 1000, 60_000);
    expect(got.toString()).toBe("+OK\r\n".repeat(1000));
    const sizes = await Promise.all(direct.map((d) => d.dbsize()));
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(SCAN_KEYS);
    for (const n of sizes) expect(n, sizes.join(" ")).toBeGreaterThan(SCAN_KEYS / 5);
    expect(await keyspace()).toHaveLength(SCAN_KEYS);
  });

  describe.each(Object.keys(JS_CLIENTS) as (keyof typeof JS_CLIENTS)[])("%s", (name) => {
    const pre = `${target}:${name}:`;
    const events: string[] = [];
    let api: JsApi | undefined;
    let made: unknown;

    beforeAll(async () => {
      try {
        api = await JS_CLIENTS[name](port, events);
      } catch (e) {
        made = e;
      }
    });
    afterAll(() => api?.close());
    const client = (): JsApi => {
      if (!api) throw new Error(`${name} did not connect: ${String(made)}; events: ${events.slice(0, 5).join(" | ")}`);
      return api;
    };

    it("connects and answers PING", async () => {
      expect(await within(10_000, "PING", client().ping())).toBe("PONG");
    });

    it(`scans the ${SCAN_KEYS.toLocaleString("en")} keys, each once`, async () => {
      const before = await keyspace();
      const got = await within(30_000, "scan", client().scan());
      expect(scanSummary(got, before)).toEqual(cleanScan(before.length));
      expect(before.filter((k) => k.startsWith("scan:"))).toHaveLength(SCAN_KEYS);
    });

    it("SET/GET, HSET/HGETALL", async () => {
      const c = client();
      expect(await within(5000, "SET", c.set(`${pre}a`, "alpha"))).toBe("OK");
      expect(await within(5000, "GET", c.get(`${pre}a`))).toBe("alpha");
      expect(await within(5000, "GET missing", c.get(`${pre}missing`))).toBeNull();
      expect(await within(5000, "HSET", c.hset(`${pre}h`, { f1: "v1", f2: "v2" }))).toBe(2);
      expect(await within(5000, "HGETALL", c.hgetall(`${pre}h`))).toEqual({ f1: "v1", f2: "v2" });
    });

    it("binary values: all 256 byte values", async () => {
      const c = client();
      expect(await within(5000, "SET binary", c.set(`${pre}bin`, BIN))).toBe("OK");
      const got = await within(5000, "GET binary", c.getBuffer(`${pre}bin`));
      expect(Buffer.isBuffer(got) && got.equals(BIN), String(got?.length)).toBe(true);
    });

    it("a pipeline of 1,000 commands", async () => {
      expect(await within(10_000, "pipeline", client().pipeline(pre))).toEqual(pipelineExpected("OK"));
    });

    it("MSET/MGET of 300 keys across the three servers", async () => {
      const c = client();
      const pairs = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`${pre}m:${i}`, `mv-${i}`]));
      expect(await within(10_000, "MSET", c.mset(pairs))).toBe("OK");
      expect(await within(10_000, "MGET", c.mget([...Object.keys(pairs), `${pre}m:absent`]))).toEqual(mgetExpected(null));
      await expectSpread(pre);
    });

    it("INFO and SELECT 0", async () => {
      const c = client();
      expect(await within(5000, "INFO", c.info())).toMatch(/^redis_version:\d+\.\d+\.\d+\r$/m);
      expect(await within(5000, "SELECT 0", c.select0())).toBe(JS_SELECT[name]);
      expect(await within(5000, "PING", c.ping())).toBe("PONG");
    });

    it("reconnects after the proxy restarts", async () => {
      const c = client();
      expect(await within(5000, "SET", c.set(`${pre}a`, "alpha"))).toBe("OK");
      await proxy.restart();
      expect(await within(15_000, "GET after the restart", c.get(`${pre}a`))).toBe("alpha");
      expect(await within(5000, "PING after the restart", c.ping())).toBe("PONG");
    });
  });

  describe("node-redis's RESP3 replies keep their types", () => {
    it("HGETALL is an object, ZSCORE a number, ZRANGE WITHSCORES pairs", async () => {
      const c = makeNodeRedis(port);
      const errors: string[] = [];
      c.on("error", (e: Error) => errors.push(e.message));
      try {
        await within(10_000, "node-redis connect()", c.connect()).catch((e: Error) => {
          throw new Error(`${e.message}; errors: ${errors.slice(0, 3).join(" | ")}`);
        });
        const pre = `${target}:nr3:`;
        await c.hSet(`${pre}h`, { f1: "v1", f2: "v2" });
        await c.zAdd(`${pre}z`, [{ score: 1.5, value: "m" }]);
        expect({ ...(await c.hGetAll(`${pre}h`)) }).toEqual({ f1: "v1", f2: "v2" });
        expect(await c.zScore(`${pre}z`, "m")).toBe(1.5);
        expect(await c.zRangeWithScores(`${pre}z`, 0, -1)).toEqual([{ value: "m", score: 1.5 }]);
      } finally {
        c.destroy();
      }
    });
  });

  describe.each(Object.keys(SCRIPTS) as (keyof typeof SCRIPTS)[])("%s", (name) => {
    const s = SCRIPTS[name];
    const pre = `${target}:${name.replace(/ /g, "_")}:`;
    let res: ScriptRun;
    const step = (k: string): unknown => {
      if (!res || !(k in res.before)) throw new Error(`${name}: no result for ${k}; exit ${res?.code}; stderr: ${res?.stderr.slice(0, 2000)}`);
      return res.before[k];
    };

    beforeAll(async () => {
      res = await runScript(s.cmd, [join(FIX, s.file), String(port), pre], proxy, pre);
    });

    it("connects and answers PING", () => {
      expect(step("ping")).toBe(s.pong);
      expect(step("ping_again")).toBe(s.pong);
    });

    it(`scans the ${SCAN_KEYS.toLocaleString("en")} keys, each once`, () => {
      const got = step("scan");
      expect(Array.isArray(got), String(got).slice(0, 300)).toBe(true);
      expect(scanSummary(got as string[], res.keysBefore)).toEqual(cleanScan(res.keysBefore.length));
      expect(res.keysBefore.filter((k) => k.startsWith("scan:"))).toHaveLength(SCAN_KEYS);
    });

    it("SET/GET, HSET/HGETALL", () => {
      expect(step("set")).toBe(s.ok);
      expect(step("get")).toBe("alpha");
      expect(step("get_missing")).toBe(s.missing);
      expect(step("hset")).toBe(s.hset);
      expect(step("hgetall")).toEqual({ f1: "v1", f2: "v2" });
    });

    it("binary values: all 256 byte values", () => {
      expect(step("set_binary")).toBe(s.ok);
      expect(step("get_binary")).toBe(BIN.toString("latin1"));
    });

    it("a pipeline of 1,000 commands", () => {
      expect(step("pipeline")).toEqual(pipelineExpected(s.ok));
    });

    it("MSET/MGET of 300 keys across the three servers", async () => {
      expect(step("mset")).toBe(s.ok);
      expect(step("mget")).toEqual(mgetExpected(s.missing));
      await expectSpread(pre);
    });

    it("INFO and SELECT 0", () => {
      expect(step("info")).toMatch(/^\d+\.\d+\.\d+$/);
      expect(step("select")).toBe(s.select);
    });

    it("reconnects after the proxy restarts", () => {
      expect(res.code, res.stderr).toBe(0);
      expect(res.after).toEqual(s.after);
    });
  });

  describe("redis-cli", () => {
    const pre = `${target}:cli:`;
    const cli = (args: string[], input?: Buffer) => run("redis-cli", ["-h", "127.0.0.1", "-p", String(port), ...args], input);

    it("interactive: COMMAND DOCS at start-up on one connection, PING/SET/GET/SELECT 0/INFO, reconnect after a restart", async () => {
      // through a relay that counts redis-cli's connections: a close on COMMAND DOCS would not
      // show (redis-cli connects again silently), the count does
      const r = await relay(port);
      const child = spawn(PYTHON, [join(FIX, "redis_cli_tty.py"), String(r.port)], { stdio: ["pipe", "pipe", "pipe"] });
      let out = "";
      let err = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.stderr.on("data", (d: Buffer) => (err += d.toString()));
      const lines = () => out.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as { start?: string; cmd?: string; out?: string });
      const waitLines = async (n: number) => {
        const t0 = Date.now();
        while (lines().length < n) {
          if (Date.now() - t0 > 15_000 || child.exitCode !== null) throw new Error(`redis-cli driver: ${out} ${err}`);
          await new Promise((res) => setTimeout(res, 20));
        }
      };
      const type = async (cmd: string) => {
        const n = lines().length;
        child.stdin.write(`${cmd}\n`);
        await waitLines(n + 1);
        return lines()[n]!.out;
      };
      try {
        await waitLines(1);
        expect(lines()[0]!.start).toBe(`127.0.0.1:${r.port}> `);
        expect(await type("ping")).toBe("PONG");
        expect(await type(`set ${pre}k v`)).toBe("OK");
        expect(await type(`get ${pre}k`)).toBe('"v"');
        expect(await type("select 0")).toBe("OK");
        expect(await type("info server")).toMatch(/^redis_version:\d+\.\d+\.\d+$/m);
        // the start-up's COMMAND DOCS (and a COMMAND after an error) did not cost the connection
        expect(r.sent).toHaveLength(1);
        expect(Buffer.concat(r.sent[0]!).toString("latin1")).toMatch(/^\*2\r\n\$7\r\nCOMMAND\r\n\$4\r\nDOCS\r\n/);
        // redis-cli's own way (the same in front of a redis-server that restarts): the first
        // command after the close reports it, and redis-cli connects again for the next one
        await proxy.restart();
        expect(await type(`get ${pre}k`)).toBe("Error: Server closed the connection");
        expect(await type(`get ${pre}k`)).toBe('"v"');
        expect(await type("ping")).toBe("PONG");
        expect(r.sent).toHaveLength(2);
        child.stdin.end("quit\n");
      } finally {
        child.kill("SIGKILL");
        await r.close();
      }
    });

    it(`--scan lists the ${SCAN_KEYS.toLocaleString("en")} keys, each once`, async () => {
      const before = await keyspace();
      const { code, stdout, stderr } = await cli(["--scan"]);
      expect(code, stderr).toBe(0);
      const got = stdout.toString("latin1").split("\n").filter((l) => l !== "");
      expect(scanSummary(got, before)).toEqual(cleanScan(before.length));
    });

    it("--pipe: 1,000 SETs (it ends them with an empty line and an ECHO)", async () => {
      const data = Buffer.concat(Array.from({ length: 1000 }, (_, i) => resp("SET", `${pre}p:${i}`, `value-${i}`)));
      const { code, stdout, stderr } = await cli(["--pipe"], data);
      expect(code, stderr).toBe(0);
      expect(stdout.toString()).toMatch(/Last reply received from server\.\nerrors: 0, replies: 1000\n$/);
      const held = await Promise.all(direct.map((d) => d.mget(`${pre}p:0`, `${pre}p:999`)));
      expect(held.flat().filter((v) => v !== null).sort()).toEqual(["value-0", "value-999"]);
    });

    it("-x SET / GET of all 256 byte values; MSET/MGET of 300 keys across the servers", async () => {
      expect((await cli(["-x", "SET", `${pre}bin`], BIN)).stdout.toString()).toBe("OK\n");
      expect((await cli(["GET", `${pre}bin`])).stdout.equals(Buffer.concat([BIN, Buffer.from("\n")]))).toBe(true);
      const pairs = Array.from({ length: 300 }, (_, i) => [`${pre}m:${i}`, `mv-${i}`]).flat();
      expect((await cli(["MSET", ...pairs])).stdout.toString()).toBe("OK\n");
      const keys = Array.from({ length: 300 }, (_, i) => `${pre}m:${i}`);
      expect((await cli(["MGET", ...keys, `${pre}m:absent`])).stdout.toString()).toBe(`${mgetExpected("").join("\n")}\n`);
      await expectSpread(pre);
    });
  });

  // its defaults: 50 clients, 100,000 requests per test (2 M in all, about 30 s here), 3-byte values;
  // --csv only changes how the results are printed
  it("redis-benchmark at its defaults: every test runs, exit 0", async () => {
    const { code, stdout, stderr } = await run("redis-benchmark", ["-h", "127.0.0.1", "-p", String(port), "--csv"], undefined, 110_000);
    const text = stdout.toString();
    expect(`${text}\n${stderr}`).not.toMatch(/Error/);
    expect(code, `${text}\n${stderr}`).toBe(0);
    const rows = text.split("\n").filter((l) => l.startsWith('"') && !l.startsWith('"test"'));
    expect(rows.map((l) => JSON.parse(`[${l}]`)[0])).toEqual(BENCH_TESTS);
    for (const l of rows) expect(Number(JSON.parse(`[${l}]`)[1]), l).toBeGreaterThan(0);
  });

  describe("pylibmc (memcache pool of three memcached)", () => {
    const pre = `${target}:pylibmc:`;
    let res: ScriptRun;
    beforeAll(async () => {
      res = await runScript(PYTHON, [join(FIX, "pylibmc_check.py"), String(mcPort), pre], proxy, pre);
    });

    it("set/get, ints, binary, set_multi/get_multi across the servers, incr/decr, add/replace/append/prepend, delete, 500 KB", async () => {
      expect(res.code, res.stderr).toBe(0);
      const r = { ...res.before };
      const many = r.get_multi as Record<string, string>;
      delete r.get_multi;
      expect(r).toEqual({
        set: true,
        get: "alpha",
        get_missing: null,
        set_int: true,
        get_int: 42,
        set_binary: true,
        get_binary: MC_BIN.toString("latin1"),
        set_multi: [],
        set_counter: true,
        incr: 15,
        decr: 12,
        incr_missing: "<NotFound> 1 keys not found",
        add_new: true,
        add_existing: false,
        replace: true,
        replace_missing: false,
        append: true,
        prepend: true,
        get_add: "head+third+tail",
        delete: true,
        delete_missing: false,
        set_big: true,
        get_big_ok: true,
        delete_multi: true,
        get_multi_after_delete: 200,
      });
      expect(many).toEqual(Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`${pre}m:${i}`, `mv-${i}`])));
      // the 200 keys left are spread over the three memcached
      const keys = Array.from({ length: 200 }, (_, i) => `${pre}m:${i + 100}`);
      const held = await Promise.all(
        mcBackends.map(async (b) => [...(await exchange(b.port, Buffer.from(`get ${keys.join(" ")}\r\nquit\r\n`))).toString("latin1").matchAll(/^VALUE (\S+) /gm)].length),
      );
      for (const n of held) expect(n, held.join(" ")).toBeGreaterThan(20);
      expect(held.reduce((a, b) => a + b, 0)).toBe(200);
    });

    it("reconnects after the proxy restarts: the first get fails (ConnectionError), the next one works", () => {
      expect(res.after).toEqual({
        first: expect.stringMatching(/^<ConnectionError> error 3 from memcached_get\(.*server has disconnected/),
        second: "alpha",
      });
    });
  });
});
