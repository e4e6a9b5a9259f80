// What `--workers N` (issue 22) buys on this machine: throughput (requests per second, wall clock)
// and proxy CPU (the primary and every worker, summed) per request of the Bun binary and the Node
// bundle at --workers 1 and 2, against one nutcracker 0.5.0 and against two nutcrackers on two
// ports with the clients split between them (nutcracker cannot share a port); then, idle after the
// loads, the RSS of the primary and of each worker, and how many connections the redis-server has
// from each system (every worker opens its own).
//
//   bun bench/workers.ts [--reps N] [--n1 N] [--n16 N] [--depths 16,1] [--backends 1|2]
//                        [--targets bun-w1,bun-w2,node-w1,node-w2,nc,nc-x2[,direct]] [--out FILE|-]
//
// Nothing is pinned: the point of workers is a second core. So the client (two redis-benchmark
// processes of 25 connections each, for every system alike: 50 connections, enough that the
// kernel spreads them over the workers), the backend and the proxy all compete for the two cores
// of this machine, and what one takes the others lack; the report gives the CPU each of them used,
// and what the rest of the machine (other sessions) used meanwhile, from /proc/stat. Each
// repetition starts every system once, in an order rotated per repetition, warms it up, and runs
// GET and SET at each depth; the report is the median over repetitions, and each ratio the median
// of the per-repetition ratios. dist/ is copied aside at the start (bench/lib/builds.ts), so a
// rebuild during the run changes nothing; build first with `npx bun build.ts bin`.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, waitForPort } from "../test/helpers/runtimes.ts";
import { removeTemps, snapshotCurrent } from "./lib/builds.ts";
import { KEYSPACE, VALUE_BYTES, prefill } from "./lib/loads.ts";
import { type CpuSample, ROOT, type Spawned, cpuBetween, cpuSample, killAll, runClient, sleep, spawnLogged, statusBytes } from "./lib/procs.ts";

const proc = globalThis.process;
const opt = new Map<string, string>();
for (let i = 2; i < proc.argv.length; i += 2) opt.set(proc.argv[i]!, proc.argv[i + 1] ?? "");
const REPS = Number(opt.get("--reps") ?? 5);
const N1 = Number(opt.get("--n1") ?? 200_000);
const N16 = Number(opt.get("--n16") ?? 1_000_000);
const DEPTHS = (opt.get("--depths") ?? "16,1").split(",").map(Number);
const BACKENDS = Number(opt.get("--backends") ?? 1);
const TARGETS = (opt.get("--targets") ?? "bun-w1,bun-w2,node-w1,node-w2,nc,nc-x2").split(",");
const OUT = opt.get("--out") ?? join(ROOT, "bench", "results", `${new Date().toISOString().slice(0, 10)}-workers.md`);
/** Two client processes of this many connections each. */
const CONNS_PER_CLIENT = 25;
const CLIENT_PROCS = 2;

const build = snapshotCurrent();
/** The commit dist/ was copied at (others may commit during the run). */
const COMMIT = spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" }).stdout.trim();
const dir = mkdtempSync(join(tmpdir(), "ncbench-workers-"));
proc.on("exit", () => {
  killAll();
  removeTemps();
  rmSync(dir, { recursive: true, force: true });
});
for (const sig of ["SIGINT", "SIGTERM"] as const) proc.on(sig, () => proc.exit(130));

