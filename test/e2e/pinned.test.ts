// Connections pinned to one client (src/proto/redis_pinned.ts, redis_pubsub.ts): pub/sub,
// blocking commands and transactions through the proxy to three real redis-servers, on the node
// bundle (dist/nutcracker.mjs) and the Bun binary (dist/nutcracker-bun). The pool hashes with
// hash_tag "{}" and has `timeout: 400`, so a block that outlives 400 ms shows the pinned request
// is untimed. md5/ketama, not the fnv1a_64 default: fnv1a_64 keeps the low 32 bits of its hash,
// so names that differ only in their last characters (`ch:0`..`ch:59`) land on one server.
//
// - Pub/sub: a channel lives on the server a key of its name goes to (PUBSUB CHANNELS on each
//   backend against where SET put the same name); PUBLISH meets it there; patterns on every
//   server; SSUBSCRIBE/SPUBLISH; PUBSUB CHANNELS/NUMSUB/NUMPAT merged; RESP2 subscribed mode
//   (the allowed commands, `*2 pong ""`, the exact refusal, the client's own counts over the
//   servers, UNSUBSCRIBE with and without names, QUIT, RESET); RESP3 (HELLO 3) pushes with other
//   commands in between.
// - Real clients at their defaults (ioredis 6 and node-redis 6 speak RESP3, redis-py 4.3 RESP2,
//   test/fixtures/clients/pinned/pubsub_py.py): 1,000 channels, 10 subscribers and 2 pattern
//   subscribers, 3 publishers: every message once per subscriber, each channel in one order for
//   all of them, each publisher's messages in its order.
// - 1,000 idle raw subscribers: confirmations, one message each, the proxy's RSS per subscriber
//   (a `pinned-figure:` line; no speed is asserted).
// - Blocking: BLPOP outliving the pool's timeout, BLPOP 0, BRPOPLPUSH/BLMOVE with a hash tag,
//   cross-server keys refused before anything is sent (commandstats), the shared connection
//   not held by a block.
// - Transactions: ioredis multi/exec, WATCH, a cross-server key aborting EXEC, the MULTI/EXEC/
//   DISCARD error replies.
// - Accounting: the pinned connections leave the backends' CLIENT LIST with their client (checked
//   after every test, and by connection id in one test); `pinned_connections: 2`;
//   `error_replies: false` closes as twemproxy 0.5.0 does.
// - A client that leaves while blocked (FIN, RST), on a proxy of its own: its pinned connection
//   goes with it, a later push is not taken by it, the next clients are answered.
// - Last, as it restarts a backend: kill -9 of a subscriber's redis.

import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { Redis } from "ioredis";
import { createClient } from "redis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { exchange, resp } from "../helpers/client.ts";
import { ROOT, type Running, startProxy, type Target, writeConf } from "../helpers/proxy.ts";
import { type Backend, startRedis } from "../helpers/real_backends.ts";
import { freePort } from "../helpers/runtimes.ts";

// Debian's python has python3-redis; the python3 on PATH may not
const PYTHON = "/usr/bin/python3";
const PY_PUBSUB = join(ROOT, "test", "fixtures", "clients", "pinned", "pubsub_py.py");
/** The two shipped builds: the node bundle and the Bun binary (`bun build.ts bin` makes both). */
const BUILDS: readonly Target[] = ["node", "binary"];
const POOL_TIMEOUT = 400;

const CROSS_BLOCK = "-ERR keys of a blocking command must live on one server of the pool: use a hash tag\r\n";
const CROSS_TX = "-ERR keys of one transaction must live on one server of the pool: use a hash tag\r\n";
const EXECABORT = "-EXECABORT Transaction discarded because of previous errors.\r\n";
const NO_PIN = "-ERR no pinned connection left to that server (pinned_connections)\r\n";
const notAllowed = (cmd: string) =>
  `-ERR Can't execute '${cmd}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// RESP as the tests expect it, byte for byte

const bulk = (s: string) => `$${Buffer.byteLength(s, "latin1")}\r\n${s}\r\n`;
const arr = (...items: string[]) => `*${items.length}\r\n${items.join("")}`;
/** A (un)subscribe confirmation; `name` null for the one UNSUBSCRIBE answers with nothing subscribed. */
const confirm = (kind: string, name: string | null, n: number, resp3 = false) =>
  `${resp3 ? ">" : "*"}3\r\n${bulk(kind)}${name === null ? (resp3 ? "_\r\n" : "$-1\r\n") : bulk(name)}:${n}\r\n`;
const message = (ch: string, payload: string, resp3 = false) => `${resp3 ? ">" : "*"}3\r\n${bulk("message")}${bulk(ch)}${bulk(payload)}`;
const pmessage = (pat: string, ch: string, payload: string) => `*4\r\n${bulk("pmessage")}${bulk(pat)}${bulk(ch)}${bulk(payload)}`;

/** Where the RESP value starting at `at` ends, or -1 while it is incomplete (RESP2 and RESP3 types). */
function frameEnd(b: Buffer, at: number): number {
  if (at >= b.length) return -1;
  const eol = b.indexOf("\r\n", at);
  if (eol < 0) return -1;
  const type = String.fromCharCode(b[at]!);
  const n = Number(b.toString("latin1", at + 1, eol));
  let end = eol + 2;
  switch (type) {
    case "$":
    case "!":
    case "=":
      if (n < 0) return end;
      end += n + 2;
      return end <= b.length ? end : -1;
    case "*":
    case ">":
    case "~":
    case "%":
    case "|": {
      const items = type === "%" || type === "|" ? n * 2 : n;
      for (let i = 0; i < items; i++) {
        end = frameEnd(b, end);
        if (end < 0) return -1;
      }
      return end;
    }
    default:
      return end; // + - : _ , # ( one line
  }
}

/** A raw client: RESP requests out, one whole RESP value at a time in (latin1 text). */
class Raw {
  readonly sock: Socket;
  private buf: Buffer = Buffer.alloc(0);
  private wake: (() => void) | null = null;
  closed = false;
  readonly whenClosed: Promise<void>;

  private constructor(sock: Socket) {
    this.sock = sock;
    sock.on("data", (d: Buffer) => {
      this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
      this.wake?.();
    });
    sock.on("error", () => undefined);
    this.whenClosed = new Promise((resolve) =>
      sock.on("close", () => {
        this.closed = true;
        this.wake?.();
        resolve();
      }),
    );
  }

  static open(port: number): Promise<Raw> {
    return new Promise((resolve, reject) => {
      const sock = connect({ host: "127.0.0.1", port });
      sock.once("connect", () => resolve(new Raw(sock)));
      sock.once("error", reject);
    });
  }

  send(...args: string[]): this {
    this.sock.write(resp(...args));
    return this;
  }

  /** The next whole value; rejects after `ms`, or when the proxy closed with none buffered. */
  async next(ms = 5000): Promise<string> {
    const deadline = Date.now() + ms;
    for (;;) {
      const end = frameEnd(this.buf, 0);
      if (end > 0) {
        const v = this.buf.toString("latin1", 0, end);
        this.buf = this.buf.subarray(end);
        return v;
      }
      const left = deadline - Date.now();
      if (this.closed) throw new Error(`closed by the proxy; pending bytes: ${JSON.stringify(this.buf.toString("latin1"))}`);
      if (left <= 0) throw new Error(`no whole reply within ${ms} ms; pending bytes: ${JSON.stringify(this.buf.toString("latin1"))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = null;
    }
  }

  async nextN(n: number, ms = 5000): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(await this.next(ms));
    return out;
  }

  /** What arrived within `ms` (the test expects "": nothing yet). */
  async pending(ms: number): Promise<string> {
    await sleep(ms);
    return this.buf.toString("latin1");
  }

  /** Whether the proxy closed the connection within `ms`. */
  async closesWithin(ms: number): Promise<boolean> {
    await Promise.race([this.whenClosed, sleep(ms)]);
    return this.closed;
  }

  close(): void {
    this.sock.destroy();
  }
}

