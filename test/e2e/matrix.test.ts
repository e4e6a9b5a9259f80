// The runtime matrix (issue 9): one end-to-end suite, run on each shipped target (the Node bundle on Node 20, 22, 24 and 26, bun run, deno run, the compiled Bun binary), checked against nutcracker 0.5.0.
//
// One redis pool (2 redis-servers) and one memcache pool (2 memcached) are started once for the
// file, plus a pool of each kind whose server is down. nutcracker runs first on the same pools and
// records the oracle: where every key lands, its error replies and its stats JSON. Each target
// must put every key where nutcracker did and answer those sequences with the same bytes; it must
// also pipeline, split multi-key requests, and behave as a process the way nutcracker does
// (-V, usage, -t, -d with -p, -o with SIGHUP, signals, kill -SEGV, its process name).

import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, renameSync, statSync, symlinkSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exchange, request, resp } from "../helpers/client.ts";
import { BINARY, MATRIX, ROOT, type Running, startProxy, TARGETS, type Target, targetLabel, writeConf } from "../helpers/proxy.ts";
import { type Backend, startMemcached, startRedis } from "../helpers/real_backends.ts";
import { freePort, type NodeLine, nodeBinary, waitForPort } from "../helpers/runtimes.ts";
import { SEGV_LINE, SEGV_OUTCOME, startForSegv } from "../helpers/segv.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, f: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
/** Running, not a zombie: a daemon's exit is reaped by whoever adopted it, here up to 2 s later. */
const alive = (pid: number): boolean => {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
};
/** The session of `pid` (/proc/PID/stat field 6, after the parenthesised name). */
const session = (pid: number): string => readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /s, "").split(" ")[3]!;
/** The name Linux gives the process (what pidof, pkill -x and ps -o comm show), at most 15 bytes. */
const comm = (pid: number): string => readFileSync(`/proc/${pid}/comm`, "utf8").trim();

/** Run `argv` to its end with piped stdio, as a script would. */
function runArgv(argv: string[], timeout = 20_000) {
  const [cmd, ...rest] = argv;
  const r = spawnSync(cmd!, rest, { cwd: ROOT, encoding: "utf8", timeout });
  return { code: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "", error: r.error };
}
const run = (t: Target, args: string[], timeout?: number) => runArgv(TARGETS[t](args), timeout);

function readStats(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port });
    let d = "";
    s.on("data", (x) => (d += x.toString()));
    s.on("error", reject);
    s.on("close", () => resolve(d));
  });
}
/** Every leaf of a stats JSON as "/pool/server/field:kind", in order. */
const leaves = (v: unknown, path = ""): string[] =>
  v !== null && typeof v === "object" ? Object.entries(v).flatMap(([k, x]) => leaves(x, `${path}/${k}`)) : [`${path}:${typeof v}`];

let redis: Backend[] = [];
let replica: Backend;
let mcs: Backend[] = [];
let deadPort = 0;

interface Ports {
  readonly red: number;
  readonly mem: number;
  readonly deadred: number;
  readonly deadmem: number;
  /** r1 and its read-only replica: split writes are refused in part */
  readonly ro: number;
  readonly stats: number;
}
async function ports(): Promise<Ports> {
  return { red: await freePort(), mem: await freePort(), deadred: await freePort(), deadmem: await freePort(), ro: await freePort(), stats: await freePort() };
}

/**
 * Named redis servers (placement by name), unnamed memcached ones (placement by host:port). Ours
 * run the redis pools with `error_replies: false`, 0.5.0's answers (a key nutcracker rejects).
 */