interface System {
  readonly label: string;
  /** argv of one proxy process, config file appended by startSystem; none for direct. */
  readonly argv: readonly string[] | null;
  /** Worker processes it should have (0: none, one process). */
  readonly workers: number;
  /** How many proxy processes (on as many ports) the clients are split over. */
  readonly instances: 1 | 2;
}
const SYSTEMS: Readonly<Record<string, System>> = {
  "bun-w1": { label: "Bun binary --workers 1", argv: [build.bunBin, "--workers", "1"], workers: 0, instances: 1 },
  "bun-w2": { label: "Bun binary --workers 2", argv: [build.bunBin, "--workers", "2"], workers: 2, instances: 1 },
  "node-w1": { label: "Node bundle --workers 1", argv: ["node", build.nodeMjs, "--workers", "1"], workers: 0, instances: 1 },
  "node-w2": { label: "Node bundle --workers 2", argv: ["node", build.nodeMjs, "--workers", "2"], workers: 2, instances: 1 },
  nc: { label: "nutcracker 0.5.0", argv: ["/usr/sbin/nutcracker"], workers: 0, instances: 1 },
  "nc-x2": { label: "2 x nutcracker 0.5.0", argv: ["/usr/sbin/nutcracker"], workers: 0, instances: 2 },
  direct: { label: "redis-server direct", argv: null, workers: 0, instances: 1 },
};
for (const t of TARGETS) if (SYSTEMS[t] === undefined) throw new Error(`unknown target ${t}; known: ${Object.keys(SYSTEMS).join(", ")}`);

type Op = "get" | "set";
interface Load {
  readonly id: string;
  readonly op: Op;
  readonly depth: number;
}
const LOADS: readonly Load[] = DEPTHS.flatMap((depth) => (["get", "set"] as const).map((op) => ({ id: `${op}.d${depth}`, op, depth })));
const title = (l: Load) => `redis ${l.op.toUpperCase()}, depth ${l.depth}`;

// ---- /proc ----------------------------------------------------------------------------------

/** Pids whose parent is `pid` (the workers of a primary), from /proc/N/stat. */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const s = readFileSync(`/proc/${e}/stat`, "utf8");
      if (Number(s.slice(s.lastIndexOf(")") + 2).split(" ")[1]) === pid) out.push(Number(e));
    } catch {
      // gone meanwhile
    }
  }
  return out.sort((a, b) => a - b);
}

/** Busy CPU-seconds of the whole machine so far (every CPU; /proc/stat, clock ticks of 10 ms). */
function machineBusy(): number {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  return (f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!) / 100;
}

const sampleAll = (pids: readonly number[]): (CpuSample | undefined)[] => pids.map((p) => cpuSample(p));
function cpuSum(a: readonly (CpuSample | undefined)[], b: readonly (CpuSample | undefined)[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined || y === undefined) throw new Error("a measured process is gone");
    s += cpuBetween(x, y);
  }
  return s;
}

/** The pids holding established connections to local port `port`, with their counts (ss -tnp). */
function connectionsByPid(port: number): Map<number, number> {
  const r = spawnSync("ss", ["-tnpH", "state", "established", `( sport = :${port} )`], { encoding: "utf8" });
  const m = new Map<number, number>();
  for (const line of (r.stdout ?? "").split("\n")) {
    // one connection may be listed under several processes holding the fd: count the first
    const p = /pid=(\d+)/.exec(line);
    if (p !== null) m.set(Number(p[1]), (m.get(Number(p[1])) ?? 0) + 1);
  }
  return m;
}

// ---- backends -------------------------------------------------------------------------------