/** `p`, or a rejection naming `what` after `ms`. */
function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timeout after ${ms} ms: ${what}`)), ms);
    }),
  ]);
}

/** Poll `f` until it returns true or `ms` pass; the last value either way. */
async function eventually(ms: number, f: () => Promise<boolean> | boolean): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await f()) return true;
    if (Date.now() > deadline) return false;
    await sleep(25);
  }
}

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (m === null) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]);
}

// ---------------------------------------------------------------------------------------------
// the backends, read directly

let backends: Backend[] = [];
let direct: Redis[] = [];

function directClient(port: number): Redis {
  // RESP2, no ready check, no client info: plain reads of the backends, not under test
  return new Redis({ host: "127.0.0.1", port, protocol: 2, enableReadyCheck: false, disableClientInfo: true });
}

beforeAll(async () => {
  backends = await Promise.all([startRedis(), startRedis(), startRedis()]);
  direct = backends.map((b) => directClient(b.port));
  await Promise.all(direct.map((d) => d.ping()));
});

afterAll(async () => {
  for (const d of direct) d.disconnect();
  await Promise.all(backends.map((b) => b.stop()));
});

/** The backend index each key is stored on (its value read back directly); -1 where none has it. */
async function storedOn(keys: readonly string[]): Promise<number[]> {
  const per = await Promise.all(direct.map((d) => d.mget(...keys)));
  return keys.map((_, i) => {
    const on = per.flatMap((vals, s) => (vals[i] !== null ? [s] : []));
    return on.length === 1 ? on[0]! : -1;
  });
}

/** Each backend's channels matching `pattern`, sorted. */
async function channelsOn(pattern: string, shard = false): Promise<string[][]> {
  const all = await Promise.all(direct.map((d) => d.call("PUBSUB", shard ? "SHARDCHANNELS" : "CHANNELS", pattern) as Promise<string[]>));
  return all.map((l) => [...l].sort());
}

/** `cmdstat_<name>` calls on each backend (0 when never called). */
async function calls(name: string): Promise<number[]> {
  const infos = await Promise.all(direct.map((d) => d.info("commandstats")));
  return infos.map((t) => Number(new RegExp(`^cmdstat_${name}:calls=(\\d+)`, "m").exec(t)?.[1] ?? 0));
}

type ClientRow = Record<string, string>;
/** A backend's CLIENT LIST, without the direct connection asking. */
async function clientList(i: number): Promise<ClientRow[]> {
  const text = (await direct[i]!.call("CLIENT", "LIST")) as string;
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => Object.fromEntries(l.trim().split(" ").map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)])))
    .filter((r) => r.cmd !== "client|list");
}

const PINNED_CMDS = new Set([
  ...["subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe"],
  ...["blpop", "brpop", "brpoplpush", "blmove", "blmpop", "multi", "exec", "discard", "watch", "unwatch"],
]);
/** A connection only a pinned one can be: subscribed, in MULTI, or whose last command was a pinned one. */
const isPinned = (r: ClientRow) => r.sub !== "0" || r.psub !== "0" || (r.ssub ?? "0") !== "0" || r.multi !== "-1" || PINNED_CMDS.has(r.cmd ?? "");

async function pinnedLeft(): Promise<string[]> {
  const lists = await Promise.all(direct.map((_, i) => clientList(i)));
  return lists.flatMap((l, i) => l.filter(isPinned).map((r) => `r${i + 1} ${r.addr} cmd=${r.cmd} sub=${r.sub} psub=${r.psub} multi=${r.multi}`));
}

// ---------------------------------------------------------------------------------------------
// a python client script

interface Py {
  readonly child: ChildProcess;
  out(): string;
  err(): string;
  /** Resolves once the script printed READY (false when it exited first). */
  ready(): Promise<boolean>;
  /** The script's exit code and its JSON lines. */
  done(): Promise<{ code: number | null; json: Record<string, unknown>[] }>;
}

function py(args: string[]): Py {
  const child = spawn(PYTHON, [PY_PUBSUB, ...args], { stdio: ["ignore", "pipe", "pipe"], cwd: ROOT });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const closed = new Promise<number | null>((resolve) => child.on("close", (c) => resolve(c)));
  const kill = setTimeout(() => child.kill("SIGKILL"), 90_000);
  closed.then(() => clearTimeout(kill));
  return {
    child,
    out: () => out,
    err: () => err,
    ready: () =>
      Promise.race([
        (async () => {
          while (!/^READY$/m.test(out)) await sleep(20);
          return true;
        })(),
        closed.then(() => /^READY$/m.test(out)),
      ]),
    done: async () => {
      const code = await closed;
      const json = out
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      return { code, json };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// what a subscriber received, summed up so a failure says what went wrong

const PUBLISHERS = ["io", "nr", "py"] as const;

interface Delivery {
  total: number;
  /** A payload for channel i arrived on another channel. */
  wrongChannel: number;
  duplicates: number;
  missing: number;
  /** A publisher's payloads on one channel not in its publish order. */
  outOfOrder: number;
  /** Channels whose order differs from the reference subscriber's. */
  differs: number;
}

function deliverySummary(got: ReadonlyMap<string, readonly string[]>, prefix: string, n: number, rounds: number, ref?: ReadonlyMap<string, readonly string[]>): Delivery {
  const s: Delivery = { total: 0, wrongChannel: 0, duplicates: 0, missing: 0, outOfOrder: 0, differs: 0 };
  for (let i = 0; i < n; i++) {
    const ch = `${prefix}${i}`;
    const list = got.get(ch) ?? [];
    s.total += list.length;
    const seen = new Set<string>();
    const last = new Map<string, number>();
    for (const p of list) {
      const [who, round, idx] = p.split(":");
      if (Number(idx) !== i) s.wrongChannel++;
      if (seen.has(p)) s.duplicates++;
      seen.add(p);
      const r = Number(round);
      if ((last.get(who!) ?? -1) >= r) s.outOfOrder++;
      last.set(who!, r);
    }
    for (const who of PUBLISHERS) for (let r = 0; r < rounds; r++) if (!seen.has(`${who}:${r}:${i}`)) s.missing++;
    const want = ref?.get(ch);
    if (want !== undefined && want.join(",") !== list.join(",")) s.differs++;
  }
  for (const ch of got.keys()) if (!ch.startsWith(prefix) || !(Number(ch.slice(prefix.length)) < n)) s.wrongChannel++;
  return s;
}

const histogram = (vals: readonly unknown[]) => {
  const h: Record<string, number> = {};
  for (const v of vals) h[String(v)] = (h[String(v)] ?? 0) + 1;
  return h;
};

// ---------------------------------------------------------------------------------------------

describe.each(BUILDS)("connections pinned to a client, through %s", (target) => {
  let proxy: Running;
  let port = 0; // the pool under test: hash_tag, timeout 400
  let twoPort = 0; // pinned_connections: 2
  let strictPort = 0; // error_replies: false
  /** An ioredis client through the proxy at its defaults (RESP3): producer, publisher, key placement. */
  let io: Redis;
  const ioErrors: string[] = [];

  /** Names `${prefix}<i>`, one stored on each backend, in backend order (keys set through the proxy, read back directly). */
  async function onePerServer(prefix: string): Promise<string[]> {
    const names = Array.from({ length: 60 }, (_, i) => `${prefix}${i}`);
    await io.mset(Object.fromEntries(names.map((n) => [n, "1"])));
    const on = await storedOn(names);
    await io.del(...names);
    const pick = [0, 1, 2].map((s) => names[on.indexOf(s)]);
    if (pick.some((n) => n === undefined)) throw new Error(`60 keys did not reach all three backends: ${on.join(" ")}`);
    return pick as string[];
  }

  beforeAll(async () => {
    for (const d of direct) await d.flushall();
    [port, twoPort, strictPort] = [await freePort(), await freePort(), await freePort()];
    const servers = backends.map((b, i) => `   - 127.0.0.1:${b.port}:1 r${i + 1}\n`).join("");
    const pool = (name: string, p: number, extra: string) =>
      `${name}:\n  listen: 127.0.0.1:${p}\n  hash: md5\n  distribution: ketama\n  redis: true\n  hash_tag: "{}"\n  timeout: ${POOL_TIMEOUT}\n${extra}  servers:\n${servers}`;
    const conf = writeConf(pool("main", port, "") + pool("two", twoPort, "  pinned_connections: 2\n") + pool("strict", strictPort, "  error_replies: false\n"));
    proxy = await startProxy(target, ["-c", conf, "-s", String(await freePort())], port);
    io = new Redis(port, "127.0.0.1"); // host and port only
    io.on("error", (e: Error) => ioErrors.push(e.message));
    await within(10_000, "ioredis ready", new Promise<void>((resolve) => io.once("ready", () => resolve())));
  });

  afterAll(async () => {
    io?.disconnect();
    const code = await proxy?.stop();
    expect(code, proxy?.stderr()).toBe(0); // SIGTERM: a clean exit
    expect(proxy?.stderr()).not.toMatch(/TypeError|RangeError|ReferenceError|Uncaught|panic|SIGSEGV/);
    expect(ioErrors).toEqual([]); // the proxy never dropped the producer's connection
  });

  // every test closes its clients: their pinned connections must leave the backends with them
  afterEach(async () => {
    let left: string[] = [];
    const gone = await eventually(5000, async () => (left = await pinnedLeft()).length === 0);
    expect(gone, `pinned connections still on the backends: ${left.slice(0, 5).join(" | ")}`).toBe(true);
  });

  // -------------------------------------------------------------------------------------------
  describe("pub/sub, raw RESP2 and RESP3", () => {
    it("SUBSCRIBE puts each channel on the server a key of its name goes to; PUBLISH meets it there; UNSUBSCRIBE removes it there", async () => {
      const pre = `${target}:route:`;
      const names = Array.from({ length: 30 }, (_, i) => `${pre}${i}`);
      await io.mset(Object.fromEntries(names.map((n) => [n, "1"])));
      const keyOn = await storedOn(names);
      await io.del(...names);
      const expectOn = [0, 1, 2].map((s) => names.filter((_, i) => keyOn[i] === s).sort());
      for (const l of expectOn) expect(l.length, `keys per backend: ${expectOn.map((x) => x.length).join(" ")}`).toBeGreaterThan(0);

      const sub = await Raw.open(port);
      sub.send("SUBSCRIBE", ...names);
      expect(await sub.nextN(names.length)).toEqual(names.map((n, i) => confirm("subscribe", n, i + 1)));
      expect(await channelsOn(`${pre}*`)).toEqual(expectOn);

      const pub = await Raw.open(port);
      for (const n of names) {
        pub.send("PUBLISH", n, `m-${n}`);
        expect(await pub.next()).toBe(":1\r\n");
        expect(await sub.next()).toBe(message(n, `m-${n}`));
      }

      // the first ten go; the rest stay where they were, counts falling from 30
      sub.send("UNSUBSCRIBE", ...names.slice(0, 10));
      expect(await sub.nextN(10)).toEqual(names.slice(0, 10).map((n, i) => confirm("unsubscribe", n, 29 - i)));
      expect(await channelsOn(`${pre}*`)).toEqual(expectOn.map((l) => l.filter((n) => names.indexOf(n) >= 10)));
      pub.send("PUBLISH", names[0]!, "gone");
      expect(await pub.next()).toBe(":0\r\n");

      // without names: all the rest, counts falling to 0, then nothing left to undo
      sub.send("UNSUBSCRIBE");
      const rest = await sub.nextN(20);
      const rx = /^\*3\r\n\$11\r\nunsubscribe\r\n\$\d+\r\n([^\r]+)\r\n:(\d+)\r\n$/;
      expect(rest.map((r) => rx.exec(r)?.[1]).sort()).toEqual(names.slice(10).sort());
      expect(rest.map((r) => Number(rx.exec(r)?.[2]))).toEqual(Array.from({ length: 20 }, (_, i) => 19 - i));
      expect(await channelsOn(`${pre}*`)).toEqual([[], [], []]);
      sub.send("UNSUBSCRIBE");
      expect(await sub.next()).toBe(confirm("unsubscribe", null, 0));
      // out of subscribed mode: an ordinary command again
      sub.send("GET", `${pre}nokey`);
      expect(await sub.next()).toBe("$-1\r\n");
      sub.close();
      pub.close();
    });

    it("subscribed mode (RESP2): the client's own counts over the servers; only (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PING, QUIT, RESET", async () => {
      const [a, b, c] = await onePerServer(`${target}:mode:`);
      const sub = await Raw.open(port);
      sub.send("SUBSCRIBE", a!, b!, c!);
      expect(await sub.nextN(3)).toEqual([confirm("subscribe", a!, 1), confirm("subscribe", b!, 2), confirm("subscribe", c!, 3)]);
      const pat = `${target}:mode:*`;
      sub.send("PSUBSCRIBE", pat);
      expect(await sub.next()).toBe(confirm("psubscribe", pat, 4));
      // one channel on each backend, the pattern on all three
      expect((await channelsOn(`${target}:mode:*`)).map((l) => l.length)).toEqual([1, 1, 1]);
      expect(await Promise.all(direct.map((d) => d.call("PUBSUB", "NUMPAT")))).toEqual([1, 1, 1]);

      sub.send("GET", a!);
      expect(await sub.next()).toBe(notAllowed("get"));
      sub.send("SET", a!, "x");
      expect(await sub.next()).toBe(notAllowed("set"));
      sub.send("PING");
      expect(await sub.next()).toBe(arr(bulk("pong"), bulk("")));
      sub.send("PING", "hello");
      expect(await sub.next()).toBe(arr(bulk("pong"), bulk("hello")));
      expect(await direct[0]!.exists(a!)).toBe(0); // the refused SET went nowhere

      // a channel subscriber and the pattern both get a message on each server
      const pub = await Raw.open(port);
      for (const ch of [a!, b!, c!]) {
        pub.send("PUBLISH", ch, `p-${ch}`);
        expect(await pub.next()).toBe(":2\r\n");
        expect((await sub.nextN(2)).sort()).toEqual([message(ch, `p-${ch}`), pmessage(pat, ch, `p-${ch}`)].sort());
      }

      sub.send("PUNSUBSCRIBE", pat);
      expect(await sub.next()).toBe(confirm("punsubscribe", pat, 3));
      expect(await Promise.all(direct.map((d) => d.call("PUBSUB", "NUMPAT")))).toEqual([0, 0, 0]);
      sub.send("RESET");
      expect(await sub.next()).toBe("+RESET\r\n");
      expect(await channelsOn(`${target}:mode:*`)).toEqual([[], [], []]);
      sub.send("GET", a!);
      expect(await sub.next()).toBe("$-1\r\n");
      sub.close();

      // QUIT while subscribed: what QUIT does outside subscribed mode (the proxy closes, as twemproxy), and unsubscribed
      const plain = await Raw.open(port);
      plain.send("QUIT");
      expect(await plain.closesWithin(3000)).toBe(true);
      const quitAnswer = await plain.pending(0);
      const q = await Raw.open(port);
      q.send("SUBSCRIBE", b!);
      expect(await q.next()).toBe(confirm("subscribe", b!, 1));
      q.send("QUIT");
      expect(await q.closesWithin(3000)).toBe(true);
      expect(await q.pending(0)).toBe(quitAnswer);
      expect(await eventually(3000, async () => (await channelsOn(b!)).flat().length === 0)).toBe(true);
      pub.close();
    });

    it("PSUBSCRIBE on every server: a pattern subscriber gets what is published to channels on any server; PUNSUBSCRIBE without names", async () => {
      const pre = `${target}:pat:`;
      const chans = await onePerServer(pre);
      const sub = await Raw.open(port);
      sub.send("PSUBSCRIBE", `${pre}*`, `${target}:other:*`);
      expect(await sub.nextN(2)).toEqual([confirm("psubscribe", `${pre}*`, 1), confirm("psubscribe", `${target}:other:*`, 2)]);
      expect(await Promise.all(direct.map((d) => d.call("PUBSUB", "NUMPAT")))).toEqual([2, 2, 2]);
      for (const ch of chans) {
        expect(await io.publish(ch, `to-${ch}`)).toBe(1);
        expect(await sub.next()).toBe(pmessage(`${pre}*`, ch, `to-${ch}`));
      }
      expect(await io.publish(`${target}:nomatch`, "x")).toBe(0);
      sub.send("PUNSUBSCRIBE");
      const got = await sub.nextN(2);
      expect(got.map((g) => /:(\d+)\r\n$/.exec(g)?.[1])).toEqual(["1", "0"]);
      expect(got.some((g) => g.includes(bulk(`${pre}*`))) && got.some((g) => g.includes(bulk(`${target}:other:*`)))).toBe(true);
      expect(await Promise.all(direct.map((d) => d.call("PUBSUB", "NUMPAT")))).toEqual([0, 0, 0]);
      sub.send("PUNSUBSCRIBE");
      expect(await sub.next()).toBe(confirm("punsubscribe", null, 0));
      sub.close();
    });

    it("SSUBSCRIBE / SPUBLISH / SUNSUBSCRIBE: each shard channel on its server, as plain channels", async () => {
      const chans = await onePerServer(`${target}:shard:`);
      const sub = await Raw.open(port);
      sub.send("SSUBSCRIBE", ...chans);
      expect(await sub.nextN(3)).toEqual(chans.map((ch, i) => confirm("ssubscribe", ch, i + 1)));
      expect(await channelsOn(`${target}:shard:*`, true)).toEqual(chans.map((ch) => [ch]));
      for (const ch of chans) {
        expect(await io.call("SPUBLISH", ch, `s-${ch}`)).toBe(1);
        expect(await sub.next()).toBe(`*3\r\n${bulk("smessage")}${bulk(ch)}${bulk(`s-${ch}`)}`);
      }
      sub.send("GET", chans[0]!);
      expect(await sub.next()).toBe(notAllowed("get"));
      sub.send("SUNSUBSCRIBE", chans[1]!);
      expect(await sub.next()).toBe(confirm("sunsubscribe", chans[1]!, 2));
      expect(await channelsOn(`${target}:shard:*`, true)).toEqual([[chans[0]!], [], [chans[2]!]]);
      sub.send("SUNSUBSCRIBE");
      expect((await sub.nextN(2)).map((g) => /:(\d+)\r\n$/.exec(g)?.[1])).toEqual(["1", "0"]);
      expect(await channelsOn(`${target}:shard:*`, true)).toEqual([[], [], []]);
      sub.close();
    });

    it("PUBSUB CHANNELS / NUMSUB / NUMPAT through the proxy: merged over the servers", async () => {
      const pre = `${target}:merge:`;
      const [a, b, c] = await onePerServer(pre);
      const s1 = await Raw.open(port);
      const s2 = await Raw.open(port);
      s1.send("SUBSCRIBE", a!, b!, c!);
      await s1.nextN(3);
      s1.send("PSUBSCRIBE", `${pre}p1*`);
      await s1.next();
      s2.send("SUBSCRIBE", a!);
      await s2.next();
      s2.send("PSUBSCRIBE", `${pre}p1*`, `${pre}p2*`);
      await s2.nextN(2);

      const q = await Raw.open(port);
      q.send("PUBSUB", "CHANNELS", `${pre}*`);
      const chans = await q.next();
      const items = /^\*(\d+)\r\n/.exec(chans);
      expect(Number(items?.[1])).toBe(3);
      expect(
        chans
          .split("\r\n")
          .filter((l, i) => i > 0 && !l.startsWith("$") && l !== "")
          .sort(),
      ).toEqual([a!, b!, c!].sort());
      q.send("PUBSUB", "NUMSUB", a!, b!, c!, `${pre}none`);
      expect(await q.next()).toBe(`*8\r\n${bulk(a!)}:2\r\n${bulk(b!)}:1\r\n${bulk(c!)}:1\r\n${bulk(`${pre}none`)}:0\r\n`);
      q.send("PUBSUB", "NUMPAT");
      expect(await q.next()).toBe(":2\r\n");
      // what each backend says on its own, for comparison: a share each
      expect(await Promise.all(direct.map((d) => d.call("PUBSUB", "NUMSUB", a!, b!, c!)))).toEqual([
        [a!, 2, b!, 0, c!, 0],
        [a!, 0, b!, 1, c!, 0],
        [a!, 0, b!, 0, c!, 1],
      ]);
      // RESP3 (ioredis): NUMSUB merged as well
      expect(await io.call("PUBSUB", "NUMSUB", a!, b!)).toEqual([a!, 2, b!, 1]);
      for (const r of [s1, s2, q]) r.close();
    });

    it("RESP3 (HELLO 3): confirmations and messages are > pushes, and other commands run while subscribed", async () => {
      const pre = `${target}:r3:`;
      const [a, b] = await onePerServer(pre);
      const sub = await Raw.open(port);
      sub.send("HELLO", "3");
      expect(await sub.next()).toMatch(/^%\d+\r\n/);
      sub.send("SUBSCRIBE", a!, b!);
      expect(await sub.nextN(2)).toEqual([confirm("subscribe", a!, 1, true), confirm("subscribe", b!, 2, true)]);
      sub.send("SET", `${pre}k`, "v");
      expect(await sub.next()).toBe("+OK\r\n");
      sub.send("GET", `${pre}k`);
      expect(await sub.next()).toBe(bulk("v"));
      sub.send("GET", `${pre}missing`);
      expect(await sub.next()).toBe("_\r\n");
      sub.send("PING");
      expect(await sub.next()).toBe("+PONG\r\n");
      expect(await io.publish(b!, "hi")).toBe(1);
      expect(await sub.next()).toBe(message(b!, "hi", true));
      sub.send("UNSUBSCRIBE");
      expect((await sub.nextN(2)).map((g) => /^>3\r\n\$11\r\nunsubscribe\r\n.*:(\d+)\r\n$/s.exec(g)?.[1])).toEqual(["1", "0"]);
      sub.send("UNSUBSCRIBE");
      expect(await sub.next()).toBe(confirm("unsubscribe", null, 0, true));
      expect(await channelsOn(`${pre}*`)).toEqual([[], [], []]);
      await io.del(`${pre}k`);
      sub.close();
    });
  });

  // -------------------------------------------------------------------------------------------
  describe("pub/sub with real clients", () => {
    it("1,000 idle subscribers (raw sockets, one channel each): every confirmation, one message each, RSS per subscriber", async () => {
      const pre = `${target}:idle:`;
      const N = 1000;
      const pid = proxy.proc.pid!;
      await sleep(500); // let what the tests before left settle
      const before = rssKb(pid);
      const subs: Raw[] = [];
      try {
        const confirms: string[] = [];
        for (let i = 0; i < N; i += 50) {
          const batch = await Promise.all(Array.from({ length: Math.min(50, N - i) }, () => Raw.open(port)));
          subs.push(...batch);
          const got = await Promise.all(
            batch.map((r, j) => {
              r.send("SUBSCRIBE", `${pre}${i + j}`);
              return r.next(10_000);
            }),
          );
          confirms.push(...got);
        }
        expect(confirms.filter((c, i) => c === confirm("subscribe", `${pre}${i}`, 1)).length).toBe(N);
        const after = rssKb(pid);
        // one pinned connection per subscriber, on its channel's server
        const lists = await Promise.all(direct.map((_, i) => clientList(i)));
        expect(lists.map((l) => l.filter((r) => r.sub === "1").length).reduce((a, b) => a + b, 0)).toBe(N);

        const p = io.pipeline();
        for (let i = 0; i < N; i++) p.publish(`${pre}${i}`, `m-${i}`);
        const replies = (await p.exec())!.map(([e, v]) => e?.message ?? v);
        expect(histogram(replies)).toEqual({ 1: N });
        const msgs = await Promise.all(subs.map((r) => r.next(10_000)));
        expect(msgs.filter((m, i) => m === message(`${pre}${i}`, `m-${i}`)).length).toBe(N);

        const perSub = ((after - before) * 1024) / N;
        console.log(
          `pinned-figure: ${target} ${N} idle subscribers: proxy RSS ${(before / 1024).toFixed(1)} -> ${(after / 1024).toFixed(1)} MiB, ` +
            `${(perSub / 1024).toFixed(1)} KiB per subscriber (its client socket and one pinned connection)`,
        );
      } finally {
        for (const r of subs) r.close();
      }
    });

    it("ioredis, node-redis and redis-py at their defaults: 1,000 channels, 10 subscribers + 2 pattern subscribers, 3 publishers: each message once per subscriber, in publish order per channel", async () => {
      const pre = `${target}:load:`;
      const N = 1000;
      const ROUNDS = 2;
      const TOTAL = N * ROUNDS * PUBLISHERS.length;
      const channels = Array.from({ length: N }, (_, i) => `${pre}${i}`);
      const errors: string[] = [];
      const closers: (() => void)[] = [];
      const pys: Py[] = [];
      try {
        // 4 ioredis + 3 node-redis + 3 redis-py on every channel; ioredis + redis-py on the pattern
        const got: { name: string; msgs: Map<string, string[]> }[] = [];
        const add = (name: string) => {
          const msgs = new Map<string, string[]>();
          got.push({ name, msgs });
          return (ch: string, m: string) => {
            const l = msgs.get(ch);
            if (l === undefined) msgs.set(ch, [m]);
            else l.push(m);
          };
        };
        // One subscriber after another, and publishers with 100 PUBLISH in flight each: the pool's
        // `timeout: 400` holds for the shared connections and a pinned one's HELLO 3, and on this
        // 2-core machine a burst (2,000 PUBLISH at once per publisher while 72,000 messages fan
        // out, or eleven 1,000-channel SUBSCRIBEs while four pythons start) can take longer.
        for (let i = 0; i < 3; i++) pys.push(py(["sub", String(port), pre, String(N), String(TOTAL)]));
        pys.push(py(["psub", String(port), `${pre}*`, String(TOTAL)]));
        const ready = await within(30_000, "redis-py READY", Promise.all(pys.map((p) => p.ready())));
        expect(ready, pys.map((p) => p.err()).join("\n")).toEqual([true, true, true, true]);
        for (let i = 0; i < 4; i++) {
          const r = new Redis(port, "127.0.0.1");
          r.on("error", (e: Error) => errors.push(`ioredis: ${e.message}`));
          closers.push(() => r.disconnect());
          const rec = add(`ioredis#${i}`);
          r.on("message", (ch: string, m: string) => rec(ch, m));
          expect(await within(15_000, "ioredis subscribe", r.subscribe(...channels))).toBe(N);
        }
        for (let i = 0; i < 3; i++) {
          const c = createClient({ socket: { host: "127.0.0.1", port } });
          c.on("error", (e: Error) => errors.push(`node-redis: ${e.message}`));
          closers.push(() => c.destroy());
          const rec = add(`node-redis#${i}`);
          await within(15_000, "node-redis connect", c.connect());
          await within(15_000, "node-redis subscribe", c.subscribe(channels, (m: string, ch: string) => rec(ch, m)));
        }
        const psub = new Redis(port, "127.0.0.1");
        psub.on("error", (e: Error) => errors.push(`ioredis psub: ${e.message}`));
        closers.push(() => psub.disconnect());
        const prec = add("ioredis pattern");
        psub.on("pmessage", (_p: string, ch: string, m: string) => prec(ch, m));
        expect(await within(15_000, "ioredis psubscribe", psub.psubscribe(`${pre}*`))).toBe(1);

        // every channel on one backend, every backend with a share; 10 subscribers each, the pattern once
        const on = await channelsOn(`${pre}*`);
        expect(on.flat().sort()).toEqual([...channels].sort());
        for (const l of on) expect(l.length, `channels per backend: ${on.map((x) => x.length).join(" ")}`).toBeGreaterThan(N / 10);
        const numsub = (await io.call("PUBSUB", "NUMSUB", ...channels)) as (string | number)[];
        expect(histogram(numsub.filter((_, i) => i % 2 === 1))).toEqual({ 10: N });
        expect(await io.call("PUBSUB", "NUMPAT")).toBe(1);

        // 3 publishers at once, each round by round over the channels
        const ioPub = new Redis(port, "127.0.0.1");
        ioPub.on("error", (e: Error) => errors.push(`ioredis pub: ${e.message}`));
        closers.push(() => ioPub.disconnect());
        const nrPub = createClient({ socket: { host: "127.0.0.1", port } });
        nrPub.on("error", (e: Error) => errors.push(`node-redis pub: ${e.message}`));
        closers.push(() => nrPub.destroy());
        await nrPub.connect();
        // pipelined 100 at a time (each window's commands written in one go, in order)
        const publish = async (f: (ch: string, m: string) => Promise<number>, who: string) => {
          const out: number[] = [];
          for (let r = 0; r < ROUNDS; r++) {
            for (let i = 0; i < N; i += 100) {
              const win: Promise<number>[] = [];
              for (let j = i; j < Math.min(N, i + 100); j++) win.push(f(channels[j]!, `${who}:${r}:${j}`));
              out.push(...(await Promise.all(win)));
            }
          }
          return out;
        };
        const pyPub = py(["pub", String(port), pre, String(N), String(ROUNDS), "py"]);
        const [ioReplies, nrReplies, pyDone] = await within(
          60_000,
          "publishers",
          Promise.all([publish((ch, m) => ioPub.publish(ch, m), "io"), publish((ch, m) => nrPub.publish(ch, m), "nr"), pyPub.done()]),
        );
        // each PUBLISH reached the 10 subscribers and the 2 pattern subscribers
        expect(histogram(ioReplies)).toEqual({ 12: N * ROUNDS });
        expect(histogram(nrReplies)).toEqual({ 12: N * ROUNDS });
        expect(pyDone.code, pyPub.err()).toBe(0);
        expect(pyDone.json[0]).toEqual({ replies: { 12: N * ROUNDS } });

        const pyResults = await within(60_000, "redis-py subscribers", Promise.all(pys.map((p) => p.done())));
        pys.forEach((p, i) => {
          expect(pyResults[i]!.code, p.err()).toBe(0);
          const [first, second] = pyResults[i]!.json;
          // RESP2 confirmations counted over the three servers: 1..N for the channels
          expect(first).toEqual({ confirms: i < 3 ? Array.from({ length: N }, (_, k) => k + 1) : [1] });
          expect(second?.kinds).toEqual([i < 3 ? "message" : "pmessage"]);
          got.push({ name: `redis-py${i < 3 ? `#${i}` : " pattern"}`, msgs: new Map(Object.entries((second?.messages ?? {}) as Record<string, string[]>)) });
        });
        const allIn = await eventually(30_000, () => got.every((g) => [...g.msgs.values()].reduce((n, l) => n + l.length, 0) >= TOTAL));
        expect(allIn, got.map((g) => `${g.name}: ${[...g.msgs.values()].reduce((n, l) => n + l.length, 0)}`).join(", ")).toBe(true);
        await sleep(200); // anything extra would arrive now

        const ref = got[0]!.msgs;
        const clean: Delivery = { total: TOTAL, wrongChannel: 0, duplicates: 0, missing: 0, outOfOrder: 0, differs: 0 };
        expect(Object.fromEntries(got.map((g) => [g.name, deliverySummary(g.msgs, pre, N, ROUNDS, ref)]))).toEqual(
          Object.fromEntries(got.map((g) => [g.name, clean])),
        );
        // the pattern subscribers got every server's channels
        const patterned = got.filter((x) => x.name.includes("pattern"));
        expect(patterned.map((g) => g.name)).toEqual(["ioredis pattern", "redis-py pattern"]);
        for (const g of patterned) {
          expect(on.map((l) => l.filter((ch) => g.msgs.has(ch)).length)).toEqual(on.map((l) => l.length));
        }
        expect(errors).toEqual([]);
      } finally {
        for (const c of closers) c();
        for (const p of pys) p.child.kill("SIGKILL");
      }
    });
  });

  // -------------------------------------------------------------------------------------------
  describe("blocking commands", () => {
    it(`BLPOP waits 2 s for a producer on another client: the pool's timeout (${POOL_TIMEOUT} ms) does not cut it`, async () => {
      const k = `${target}:bl:{w}list`;
      const c = await Raw.open(port);
      const t0 = performance.now();
      c.send("BLPOP", k, "10");
      expect(await c.pending(2000)).toBe("");
      expect(await io.rpush(k, "v1")).toBe(1);
      expect(await c.next()).toBe(arr(bulk(k), bulk("v1")));
      expect(performance.now() - t0).toBeGreaterThan(1900);
      // the connection serves the next request as usual
      c.send("GET", `${target}:bl:nokey`);
      expect(await c.next()).toBe("$-1\r\n");
      c.close();
    });

    it("BLPOP k 0 woken after 1 s; BLPOP k 1 answers redis's own nil after 1 s", async () => {
      const k = `${target}:bl0:{z}list`;
      const c = await Raw.open(port);
      c.send("BLPOP", k, "0");
      expect(await c.pending(1000)).toBe("");
      await io.lpush(k, "woke");
      expect(await c.next()).toBe(arr(bulk(k), bulk("woke")));
      const t0 = performance.now();
      c.send("BLPOP", k, "1");
      expect(await c.next(5000)).toBe("*-1\r\n");
      expect(performance.now() - t0).toBeGreaterThan(900);
      c.close();
    });

    it("BRPOPLPUSH and BLMOVE with both keys on one server by a hash tag", async () => {
      const src = `${target}:mv:{m}src`;
      const dst = `${target}:mv:{m}dst`;
      const dst2 = `${target}:mv:{m}dst2`;
      const c = await Raw.open(port);
      c.send("BRPOPLPUSH", src, dst, "0");
      expect(await c.pending(600)).toBe("");
      await io.rpush(src, "one");
      expect(await c.next()).toBe(bulk("one"));
      c.send("BLMOVE", src, dst2, "LEFT", "RIGHT", "0");
      expect(await c.pending(600)).toBe("");
      await io.rpush(src, "two");
      expect(await c.next()).toBe(bulk("two"));
      const lists = await Promise.all(direct.map(async (d) => [await d.lrange(dst, 0, -1), await d.lrange(dst2, 0, -1)]));
      expect(lists.filter(([a, b]) => a!.length > 0 || b!.length > 0)).toEqual([[["one"], ["two"]]]);
      await io.del(dst, dst2);
      c.close();
    });

    it("keys on two servers: -ERR use a hash tag, and nothing is sent (commandstats)", async () => {
      const [a, b] = await onePerServer(`${target}:xb:`);
      const names = ["blpop", "brpop", "brpoplpush", "blmove", "blmpop"];
      const before = await Promise.all(names.map((n) => calls(n)));
      const c = await Raw.open(port);
      c.send("BLPOP", a!, b!, "0");
      expect(await c.next()).toBe(CROSS_BLOCK);
      c.send("BRPOP", a!, b!, "0");
      expect(await c.next()).toBe(CROSS_BLOCK);
      c.send("BRPOPLPUSH", a!, b!, "0");
      expect(await c.next()).toBe(CROSS_BLOCK);
      c.send("BLMOVE", a!, b!, "LEFT", "RIGHT", "0");
      expect(await c.next()).toBe(CROSS_BLOCK);
      c.send("BLMPOP", "0", "2", a!, b!, "LEFT");
      expect(await c.next()).toBe(CROSS_BLOCK);
      expect(await Promise.all(names.map((n) => calls(n)))).toEqual(before);
      // the control: the same counter moves by one for a blocking pop that is sent
      c.send("BLPOP", a!, "0.1");
      expect(await c.next()).toBe("*-1\r\n");
      const blpop = await calls("blpop");
      expect(blpop.map((n, i) => n - before[0]![i]!)).toEqual([1, 0, 0]);
      c.close();
    });

    it("while one client blocks, other clients' GET/SET to the same server are answered at once", async () => {
      const k = `${target}:hold:{h}list`;
      const blocked = await Raw.open(port);
      blocked.send("BLPOP", k, "0");
      expect(await blocked.pending(200)).toBe("");
      // RESP2 (the blocked client's protocol) and RESP3 (ioredis), same hash tag: same server
      const other = await Raw.open(port);
      for (let i = 0; i < 20; i++) other.send("SET", `${target}:hold:{h}k${i}`, `v${i}`).send("GET", `${target}:hold:{h}k${i}`);
      expect(await other.nextN(40, 2000)).toEqual(Array.from({ length: 20 }, (_, i) => ["+OK\r\n", bulk(`v${i}`)]).flat());
      expect(await within(2000, "ioredis GET", io.get(`${target}:hold:{h}k3`))).toBe("v3");
      // all answered while the block is still on (a held shared connection would have answered
      // nothing before the push below, or timed them out after the pool's 400 ms)
      expect(await blocked.pending(0)).toBe("");
      await io.rpush(k, "late");
      expect(await blocked.next()).toBe(arr(bulk(k), bulk("late")));
      await io.del(...Array.from({ length: 20 }, (_, i) => `${target}:hold:{h}k${i}`));
      blocked.close();
      other.close();
    });
  });

  // -------------------------------------------------------------------------------------------
  describe("transactions", () => {
    it("ioredis multi().set().incr().exec() with a hash tag: the results, run as one MULTI/EXEC on the tag's server", async () => {
      const a = `${target}:tx:{t}a`;
      const b = `${target}:tx:{t}b`;
      const execBefore = await calls("exec");
      const r = new Redis(port, "127.0.0.1");
      r.on("error", () => undefined);
      try {
        expect(await within(5000, "multi/exec", r.multi().set(a, "va").incr(b).exec())).toEqual([
          [null, "OK"],
          [null, 1],
        ]);
        const on = await storedOn([a, b]);
        expect(on[0]).toBeGreaterThanOrEqual(0);
        expect(on[1]).toBe(on[0]);
        const execAfter = await calls("exec");
        expect(execAfter.map((n, i) => n - execBefore[i]!)).toEqual([0, 1, 2].map((s) => (s === on[0] ? 1 : 0)));
        expect(await direct[on[0]!]!.mget(a, b)).toEqual(["va", "1"]);
      } finally {
        r.disconnect();
        await io.del(a, b);
      }
    });

    it("WATCH, then a write from another client: EXEC answers a nil array; unwritten, it runs", async () => {
      const k = `${target}:watch:{w}k`;
      const w = new Redis(port, "127.0.0.1");
      w.on("error", () => undefined);
      try {
        await io.set(k, "0");
        expect(await w.watch(k)).toBe("OK");
        expect(await io.set(k, "theirs")).toBe("OK");
        expect(await w.multi().set(k, "mine").exec()).toBeNull();
        expect(await io.get(k)).toBe("theirs");
        expect(await w.watch(k)).toBe("OK");
        expect(await w.multi().set(k, "mine").exec()).toEqual([[null, "OK"]]);
        expect(await io.get(k)).toBe("mine");
        // raw: the nil array itself
        const c = await Raw.open(port);
        c.send("WATCH", k);
        expect(await c.next()).toBe("+OK\r\n");
        await io.set(k, "again");
        c.send("MULTI").send("SET", k, "raw").send("EXEC");
        expect(await c.nextN(3)).toEqual(["+OK\r\n", "+QUEUED\r\n", "*-1\r\n"]);
        c.close();
      } finally {
        w.disconnect();
        await io.del(k);
      }
    });

    it("a key on another server inside MULTI: -ERR use a hash tag, then EXEC answers EXECABORT and nothing ran", async () => {
      const [a, b] = await onePerServer(`${target}:xtx:`);
      const c = await Raw.open(port);
      c.send("MULTI").send("SET", a!, "1").send("SET", b!, "2").send("EXEC");
      expect(await c.nextN(4)).toEqual(["+OK\r\n", "+QUEUED\r\n", CROSS_TX, EXECABORT]);
      expect(await storedOn([a!, b!])).toEqual([-1, -1]);
      // WATCH over two servers is refused the same way
      c.send("WATCH", a!, b!);
      expect(await c.next()).toBe(CROSS_TX);
      // and the connection goes on: a clean transaction on one server
      c.send("MULTI").send("SET", a!, "1").send("EXEC");
      expect(await c.nextN(3)).toEqual(["+OK\r\n", "+QUEUED\r\n", arr("+OK\r\n")]);
      expect(await storedOn([a!])).toEqual([0]);
      await io.del(a!);
      c.close();
    });

    it("MULTI then EXEC: an empty array; DISCARD: +OK; nested MULTI, EXEC and DISCARD without MULTI: their errors", async () => {
      const c = await Raw.open(port);
      c.send("MULTI").send("EXEC");
      expect(await c.nextN(2)).toEqual(["+OK\r\n", "*0\r\n"]);
      c.send("MULTI").send("SET", `${target}:d:{d}k`, "1").send("DISCARD");
      expect(await c.nextN(3)).toEqual(["+OK\r\n", "+QUEUED\r\n", "+OK\r\n"]);
      expect((await storedOn([`${target}:d:{d}k`]))[0]).toBe(-1);
      c.send("MULTI").send("MULTI");
      expect(await c.nextN(2)).toEqual(["+OK\r\n", "-ERR MULTI calls can not be nested\r\n"]);
      c.send("DISCARD");
      expect(await c.next()).toBe("+OK\r\n");
      c.send("EXEC");
      expect(await c.next()).toBe("-ERR EXEC without MULTI\r\n");
      c.send("DISCARD");
      expect(await c.next()).toBe("-ERR DISCARD without MULTI\r\n");
      c.close();
    });
  });

  // -------------------------------------------------------------------------------------------
  describe("accounting", () => {
    it("the pinned connections leave the backends' CLIENT LIST with their clients; the shared ones stay", async () => {
      const [a, b, c] = await onePerServer(`${target}:acct:`);
      // the shared connections exist first: RESP2 and RESP3, to every server
      const warm = await Raw.open(port);
      for (const k of [a!, b!, c!]) warm.send("GET", k);
      expect(await warm.nextN(3)).toEqual(["$-1\r\n", "$-1\r\n", "$-1\r\n"]);
      for (const k of [a!, b!, c!]) expect(await io.get(k)).toBeNull();
      const idsOf = async () => Promise.all(direct.map(async (_, i) => new Set((await clientList(i)).map((r) => r.id!))));
      const shared = await idsOf();

      const sub = await Raw.open(port); // one pinned connection per server
      sub.send("SUBSCRIBE", a!, b!, c!);
      await sub.nextN(3);
      const blocker = await Raw.open(port); // one, on a's server
      blocker.send("BLPOP", a!, "0");
      const tx = await Raw.open(port); // one, on b's server
      tx.send("MULTI").send("SET", b!, "1");
      expect(await tx.nextN(2)).toEqual(["+OK\r\n", "+QUEUED\r\n"]);
      const watcher = await Raw.open(port); // one, on c's server
      watcher.send("WATCH", c!);
      expect(await watcher.next()).toBe("+OK\r\n");
      expect(await blocker.pending(100)).toBe("");

      const added = async () => (await idsOf()).map((ids, i) => [...ids].filter((id) => !shared[i]!.has(id)).length);
      expect(await added()).toEqual([2, 2, 2]);
      // the blocked pop answered: its connection stays with its client until the client leaves
      await io.rpush(a!, "w");
      expect(await blocker.next()).toBe(arr(bulk(a!), bulk("w")));
      expect(await added()).toEqual([2, 2, 2]);
      for (const r of [sub, blocker, tx, watcher]) r.close();
      warm.close();
      let now: Set<string>[] = [];
      const back = await eventually(5000, async () => {
        now = await idsOf();
        return now.every((ids, i) => ids.size === shared[i]!.size && [...ids].every((id) => shared[i]!.has(id)));
      });
      expect(back, `connections per backend ${now.map((s) => s.size).join(" ")}, before ${shared.map((s) => s.size).join(" ")}`).toBe(true);
      expect(await storedOn([b!])).toEqual([-1]); // the unfinished MULTI never ran
    });

    it("pinned_connections: 2 refuses a third concurrent blocking client on that server, and serves again once one leaves", async () => {
      const k = (i: number) => `${target}:cap:{c}k${i}`;
      const held: Raw[] = [];
      try {
        for (const i of [1, 2]) {
          const r = await Raw.open(twoPort);
          r.send("BLPOP", k(i), "0");
          held.push(r);
        }
        expect(await held[1]!.pending(200)).toBe("");
        expect(await held[0]!.pending(0)).toBe("");
        const third = await Raw.open(twoPort);
        third.send("BLPOP", k(3), "0");
        expect(await third.next()).toBe(NO_PIN);
        // a subscription to that server is refused the same way
        third.send("SUBSCRIBE", `${target}:cap:{c}chan`);
        expect(await third.next()).toBe(NO_PIN);
        // the connection is fine for the rest
        third.send("SET", k(9), "x");
        expect(await third.next()).toBe("+OK\r\n");
        held.push(third);

        // another server still has room
        const [tagOn] = await storedOn([k(9)]);
        const [other] = (await onePerServer(`${target}:cap2:`)).filter((_, s) => s !== tagOn);
        const fourth = await Raw.open(twoPort);
        held.push(fourth);
        fourth.send("BLPOP", other!, "0.1");
        expect(await fourth.next()).toBe("*-1\r\n");

        // one is answered and leaves: its connection is given back
        await io.rpush(k(1), "for-1");
        expect(await held[0]!.next()).toBe(arr(bulk(k(1)), bulk("for-1")));
        held[0]!.close();
        const fifth = await Raw.open(twoPort);
        held.push(fifth);
        const free = await eventually(3000, async () => {
          fifth.send("BLPOP", k(5), "0.2");
          return (await fifth.next()) === "*-1\r\n";
        });
        expect(free).toBe(true);
        await io.rpush(k(2), "for-2");
        expect(await held[1]!.next()).toBe(arr(bulk(k(2)), bulk("for-2")));
        await io.del(k(9));
      } finally {
        for (const r of held) r.close();
      }
    });

    it("error_replies: false closes on SUBSCRIBE, MULTI and BLPOP, as twemproxy 0.5.0 does", async () => {
      const names = ["subscribe", "psubscribe", "multi", "blpop", "watch"];
      const before = await Promise.all(names.map((n) => calls(n)));
      for (const cmd of [["SUBSCRIBE", `${target}:strict:ch`], ["MULTI"], ["BLPOP", `${target}:strict:k`, "0"], ["PSUBSCRIBE", "x*"], ["WATCH", "k"]]) {
        const got = await exchange(strictPort, resp(...cmd), { timeoutMs: 5000 });
        expect(got.toString(), cmd.join(" ")).toBe("");
      }
      // the pool itself serves ordinary commands
      const c = await Raw.open(strictPort);
      c.send("GET", `${target}:strict:k`);
      expect(await c.next()).toBe("$-1\r\n");
      c.close();
      // nothing of them reached a backend
      expect(await Promise.all(names.map((n) => calls(n)))).toEqual(before);
    });
  });

  // -------------------------------------------------------------------------------------------
  // on a proxy of their own: what goes wrong here must not spill into the other tests
  describe("a client that goes away while blocked", () => {
    let own: Running;
    let ownPort = 0;
    beforeAll(async () => {
      ownPort = await freePort();
      const servers = backends.map((b, i) => `   - 127.0.0.1:${b.port}:1 r${i + 1}\n`).join("");
      const conf = writeConf(
        `main:\n  listen: 127.0.0.1:${ownPort}\n  hash: md5\n  distribution: ketama\n  redis: true\n  hash_tag: "{}"\n  timeout: ${POOL_TIMEOUT}\n  servers:\n${servers}`,
      );
      own = await startProxy(target, ["-c", conf, "-s", String(await freePort())], ownPort);
    });
    afterAll(async () => {
      const code = await own?.stop();
      expect(code, own?.stderr()).toBe(0);
    });

    it("closed with a FIN (a library's disconnect): its pinned connection closes, and the next push stays for the next consumer", async () => {
      const k = `${target}:gone:{f}list`;
      const c = await Raw.open(ownPort);
      c.send("BLPOP", k, "0");
      expect(await c.pending(200)).toBe("");
      expect((await pinnedLeft()).length).toBe(1);
      c.sock.end(); // FIN, as ioredis.disconnect() or a process exit with nothing unread
      try {
        let left: string[] = [];
        const gone = await eventually(3000, async () => (left = await pinnedLeft()).length === 0);
        // soft: what it costs is checked next, either way
        expect.soft(gone, `still on the backends: ${left.join(" | ")}`).toBe(true);
        const p = await Raw.open(ownPort);
        p.send("RPUSH", k, "precious").send("LLEN", k);
        expect(await p.nextN(2)).toEqual([":1\r\n", ":1\r\n"]); // not popped by a client that is gone
        p.close();
      } finally {
        c.close();
        await io.rpush(k, "wake"); // whatever still blocks takes this and goes
        await io.del(k);
      }
    });

    it("reset (RST): its pinned connection closes, and the next clients' requests are answered", async () => {
      const k = `${target}:gone:{r}list`;
      const c = await Raw.open(ownPort);
      c.send("BLPOP", k, "0");
      expect(await c.pending(200)).toBe("");
      c.sock.resetAndDestroy();
      try {
        let left: string[] = [];
        const gone = await eventually(3000, async () => (left = await pinnedLeft()).length === 0);
        expect(gone, `still on the backends: ${left.join(" | ")}`).toBe(true);
        for (let i = 0; i < 3; i++) {
          const p = await Raw.open(ownPort);
          p.send("RPUSH", k, `v${i}`).send("PING");
          expect(await p.nextN(2, 3000), `client ${i} after the reset`).toEqual([`:${i + 1}\r\n`, "+PONG\r\n"]);
          p.close();
        }
      } finally {
        await io.rpush(k, "wake");
        await io.del(k);
      }
    });
  });

  // -------------------------------------------------------------------------------------------
  describe("a subscriber's redis killed", () => {
    it("kill -9: its subscribed clients are closed, others keep their messages; ioredis resubscribes once the redis is back", async () => {
      const pre = `${target}:kill:`;
      const chans = await onePerServer(pre);
      const K = 1; // the backend killed
      const [ok1, ok2] = [0, 2];
      const onK = await Raw.open(port);
      onK.send("SUBSCRIBE", chans[K]!);
      await onK.next();
      const mixed = await Raw.open(port); // on K and another
      mixed.send("SUBSCRIBE", chans[ok1]!, chans[K]!);
      await mixed.nextN(2);
      const pattern = await Raw.open(port); // a pattern is on every server, K too
      pattern.send("PSUBSCRIBE", `${pre}*`);
      await pattern.next();
      const others = await Raw.open(port); // only on the servers that stay
      others.send("SUBSCRIBE", chans[ok1]!, chans[ok2]!);
      expect(await others.nextN(2)).toEqual([confirm("subscribe", chans[ok1]!, 1), confirm("subscribe", chans[ok2]!, 2)]);
      const events: string[] = [];
      const ioSub = new Redis(port, "127.0.0.1");
      ioSub.on("error", (e: Error) => events.push(`error ${e.message}`));
      for (const e of ["close", "ready"]) ioSub.on(e, () => events.push(e));
      const ioGot: string[] = [];
      ioSub.on("message", (ch: string, m: string) => ioGot.push(`${ch} ${m}`));
      expect(await ioSub.subscribe(chans[K]!)).toBe(1);

      const killedPort = backends[K]!.port;
      try {
        backends[K]!.proc.kill("SIGKILL");
        await backends[K]!.stop();
        expect(await onK.closesWithin(3000)).toBe(true);
        expect(await mixed.closesWithin(3000)).toBe(true);
        expect(await pattern.closesWithin(3000)).toBe(true);
        expect(others.closed).toBe(false);
        for (const ch of [chans[ok1]!, chans[ok2]!]) {
          expect(await io.publish(ch, `after-${ch}`)).toBe(1);
          expect(await others.next()).toBe(message(ch, `after-${ch}`));
        }
        others.send("PING");
        expect(await others.next()).toBe(arr(bulk("pong"), bulk("")));
        expect(await eventually(3000, () => events.includes("close"))).toBe(true);

        // the same redis back on its port: ioredis reconnects and resubscribes by itself
        backends[K] = await startRedis([], killedPort);
        const back = await eventually(15_000, async () => ((await direct[K]!.call("PUBSUB", "NUMSUB", chans[K]!)) as unknown[])[1] === 1);
        expect(back, events.join(" | ")).toBe(true);
        expect(await io.publish(chans[K]!, "back")).toBe(1);
        expect(await eventually(3000, () => ioGot.includes(`${chans[K]} back`))).toBe(true);
        expect(others.closed).toBe(false);
      } finally {
        ioSub.disconnect();
        for (const r of [onK, mixed, pattern, others]) r.close();
        if (backends[K]!.proc.exitCode !== null || backends[K]!.proc.signalCode !== null) backends[K] = await startRedis([], killedPort);
      }
    });
  });
});
