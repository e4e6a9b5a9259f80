// Memcache differential harness: play request sequences on proxies, each with its own memcached, and compare.
//
// A "system" is one proxy target (nutcracker, node, deno) with its own memcached processes: pool
// `one` (1 server) and pool `three` (3 servers) in one YAML. Before each sequence every backend is
// flushed, and the cas counters of corresponding backends (same pool, same position) are brought
// level, so `gets` and `mg c` return the same cas uniques on every system even after an earlier
// sequence went differently on one of them.

import { connect, type Socket } from "node:net";
import { type Running, startProxy, type Target, writeConf } from "./proxy.ts";
import { type Backend, startMemcached } from "./real_backends.ts";
import { freePort } from "./runtimes.ts";

/** Bytes to send, or a function of every byte received so far (to echo a cas unique back). */
export type Step = Uint8Array | ((got: Buffer) => Uint8Array);

export type PoolName = "one" | "three";

export interface McSequence {
  readonly name: string;
  readonly pool: PoolName;
  /** Sent in order; after each one but the last the client waits for a `version` marker's reply. */
  readonly steps: readonly Step[];
  /**
   * After the last step: "sync" (default) sends a `version` marker too and waits for its reply or
   * a close; "idle" sends nothing more and waits for a close or IDLE_MS of silence (for an
   * incomplete request the marker would complete); "half" shuts our write side, then waits.
   */
  readonly end?: "sync" | "idle" | "half";
  /** Write each step in pieces of this many bytes, one event-loop turn apart (default: whole). */
  readonly chunk?: number;
}

/** What a sequence got back: every byte, and whether the peer closed the connection. */
export interface Outcome {
  readonly bytes: Buffer;
  readonly closed: boolean;
}

/** Twemproxy 0.5.0 forwards `version`; its reply marks "every reply before it is in". */
export const MARKER = Buffer.from("version\r\n");
/** Silence that ends the wait for a marker that will never come (a desynchronised stream). */
export const STALL_MS = 1000;
/** Silence after an "idle" end that counts as "the connection stays open". */
export const IDLE_MS = 300;

/** Occurrences of `needle` at the start of a line of `buf` from `from` on ("\n" before it, or offset 0). */
function countLineStarts(buf: Buffer, needle: Buffer, from: number): number {
  let n = 0;
  for (let i = buf.indexOf(needle, from); i >= 0; i = buf.indexOf(needle, i + 1)) {
    if (i === 0 || buf[i - 1] === 10) n++;
  }
  return n;
}

const VERSION_REQ = Buffer.from("version\r\n");
const VERSION_RSP = Buffer.from("VERSION ");

/**
 * Connect to `port`, play `seq`, and resolve with what came back. Never rejects: a refused or
 * reset connection is a close.
 */