interface Backend {
  readonly port: number;
  readonly run: Spawned;
}
async function startBackend(i: number): Promise<Backend> {
  const port = await freePort();
  const run = spawnLogged(["redis-server", "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir], join(dir, `redis${i}.log`), false);
  await waitForPort("127.0.0.1", port, 10_000);
  return { port, run };
}
const info = (port: number, key: string): number => {
  const r = spawnSync("redis-cli", ["-p", String(port), "INFO", "clients"], { encoding: "utf8" });
  const m = new RegExp(`^${key}:(\\d+)`, "m").exec(r.stdout ?? "");
  return m === null ? Number.NaN : Number(m[1]);
};
/** Connections to the backends from others than the redis-cli asking (connected_clients - 1), summed. */
const backendConns = (bs: readonly Backend[]): number => bs.reduce((s, b) => s + info(b.port, "connected_clients") - 1, 0);

// ---- systems --------------------------------------------------------------------------------

interface Running {
  readonly id: string;
  readonly runs: Spawned[];
  /** The client ports: one per instance. */
  readonly ports: number[];
  /** Every proxy pid: primaries (or the single processes), then workers. */
  readonly pids: number[];
  readonly workers: number[];
}

/** Lines of `file` that contain `s`. */
const countIn = (file: string, s: string): number => {
  try {
    return readFileSync(file, "utf8").split(s).length - 1;
  } catch {
    return 0;
  }
};

async function startSystem(id: string, bs: readonly Backend[], rep: number): Promise<Running> {
  const s = SYSTEMS[id]!;
  if (s.argv === null) return { id, runs: [], ports: [bs[0]!.port], pids: [], workers: [] };
  const runs: Spawned[] = [];
  const ports: number[] = [];
  const workers: number[] = [];
  for (let k = 0; k < s.instances; k++) {
    const port = await freePort();
    const servers = bs.map((b) => `   - 127.0.0.1:${b.port}:1\n`).join("");
    const conf = join(dir, `${id}.${k}.yml`);
    writeFileSync(conf, `p:\n  listen: 127.0.0.1:${port}\n  redis: true\n  hash: fnv1a_64\n  distribution: ketama\n  timeout: 400\n  servers:\n${servers}`);
    const log = join(dir, `${id}.${rep}.${k}.log`);
    const run = spawnLogged([...s.argv, "-c", conf, "-s", String(await freePort()), "-a", "127.0.0.1"], log, false);
    runs.push(run);
    ports.push(port);
    await waitForPort("127.0.0.1", port, 30_000);
    if (s.workers > 0) {
      // the port answers once one worker listens: wait for every worker's "listening on" (with
      // SO_REUSEPORT a connection made before the second listens goes to the first, always)
      const t0 = Date.now();
      while ((countIn(log, "listening on") < s.workers || childrenOf(run.pid).length < s.workers) && Date.now() - t0 < 30_000) await sleep(50);
      const ws = childrenOf(run.pid);
      if (ws.length !== s.workers) throw new Error(`${id}: ${ws.length} workers under pid ${run.pid}, expected ${s.workers}; log ${log}:\n${readFileSync(log, "utf8")}`);
      workers.push(...ws);
    }
  }
  return { id, runs, ports, pids: [...runs.map((r) => r.pid), ...workers], workers };
}

// ---- one load ---------------------------------------------------------------------------------

interface ClientOut {
  readonly rps: number;
  readonly n: number;
  /** user+sys of the client, from bash's `times`. */
  readonly cpu: number;
}

/** redis-benchmark against `port`, its CPU time reported on stderr by bash's `times`. */
async function client(port: number, l: Load, n: number): Promise<ClientOut> {
  const argv = ["redis-benchmark", "-h", "127.0.0.1", "-p", String(port), "-c", String(CONNS_PER_CLIENT), "-d", String(VALUE_BYTES), "-r", String(KEYSPACE), "-P", String(l.depth), "-n", String(n), "--csv", "-t", l.op];
  const r = await runClient(["bash", "-c", '"$@"; s=$?; times >&2; exit $s', "bash", ...argv], false, 120_000);
  const row = r.stdout
    .split("\n")
    .map((x) => [...x.matchAll(/"([^"]*)"/g)].map((m) => m[1]!))
    .filter((x) => x.length > 0)[1];
  if (r.timedOut || r.code !== 0 || row === undefined) throw new Error(`redis-benchmark on ${port} ${l.id}: exit ${r.code}${r.timedOut ? " (stalled, killed)" : ""}: ${r.stderr.slice(0, 300)} ${r.stdout.slice(0, 300)}`);
  // times: the shell's own user/sys, then its children's
  const t = [...r.stderr.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  return { rps: Number(row[1]), n, cpu: (t[2] ?? 0) + (t[3] ?? 0) };
}

interface Measure {
  readonly rps: number;
  /** CPU-seconds over the load. */
  readonly proxyCpu: number;
  /** Of proxyCpu, the primary's (with workers only). */
  readonly primaryCpu: number;
  readonly backendCpu: number;
  readonly clientCpu: number;
  readonly otherCpu: number;
  /** Wall seconds of the load (the longer client). */
  readonly seconds: number;
  /** Client connections per worker, sampled during the load (w2 only). */
  readonly spread: number[] | undefined;
}

async function measure(r: Running, bs: readonly Backend[], l: Load, n: number, sampleSpread: boolean): Promise<Measure> {
  const backendPids = bs.map((b) => b.run.pid);
  const p0 = sampleAll(r.pids);
  const b0 = sampleAll(backendPids);
  const m0 = machineBusy();
  const per = Math.floor(n / CLIENT_PROCS);
  const done = Promise.all(Array.from({ length: CLIENT_PROCS }, (_, i) => client(r.ports[i % r.ports.length]!, l, per)));
  let spread: number[] | undefined;
  if (sampleSpread && r.workers.length > 0) {
    await sleep(400);
    const c = connectionsByPid(r.ports[0]!);
    spread = r.workers.map((w) => c.get(w) ?? 0);
  }
  const cs = await done;
  const p1 = sampleAll(r.pids);
  const b1 = sampleAll(backendPids);
  const m1 = machineBusy();
  const proxyCpu = cpuSum(p0, p1);
  const primaryCpu = r.workers.length > 0 ? cpuSum(p0.slice(0, r.runs.length), p1.slice(0, r.runs.length)) : 0;
  const backendCpu = cpuSum(b0, b1);
  const clientCpu = cs.reduce((s, c) => s + c.cpu, 0);
  const seconds = Math.max(...cs.map((c) => c.n / c.rps));
  return { rps: (per * CLIENT_PROCS) / seconds, proxyCpu, primaryCpu, backendCpu, clientCpu, otherCpu: Math.max(0, m1 - m0 - proxyCpu - backendCpu - clientCpu), seconds, spread };
}

// ---- the run ----------------------------------------------------------------------------------

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const series = new Map<string, number[]>();
const push = (k: string, v: number) => (series.get(k) ?? series.set(k, []).get(k)!).push(v);
const get = (k: string): number[] => series.get(k) ?? [];
const notes: string[] = [];
const spreads = new Map<string, string[]>();

/**
 * Other sessions share this machine: before each system, wait (at most QUIET_MS, and
 * QUIET_BUDGET_MS over the whole run) until the machine is nearly idle (under QUIET_CORES busy over
 * half a second, with nothing of ours running but the idle redis-server).
 */
const QUIET_CORES = 0.3;
const QUIET_MS = 10_000;
let quietBudget = Number(opt.get("--quiet-budget") ?? 120_000);
let quietWaited = 0;
let quietMissed = 0;
async function waitQuiet(): Promise<void> {
  const start = Date.now();
  for (;;) {
    const a = machineBusy();
    await sleep(500);
    if ((machineBusy() - a) / 0.5 < QUIET_CORES) break;
    if (Date.now() - start > Math.min(QUIET_MS, quietBudget)) {
      quietMissed++;
      break;
    }
  }
  const w = Date.now() - start - 500;
  quietWaited += w;
  quietBudget = Math.max(0, quietBudget - w);
}

/** Other sessions' CPU (cores) above which a load is measured again; retries allowed in the run. */
const OTHER_MAX = 0.3;
const MAX_RETRIES = Number(opt.get("--max-retries") ?? 40);
let retries = 0;
let samples = 0;
let disturbed = 0;

/** measure, and when the client fails (an error reply, a stall), say so in the notes and try again, at most twice. */
async function measureOrRetry(r: Running, bs: readonly Backend[], l: Load, n: number, spreadToo: boolean, what: string): Promise<Measure> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await measure(r, bs, l, n, spreadToo);
    } catch (e) {
      const msg = (e as Error).message.replace(/\s+/g, " ").slice(0, 300);
      notes.push(`${what} ${l.id}, attempt ${attempt}: ${msg}`);
      proc.stderr.write(`${what} ${l.id}: ${msg}\n`);
      if (attempt === 3) throw e;
      await waitQuiet();
    }
  }
}

const t0 = Date.now();
const bs: Backend[] = [];
for (let i = 0; i < BACKENDS; i++) bs.push(await startBackend(i));
for (const b of bs) await prefill("redis", b.port, false);
for (let rep = 0; rep < REPS; rep++) {
  const order = TARGETS.map((_, i) => TARGETS[(i + rep) % TARGETS.length]!);
  for (const id of order) {
    await waitQuiet();
    const r = await startSystem(id, bs, rep);
    // warm-up: every worker gets some of the 50 connections and sees both commands
    for (const op of ["get", "set"] as const) await measure(r, bs, { id: "warm", op, depth: 16 }, 100_000, false);
    for (const l of LOADS) {
      const n = l.depth === 1 ? N1 : N16;
      const spreadToo = l.op === "get" && l.depth === Math.max(...DEPTHS);
      let m = await measureOrRetry(r, bs, l, n, spreadToo, `rep ${rep + 1} ${id}`);
      // a load during which the rest of the machine was busy is measured again once the machine
      // is quiet (up to twice, while the budget lasts), and the less disturbed sample is kept
      for (let tries = 1; m.otherCpu / m.seconds > OTHER_MAX && tries < 3 && retries < MAX_RETRIES; tries++) {
        retries++;
        await waitQuiet();
        const again = await measureOrRetry(r, bs, l, n, spreadToo, `rep ${rep + 1} ${id}`);
        if (again.otherCpu / again.seconds < m.otherCpu / m.seconds) m = again;
      }
      samples++;
      if (m.otherCpu / m.seconds > OTHER_MAX) disturbed++;
      const k = `${id}/${l.id}`;
      push(`${k}/rps`, m.rps);
      push(`${k}/proxyUs`, (m.proxyCpu / (m.rps * m.seconds)) * 1e6);
      push(`${k}/proxyCores`, m.proxyCpu / m.seconds);
      push(`${k}/primaryCores`, m.primaryCpu / m.seconds);
      push(`${k}/backendCores`, m.backendCpu / m.seconds);
      push(`${k}/clientCores`, m.clientCpu / m.seconds);
      push(`${k}/otherCores`, m.otherCpu / m.seconds);
      if (m.spread !== undefined) (spreads.get(id) ?? spreads.set(id, []).get(id)!).push(m.spread.join("/"));
    }
    // idle after the load: RSS of each process, connections the backends hold from this system
    await sleep(1000);
    if (r.runs.length > 0) {
      const ws = r.runs.flatMap((x) => childrenOf(x.pid));
      if (ws.join() !== r.workers.join()) notes.push(`rep ${rep + 1} ${id}: workers ${r.workers.join(",")} at the start, ${ws.join(",") || "none"} at the end (one died and was started again?)`);
      const primaries = r.runs.map((x) => statusBytes(x.pid, "VmRSS") ?? Number.NaN);
      const workers = r.workers.map((w) => statusBytes(w, "VmRSS") ?? Number.NaN);
      push(`${id}/rssPrimary`, primaries.reduce((a, b) => a + b, 0) / primaries.length);
      if (workers.length > 0) push(`${id}/rssWorker`, workers.reduce((a, b) => a + b, 0) / workers.length);
      push(`${id}/rssTotal`, [...primaries, ...workers].reduce((a, b) => a + b, 0));
      push(`${id}/hwmTotal`, [...r.runs.map((x) => x.pid), ...r.workers].reduce((a, p) => a + (statusBytes(p, "VmHWM") ?? Number.NaN), 0));
      push(`${id}/serverConns`, backendConns(bs));
    }
    for (const x of r.runs) {
      const alive = x.proc.exitCode === null && x.proc.signalCode === null;
      if (!alive) notes.push(`rep ${rep + 1} ${id}: pid ${x.pid} exited (${x.proc.exitCode ?? x.proc.signalCode}) before the end; log ${x.logFile}`);
      await x.stop();
    }
    proc.stderr.write(`rep ${rep + 1}/${REPS}: ${id} done (${((Date.now() - t0) / 1000).toFixed(0)} s)\n`);
  }
}
for (const b of bs) await b.run.stop();

// ---- the report -------------------------------------------------------------------------------

const k = (n: number) => (Number.isFinite(n) ? `${(n / 1000).toFixed(0)}k` : "-");
const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : "-");
const mb = (n: number) => (Number.isFinite(n) ? `${(n / 1048576).toFixed(1)} MB` : "-");
const ratio = (a: string, b: string): number => {
  const x = get(a);
  const y = get(b);
  return median(x.map((v, i) => v / y[i]!).filter((v) => Number.isFinite(v)));
};
const has = (id: string) => TARGETS.includes(id);
const label = (id: string) => SYSTEMS[id]!.label;
const proxies = TARGETS.filter((t) => SYSTEMS[t]!.argv !== null);

