// What TLS costs (issue 21): requests per proxy CPU-second of a pool with TLS on both sides
// (clients → our TLS listener, our pool → redis-server's TLS port) against the same pool plain
// (plain listener, redis-server's plain port: the very same redis-server), on the Bun binary and
// the Node bundle, in one run. twemproxy has no TLS; what people run instead is nutcracker 0.5.0
// behind two stunnels (client TLS → stunnel → nutcracker plain → stunnel → redis TLS), measured
// here as the CPU of the three processes together, beside nutcracker plain.
//
//   bun bench/tls.ts [--reps N] [--n1 N] [--n16 N] [--depths 1,16] [--targets bun-bin,node] [--dist DIR] [--out FILE|-]
//
// Needs dist/ (`bun build.ts bin`; --dist: another build's directory), redis-server with TLS,
// nutcracker, stunnel4 and openssl. The two builds are copied at start, so a rebuild meanwhile
// does not change what a later repetition runs.
// Each repetition starts every system once, the order rotated: our proxy with its two pools, or
// nutcracker with its two pools and the two stunnels, all pinned to one CPU with the client
// (redis-benchmark, --tls --cacert for the TLS pools) and the backend (../shared/BENCHMARKING.md).
// Every load runs on both pools of each system, the pool order alternating. Every TLS load opens
// its 50 client connections afresh, so 50 handshakes (P-256 certificates from
// test/helpers/certs.ts, each side's default TLS version) are in each TLS figure, on every system alike; the connection
// to redis is opened once per process and verified against the CA (stunnel: verifyChain + checkIP).
// The CPU of our proxy and of nutcracker is read as in bench/cluster.ts (per-thread schedstat);
// stunnel starts a thread per connection, which would slip between two schedstat samples, so its
// CPU is utime+stime of the whole process (exited threads included). The report is the median
// over repetitions of each figure and of each per-repetition ratio, with the ratios' range.

import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { makeCerts } from "../test/helpers/certs.ts";
import { freePort, waitForPort } from "../test/helpers/runtimes.ts";
import { type Load, loadTitle, prefill, runLoad } from "./lib/loads.ts";
import { PIN_CPU, ROOT, type Spawned, cpuBetween, cpuSample, cpuSeconds, killAll, setAffinity, spawnLogged, versionOf } from "./lib/procs.ts";

const proc = globalThis.process;
const opt = new Map<string, string>();
for (let i = 2; i < proc.argv.length; i += 2) opt.set(proc.argv[i]!, proc.argv[i + 1] ?? "");
const REPS = Number(opt.get("--reps") ?? 5);
const N1 = Number(opt.get("--n1") ?? 100_000);
const N16 = Number(opt.get("--n16") ?? 1_000_000);
const TARGETS = (opt.get("--targets") ?? "bun-bin,node").split(",");
const DEPTHS = (opt.get("--depths") ?? "1,16").split(",").map(Number) as (1 | 16)[];
const DIST = opt.get("--dist") ?? join(ROOT, "dist");
const OUT = opt.get("--out") ?? join(ROOT, "bench", "results", `${new Date().toISOString().slice(0, 10)}-tls.md`);

const dir = mkdtempSync(join(tmpdir(), "ncbench-tls-"));
for (const f of ["nutcracker-bun", "nutcracker.mjs"]) copyFileSync(join(DIST, f), join(dir, f));
const OURS: Readonly<Record<string, { label: string; argv: string[] }>> = {
  "bun-bin": { label: "Bun binary", argv: [join(dir, "nutcracker-bun")] },
  node: { label: "Node bundle", argv: ["node", join(dir, "nutcracker.mjs")] },
};
for (const t of TARGETS) if (OURS[t] === undefined) throw new Error(`--targets: no target ${t} (there are ${Object.keys(OURS).join(", ")})`);
chmodSync(join(dir, "nutcracker-bun"), 0o755);
const builtAt = statSync(join(DIST, "nutcracker-bun")).mtime.toISOString();
const certs = makeCerts();
proc.on("exit", () => {
  killAll();
  rmSync(dir, { recursive: true, force: true });
  rmSync(certs.dir, { recursive: true, force: true });
});

const LOADS: readonly Load[] = DEPTHS.flatMap((depth) => (["get", "set"] as const).map((op): Load => ({ id: `redis.${op}.d${depth}`, proto: "redis", op, servers: 1, depth })));
const withTls = (l: Load): Load => ({ ...l, tls: { ca: certs.ca } });
const title = (l: Load) => loadTitle(l).replace(", 1 server", "");

