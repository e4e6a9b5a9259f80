// The cache server against memcached 1.6: the same request sequences to both, byte-identical replies (stats values and version text masked).
//
// One real memcached (-t 1 -I 1m -m 64) and our `cache` under Node (the bundle) and Bun. Before
// each sequence every server is flushed and the cas counters are levelled (the lower ones get
// dummy sets), so cas uniques agree even after a sequence that went differently. Each step of a
// sequence is followed by an `mn` marker whose MN reply says "everything before is in"; replies
// are compared whole, and so is whether the server closed the connection.

import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Running, startProxy, type Target } from "../helpers/proxy.ts";
import { Ctl } from "../helpers/mc_diff.ts";
import { type Backend, startMemcached } from "../helpers/real_backends.ts";
import { freePort } from "../helpers/runtimes.ts";
import { prng } from "../helpers/split.ts";
import { SEQUENCES, type Seq } from "./cache_diff_corpus.test.ts";

const MARKER = Buffer.from("mn\r\n");
const MN = Buffer.from("MN\r\n");
/** Silence that ends the wait for a marker that will not come. */
const STALL_MS = 1500;

interface Outcome {
  readonly bytes: Buffer;
  readonly closed: boolean;
}

/** Count of "MN\r\n" at line starts. */
function markers(b: Buffer): number {
  let n = 0;
  for (let i = b.indexOf(MN); i >= 0; i = b.indexOf(MN, i + 1)) if (i === 0 || b[i - 1] === 10) n++;
  return n;
}

/** Play `seq` on `port`; never rejects (a reset is a close). */
function play(port: number, seq: Seq): Promise<Outcome> {
  return new Promise((resolve) => {
    const sock: Socket = connect({ host: "127.0.0.1", port, noDelay: true });
    const chunks: Buffer[] = [];
    let closed = false;
    let wake: (() => void) | null = null;
    let last = Date.now();
    sock.on("data", (d: Buffer) => {
      chunks.push(d);
      last = Date.now();
      wake?.();
    });
    sock.on("error", () => {});
    sock.on("close", () => {
      closed = true;
      wake?.();
    });
    const until = (done: () => boolean): Promise<void> =>
      new Promise((res) => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const finish = (): void => {
          clearTimeout(timer);
          wake = null;
          res();
        };
        const tick = (): void => {
          if (closed || done() || Date.now() - last >= STALL_MS) finish();
          else timer = setTimeout(tick, 50);
        };
        wake = () => {
          if (closed || done()) finish();
        };
        last = Date.now();
        tick();
      });
    const rnd = prng(seq.name.length * 7919 + 17);
    const run = async (): Promise<void> => {
      await new Promise<void>((res) => {
        sock.once("connect", () => res());
        sock.once("close", () => res());
      });
      let want = 0;
      for (let s = 0; s < seq.steps.length && !closed; s++) {
        const step = seq.steps[s]!;
        if (typeof step === "object" && "sleep" in step) {
          await new Promise((r) => setTimeout(r, step.sleep));
          continue;
        }
        const raw = typeof step === "function" ? step(Buffer.concat(chunks)) : step;
        const bytes = Buffer.isBuffer(raw) ? raw : Buffer.from(raw, "latin1");
        const lastStep = s === seq.steps.length - 1;
        const withMarker = !(lastStep && seq.end === "idle");
        const out = withMarker ? Buffer.concat([bytes, MARKER]) : bytes;
        // an mn command inside the step is answered too, with or without arguments (`mn extra`
        // gets its MN as well: uncounted, it let the wait end before the next step's reply)
        want += (bytes.toString("latin1").match(/(?:^|\n)mn(?: [^\r\n]*)?\r\n/g) ?? []).length;
        if (withMarker) want++;
        const split = seq.split ?? "whole";
        if (split === "whole") sock.write(out);
        else {
          for (let i = 0; i < out.length && !closed; ) {
            const n = split === "bytes" ? 1 : 1 + Math.floor(rnd() * Math.min(out.length > 100_000 ? 65536 : 64, out.length - i));
            sock.write(out.subarray(i, i + n));
            i += n;
            await new Promise<void>((r) => setImmediate(r));
          }
        }
        const w = want;
        await until(() => withMarker && markers(Buffer.concat(chunks)) >= w && Buffer.concat(chunks).subarray(-2).toString() === "\r\n");
      }
      if (seq.end === "idle") await until(() => false);
      const wasClosed = closed;
      sock.destroy();
      resolve({ bytes: Buffer.concat(chunks), closed: wasClosed });
    };
    void run();
  });
}

/** What may differ: stats values and the version text. */
function mask(b: Buffer): string {
  return b
    .toString("latin1")
    .replace(/^STAT (\S+) [^\r\n]*\r$/gm, "STAT $1 *\r")
    .replace(/^VERSION [^\r\n]*\r$/gm, "VERSION *\r");
}

interface System {
  readonly name: string;
  readonly port: number;
  ctl: Ctl;
  stop(): Promise<unknown>;
}

/** Flush every system and raise the lower cas counters to the highest. */
async function level(systems: readonly System[]): Promise<void> {
  const cas = await Promise.all(
    systems.map(async (s) => {
      const r = await s.ctl.ask(Buffer.from("set __cas 0 0 1\r\nx\r\ngets __cas\r\n", "latin1"), "END\r\n");
      const m = /VALUE __cas 0 1 (\d+)\r\n/.exec(r);
      if (m === null) throw new Error(`cas probe on ${s.name}: ${r}`);
      return Number(m[1]);
    }),
  );
  const top = Math.max(...cas);
  await Promise.all(systems.map((s, i) => s.ctl.ask(Buffer.from("set __cas 0 0 1 noreply\r\nx\r\n".repeat(top - cas[i]!) + "flush_all\r\n", "latin1"), "OK\r\n")));
}

const OURS: readonly Target[] = ["node", "bun"];
const systems: System[] = [];

beforeAll(async () => {
  const mc: Backend = await startMemcached(["-I", "1m", "-m", "64"]);
  systems.push({ name: "memcached", port: mc.port, ctl: await Ctl.open(mc.port), stop: () => mc.stop() });
  for (const target of OURS) {
    const port = await freePort();
    const run: Running = await startProxy(target, ["cache", "--port", String(port), "--memory", "64mb", "--max-item-size", "1m"], port);
    systems.push({ name: target, port, ctl: await Ctl.open(port), stop: () => run.stop() });
  }
});

afterAll(async () => {
  for (const s of systems) s.ctl.close();
  await Promise.all(systems.map((s) => s.stop()));
});

describe("cache server vs memcached 1.6", () => {
  for (const seq of SEQUENCES) {
    it(seq.name, async () => {
      await level(systems);
      const [ref, ...ours] = await Promise.all(systems.map((s) => play(s.port, seq)));
      for (const [i, got] of ours.entries()) {
        const who = systems[i + 1]!.name;
        expect(JSON.stringify(mask(got!.bytes)), `${who} replies`).toBe(JSON.stringify(mask(ref!.bytes)));
        expect(got!.closed, `${who} closed the connection`).toBe(ref!.closed);
      }
    });
  }
});