export function play(port: number, seq: McSequence): Promise<Outcome> {
  return new Promise((resolve) => {
    const sock: Socket = connect({ host: "127.0.0.1", port, noDelay: true });
    const chunks: Buffer[] = [];
    let received = 0;
    let closed = false;
    // VERSION replies seen so far, counted incrementally over (last 8 bytes + new chunk)
    let versions = 0;
    // whether the bytes so far end a line: a marker's reply counts once its line is whole
    let lineEnd = false;
    let tail = Buffer.alloc(0);
    let wake: (() => void) | null = null;
    let lastData = Date.now();

    sock.on("data", (d: Buffer) => {
      chunks.push(d);
      // tail keeps the last VERSION_RSP.length bytes, so a new match always has its preceding byte
      const scan = Buffer.concat([tail, d]);
      const base = received - tail.length; // stream offset of scan[0]
      for (let i = scan.indexOf(VERSION_RSP); i >= 0; i = scan.indexOf(VERSION_RSP, i + 1)) {
        if (i + VERSION_RSP.length <= tail.length) continue; // counted with the previous chunk
        if (base + i === 0 || (i > 0 && scan[i - 1] === 10)) versions++;
      }
      received += d.length;
      lineEnd = scan.length >= 2 && scan[scan.length - 2] === 13 && scan[scan.length - 1] === 10;
      tail = Buffer.from(scan.subarray(Math.max(0, scan.length - VERSION_RSP.length)));
      lastData = Date.now();
      wake?.();
    });
    sock.on("error", () => {});
    sock.on("close", () => {
      closed = true;
      wake?.();
    });

    /** Resolve when `done()` holds, the peer closed, or nothing arrived for `quietMs`. */
    const until = (done: () => boolean, quietMs: number): Promise<void> =>
      new Promise((res) => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const finish = (): void => {
          clearTimeout(timer);
          wake = null;
          res();
        };
        const onTimer = (): void => {
          const quiet = Date.now() - lastData;
          if (closed || done() || quiet >= quietMs) finish();
          else timer = setTimeout(onTimer, quietMs - quiet);
        };
        wake = () => {
          if (closed || done()) finish();
        };
        lastData = Date.now();
        if (closed || done()) finish();
        else timer = setTimeout(onTimer, quietMs);
      });

    const run = async (): Promise<void> => {
      await new Promise<void>((res) => {
        if (closed) return res();
        sock.once("connect", () => res());
        sock.once("close", () => res());
      });
      let wanted = 0;
      const steps = seq.steps;
      const end = seq.end ?? "sync";
      for (let s = 0; s < steps.length && !closed; s++) {
        const step = steps[s]!;
        const bytes = Buffer.from(typeof step === "function" ? step(Buffer.concat(chunks)) : step);
        const last = s === steps.length - 1;
        const marker = !last || end === "sync";
        const out = marker ? Buffer.concat([bytes, MARKER]) : bytes;
        // the marker counts even when it is glued to an unfinished line (its reply then never comes)
        wanted += countLineStarts(bytes, VERSION_REQ, 0) + (marker ? 1 : 0);
        if (seq.chunk === undefined) {
          sock.write(out);
        } else {
          for (let i = 0; i < out.length && !closed; i += seq.chunk) {
            sock.write(out.subarray(i, i + seq.chunk));
            await new Promise<void>((r) => setImmediate(r));
          }
        }
        if (marker) {
          const w = wanted;
          await until(() => versions >= w && lineEnd, STALL_MS);
        }
      }
      if (end === "half" && !closed) {
        sock.end();
        await until(() => false, STALL_MS);
      } else if (end === "idle" && !closed) {
        await until(() => false, IDLE_MS);
      }
      const wasClosed = closed;
      sock.destroy();
      resolve({ bytes: Buffer.concat(chunks), closed: wasClosed });
    };
    void run();
  });
}

/** A persistent control connection to one memcached (or our cache), for flush_all and cas levelling. */
export class Ctl {
  private readonly sock: Socket;
  private buf = Buffer.alloc(0);
  private wake: (() => void) | null = null;

  private constructor(sock: Socket) {
    this.sock = sock;
    sock.on("data", (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake?.();
    });
    sock.on("error", () => {});
  }

  static open(port: number): Promise<Ctl> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: "127.0.0.1", port });
      s.once("connect", () => resolve(new Ctl(s)));
      s.once("error", reject);
    });
  }

  /** Send `bytes` and resolve with the reply once it ends with `suffix`. */
  ask(bytes: Uint8Array, suffix: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`memcached control: no "${suffix.trim()}" in ${this.buf.toString("latin1").slice(0, 200)}`)), 10_000);
      const check = (): void => {
        const s = this.buf.toString("latin1");
        if (s.endsWith(suffix)) {
          clearTimeout(timer);
          this.buf = Buffer.alloc(0);
          this.wake = null;
          resolve(s);
        }
      };
      this.wake = check;
      this.sock.write(bytes);
    });
  }

  close(): void {
    this.sock.destroy();
  }
}

/** One proxy with its own backends. */
export class McSystem {
  readonly name: Target;
  readonly one: Backend;
  readonly three: readonly Backend[];
  readonly ports: Record<PoolName, number>;
  private proxy: Running;
  private readonly args: string[];
  private readonly ctl: Ctl[];
  /** stderr of proxies that died and were restarted. */
  private deadStderr = "";

  private constructor(name: Target, one: Backend, three: Backend[], ports: Record<PoolName, number>, proxy: Running, args: string[], ctl: Ctl[]) {
    this.name = name;
    this.one = one;
    this.three = three;
    this.ports = ports;
    this.proxy = proxy;
    this.args = args;
    this.ctl = ctl;
  }