function conf(p: Ports, ours = true): string {
  const strict = ours ? "  error_replies: false\n" : "";
  return writeConf(`red:
  listen: 127.0.0.1:${p.red}
  redis: true
${strict}  hash: fnv1a_64
  hash_tag: "{}"
  distribution: ketama
  servers:
   - 127.0.0.1:${redis[0]!.port}:1 r1
   - 127.0.0.1:${redis[1]!.port}:1 r2
mem:
  listen: 127.0.0.1:${p.mem}
  hash: md5
  distribution: ketama
  servers:
   - 127.0.0.1:${mcs[0]!.port}:1
   - 127.0.0.1:${mcs[1]!.port}:1
deadred:
  listen: 127.0.0.1:${p.deadred}
  redis: true
${strict}  servers:
   - 127.0.0.1:${deadPort}:1
deadmem:
  listen: 127.0.0.1:${p.deadmem}
  servers:
   - 127.0.0.1:${deadPort}:1
ro:
  listen: 127.0.0.1:${p.ro}
  redis: true
${strict}  servers:
   - 127.0.0.1:${redis[0]!.port}:1 m
   - 127.0.0.1:${replica.port}:1 s
`);
}
const proxyArgs = (p: Ports, extra: string[] = [], ours = true) => ["-c", conf(p, ours), "-s", String(p.stats), "-a", "127.0.0.1", "-i", "100", ...extra];

/** Plain keys and hash-tagged ones (only the part in braces is hashed on the redis pool). */
const KEYS = [...Array.from({ length: 160 }, (_, i) => `mx:${i * 7919}`), ...Array.from({ length: 40 }, (_, i) => `{tag${i % 4}}:${i}`)];

/** Which of KEYS each backend holds: [first server's, second's]. */
type Placement = [string[], string[]];

async function redisHolds(b: Backend): Promise<string[]> {
  const got = await request(b.port, Buffer.concat(KEYS.map((k) => resp("EXISTS", k))), 4 * KEYS.length);
  return KEYS.filter((_, i) => got.subarray(4 * i, 4 * i + 4).toString() === ":1\r\n");
}
const valueKeys = (reply: string): string[] => [...reply.matchAll(/^VALUE (\S+) /gm)].map((m) => m[1]!);
async function mcHolds(b: Backend): Promise<string[]> {
  return valueKeys((await exchange(b.port, Buffer.from(`get ${KEYS.join(" ")}\r\nquit\r\n`))).toString());
}
/** One get (or gets) of every key and a missing one, through the pool at `port`: the reply, until its END. */
async function mcMultiGet(port: number, cmd: "get" | "gets"): Promise<string> {
  const keys = [...KEYS.slice(0, 100), "missing:1", ...KEYS.slice(100)];
  const reply = (await exchange(port, Buffer.from(`${cmd} ${keys.join(" ")}\r\nquit\r\n`), { timeoutMs: 15_000 })).toString();
  expect(reply.endsWith("END\r\n")).toBe(true);
  return reply;
}
const flushRedis = () => Promise.all(redis.map((b) => request(b.port, resp("FLUSHALL"), 5)));
const flushMc = () => Promise.all(mcs.map((b) => request(b.port, Buffer.from("flush_all\r\n"), 4)));

/** Store every key through the redis pool at `port` (one pipeline, MSET split over both servers), then look on the servers. */
async function redisPlacement(port: number, how: "set" | "mset"): Promise<Placement> {
  await flushRedis();
  const load = how === "set" ? Buffer.concat(KEYS.map((k) => resp("SET", k, "v"))) : resp("MSET", ...KEYS.flatMap((k) => [k, `v-${k}`]));
  const n = how === "set" ? KEYS.length : 1;
  expect((await request(port, load, 5 * n)).toString()).toBe("+OK\r\n".repeat(n));
  return [await redisHolds(redis[0]!), await redisHolds(redis[1]!)];
}
async function mcPlacement(port: number): Promise<Placement> {
  await flushMc();
  const load = Buffer.from(KEYS.map((k) => `set ${k} 0 0 1\r\nv\r\n`).join(""));
  expect((await request(port, load, 8 * KEYS.length)).toString()).toBe("STORED\r\n".repeat(KEYS.length));
  return [await mcHolds(mcs[0]!), await mcHolds(mcs[1]!)];
}

