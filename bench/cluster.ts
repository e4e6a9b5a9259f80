// What a `redis_cluster: true` pool costs (issue 20): requests per proxy CPU-second of a cluster
// pool against a plain pool over the very same redis-server, in one run. The backend is a one-node
// Redis Cluster (cluster-enabled, all 16384 slots on it), so both pools reach the same process and
// only the routing differs: CRC16 slots, requests kept until answered, MGET split per slot (the
// cluster refuses keys of two slots in one command, so 10 random keys are about 10 parts, where a
// one-server plain pool sends one). nutcracker runs the plain pool too, for scale.
//
//   bun bench/cluster.ts [--reps N] [--n1 N] [--n16 N] [--depths 1,16] [--targets bun-bin,node[,alt]] [--alt BINARY] [--out FILE|-]
//
// Each repetition starts every system once, pinned to one CPU with the client and the backend
// (../shared/BENCHMARKING.md), and runs every load on each of its two pools, the order rotated.
// The report is the median over repetitions of cluster/plain for each system and load.

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, waitForPort } from "../test/helpers/runtimes.ts";
import { type Load, loadTitle, prefill, runLoad } from "./lib/loads.ts";
import { PIN_CPU, ROOT, type Spawned, cpuBetween, cpuSample, killAll, setAffinity, spawnLogged } from "./lib/procs.ts";

const proc = globalThis.process;
const opt = new Map<string, string>();
for (let i = 2; i < proc.argv.length; i += 2) opt.set(proc.argv[i]!, proc.argv[i + 1] ?? "");
const REPS = Number(opt.get("--reps") ?? 5);
const N1 = Number(opt.get("--n1") ?? 60_000);
const N16 = Number(opt.get("--n16") ?? 300_000);
const TARGETS = (opt.get("--targets") ?? "bun-bin,node").split(",");
const OUT = opt.get("--out") ?? join(ROOT, "bench", "results", `${new Date().toISOString().slice(0, 10)}-cluster.md`);

const SYSTEMS: Readonly<Record<string, { label: string; argv: string[]; cluster: boolean }>> = {
  nutcracker: { label: "nutcracker 0.5.0", argv: ["/usr/sbin/nutcracker"], cluster: false },
  "bun-bin": { label: "Bun binary", argv: [join(ROOT, "dist", "nutcracker-bun")], cluster: true },
  node: { label: "Node bundle", argv: ["node", join(ROOT, "dist", "nutcracker.mjs")], cluster: true },
  // --alt PATH: another Bun binary (a variant under study), target "alt"
  ...(opt.has("--alt") ? { alt: { label: `Bun binary ${opt.get("--alt")}`, argv: [opt.get("--alt")!], cluster: true } } : {}),
};
const TAG = "t";
const load = (op: "get" | "set" | "mget10", depth: 1 | 16, tag?: string): Load => ({ id: `redis.${op}${tag === undefined ? "" : "tag"}.d${depth}`, proto: "redis", op, servers: 1, depth, ...(tag === undefined ? {} : { tag }) });
/** MGET of random keys cannot go through a plain pool to a cluster node (-CROSSSLOT): on the cluster pool only. */
const DEPTHS = (opt.get("--depths") ?? "1,16").split(",").map(Number);
const LOADS: readonly Load[] = DEPTHS.flatMap((d) => [load("get", d as 1 | 16), load("set", d as 1 | 16), load("mget10", d as 1 | 16, TAG), load("mget10", d as 1 | 16)]);
const clusterOnly = (l: Load) => l.op === "mget10" && l.tag === undefined;
const title = (l: Load) => (l.op === "mget10" ? `MGET 10 keys${l.tag === undefined ? " (random: about 10 slots)" : " of one {tag}"}, depth ${l.depth}` : loadTitle(l).replace(", 1 server", ""));

const dir = mkdtempSync(join(tmpdir(), "ncbench-cluster-"));
proc.on("exit", () => {
  killAll();
  rmSync(dir, { recursive: true, force: true });
});