  /** Four memcached (`extra` flags, e.g. -I 2m) and `target` in front of them with `-m mbuf`. */
  static async start(target: Target, mbuf: number, extra: string[] = []): Promise<McSystem> {
    const backends = await Promise.all([0, 1, 2, 3].map(() => startMemcached(extra)));
    const [one, ...three] = backends as [Backend, Backend, Backend, Backend];
    const portOne = await freePort();
    let portThree = await freePort();
    while (portThree === portOne) portThree = await freePort();
    const stats = await freePort();
    const conf = writeConf(`one:
  listen: 127.0.0.1:${portOne}
  hash: fnv1a_64
  distribution: ketama
  servers:
   - 127.0.0.1:${one.port}:1
three:
  listen: 127.0.0.1:${portThree}
  hash: fnv1a_64
  distribution: ketama
  servers:
${three.map((b, i) => `   - 127.0.0.1:${b.port}:1 mc${i}`).join("\n")}
`);
    const args = ["-c", conf, "-m", String(mbuf), "-s", String(stats), "-v", "4"];
    let proxy: Running;
    try {
      proxy = await startProxy(target, args, portOne);
    } catch (e) {
      await Promise.all(backends.map((b) => b.stop()));
      throw e;
    }
    const ctl = await Promise.all(backends.map((b) => Ctl.open(b.port)));
    return new McSystem(target, one, three, { one: portOne, three: portThree }, proxy, args, ctl);
  }

  /** If the proxy died, start it again on the same ports and say so; else "". */
  async revive(): Promise<string> {
    if (this.alive()) return "";
    const p = this.proxy.proc;
    const why = `${this.name} had exited (code ${p.exitCode}, signal ${p.signalCode}); stderr:\n${this.proxy.stderr().slice(-2000)}`;
    this.deadStderr += this.proxy.stderr();
    this.proxy = await startProxy(this.name, this.args, this.ports.one);
    return why;
  }

  /** Backends in slot order: one, three[0], three[1], three[2]. */
  get backends(): readonly Backend[] {
    return [this.one, ...this.three];
  }

  /** Everything the proxy (and any earlier instance of it) wrote to stderr. */
  stderr(): string {
    return this.deadStderr + this.proxy.stderr();
  }

  /** Whether the proxy process is still running. */
  alive(): boolean {
    const p = this.proxy.proc;
    return p.exitCode === null && p.signalCode === null;
  }

  /** The control connection of slot `i`. */
  control(i: number): Ctl {
    return this.ctl[i]!;
  }

  async stop(): Promise<number | null> {
    for (const c of this.ctl) c.close();
    const code = await this.proxy.stop();
    await Promise.all(this.backends.map((b) => b.stop()));
    return code;
  }
}

const PROBE = Buffer.from("set __nc_cas 0 0 1\r\nx\r\ngets __nc_cas\r\n");
const BUMP = Buffer.from("set __nc_cas 0 0 1 noreply\r\nx\r\n");
const FLUSH = Buffer.from("flush_all\r\n");

/**
 * Flush every backend of `systems`, and raise the lower cas counters of each slot to the highest
 * (one `set` per missing unique), so identical sequences get identical cas uniques.
 */
export async function levelAndFlush(systems: readonly McSystem[]): Promise<void> {
  await Promise.all(
    [0, 1, 2, 3].map(async (slot) => {
      const cas = await Promise.all(
        systems.map(async (s) => {
          const r = await s.control(slot).ask(PROBE, "END\r\n");
          const m = /VALUE __nc_cas 0 1 (\d+)\r\n/.exec(r);
          if (m === null) throw new Error(`cas probe on ${s.name} slot ${slot}: ${r}`);
          return Number(m[1]);
        }),
      );
      const top = Math.max(...cas);
      await Promise.all(
        systems.map((s, i) => {
          const bumps = top - cas[i]!;
          const parts: Buffer[] = [];
          for (let k = 0; k < bumps; k++) parts.push(BUMP);
          parts.push(FLUSH);
          return s.control(slot).ask(Buffer.concat(parts), "OK\r\n");
        }),
      );
    }),
  );
}

/** A short printable excerpt of `b` around `at`. */
export function excerpt(b: Buffer, at: number, width = 60): string {
  const s = Math.max(0, at - width);
  const text = b.subarray(s, Math.min(b.length, at + width)).toString("latin1");
  return `${s > 0 ? "…" : ""}${JSON.stringify(text)}${at + width < b.length ? "…" : ""}`;
}

/** "" when equal, else where and how `got` differs from `want` (bytes, then close). */
export function describeDifference(got: Outcome, want: Outcome): string {
  const problems: string[] = [];
  if (!got.bytes.equals(want.bytes)) {
    let i = 0;
    const n = Math.min(got.bytes.length, want.bytes.length);
    while (i < n && got.bytes[i] === want.bytes[i]) i++;
    problems.push(
      `bytes differ at ${i} (got ${got.bytes.length} bytes, want ${want.bytes.length}):\n   got ${excerpt(got.bytes, i)}\n  want ${excerpt(want.bytes, i)}`,
    );
  }
  if (got.closed !== want.closed) problems.push(`connection ${got.closed ? "closed" : "left open"}, want ${want.closed ? "closed" : "open"}`);
  return problems.join("\n  ");
}
