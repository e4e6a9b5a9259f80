// The cache server's log end to end: kill -9 under a write load loses no acknowledged set (Node, Bun, Deno), a damaged tail stops the start until --repair, compaction under load keeps everything.

import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT, RUNTIMES, type Target, TARGETS } from "../helpers/proxy.ts";
import { freePort, waitForPort } from "../helpers/runtimes.ts";

const dir = mkdtempSync(join(tmpdir(), "nc-persist-"));
const started: ChildProcess[] = [];
afterAll(() => {
  for (const p of started) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

interface Server {
  readonly proc: ChildProcess;
  readonly port: number;
  stderr(): string;
  /** Resolves with the exit code (null after a signal). */
  readonly exited: Promise<number | null>;
}

/** Start `nutcracker cache` under `target` on a free port, with the log at `aof`; wait until it listens. */
async function startCache(target: Target, aof: string, extra: string[] = []): Promise<Server> {
  const port = await freePort();
  const s = spawnCache(target, ["--listen", "127.0.0.1", "--port", String(port), "--aof", aof, ...extra], port);
  const up = waitForPort("127.0.0.1", port, 30_000).then(() => true);
  const down = s.exited.then(() => false);
  if (!(await Promise.race([up, down]))) throw new Error(`cache server exited before listening:\n${s.stderr()}`);
  return s;
}

/**
 * Start again after a kill -9. The kernel may have cut the last write short when the signal
 * came (a torn record: never acknowledged, since its reply waits for the write). The server
 * then refuses to start, as it must for any damaged tail; only a torn tail is accepted here, and
 * --repair must drop just that record.
 */
async function restartAfterKill(target: Target, aof: string, extra: string[]): Promise<Server> {
  try {
    return await startCache(target, aof, extra);
  } catch (e) {
    const msg = (e as Error).message;
    expect(msg).toMatch(/damaged tail at offset \d+, \d+ bytes? \(1 record\): torn record/);
    const r = await startCache(target, aof, [...extra, "--repair"]);
    expect(r.stderr()).toMatch(/dropped|repair/i);
    return r;
  }
}

function spawnCache(target: Target, args: string[], port: number): Server {
  const [cmd, ...rest] = TARGETS[target](["cache", ...args]);
  const proc = spawn(cmd as string, rest, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  started.push(proc);
  let err = "";
  proc.stderr?.on("data", (d: Buffer) => (err += d.toString()));
  proc.stdout?.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  return { proc, port, stderr: () => err, exited };
}

async function kill9(s: Server): Promise<void> {
  s.proc.kill("SIGKILL");
  await s.exited;
}

async function stop(s: Server): Promise<void> {
  s.proc.kill("SIGTERM");
  const t = setTimeout(() => s.proc.kill("SIGKILL"), 10_000);
  await s.exited;
  clearTimeout(t);
}

/**
 * Sets pipelined `depth` deep on one connection until stopped or the server goes. Keys are
 * `prefix:<n % keyspace>`, values `<n>:` and padding, so each key's recovered value says which
 * write it is: at least the last one acknowledged (STORED received), at most the last one sent.
 */
class Writer {
  readonly sent = new Map<string, number>();
  readonly acked = new Map<string, number>();
  ackCount = 0;
  private readonly sock: Socket;
  private readonly inflight: [string, number][] = [];
  private next = 0;
  private buf = "";
  private stopped = false;
  private readonly prefix: string;
  private readonly keyspace: number;
  private readonly depth: number;
  private readonly pad: string;
  readonly done: Promise<void>;

  constructor(port: number, prefix: string, keyspace: number, depth: number, pad: string) {
    this.prefix = prefix;
    this.keyspace = keyspace;
    this.depth = depth;
    this.pad = pad;
    this.sock = connect({ host: "127.0.0.1", port });
    this.sock.setNoDelay(true);
    this.done = new Promise((resolve) => {
      this.sock.on("close", () => resolve());
      this.sock.on("error", () => {});
    });
    this.sock.on("connect", () => this.batch());
    this.sock.on("data", (d: Buffer) => this.onData(d));
  }

  stop(): void {
    this.stopped = true;
  }

  private batch(): void {
    if (this.stopped) {
      this.sock.end();
      return;
    }
    let out = "";
    for (let i = 0; i < this.depth; i++) {
      const n = this.next++;
      const key = `${this.prefix}:${n % this.keyspace}`;
      const value = `${n}:${this.pad}`;
      out += `set ${key} 0 0 ${value.length}\r\n${value}\r\n`;
      this.sent.set(key, n);
      this.inflight.push([key, n]);
    }
    this.sock.write(out);
  }

  private onData(d: Buffer): void {
    this.buf += d.toString("latin1");
    let i: number;
    while ((i = this.buf.indexOf("\r\n")) >= 0) {
      const line = this.buf.slice(0, i);
      this.buf = this.buf.slice(i + 2);
      const w = this.inflight.shift();
      if (w === undefined || line !== "STORED") throw new Error(`unexpected reply "${line}" for ${w?.[0]}`);
      this.acked.set(w[0], w[1]);
      this.ackCount++;
    }
    if (this.inflight.length === 0) this.batch();
  }
}

/** get `keys` (in batches of 100) and return each found key's value. */
function getMany(port: number, keys: readonly string[]): Promise<Map<string, string>> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: "127.0.0.1", port });
    const got = new Map<string, string>();
    let buf = Buffer.alloc(0);
    let batches = 0;
    for (let i = 0; i < keys.length; i += 100) {
      sock.write(`get ${keys.slice(i, i + 100).join(" ")}\r\n`);
      batches++;
    }
    if (batches === 0) {
      sock.destroy();
      resolve(got);
      return;
    }
    sock.on("error", reject);
    sock.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const e = buf.indexOf("\r\n");
        if (e < 0) return;
        const line = buf.subarray(0, e).toString("latin1");
        if (line === "END") {
          buf = buf.subarray(e + 2);
          if (--batches === 0) {
            sock.destroy();
            resolve(got);
            return;
          }
          continue;
        }
        const m = /^VALUE (\S+) \d+ (\d+)$/.exec(line);
        if (m === null) {
          reject(new Error(`unexpected reply line "${line}"`));
          sock.destroy();
          return;
        }
        const n = Number(m[2]);
        if (buf.length < e + 2 + n + 2) return;
        got.set(m[1] as string, buf.subarray(e + 2, e + 2 + n).toString("latin1"));
        buf = buf.subarray(e + 2 + n + 2);
      }
    });
  });
}