/** Exchanges whose bytes (until the proxy closes) must equal nutcracker's, by pool. */
const ERROR_SEQUENCES: readonly { name: string; pool: keyof Ports; bytes: Buffer }[] = [
  {
    name: "redis errors from the server",
    pool: "red",
    bytes: Buffer.concat([resp("DEL", "e:s"), resp("SET", "e:s", "abc"), resp("INCR", "e:s"), resp("LPUSH", "e:s", "x"), resp("GET", "e:none"), resp("QUIT")]),
  },
  { name: "redis server down", pool: "deadred", bytes: Buffer.concat([resp("GET", "a"), resp("SET", "a", "b"), resp("MGET", "a", "b"), resp("QUIT")]) },
  { name: "redis unsupported command", pool: "red", bytes: Buffer.concat([resp("GET", "e:none"), resp("KEYS", "*")]) },
  { name: "memcache errors from the server", pool: "mem", bytes: Buffer.from("delete e:s\r\nset e:s 0 0 3\r\nabc\r\nincr e:s 1\r\nget e:none\r\nquit\r\n") },
  { name: "memcache server down", pool: "deadmem", bytes: Buffer.from("get a\r\nset a 0 0 1\r\nb\r\nget a b\r\nquit\r\n") },
  { name: "memcache bad command", pool: "mem", bytes: Buffer.from("get e:none\r\nbogus\r\n") },
  // issue 14: what nutcracker forwards or refuses
  {
    name: "memcache keys with control bytes",
    pool: "mem",
    bytes: Buffer.from("set key\x01\x02\x7f 0 0 2\r\nab\r\nget key\x01\x02\x7f\r\nget a\x1bb key\x01\x02\x7f\r\nquit\r\n", "latin1"),
  },
  {
    name: "redis multi-key writes with a read-only replica in the pool",
    pool: "ro",
    bytes: Buffer.concat([
      resp("DEL", ...Array.from({ length: 40 }, (_, i) => `ro:${i}`)),
      resp("MSET", ...Array.from({ length: 40 }, (_, i) => [`ro:${i}`, "v"]).flat()),
      resp("UNLINK", ...Array.from({ length: 40 }, (_, i) => `ro:${i}`)),
      resp("QUIT"),
    ]),
  },
];

/** Each server's request_bytes after a load of split multi-key requests (and ones that go whole), by pool. */
async function splitRequestBytes(p: Ports): Promise<Record<string, number>> {
  // the counters are aggregated every -i 100 ms: read until two snapshots agree on them
  const settled = async (): Promise<string> => {
    const counters = (t: string): string => t.replace(/"(uptime|timestamp)":\d+/g, "");
    let last = "";
    let now = await readStats(p.stats);
    while (counters(now) !== last) {
      last = counters(now);
      await sleep(250);
      now = await readStats(p.stats);
    }
    return now;
  };
  const bytes = (t: string): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const pool of ["red", "mem"]) {
      for (const [name, v] of Object.entries(JSON.parse(t)[pool] as Record<string, unknown>)) {
        if (typeof v === "object") out[`${pool}/${name}`] = (v as Record<string, number>).request_bytes!;
      }
    }
    return out;
  };
  const before = bytes(await settled());
  await mcMultiGet(p.mem, "get");
  await mcMultiGet(p.mem, "gets");
  await exchange(p.mem, Buffer.from(`get ${KEYS[0]} ${KEYS[0]}\r\nquit\r\n`));
  await exchange(p.red, Buffer.concat([resp("MGET", ...KEYS), resp("MGET", KEYS[0]!, KEYS[0]!), resp("DEL", "none:1", "none:2"), resp("QUIT")]));
  const after = bytes(await settled());
  return Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - before[k]!]));
}
/** Play `s` on empty servers, so the replies depend on nothing that ran before. */
async function play(p: Ports, s: (typeof ERROR_SEQUENCES)[number]): Promise<string> {
  if (s.pool === "red") await flushRedis();
  if (s.pool === "mem") await flushMc();
  return (await exchange(p[s.pool], s.bytes, { timeoutMs: 15_000 })).toString("latin1");
}

/** What nutcracker did on the same pools. */
const oracle = {
  redis: [[], []] as Placement,
  memcache: [[], []] as Placement,
  errors: new Map<string, string>(),
  multiGet: "",
  stats: "",
  splitBytes: {} as Record<string, number>,
};

