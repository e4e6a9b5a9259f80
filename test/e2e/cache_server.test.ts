// `nutcracker cache` as a process on Node, Bun and Deno: LRU eviction under --memory, the expiry crawler, the connection limit, flags and signals.

import { type ChildProcess, spawn } from "node:child_process";
import { connect, type Socket } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { exchange, request } from "../helpers/client.ts";
import { ROOT, RUNTIMES, TARGETS, type Target } from "../helpers/proxy.ts";
import { freePort, waitForPort } from "../helpers/runtimes.ts";

const started: ChildProcess[] = [];
afterAll(() => {
  for (const p of started) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
});

interface Cache {
  readonly port: number;
  readonly proc: ChildProcess;
  readonly exited: Promise<number | null>;
  output(): string;
}

function spawnCache(target: Target, args: string[]): { proc: ChildProcess; exited: Promise<number | null>; output: () => string } {
  const [cmd, ...rest] = TARGETS[target](["cache", ...args]);
  const proc = spawn(cmd!, rest, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  started.push(proc);
  let out = "";
  proc.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  proc.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  return { proc, exited, output: () => out };
}

async function startCache(target: Target, args: string[] = []): Promise<Cache> {
  const port = await freePort();
  const c = spawnCache(target, ["--port", String(port), ...args]);
  await waitForPort("127.0.0.1", port, 30_000);
  return { port, ...c };
}

async function stats(port: number): Promise<Record<string, number>> {
  const r = (await exchange(port, Buffer.from("stats\r\nquit\r\n"))).toString();
  const out: Record<string, number> = {};
  for (const m of r.matchAll(/STAT (\S+) (\S+)\r\n/g)) out[m[1]!] = Number(m[2]);
  return out;
}

/** Send `n` sets of `size`-byte values, pipelined, and wait for every STORED. */
async function fill(port: number, prefix: string, n: number, size: number, exptime = 0): Promise<void> {
  const v = "v".repeat(size);
  let req = "";
  for (let i = 0; i < n; i++) req += `set ${prefix}${i} 0 ${exptime} ${size}\r\n${v}\r\n`;
  const got = await request(port, Buffer.from(req), n * 8, 60_000);
  expect(got.toString()).toBe("STORED\r\n".repeat(n));
}

describe.each(RUNTIMES)("cache server on %s", (target) => {
  it("evicts least recently used items to stay under --memory, and counts them", async () => {
    const c = await startCache(target, ["--memory", "2mb", "--max-item-size", "1m"]);
    await fill(c.port, "old:", 1000, 1000);
    // touch the first 100 so they are the most recent, then push 2000 more through
    await request(c.port, Buffer.from(`get ${Array.from({ length: 100 }, (_, i) => `old:${i}`).join(" ")}\r\n`), 100 * 1000);
    await fill(c.port, "new:", 2000, 1000);
    const s = await stats(c.port);
    expect(s.evictions).toBeGreaterThan(0);
    expect(s.curr_items).toBe(3000 - s.evictions!);
    expect(s.bytes).toBeLessThanOrEqual(2 * 1024 * 1024);
    expect(s.limit_maxbytes).toBe(2 * 1024 * 1024);
    const got = (await exchange(c.port, Buffer.from("get old:0 old:99 old:500 new:1999\r\nquit\r\n"))).toString();
    expect(got).toContain("VALUE new:1999 0 1000");
    expect(got).not.toContain("VALUE old:500 "); // untouched and old: evicted
    c.proc.kill("SIGTERM");
    expect(await c.exited).toBe(0);
  });

  it("the crawler reclaims expired items that nobody asks for", async () => {
    const c = await startCache(target);
    await fill(c.port, "e:", 2000, 10, 1);
    await fill(c.port, "keep:", 10, 10);
    const deadline = Date.now() + 15_000;
    let s = await stats(c.port);
    while (s.curr_items !== 10 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      s = await stats(c.port);
    }
    expect(s.curr_items).toBe(10);
    expect(s.crawler_reclaimed).toBe(2000);
    expect(s.get_hits! + s.get_misses!).toBe(0); // no request ever asked for them
    c.proc.kill("SIGINT");
    expect(await c.exited).toBe(0);
  });

  it("refuses connections over --conn-limit as memcached does", async () => {
    const c = await startCache(target, ["--conn-limit", "2"]);
    // two connections, each known to be accepted (it answered) before the next one comes
    const held: Socket[] = [];
    for (let i = 0; i < 2; i++) {
      const s = connect({ host: "127.0.0.1", port: c.port });
      held.push(s);
      await new Promise<void>((r) => {
        s.once("connect", () => s.write("version\r\n"));
        s.once("data", () => r());
      });
    }
    const third = await exchange(c.port, Buffer.alloc(0), { timeoutMs: 10_000 });
    expect(third.toString()).toBe("ERROR Too many open connections\r\n");
    for (const s of held) s.destroy();
    c.proc.kill("SIGTERM");
    expect(await c.exited).toBe(0);
  });

  it("says why it cannot start: a bad flag, a port in use", async () => {
    const bad = spawnCache(target, ["--memory", "lots"]);
    expect(await bad.exited).toBe(1);
    expect(bad.output()).toContain('Invalid memory size "lots"');
    expect(bad.output()).toContain("Usage: nutcracker cache");
    const c = await startCache(target);
    const clash = spawnCache(target, ["--port", String(c.port)]);
    expect(await clash.exited).toBe(1);
    expect(clash.output()).toContain(`cannot listen on 127.0.0.1:${c.port}`);
    c.proc.kill("SIGTERM");
    await c.exited;
  });
});