const sh = (cmd: string, args: string[]) => spawnSync(cmd, args, { cwd: ROOT, encoding: "utf8" }).stdout?.trim() ?? "";
let md = `# What --workers buys on this 2-core machine\n\n`;
md += `\`bun bench/workers.ts --reps ${REPS} --n1 ${N1} --n16 ${N16} --depths ${DEPTHS.join(",")} --backends ${BACKENDS} --targets ${TARGETS.join(",")}\`, `;
md += `${new Date().toISOString()}, commit ${COMMIT} (HEAD when dist/ was copied), ${((Date.now() - t0) / 60000).toFixed(1)} min.\n`;
md += `${BACKENDS} redis-server ${sh("redis-server", ["--version"]).split(" ")[2] ?? "?"}, Bun ${sh(join(ROOT, "node_modules", ".bin", "bun"), ["--version"])}, Node ${sh("node", ["--version"])}, ${sh("nproc", [])} CPUs, nothing pinned. `;
md += `Every system gets the same client: ${CLIENT_PROCS} redis-benchmark processes of ${CONNS_PER_CLIENT} connections each (${CLIENT_PROCS * CONNS_PER_CLIENT} in all), ${VALUE_BYTES}-byte values, ${KEYSPACE.toLocaleString("en")} keys; `;
md += `for 2 x nutcracker one client process goes to each nutcracker's port. Medians over ${REPS} repetitions (order rotated); each ratio is the median of the per-repetition ratios.\n\n`;
md += `Client, backend and proxy compete for the same two cores here: a proxy that uses a second core takes it from the client and the backend, so these figures are what the whole machine does, not what the proxy could do alone. The CPU table says who used what.\n\n`;