beforeAll(async () => {
  if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: \`bun build.ts bin\` (npm test does it) makes it`);
  const built = statSync(BINARY).mtimeMs;
  const newer = ["src", "runtime"].flatMap((d) =>
    readdirSync(join(ROOT, d), { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts") && statSync(join(ROOT, d, f)).mtimeMs > built),
  );
  if (newer.length > 0) throw new Error(`${BINARY} is older than ${newer[0]}: \`bun build.ts bin\` (npm test does it) rebuilds it`);

  [redis, mcs] = await Promise.all([Promise.all([startRedis(), startRedis()]), Promise.all([startMemcached(), startMemcached()])]);
  replica = await startRedis(["--replicaof", "127.0.0.1", String(redis[0]!.port)]);
  deadPort = await freePort();
  const p = await ports();
  const nc = await startProxy("nutcracker", proxyArgs(p, [], false), p.red);
  try {
    await waitForPort("127.0.0.1", p.stats, 10_000);
    oracle.redis = await redisPlacement(p.red, "set");
    oracle.memcache = await mcPlacement(p.mem);
    oracle.multiGet = await mcMultiGet(p.mem, "get");
    for (const s of ERROR_SEQUENCES) oracle.errors.set(s.name, await play(p, s));
    oracle.stats = await readStats(p.stats);
    oracle.splitBytes = await splitRequestBytes(p);
  } finally {
    await nc.stop();
  }
  // the oracle itself: keys on both servers of each pool, errors that say something
  for (const pl of [oracle.redis, oracle.memcache]) {
    expect(pl[0].length + pl[1].length).toBe(KEYS.length);
    expect(Math.min(pl[0].length, pl[1].length)).toBeGreaterThan(40);
  }
  expect(oracle.errors.get("redis server down")).toContain("-ERR Connection refused");
  expect(oracle.errors.get("memcache server down")).toContain("SERVER_ERROR Connection refused");
  expect(oracle.errors.get("redis multi-key writes with a read-only replica in the pool")).toBe("-ERR Invalid argument\r\n".repeat(3));
  expect(oracle.errors.get("memcache keys with control bytes")).toContain("STORED\r\nVALUE key\x01\x02\x7f 0 2\r\nab\r\nEND\r\n");
  expect(Object.values(oracle.splitBytes).every((n) => n > 0)).toBe(true);
});

afterAll(async () => {
  await Promise.all([...redis, replica, ...mcs].filter(Boolean).map((b) => b.stop()));
});

/** /proc/PID/comm of each target, as measured (Linux: the file name exec'd, at most 15 bytes). */
const PROCESS_NAME: Readonly<Record<string, { foreground: string; daemon: string }>> = {
  // Node 20 and 22 leave the name of the file exec'd (bin/node; the daemon is process.execPath
  // again); Node 24 names its main thread, and with it the process, "MainThread", Node 26
  // "node-MainThread" (so `pkill -x node` no longer finds them)
  node20: { foreground: "node", daemon: "node" },
  node22: { foreground: "node", daemon: "node" },
  node24: { foreground: "MainThread", daemon: "MainThread" },
  node26: { foreground: "node-MainThread", daemon: "node-MainThread" },
  // the daemon is started from process.execPath, which is node_modules/bun/bin/bun.exe
  bun: { foreground: "bun", daemon: "bun.exe" },
  deno: { foreground: "deno", daemon: "deno" },
  binary: { foreground: basename(BINARY), daemon: basename(BINARY) },
};

// A Node line is the version it is named after, installed where npm ci puts it (runtimes.ts). A
// missing one fails here, and its suite below fails to start (its tests are then not run): on
// linux x64 it is never left out.
describe("the Node lines", () => {
  it.each(MATRIX.filter((t) => t.startsWith("node")).map((t) => ({ t, label: targetLabel(t) })))("$label: the executable is there and is that Node", ({ t }) => {
    const problem = nodeBinary(t as NodeLine).problem;
    expect(problem, `${t}: ${problem}`).toBeNull();
  });
});

describe.each(MATRIX.map((target) => ({ target, label: targetLabel(target) })))("on $label", ({ target }) => {
  let p: Ports;
  let proxy: Running;
  let dir: string;
  let log: string;
  let pidFile: string;

  beforeAll(async () => {
    p = await ports();
    dir = mkdtempSync(join(tmpdir(), `nc-matrix-${target}-`));
    log = join(dir, "nc.log");
    pidFile = join(dir, "nc.pid");
    proxy = await startProxy(target, proxyArgs(p, ["-o", log, "-p", pidFile]), p.red);
    await waitForPort("127.0.0.1", p.mem, 10_000);
  });
  afterAll(async () => {
    await proxy?.stop();
  });

  it("puts every redis key where nutcracker does, for SET and for a split MSET", async () => {
    expect(await redisPlacement(p.red, "set")).toEqual(oracle.redis);
    expect(await redisPlacement(p.red, "mset")).toEqual(oracle.redis);
  });

  it("puts every memcache key where nutcracker does", async () => {
    expect(await mcPlacement(p.mem)).toEqual(oracle.memcache);
  });

  it("answers 2,000 pipelined redis commands in order", async () => {
    const reqs: Buffer[] = [];
    const want: string[] = [];
    for (let i = 0; i < 1000; i++) {
      reqs.push(resp("SET", `pl:${i}`, `v${i}`), resp("GET", `pl:${i}`));
      want.push("+OK\r\n", `$${`v${i}`.length}\r\nv${i}\r\n`);
    }
    const expected = want.join("");
    expect((await request(p.red, Buffer.concat(reqs), expected.length)).toString()).toBe(expected);
  });

  it("answers 2,000 pipelined memcache commands in order", async () => {
    const reqs: string[] = [];
    const want: string[] = [];
    for (let i = 0; i < 1000; i++) {
      reqs.push(`set pl:${i} ${i} 0 ${`v${i}`.length}\r\nv${i}\r\n`, `get pl:${i}\r\n`);
      want.push("STORED\r\n", `VALUE pl:${i} ${i} ${`v${i}`.length}\r\nv${i}\r\nEND\r\n`);
    }
    const expected = want.join("");
    expect((await request(p.mem, Buffer.from(reqs.join("")), expected.length)).toString()).toBe(expected);
  });

  it("splits MGET and DEL over the redis servers and merges the replies in key order", async () => {
    await redisPlacement(p.red, "mset");
    const keys = [...KEYS, "missing:1", "missing:2"];
    const want = `*${keys.length}\r\n` + keys.map((k) => (k.startsWith("missing") ? "$-1\r\n" : `$${`v-${k}`.length}\r\nv-${k}\r\n`)).join("");
    expect((await request(p.red, resp("MGET", ...keys), want.length)).toString()).toBe(want);
    const del = `:${KEYS.length}\r\n`;
    expect((await request(p.red, resp("DEL", ...keys), del.length)).toString()).toBe(del);
    expect([await redisHolds(redis[0]!), await redisHolds(redis[1]!)]).toEqual([[], []]);
  });

  it("splits a memcache multi-get over the servers and merges the values as nutcracker does", async () => {
    await mcPlacement(p.mem);
    const got = await mcMultiGet(p.mem, "get");
    expect(got).toBe(oracle.multiGet);
    // every key once: nutcracker's order is not the key order, the set of values is all of them
    expect(valueKeys(got).sort()).toEqual([...KEYS].sort());
    // gets adds each value's cas unique; the same values in the same order
    expect(valueKeys(await mcMultiGet(p.mem, "gets"))).toEqual(valueKeys(got));
  });

  it.each(ERROR_SEQUENCES.map((s) => s.name))("%s: the same bytes as nutcracker", async (name) => {
    expect(await play(p, ERROR_SEQUENCES.find((x) => x.name === name)!)).toBe(oracle.errors.get(name));
  });

  it("serves nutcracker's stats JSON on -s, counting the requests", async () => {
    const requests = (t: string): number => {
      const red = JSON.parse(t).red as Record<string, { requests?: number }>;
      return (red.r1?.requests ?? 0) + (red.r2?.requests ?? 0);
    };
    // the earlier tests' requests first reach the counters (aggregated every -i 100 ms)
    let before = -1;
    for (let now = requests(await readStats(p.stats)); now !== before; now = requests(await readStats(p.stats))) {
      before = now;
      await sleep(200);
    }
    await request(p.red, Buffer.concat(Array.from({ length: 20 }, (_, i) => resp("GET", `st:${i}`))), 5 * 20);
    let after = before;
    for (let i = 0; i < 50 && after < before + 20; i++) {
      await sleep(100);
      after = requests(await readStats(p.stats));
    }
    expect(after - before).toBe(20);
    const text = await readStats(p.stats);
    const json = JSON.parse(text) as Record<string, unknown>;
    expect(json.service).toBe("nutcracker");
    expect(json.version).toBe("0.5.0");
    // each of nutcracker's fields, of the same kind and in the same order (stats.test.ts holds the
    // exact comparison; this one lets a field be added without touching the matrix)
    const theirs = leaves(JSON.parse(oracle.stats));
    const known = new Set(theirs);
    expect(leaves(json).filter((l) => known.has(l))).toEqual(theirs);
  });

  it("counts each server's request_bytes of split get, gets and MGET as nutcracker does", async () => {
    expect(await splitRequestBytes(p)).toEqual(oracle.splitBytes);
  });

  it(`has the process name ${PROCESS_NAME[target]!.foreground}, and writes its pid with -p`, () => {
    expect(comm(proxy.proc.pid!)).toBe(PROCESS_NAME[target]!.foreground);
    expect(readFileSync(pidFile, "utf8")).toBe(String(proxy.proc.pid)); // digits, no newline, as nutcracker
  });

  it("-o: SIGHUP reopens the log (the renamed file keeps the old lines, a new file takes the next)", async () => {
    const text = () => (existsSync(log) ? readFileSync(log, "utf8") : "");
    await until("start line", () => text().includes("started on pid"));
    process.kill(proxy.proc.pid!, "SIGTTIN");
    await until("SIGTTIN line", () => text().includes("signal 21 (SIGTTIN) received, up logging level"));
    process.kill(proxy.proc.pid!, "SIGTTOU");
    await until("SIGTTOU line", () => text().includes("signal 22 (SIGTTOU) received, down logging level"));
    renameSync(log, `${log}.1`);
    process.kill(proxy.proc.pid!, "SIGHUP");
    await until("the reopened log", () => existsSync(log));
    expect(readFileSync(`${log}.1`, "utf8")).toContain("signal 1 (SIGHUP) received, reopening log file");
    process.kill(proxy.proc.pid!, "SIGUSR1");
    await until("a line in the new file", () => text().includes("signal 10 (SIGUSR1) received"));
    expect(readFileSync(`${log}.1`, "utf8")).not.toContain("SIGUSR1");
  });

  it("SIGINT: exits 1, says so, and removes the pid file", async () => {
    const exited = new Promise<number | null>((r) => proxy.proc.once("exit", (c) => r(c)));
    process.kill(proxy.proc.pid!, "SIGINT");
    expect(await exited).toBe(1);
    expect(readFileSync(log, "utf8")).toContain("done, rabbit done");
    expect(existsSync(pidFile)).toBe(false);
  });

  it(`kill -SEGV: ${SEGV_OUTCOME[target]} (twemproxy logs '${SEGV_LINE}' and dies by the signal)`, async () => {
    const d = await ports();
    const [slog, spid] = [join(dir, "segv.log"), join(dir, "segv.pid")];
    const nc = await startForSegv(target, proxyArgs(d, ["-o", slog, "-p", spid]), d.red);
    const text = () => (existsSync(slog) ? readFileSync(slog, "utf8") : "");
    try {
      await until("start line", () => text().includes("started on pid"));
      if (SEGV_OUTCOME[target] === "logs and dies") {
        expect(await nc.segv(10_000)).toEqual({ code: null, signal: "SIGSEGV" });
        expect(text()).toContain(SEGV_LINE);
        // no clean-up on the way down, as in twemproxy (its handler raises, nc_remove_pidfile never runs)
        expect(existsSync(spid)).toBe(true);
      } else {
        // Deno: no listener can be had; the first one is swallowed, the second kills unlogged
        expect(await nc.segv(1_000)).toBeNull();
        expect((await request(d.red, resp("PING"), 7)).toString()).toBe("+PONG\r\n");
        expect(await nc.segv(10_000)).toEqual({ code: null, signal: "SIGSEGV" });
        expect(text()).not.toContain("SIGSEGV");
      }
    } finally {
      nc.proc.kill("SIGKILL");
    }
  });

  it("-d -p: returns at once with piped stdio; the pid file holds the daemon, which serves and stats; SIGTERM removes it", async () => {
    const d = await ports();
    const dpid = join(dir, "daemon.pid");
    const t0 = Date.now();
    // stdout/stderr are pipes: if the daemon kept them open, spawnSync would wait for it
    const r = run(target, ["-d", "-p", dpid, ...proxyArgs(d, ["-o", join(dir, "daemon.log")])], 15_000);
    expect(r.error).toBeUndefined();
    expect(r.code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(10_000);
    await until("the pid file", () => /^\d+\s*$/.test(existsSync(dpid) ? readFileSync(dpid, "utf8") : ""));
    const pid = Number(readFileSync(dpid, "utf8").trim());
    try {
      expect(alive(pid)).toBe(true);
      expect(comm(pid)).toBe(PROCESS_NAME[target]!.daemon);
      // its own session: no terminal, no signal to the caller's process group reaches it
      expect(session(pid)).not.toBe(session(process.pid));
      await waitForPort("127.0.0.1", d.red, 15_000);
      expect((await request(d.red, resp("PING"), 7)).toString()).toBe("+PONG\r\n");
      expect(JSON.parse(await readStats(d.stats)).service).toBe("nutcracker");
    } finally {
      process.kill(pid, "SIGTERM");
    }
    await until("the daemon's exit", () => !alive(pid));
    expect(existsSync(dpid)).toBe(false);
  });

  it("-t: 'syntax is ok' and 0 on a good file; 'syntax is invalid', the line, and 1 on a bad one", async () => {
    const good = run(target, ["-t", "-c", conf(await ports())]);
    expect(good.code).toBe(0);
    expect(good.stdout + good.stderr).toMatch(/syntax is ok/);
    const badFile = writeConf("alpha:\n  listen: 127.0.0.1:1\n  hash: nope\n  servers:\n   - 127.0.0.1:1:1\n");
    const bad = run(target, ["-t", "-c", badFile]);
    expect(bad.code).toBe(1);
    expect(bad.stdout + bad.stderr).toMatch(/syntax is invalid/);
    expect(bad.stdout + bad.stderr).toMatch(/line 3/);
  });

  it("-V prints 'This is nutcracker-0.5.0' and exits 0; a bad flag or value prints usage and exits 1", () => {
    const v = run(target, ["-V"]);
    expect(v.code).toBe(0);
    expect(v.stderr.split("\n")[0]).toBe("This is nutcracker-0.5.0");
    for (const args of [["-x"], ["-m", "100"], ["-v", "abc"], ["--no-such-flag"]]) {
      const r = run(target, args);
      expect(r.code, args.join(" ")).toBe(1);
      expect(r.stderr, args.join(" ")).toContain("Usage: nutcracker");
    }
  });
});

describe("the compiled binary installed as nutcracker (a link), for scripts written for nutcracker", () => {
  it("is named nutcracker in the foreground and as a -d daemon", async () => {
    const dir = mkdtempSync(join(tmpdir(), "nc-link-"));
    const link = join(dir, "nutcracker");
    symlinkSync(realpathSync(BINARY), link);
    const fg = await ports();
    const proc = spawn(link, proxyArgs(fg), { stdio: "ignore" });
    try {
      await waitForPort("127.0.0.1", fg.red, 15_000);
      expect(comm(proc.pid!)).toBe("nutcracker");
    } finally {
      proc.kill("SIGKILL");
    }

    const d = await ports();
    const pidFile = join(dir, "nc.pid");
    const r = runArgv([link, "-d", "-p", pidFile, ...proxyArgs(d)], 15_000);
    expect(r.code).toBe(0);
    await until("the pid file", () => /^\d+\s*$/.test(existsSync(pidFile) ? readFileSync(pidFile, "utf8") : ""));
    const pid = Number(readFileSync(pidFile, "utf8").trim());
    try {
      expect(comm(pid)).toBe("nutcracker");
      await waitForPort("127.0.0.1", d.stats, 15_000);
      expect(JSON.parse(await readStats(d.stats)).service).toBe("nutcracker");
    } finally {
      process.kill(pid, "SIGTERM");
    }
    await until("the daemon's exit", () => !alive(pid));
    expect(existsSync(pidFile)).toBe(false);
  });
});
