// `nutcracker quickstart`: two embedded caches behind the proxy in one process; keys spread over both, stats answer, SIGINT ends it all.

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { exchange, request } from "../helpers/client.ts";
import { ROOT, TARGETS, type Target, writeConf } from "../helpers/proxy.ts";
import { freePort, waitForPort } from "../helpers/runtimes.ts";

const started: ChildProcess[] = [];
afterAll(() => {
  for (const p of started) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
});

/** Pids whose parent is `pid` (from /proc). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push(Number(d));
    } catch {
      // the process went meanwhile
    }
  }
  return out;
}

/** Resolves true when nothing accepts on `port` any more. */
function refused(port: number): Promise<boolean> {
  return exchange(port, Buffer.alloc(0), { timeoutMs: 2000 }).then(
    () => false,
    (e: NodeJS.ErrnoException) => e.code === "ECONNREFUSED",
  );
}

/** curr_items from a cache server's `stats`. */
async function currItems(port: number): Promise<number> {
  const r = (await exchange(port, Buffer.from("stats\r\nquit\r\n"))).toString();
  const m = /STAT curr_items (\d+)\r\n/.exec(r);
  if (m === null) throw new Error(`no curr_items in ${r.slice(0, 200)}`);
  return Number(m[1]);
}

describe.each(["node", "bun"] as Target[])("quickstart on %s", (target) => {
  it("serves through the proxy from both caches, answers on the stats port, and SIGINT stops everything", async () => {
    const [proxy, c1, c2, stats] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const conf = writeConf(`memcache:
  listen: 127.0.0.1:${proxy}
  hash: fnv1a_64
  distribution: ketama
  timeout: 400
  servers:
   - 127.0.0.1:${c1}:1 cache1
   - 127.0.0.1:${c2}:1 cache2
`);
    const [cmd, ...args] = TARGETS[target](["quickstart", "-c", conf, "-s", String(stats)]);
    const proc = spawn(cmd!, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    started.push(proc);
    let out = "";
    proc.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    proc.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
    await waitForPort("127.0.0.1", proxy, 30_000);
    await waitForPort("127.0.0.1", stats, 30_000);
    expect(out).toContain(`cache servers on 127.0.0.1:${c1} and 127.0.0.1:${c2}`);
    expect(out).toContain(`nc 127.0.0.1 ${proxy}`);

    // 200 keys through the proxy, every one read back
    let sets = "";
    for (let i = 0; i < 200; i++) sets += `set key:${i} 0 0 ${String(i).length}\r\n${i}\r\n`;
    const stored = await request(proxy, Buffer.from(sets), 200 * "STORED\r\n".length);
    expect(stored.toString()).toBe("STORED\r\n".repeat(200));
    const keys = Array.from({ length: 200 }, (_, i) => `key:${i}`);
    const want = keys.map((k, i) => `VALUE ${k} 0 ${String(i).length}\r\n${i}\r\n`).join("") + "END\r\n";
    const got = await request(proxy, Buffer.from(`get ${keys.join(" ")}\r\n`), want.length);
    expect(got.toString()).toBe(want);

    // ketama spread them over both caches (unevenly for these keys, as nutcracker does), nothing else is in them
    const [n1, n2] = [await currItems(c1), await currItems(c2)];
    expect(n1 + n2).toBe(200);
    expect(n1).toBeGreaterThan(0);
    expect(n2).toBeGreaterThan(0);

    const json = JSON.parse((await exchange(stats, Buffer.alloc(0))).toString()) as Record<string, unknown>;
    expect(json.service).toBe("nutcracker");
    expect(json.memcache).toBeTypeOf("object");

    // one process: the caches are not children
    expect(childrenOf(proc.pid!)).toEqual([]);
    proc.kill("SIGINT");
    expect(await exited).toBe(1); // the proxy's SIGINT exit code, as nutcracker
    for (const p of [proxy, c1, c2, stats]) expect(await refused(p)).toBe(true);
  });
});

describe("quickstart without conf/quickstart.yml", () => {
  it("uses the built-in copy (checked with -t from another directory)", () => {
    const dir = mkdtempSync(join(tmpdir(), "nc-qs-"));
    const [cmd, ...args] = TARGETS.node(["quickstart", "-t"]);
    const r = spawnSync(cmd!, args, { cwd: dir, encoding: "utf8" });
    expect(r.stderr + r.stdout).toContain("configuration file '(built-in quickstart.yml)' syntax is ok");
    expect(r.status).toBe(0);
  });

  it("refuses -d: the caches live in the proxy's process", () => {
    const [cmd, ...args] = TARGETS.node(["quickstart", "-d"]);
    const r = spawnSync(cmd!, args, { cwd: ROOT, encoding: "utf8" });
    expect(r.stderr).toContain("-d is not supported");
    expect(r.status).toBe(1);
  });
});