/** Every key a writer had acknowledged holds that write or a later one it sent. */
async function checkWriters(port: number, writers: readonly Writer[]): Promise<number> {
  let checked = 0;
  for (const w of writers) {
    const got = await getMany(port, [...w.sent.keys()]);
    for (const [key, sent] of w.sent) {
      const v = got.get(key);
      const acked = w.acked.get(key);
      if (v === undefined) {
        expect(acked, `${key}: acknowledged as write ${acked}, missing after the restart`).toBeUndefined();
        continue;
      }
      const n = Number(v.slice(0, v.indexOf(":")));
      expect(n, `${key}: holds write ${n}, acknowledged ${acked}`).toBeGreaterThanOrEqual(acked ?? 0);
      expect(n, `${key}: holds write ${n}, never sent beyond ${sent}`).toBeLessThanOrEqual(sent);
      checked++;
    }
  }
  return checked;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Run `writers` until together they have `acks` acknowledgements (or `ms` passed). */
async function loadUntil(writers: readonly Writer[], acks: number, ms: number): Promise<void> {
  const t0 = Date.now();
  while (writers.reduce((a, w) => a + w.ackCount, 0) < acks && Date.now() - t0 < ms) await sleep(20);
}

/** One set at a time, each acknowledged before the next: the log's records are then in key order. */
async function setInOrder(port: number, keys: readonly string[]): Promise<void> {
  const w = await new Promise<Socket>((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port }, () => resolve(s));
    s.on("error", reject);
  });
  for (const k of keys) {
    const reply = await new Promise<string>((resolve) => {
      w.once("data", (d: Buffer) => resolve(d.toString()));
      w.write(`set ${k} 0 0 ${k.length + 2}\r\nv-${k}\r\n`);
    });
    expect(reply).toBe("STORED\r\n");
  }
  w.destroy();
}