/** One redis-server with a plain port and a TLS port (the server certificate, no client certificates asked). */
async function startRedis(): Promise<{ port: number; tls: number; run: Spawned }> {
  const [port, tls] = [await freePort(), await freePort()];
  const args = [
    "redis-server", "--port", String(port), "--tls-port", String(tls), "--bind", "127.0.0.1",
    "--tls-cert-file", certs.server.cert, "--tls-key-file", certs.server.key, "--tls-ca-cert-file", certs.ca, "--tls-auth-clients", "no",
    "--save", "", "--appendonly", "no", "--dir", dir,
  ];
  const run = spawnLogged(args, join(dir, "redis.log"), true);
  await waitForPort("127.0.0.1", port, 10_000);
  await waitForPort("127.0.0.1", tls, 10_000);
  return { port, tls, run };
}

/** A running system: the proxy, its two client ports, and the processes whose CPU each pool's loads are charged. */
interface Running {
  readonly id: string;
  readonly procs: readonly Spawned[];
  readonly plain: number;
  /** Where TLS clients connect: our TLS listener, or the front stunnel. */
  readonly tls: number;
  /** The processes of the TLS path: [proxy] or [nutcracker, front stunnel, back stunnel]. */
  readonly tlsPids: readonly number[];
  readonly proxyPid: number;
}

const pool = (name: string, port: number, body: string, server: number) =>
  `${name}:\n  listen: 127.0.0.1:${port}\n  redis: true\n  hash: fnv1a_64\n  distribution: ketama\n${body}  servers:\n   - 127.0.0.1:${server}:1\n`;

function stunnel(name: string, service: string, rep: number): Spawned {
  const conf = join(dir, `${name}.conf`);
  // no timeouts beyond stunnel's own; TCP_NODELAY both ways, as our sockets and nutcracker's
  writeFileSync(conf, `foreground = yes\nsyslog = no\npid =\ndebug = warning\nsocket = l:TCP_NODELAY=1\nsocket = r:TCP_NODELAY=1\n[${name}]\n${service}`);
  return spawnLogged(["stunnel4", conf], join(dir, `${name}.${rep}.log`), true);
}

async function startSystem(id: string, redis: { port: number; tls: number }, rep: number): Promise<Running> {
  const plain = await freePort();
  const stats = await freePort();
  if (id === "nutcracker") {
    const [front, ncTls, back] = [await freePort(), await freePort(), await freePort()];
    const conf = join(dir, "nutcracker.yml");
    writeFileSync(conf, pool("plain", plain, "", redis.port) + pool("tls", ncTls, "", back));
    const nc = spawnLogged(["/usr/sbin/nutcracker", "-c", conf, "-s", String(stats), "-a", "127.0.0.1"], join(dir, `nutcracker.${rep}.log`), true);
    const a = stunnel("front", `accept = 127.0.0.1:${front}\nconnect = 127.0.0.1:${ncTls}\ncert = ${certs.server.cert}\nkey = ${certs.server.key}\n`, rep);
    const b = stunnel("back", `client = yes\naccept = 127.0.0.1:${back}\nconnect = 127.0.0.1:${redis.tls}\nCAfile = ${certs.ca}\nverifyChain = yes\ncheckIP = 127.0.0.1\n`, rep);
    for (const p of [plain, ncTls, front, back]) await waitForPort("127.0.0.1", p, 30_000);
    for (const s of [nc, a, b]) setAffinity(s.pid, PIN_CPU);
    return { id, procs: [nc, a, b], plain, tls: front, tlsPids: [nc.pid, a.pid, b.pid], proxyPid: nc.pid };
  }
  const tls = await freePort();
  const body = `  listen_tls_cert_file: ${certs.server.cert}\n  listen_tls_key_file: ${certs.server.key}\n  tls: true\n  tls_ca_file: ${certs.ca}\n`;
  const conf = join(dir, `${id}.yml`);
  writeFileSync(conf, pool("plain", plain, "", redis.port) + pool("tls", tls, body, redis.tls));
  const run = spawnLogged([...OURS[id]!.argv, "-c", conf, "-s", String(stats), "-a", "127.0.0.1"], join(dir, `${id}.${rep}.log`), true);
  for (const p of [plain, tls]) await waitForPort("127.0.0.1", p, 30_000);
  setAffinity(run.pid, PIN_CPU);
  return { id, procs: [run], plain, tls, tlsPids: [run.pid], proxyPid: run.pid };
}