md += `## Throughput (requests per second)\n\nMedian (lowest-highest over the repetitions).\n\n`;
md += `| load | ${TARGETS.map(label).join(" | ")} |\n|---|${TARGETS.map(() => "---").join("|")}|\n`;
const range = (xs: readonly number[]) => (xs.length > 1 ? ` (${k(Math.min(...xs))}-${k(Math.max(...xs))})` : "");
for (const l of LOADS) md += `| ${title(l)} | ${TARGETS.map((t) => k(median(get(`${t}/${l.id}/rps`))) + range(get(`${t}/${l.id}/rps`))).join(" | ")} |\n`;

const ratios: [string, string, string][] = [];
if (has("bun-w2") && has("bun-w1")) ratios.push(["Bun w2 / w1", "bun-w2", "bun-w1"]);
if (has("node-w2") && has("node-w1")) ratios.push(["Node w2 / w1", "node-w2", "node-w1"]);
if (has("nc-x2") && has("nc")) ratios.push(["2 x nutcracker / nutcracker", "nc-x2", "nc"]);
for (const t of ["bun-w1", "bun-w2", "node-w1", "node-w2"]) if (has(t) && has("nc")) ratios.push([`${label(t).replace(" binary", "").replace(" bundle", "")} / nutcracker`, t, "nc"]);
for (const t of ["bun-w2", "node-w2"]) if (has(t) && has("nc-x2")) ratios.push([`${label(t).replace(" binary", "").replace(" bundle", "")} / 2 x nutcracker`, t, "nc-x2"]);
md += `\n## Ratios of requests per second\n\n| ratio | ${LOADS.map(title).join(" | ")} |\n|---|${LOADS.map(() => "---").join("|")}|\n`;
for (const [name, a, b] of ratios) md += `| ${name} | ${LOADS.map((l) => f2(ratio(`${a}/${l.id}/rps`, `${b}/${l.id}/rps`))).join(" | ")} |\n`;