describe.each(RUNTIMES)("cache --aof on %s", (target) => {
  it("kill -9 during a write load with --sync always: every acknowledged set is there after the restart", async () => {
    const aof = join(dir, `kill-${target}.aof`);
    const s = await startCache(target, aof, ["--sync", "always"]);
    const pad = "x".repeat(100);
    // unique keys, and one writer overwriting a few hot keys
    const writers = [
      new Writer(s.port, `${target}-a`, 1e9, 16, pad),
      new Writer(s.port, `${target}-b`, 1e9, 1, pad),
      new Writer(s.port, `${target}-hot`, 7, 8, pad),
    ];
    await loadUntil(writers, 3000, 20_000);
    await kill9(s);
    await Promise.all(writers.map((w) => w.done));
    const acked = writers.reduce((a, w) => a + w.ackCount, 0);
    const inFlight = writers.reduce((a, w) => a + w.sent.size - w.acked.size, 0);
    expect(acked).toBeGreaterThan(1000);
    const r = await restartAfterKill(target, aof, ["--sync", "always"]);
    const checked = await checkWriters(r.port, writers);
    console.log(`${target}: ${acked} sets acknowledged before kill -9, ${inFlight} keys unacknowledged, ${checked} keys checked after restart`);
    expect(r.stderr()).toMatch(/recovered \d+ records/);
    await stop(r);
  });
});

describe("cache --aof, damaged tails (node)", () => {
  const keys = Array.from({ length: 50 }, (_, i) => `key${i}`);

  async function writeLog(name: string): Promise<string> {
    const aof = join(dir, name);
    const s = await startCache("node", aof, ["--sync", "always"]);
    await setInOrder(s.port, keys);
    await kill9(s);
    return aof;
  }

  /** Start expecting a refusal: the exit code and stderr. */
  async function refused(aof: string): Promise<{ code: number | null; stderr: string }> {
    const port = await freePort();
    const s = spawnCache("node", ["--listen", "127.0.0.1", "--port", String(port), "--aof", aof], port);
    const t = setTimeout(() => s.proc.kill("SIGKILL"), 30_000);
    const code = await s.exited;
    clearTimeout(t);
    return { code, stderr: s.stderr() };
  }

  it("a torn last record: the start fails naming the file, offset and bytes; --repair drops only it and says so", async () => {
    const aof = await writeLog("torn.aof");
    const size = statSync(aof).size;
    // the last set record is 8 + 32 + "key49".length + "v-key49".length bytes: cut 5 of them
    truncateSync(aof, size - 5);
    const recordLen = 8 + 1 + 4 + 8 + 8 + 2 + 5 + 7;
    const offset = size - recordLen;
    const { code, stderr } = await refused(aof);
    expect(code).not.toBe(0);
    expect(stderr).toContain(
      `Cannot recover "${aof}": damaged tail at offset ${offset}, ${recordLen - 5} bytes (1 record): ` +
        `torn record, ${recordLen - 5} of its ${recordLen} bytes are there; start with --repair to drop it`,
    );
    expect(statSync(aof).size, "a refused start leaves the file as it was").toBe(size - 5);
    const r = await startCache("node", aof, ["--repair"]);
    expect(r.stderr()).toContain(`aof "${aof}": repaired: dropped the damaged tail at offset ${offset}, ${recordLen - 5} bytes (1 record)`);
    const got = await getMany(r.port, keys);
    expect([...got.keys()]).toEqual(keys.slice(0, 49));
    expect(got.get("key48")).toBe("v-key48");
    await stop(r);
    expect(statSync(aof).size).toBeGreaterThanOrEqual(offset);
  });

  it("a flipped byte mid-log: refused as corrupt; --repair keeps the records before it", async () => {
    const aof = await writeLog("flip.aof");
    const bytes = readFileSync(aof);
    const recordLen = 8 + 1 + 4 + 8 + 8 + 2 + 5 + 7; // key10..key49 all have 5-byte keys
    // records: header 12, key0..key9 (4-byte keys), then key10.. : flip a value byte of key20
    const key20 = 12 + 10 * (recordLen - 2) + 10 * recordLen;
    bytes[key20 + recordLen - 1] = (bytes[key20 + recordLen - 1] as number) ^ 0x20;
    writeFileSync(aof, bytes);
    const { code, stderr } = await refused(aof);
    expect(code).not.toBe(0);
    expect(stderr).toContain(`Cannot recover "${aof}": damaged tail at offset ${key20}, ${bytes.length - key20} bytes (30 records): corrupt record, bad checksum`);
    const r = await startCache("node", aof, ["--repair"]);
    expect(r.stderr()).toContain(`dropped the damaged tail at offset ${key20}, ${bytes.length - key20} bytes (30 records)`);
    const got = await getMany(r.port, keys);
    expect([...got.keys()]).toEqual(keys.slice(0, 20));
    await stop(r);
  });

  it("a file that is not a log is refused even with --repair, and left alone", async () => {
    const aof = join(dir, "foreign.aof");
    writeFileSync(aof, "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n");
    const port = await freePort();
    const s = spawnCache("node", ["--listen", "127.0.0.1", "--port", String(port), "--aof", aof, "--repair"], port);
    expect(await s.exited).not.toBe(0);
    expect(s.stderr()).toContain(`Cannot recover "${aof}": not a cache log (bad magic number)`);
    expect(readFileSync(aof, "utf8")).toBe("*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n");
  });
});

