// Benchmark (not a test): our cache server against memcached 1.6 in one run: get/set rates, CPU per request, memory per item.
//
//   bun bench/cache.ts                 3 repetitions, pinned (client and server on CPU 0), prints Markdown
//   bun bench/cache.ts --reps 5 --targets bun-bin,node,deno --n1 100000 --n16 500000 --items 200000
//
// Every repetition runs each load on every system in a rotating order (BENCHMARKING.md): memcached
// -t 1, and `nutcracker cache` as the Bun executable (dist/nutcracker-bun, else Bun on the
// sources), the Node bundle and Deno. Figures are medians over repetitions; "per CPU-s" is requests
// per second of the server's own CPU time (utime+stime from /proc), the fair figure when client and
// server share a core. Memory per item: RSS growth of a fresh server while `--items` keys with
// values of 32 and 1000 bytes are set, divided by the item count.

import { existsSync } from "node:fs";
import { join } from "node:path";
import { exchange } from "../test/helpers/client.ts";
import { freePort, waitForPort } from "../test/helpers/runtimes.ts";
import { CLIENTS, KEYSPACE, type Load, VALUE_BYTES, mcbench, runLoad } from "./lib/loads.ts";
import { ROOT, type Spawned, cpuSeconds, killAll, runClient, sleep, spawnLogged, statusBytes, versionOf } from "./lib/procs.ts";
import { count, median } from "./lib/report.ts";

const proc = globalThis.process;
const BIN = join(ROOT, "node_modules", ".bin");

function arg(name: string, dflt: string): string {
  const i = proc.argv.indexOf(`--${name}`);
  return i >= 0 && proc.argv[i + 1] !== undefined ? proc.argv[i + 1]! : dflt;
}
const REPS = Number(arg("reps", "3"));
const N1 = Number(arg("n1", "100000"));
const N16 = Number(arg("n16", "500000"));
const ITEMS = Number(arg("items", "200000"));
const PINNED = arg("layout", "pinned") === "pinned";
const TARGETS = arg("targets", "bun-bin,node,deno").split(",");

interface System {
  readonly name: string;
  argv(port: number): string[];
}

const SYSTEMS: System[] = [{ name: "memcached", argv: (p) => ["memcached", "-p", String(p), "-l", "127.0.0.1", "-U", "0", "-t", "1", "-m", "1024", "-u", "root"] }];
const cacheArgs = (p: number): string[] => ["cache", "--port", String(p), "--memory", "1g"];
for (const t of TARGETS) {
  if (t === "bun-bin") {
    const bin = join(ROOT, "dist", "nutcracker-bun");
    SYSTEMS.push(existsSync(bin) ? { name: "ours (Bun binary)", argv: (p) => [bin, ...cacheArgs(p)] } : { name: "ours (Bun)", argv: (p) => [join(BIN, "bun"), join(ROOT, "runtime", "main_bun.ts"), ...cacheArgs(p)] });
  } else if (t === "node") SYSTEMS.push({ name: "ours (Node)", argv: (p) => ["node", join(ROOT, "dist", "nutcracker.mjs"), ...cacheArgs(p)] });
  else if (t === "deno") SYSTEMS.push({ name: "ours (Deno)", argv: (p) => [join(BIN, "deno"), "run", "-A", join(ROOT, "runtime", "main_deno.ts"), ...cacheArgs(p)] });
  else throw new Error(`unknown target "${t}": expected bun-bin, node, deno`);
}

const LOADS: Load[] = [];
for (const op of ["set", "get"] as const) for (const depth of [1, 16] as const) LOADS.push({ id: `mc.${op}.1.d${depth}`, proto: "mc", op, servers: 1, depth });

async function start(s: System): Promise<{ sp: Spawned; port: number }> {
  const port = await freePort();
  const sp = spawnLogged(s.argv(port), "/dev/null", PINNED);
  await waitForPort("127.0.0.1", port, 30_000);
  return { sp, port };
}

/** rps and server CPU-s of one load on a fresh server (gets run after a prefill of every key). */
async function runOne(s: System, load: Load): Promise<{ rps: number; perCpu: number } | string> {
  const { sp, port } = await start(s);
  try {
    if (load.op === "get") {
      const o = await runLoad({ ...load, op: "set", depth: 16 }, port, KEYSPACE * 3, PINNED, 120_000);
      if (!o.ok) return `prefill: ${o.error}`;
    }
    const n = load.depth === 1 ? N1 : N16;
    const c0 = cpuSeconds(sp.pid) ?? 0;
    const o = await runLoad(load, port, n, PINNED, 120_000);
    const c1 = cpuSeconds(sp.pid) ?? 0;
    if (!o.ok) return o.error;
    return { rps: o.sample.rps, perCpu: n / Math.max(c1 - c0, 0.01) };
  } finally {
    await sp.stop();
  }
}