md += `\n## CPU\n\nProxy CPU per request: microseconds of CPU of the primary and all its workers (or of both nutcrackers), summed, per request. `;
md += `Then the cores each party kept busy on average during the load (CPU-seconds / wall seconds): proxy, redis-server(s), the two clients, and the rest of the machine (/proc/stat busy minus those: other sessions on this machine).\n\n`;
md += `| load | system | proxy µs/req | proxy cores | of which primary | backend cores | client cores | other cores |\n|---|---|---|---|---|---|---|---|\n`;
for (const l of LOADS) {
  for (const t of TARGETS) {
    const c = (x: string) => f2(median(get(`${t}/${l.id}/${x}`)));
    md += `| ${title(l)} | ${label(t)} | ${SYSTEMS[t]!.argv === null ? "-" : c("proxyUs")} | ${SYSTEMS[t]!.argv === null ? "-" : c("proxyCores")} | ${SYSTEMS[t]!.workers > 0 ? c("primaryCores") : "-"} | ${c("backendCores")} | ${c("clientCores")} | ${c("otherCores")} |\n`;
  }
}
const cpuRatios = ratios.filter(([, a, b]) => SYSTEMS[a]!.argv !== null && SYSTEMS[b]!.argv !== null);
md += `\nRatios of proxy CPU per request (below 1: the first uses less CPU per request):\n\n| ratio | ${LOADS.map(title).join(" | ")} |\n|---|${LOADS.map(() => "---").join("|")}|\n`;
for (const [name, a, b] of cpuRatios) md += `| ${name} | ${LOADS.map((l) => f2(ratio(`${a}/${l.id}/proxyUs`, `${b}/${l.id}/proxyUs`))).join(" | ")} |\n`;