describe.each(RUNTIMES)("cache --aof compaction on %s", (target) => {
  it("compacts under a write load past --aof-max-size, keeps the log bounded, and loses nothing through a kill -9", async () => {
    const aof = join(dir, `compact-${target}.aof`);
    const args = ["--sync", "100ms", "--aof-max-size", "1048576"];
    const s = await startCache(target, aof, args);
    const compacted = (): RegExpMatchArray[] => [...s.stderr().matchAll(/compacted (\d+) to (\d+) bytes/g)];
    const pad = "p".repeat(300);
    // 6,000 live keys (~2 MB of records), overwritten until at least 90,000 sets (~30 MB)
    const writers = [0, 1, 2].map((i) => new Writer(s.port, `${target}${i}`, 2000, 32, pad));
    await loadUntil(writers, 90_000, 90_000);
    for (const w of writers) w.stop();
    await Promise.all(writers.map((w) => w.done));
    // let a compaction under way finish
    await sleep(500);
    const n = compacted().length;
    expect(n, s.stderr()).toBeGreaterThanOrEqual(3);
    // the log restarts at the size of its last rewrite, and is rewritten again before it doubles
    const last = Number(compacted()[n - 1]?.[2]);
    const size = statSync(aof).size;
    expect(size).toBeLessThanOrEqual(Math.max(1048576, 2 * last) + 3 * 32 * 400);
    const written = writers.reduce((a, w) => a + w.ackCount, 0) * (pad.length + 40);
    // more load on other keys, killed in the middle of it (and of a compaction, most likely)
    const more = [0, 1, 2].map((i) => new Writer(s.port, `${target}-more${i}`, 2000, 32, pad));
    const before = compacted().length;
    const t1 = Date.now();
    while (compacted().length === before && Date.now() - t1 < 30_000) await sleep(20);
    expect(compacted().length, "a compaction during the second load").toBeGreaterThan(before);
    await loadUntil(more, more.reduce((a, w) => a + w.ackCount, 0) + 10_000, 30_000);
    await kill9(s);
    await Promise.all(more.map((w) => w.done));
    const r = await restartAfterKill(target, aof, args);
    expect(await checkWriters(r.port, [...writers, ...more])).toBe(12_000);
    const pauses = [...s.stderr().matchAll(/longest pause ([\d.]+) ms/g)].map((m) => Number(m[1]));
    console.log(
      `${target}: compaction under load: ${compacted().length} compactions, ~${(written / 1e6).toFixed(1)} MB written, ` +
        `log ${(size / 1e6).toFixed(2)} MB, longest pauses ${pauses.join(", ")} ms`,
    );
    await stop(r);
  });
});