/** CPU seconds of `pids` from now until the returned function is called (see the header for stunnel). */
function cpuMeter(pids: readonly number[], proxyPid: number): () => number {
  const s0 = cpuSample(proxyPid)!;
  const t0 = pids.filter((p) => p !== proxyPid).map((p) => cpuSeconds(p)!);
  return () => {
    const s1 = cpuSample(proxyPid)!;
    const t1 = pids.filter((p) => p !== proxyPid).map((p) => cpuSeconds(p)!);
    return cpuBetween(s0, s1) + t1.reduce((s, v, i) => s + v - t0[i]!, 0);
  };
}

interface Measured {
  readonly perCpu: number;
  readonly rps: number;
  /** The part of the CPU that was the proxy's own (below 1 only for nutcracker's TLS path). */
  readonly proxyShare: number;
}

async function measure(r: Running, l: Load, path: "plain" | "tls"): Promise<Measured> {
  const n = l.depth === 1 ? N1 : N16;
  const pids = path === "plain" ? [r.proxyPid] : r.tlsPids;
  const all = cpuMeter(pids, r.proxyPid);
  const own = cpuMeter([r.proxyPid], r.proxyPid);
  const o = await runLoad(path === "tls" ? withTls(l) : l, path === "tls" ? r.tls : r.plain, n, true, 120_000);
  const cpu = all();
  const mine = own();
  if (!o.ok) throw new Error(`${r.id} ${l.id} ${path}: ${o.error}`);
  return { perCpu: n / cpu, rps: o.sample.rps, proxyShare: mine / cpu };
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const redis = await startRedis();
await prefill("redis", redis.port, true);
const ids = ["nutcracker", ...TARGETS];
/** system/path/load → per repetition */
const got = new Map<string, Measured[]>();
const push = (k: string, v: Measured) => (got.get(k) ?? got.set(k, []).get(k)!).push(v);
const t0 = performance.now();
/** The 1-minute load average: other work on the machine shows in it (the report gives it at start and end). */
const loadAvg = () => readFileSync("/proc/loadavg", "utf8").split(" ")[0]!;
const loadAtStart = loadAvg();
for (let rep = 0; rep < REPS; rep++) {
  const order = ids.map((_, i) => ids[(i + rep) % ids.length]!);
  for (const id of order) {
    const r = await startSystem(id, redis, rep);
    // one warm-up per path, so the JIT (and the connection to redis) has seen both before the first measured load
    for (const path of ["plain", "tls"] as const) {
      const o = await runLoad(path === "tls" ? withTls(LOADS[0]!) : LOADS[0]!, path === "tls" ? r.tls : r.plain, 10_000, true, 60_000);
      if (!o.ok) throw new Error(`${id} warm-up ${path}: ${o.error}`);
    }
    for (const l of LOADS) {
      const paths = rep % 2 === 0 ? (["plain", "tls"] as const) : (["tls", "plain"] as const);
      for (const path of paths) push(`${id}/${path}/${l.id}`, await measure(r, l, path));
    }
    for (const s of r.procs) await s.stop();
    proc.stderr.write(`rep ${rep + 1}/${REPS}: ${id} done (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
  }
}
await redis.run.stop();

const k = (n: number) => `${(n / 1000).toFixed(0)}k`;
const per = (key: string, f: (m: Measured) => number) => got.get(key)!.map(f);
/** Median of the per-repetition ratios a/b, and their range. */
const ratio = (a: string, b: string) => {
  const x = per(a, (m) => m.perCpu);
  const y = per(b, (m) => m.perCpu);
  const rs = x.map((v, i) => v / y[i]!);
  return `${median(rs).toFixed(2)} (${Math.min(...rs).toFixed(2)}-${Math.max(...rs).toFixed(2)})`;
};
const label = (t: string) => OURS[t]!.label;
const stunnelVersion = (/^stunnel \S+/m.exec(spawnSync("stunnel4", ["-version"], { encoding: "utf8" }).stderr ?? "") ?? ["stunnel4"])[0];
const commit = spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" }).stdout.trim();

let md = `# What TLS costs: TLS on both sides against plain, and against nutcracker behind two stunnels\n\n`;
md += `\`bun bench/tls.ts --reps ${REPS} --n1 ${N1} --n16 ${N16}${DIST === join(ROOT, "dist") ? "" : ` --dist ${DIST}`}\`, ${new Date().toISOString()}, commit ${commit} (${DIST === join(ROOT, "dist") ? "dist/" : DIST} built ${builtAt}), ${((performance.now() - t0) / 60_000).toFixed(1)} min, 1-minute load average ${loadAtStart} at start and ${loadAvg()} at the end (${cpus().length} CPUs).\n`;
md += `One redis-server ${versionOf("redis-server", ["--version"]).split(" ")[2]} with a plain and a TLS port; ${stunnelVersion}; `;
md += `client, backend, proxy (and stunnels) pinned to CPU ${PIN_CPU}; redis-benchmark, 50 clients (each TLS load makes its 50 handshakes), 32-byte values, 100,000 keys, `;
md += `${N1} requests at depth 1 and ${N16} at depth 16. `;
md += `Our TLS pool: \`listen_tls_cert_file\`/\`listen_tls_key_file\` and \`tls: true\` + \`tls_ca_file\`; nutcracker's: front stunnel (TLS) → nutcracker → back stunnel → redis TLS port. `;
md += `Figures are medians over the repetitions; ratios are medians of the per-repetition ratios (range in brackets).\n\n`;

md += `## Requests per CPU-second (of the proxy; of nutcracker and both stunnels together for "nutcracker + 2 stunnels")\n\n`;
md += `| load | nutcracker plain | nutcracker + 2 stunnels | ${TARGETS.map((t) => `${label(t)} plain | ${label(t)} TLS`).join(" | ")} |\n`;
md += `|---|---|---|${TARGETS.map(() => "---|---").join("|")}|\n`;
for (const l of LOADS) {
  const cells = [k(median(per(`nutcracker/plain/${l.id}`, (m) => m.perCpu))), k(median(per(`nutcracker/tls/${l.id}`, (m) => m.perCpu)))];
  for (const t of TARGETS) cells.push(k(median(per(`${t}/plain/${l.id}`, (m) => m.perCpu))), k(median(per(`${t}/tls/${l.id}`, (m) => m.perCpu))));
  md += `| ${title(l)} | ${cells.join(" | ")} |\n`;
}

md += `\n## Ratios\n\n`;
md += `| load | ${TARGETS.map((t) => `${label(t)} TLS / plain`).join(" | ")} | ${TARGETS.map((t) => `${label(t)} TLS / (nutcracker + 2 stunnels)`).join(" | ")} | nutcracker + 2 stunnels / nutcracker plain | ${TARGETS.map((t) => `${label(t)} plain / nutcracker plain`).join(" | ")} |\n`;
md += `|---|${TARGETS.map(() => "---").join("|")}|${TARGETS.map(() => "---").join("|")}|---|${TARGETS.map(() => "---").join("|")}|\n`;
for (const l of LOADS) {
  const cells = [
    ...TARGETS.map((t) => ratio(`${t}/tls/${l.id}`, `${t}/plain/${l.id}`)),
    ...TARGETS.map((t) => ratio(`${t}/tls/${l.id}`, `nutcracker/tls/${l.id}`)),
    ratio(`nutcracker/tls/${l.id}`, `nutcracker/plain/${l.id}`),
    ...TARGETS.map((t) => ratio(`${t}/plain/${l.id}`, `nutcracker/plain/${l.id}`)),
  ];
  md += `| ${title(l)} | ${cells.join(" | ")} |\n`;
}

md += `\n## Requests per second (wall clock, everything on one CPU), and nutcracker's share of its TLS chain's CPU\n\n`;
md += `| load | nutcracker plain | nutcracker + 2 stunnels | ${TARGETS.map((t) => `${label(t)} plain | ${label(t)} TLS`).join(" | ")} | nutcracker's share |\n`;
md += `|---|---|---|${TARGETS.map(() => "---|---").join("|")}|---|\n`;
for (const l of LOADS) {
  const cells = [k(median(per(`nutcracker/plain/${l.id}`, (m) => m.rps))), k(median(per(`nutcracker/tls/${l.id}`, (m) => m.rps)))];
  for (const t of TARGETS) cells.push(k(median(per(`${t}/plain/${l.id}`, (m) => m.rps))), k(median(per(`${t}/tls/${l.id}`, (m) => m.rps))));
  cells.push(`${(100 * median(per(`nutcracker/tls/${l.id}`, (m) => m.proxyShare))).toFixed(0)}%`);
  md += `| ${title(l)} | ${cells.join(" | ")} |\n`;
}
proc.stdout.write(md);
if (OUT !== "-") writeFileSync(OUT, md);
proc.exit(0);