/** A one-node cluster: redis-server with cluster-enabled, every slot added to it. */
async function startNode(): Promise<{ port: number; run: Spawned }> {
  const port = await freePort();
  const args = ["redis-server", "--port", String(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes", "--cluster-config-file", join(dir, "nodes.conf"), "--save", "", "--appendonly", "no", "--dir", dir];
  const run = spawnLogged(args, join(dir, "redis.log"), true);
  await waitForPort("127.0.0.1", port, 10_000);
  const cli = (...a: string[]) => spawnSync("redis-cli", ["-p", String(port), ...a], { encoding: "utf8" }).stdout.trim();
  cli("CLUSTER", "ADDSLOTSRANGE", "0", "16383");
  for (let i = 0; i < 100 && !cli("CLUSTER", "INFO").includes("cluster_state:ok"); i++) await new Promise((r) => setTimeout(r, 50));
  return { port, run };
}

interface Running {
  readonly id: string;
  readonly run: Spawned;
  readonly plain: number;
  readonly cluster: number | undefined;
}

async function startSystem(id: string, node: number, rep: number): Promise<Running> {
  const s = SYSTEMS[id]!;
  const plain = await freePort();
  const cluster = s.cluster ? await freePort() : undefined;
  let yaml = `plain:\n  listen: 127.0.0.1:${plain}\n  redis: true\n  hash: fnv1a_64\n  distribution: ketama\n  timeout: 400\n  servers:\n   - 127.0.0.1:${node}:1\n`;
  if (cluster !== undefined) yaml += `cl:\n  listen: 127.0.0.1:${cluster}\n  redis: true\n  redis_cluster: true\n  timeout: 400\n  servers:\n   - 127.0.0.1:${node}:1\n`;
  const conf = join(dir, `${id}.yml`);
  writeFileSync(conf, yaml);
  const run = spawnLogged([...s.argv, "-c", conf, "-s", String(await freePort()), "-a", "127.0.0.1"], join(dir, `${id}.${rep}.log`), true);
  for (const p of [plain, cluster]) if (p !== undefined) await waitForPort("127.0.0.1", p, 30_000);
  setAffinity(run.pid, PIN_CPU);
  return { id, run, plain, cluster };
}

/** Requests per proxy CPU-second of one load through `port`, and its requests per second. */
async function measure(r: Running, l: Load, port: number): Promise<{ perCpu: number; rps: number }> {
  const n = (l.depth === 1 ? N1 : N16) / (l.op === "mget10" ? 4 : 1);
  const c0 = cpuSample(r.run.pid)!;
  const o = await runLoad(l, port, n, true, 120_000);
  const c1 = cpuSample(r.run.pid)!;
  if (!o.ok) throw new Error(`${r.id} ${l.id} on ${port}: ${o.error}`);
  return { perCpu: n / cpuBetween(c0, c1), rps: o.sample.rps };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const node = await startNode();
await prefill("redis", node.port, true);
{
  // the tagged keys too, so every MGET part hits
  const o = await runLoad({ ...load("set", 16, TAG), id: "prefill" }, node.port, 500_000, true, 120_000);
  if (!o.ok) throw new Error(`prefill of {${TAG}} keys: ${o.error}`);
}
const ids = ["nutcracker", ...TARGETS];
/** system/pool/load → per repetition */
const perCpu = new Map<string, number[]>();
const push = (k: string, v: number) => (perCpu.get(k) ?? perCpu.set(k, []).get(k)!).push(v);
for (let rep = 0; rep < REPS; rep++) {
  const order = ids.map((_, i) => ids[(i + rep) % ids.length]!);
  for (const id of order) {
    const r = await startSystem(id, node.port, rep);
    // one warm-up per pool, so the JIT has seen both paths before the first measured load
    for (const port of [r.plain, r.cluster]) if (port !== undefined) await runLoad(LOADS[0]!, port, 20_000, true, 60_000);
    for (const l of LOADS) {
      if (r.cluster === undefined && clusterOnly(l)) continue;
      const pools = r.cluster === undefined ? (["plain"] as const) : clusterOnly(l) ? (["cluster"] as const) : rep % 2 === 0 ? (["plain", "cluster"] as const) : (["cluster", "plain"] as const);
      for (const pool of pools) {
        const m = await measure(r, l, pool === "plain" ? r.plain : r.cluster!);
        push(`${id}/${pool}/${l.id}`, m.perCpu);
      }
    }
    await r.run.stop();
    proc.stderr.write(`rep ${rep + 1}/${REPS}: ${id} done\n`);
  }
}
await node.run.stop();

const k = (n: number) => `${(n / 1000).toFixed(0)}k`;
let md = `# A cluster pool against a plain pool over the same redis-server\n\n`;
md += `\`bun bench/cluster.ts --reps ${REPS} --n1 ${N1} --n16 ${N16}\`, ${new Date().toISOString()}, commit ${spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" }).stdout.trim()}.\n`;
md += `One redis-server ${spawnSync("redis-server", ["--version"], { encoding: "utf8" }).stdout.split(" ")[2]} with cluster-enabled and all 16384 slots; client, backend and proxy pinned to CPU ${PIN_CPU}; `;
md += `50 clients, 32-byte values, 100,000 keys. Requests per proxy CPU-second, medians over the repetitions; the ratio is the median of the per-repetition cluster/plain ratios.\n\n`;
md += `| load | nutcracker plain | ${TARGETS.map((t) => `${SYSTEMS[t]!.label} plain | cluster | cluster/plain`).join(" | ")} |\n`;
md += `|---|---|${TARGETS.map(() => "---|---|---").join("|")}|\n`;
for (const l of LOADS) {
  const only = clusterOnly(l);
  const cells = [only ? "-" : k(median(perCpu.get(`nutcracker/plain/${l.id}`)!))];
  for (const t of TARGETS) {
    const c = perCpu.get(`${t}/cluster/${l.id}`)!;
    if (only) {
      cells.push("-", k(median(c)), "-");
      continue;
    }
    const p = perCpu.get(`${t}/plain/${l.id}`)!;
    cells.push(k(median(p)), k(median(c)), median(c.map((x, i) => x / p[i]!)).toFixed(2));
  }
  md += `| ${title(l)} | ${cells.join(" | ")} |\n`;
}
proc.stdout.write(md);
if (OUT !== "-") writeFileSync(OUT, md);
proc.exit(0);