/** RSS growth per item while `ITEMS` keys of `size`-byte values are set on a fresh server. */
async function memPerItem(s: System, size: number): Promise<number | string> {
  const { sp, port } = await start(s);
  try {
    await sleep(500);
    const before = statusBytes(sp.pid, "VmRSS") ?? 0;
    // mcbench picks keys at random: fill by key space = ITEMS, enough requests to touch nearly all
    const bin = mcbench();
    if (bin === null) return "no mcbench";
    const r = await runClient([bin, "127.0.0.1", String(port), "8", "16", String(ITEMS * 6), "set", String(size), String(ITEMS), "300"], PINNED, 320_000);
    if (r.code !== 0) return `fill failed: ${r.stderr.slice(0, 200)}`;
    await sleep(1000);
    const stats = await statsOf(port);
    const items = stats.curr_items ?? 0;
    const after = statusBytes(sp.pid, "VmRSS") ?? 0;
    return (after - before) / Math.max(items, 1);
  } finally {
    await sp.stop();
  }
}

async function statsOf(port: number): Promise<Record<string, number>> {
  const r = (await exchange(port, Buffer.from("stats\r\nquit\r\n"))).toString();
  const out: Record<string, number> = {};
  for (const m of r.matchAll(/STAT (\S+) (\S+)\r\n/g)) out[m[1]!] = Number(m[2]);
  return out;
}

async function main(): Promise<void> {
  if (mcbench() === null) throw new Error("mcbench is needed: cc and /work/shared/tools/mcbench.c (or $MCBENCH_SRC)");
  const rps = new Map<string, number[]>();
  const cpu = new Map<string, number[]>();
  const notes: string[] = [];
  for (let rep = 0; rep < REPS; rep++) {
    for (const load of LOADS) {
      const order = SYSTEMS.map((_, i) => SYSTEMS[(i + rep) % SYSTEMS.length]!);
      for (const s of order) {
        const r = await runOne(s, load);
        const key = `${load.id}|${s.name}`;
        if (typeof r === "string") {
          notes.push(`rep ${rep + 1}, ${load.id}, ${s.name}: ${r}`);
          continue;
        }
        (rps.get(key) ?? rps.set(key, []).get(key)!).push(r.rps);
        (cpu.get(key) ?? cpu.set(key, []).get(key)!).push(r.perCpu);
        proc.stderr.write(`rep ${rep + 1} ${load.id} ${s.name}: ${count(r.rps)} req/s, ${count(r.perCpu)} per CPU-s\n`);
      }
    }
  }
  const mem = new Map<string, number>();
  for (const size of [32, 1000]) {
    for (const s of SYSTEMS) {
      const m = await memPerItem(s, size);
      if (typeof m === "string") notes.push(`memory, ${size} B, ${s.name}: ${m}`);
      else mem.set(`${size}|${s.name}`, m);
      proc.stderr.write(`memory ${size} B ${s.name}: ${typeof m === "string" ? m : `${m.toFixed(0)} B/item`}\n`);
    }
  }

  const names = SYSTEMS.map((s) => s.name);
  const lines: string[] = [];
  lines.push(`# Cache server vs memcached (${new Date().toISOString().slice(0, 10)})`, "");
  lines.push(
    `${versionOf("memcached", ["-V"])}; ${REPS} repetitions, ${PINNED ? "client and server pinned to CPU 0" : "unpinned"}; ` +
      `mcbench with ${CLIENTS} connections, ${VALUE_BYTES}-byte values, ${KEYSPACE} keys; medians.`,
    "",
  );
  lines.push(`| load | ${names.map((n) => `${n} req/s (per CPU-s)`).join(" | ")} |`, `|---|${names.map(() => "---:").join("|")}|`);
  for (const load of LOADS) {
    const base = median(cpu.get(`${load.id}|memcached`) ?? [NaN]);
    const cells = names.map((n) => {
      const r = rps.get(`${load.id}|${n}`);
      const c = cpu.get(`${load.id}|${n}`);
      if (r === undefined || c === undefined) return "—";
      const pc = median(c);
      return `${count(median(r))} (${count(pc)}${n === "memcached" ? "" : `, ${(pc / base).toFixed(2)}×`})`;
    });
    lines.push(`| ${load.op} depth ${load.depth} | ${cells.join(" | ")} |`);
  }
  lines.push("", `Memory per item (RSS growth / curr_items, ${ITEMS} keys):`, "", `| value | ${names.join(" | ")} |`, `|---|${names.map(() => "---:").join("|")}|`);
  for (const size of [32, 1000]) lines.push(`| ${size} B | ${names.map((n) => (mem.has(`${size}|${n}`) ? `${mem.get(`${size}|${n}`)!.toFixed(0)} B` : "—")).join(" | ")} |`);
  if (notes.length > 0) lines.push("", "Notes:", "", ...notes.map((n) => `- ${n}`));
  proc.stdout.write(`${lines.join("\n")}\n`);
}

proc.on("SIGINT", () => {
  killAll();
  proc.exit(130);
});
main().then(
  () => killAll(),
  (e: unknown) => {
    killAll();
    proc.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    proc.exit(1);
  },
);