md += `\n## Memory and connections, idle 1 s after the loads\n\n`;
md += `VmRSS from /proc/PID/status: of the primary (the one process at --workers 1, each nutcracker for 2 x nutcracker), the mean of its workers (its children), and all of them summed; VmHWM summed (the peak during the loads). `;
md += `Server connections: the redis-server's connected_clients (INFO clients) while the system is idle, less the redis-cli asking${BACKENDS > 1 ? ", summed over the backends" : ""}. `;
md += `Client connections per worker: how the kernel spread the ${CLIENT_PROCS * CONNS_PER_CLIENT} connections during ${title(LOADS.find((l) => l.op === "get" && l.depth === Math.max(...DEPTHS))!)} in each repetition (ss -tnp).\n\n`;
md += `| system | RSS primary | RSS per worker | RSS total | peak total | server connections | client connections per worker |\n|---|---|---|---|---|---|---|\n`;
for (const t of proxies) {
  md += `| ${label(t)} | ${mb(median(get(`${t}/rssPrimary`)))} | ${SYSTEMS[t]!.workers > 0 ? mb(median(get(`${t}/rssWorker`))) : "-"} | ${mb(median(get(`${t}/rssTotal`)))} | ${mb(median(get(`${t}/hwmTotal`)))} | `;
  md += `${median(get(`${t}/serverConns`))} | ${spreads.get(t)?.join(", ") ?? "-"} |\n`;
}
if (has("nc")) {
  md += `\nRSS total against one nutcracker's: ${proxies
    .filter((t) => t !== "nc")
    .map((t) => `${label(t)} ${f2(ratio(`${t}/rssTotal`, "nc/rssTotal"))}`)
    .join(", ")}.\n`;
}
md += `\nOther sessions share this machine. Before each system the run waited for it to be nearly idle (under ${QUIET_CORES} cores busy over 0.5 s, at most ${QUIET_MS / 1000} s each time): ${(quietWaited / 1000).toFixed(0)} s of waiting in all, and ${quietMissed} times it gave up and went on. `;
md += `A load during which other processes used more than ${OTHER_MAX} cores was measured again after such a wait (up to twice, keeping the less disturbed sample): ${retries} measured again, and ${disturbed} of the ${samples} samples kept were still above ${OTHER_MAX} cores of others.\n`;
if (notes.length > 0) md += `\n## Notes from the run\n\n${notes.map((n) => `- ${n}`).join("\n")}\n`;
proc.stdout.write(md);
if (OUT !== "-") writeFileSync(OUT, md);
proc.exit(0);
