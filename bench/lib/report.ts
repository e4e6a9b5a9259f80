// What a benchmark run measured, and the Markdown report: medians with min-max over repetitions,
// and each figure as the median of its per-repetition ratios to nutcracker; with a baseline build,
// first the ratios of the current build to the baseline's (after/before).

import { type Load, type Outcome, loadTitle } from "./loads.ts";

/** One load run on one system in one repetition. */
export interface LoadRun {
  readonly rep: number;
  readonly load: string;
  readonly system: string;
  readonly n: number;
  readonly outcome: Outcome;
  /** Proxy CPU seconds (utime+stime, all threads) over the run; undefined for direct backends. */
  readonly cpu?: number;
  /** VmHWM after the run, the peak having been reset just before it; undefined for direct backends. */
  readonly peakBytes?: number;
}

/** A proxy's memory in one repetition. */
export interface MemRun {
  readonly rep: number;
  readonly system: string;
  readonly idleBytes: number;
  readonly withIdleBytes?: number;
  readonly idleClients: number;
  readonly threads: number;
}

export interface SystemInfo {
  readonly id: string;
  readonly label: string;
  readonly proxy: boolean;
}

/** A system of the current build and the same system built from the baseline commit. */
export interface Pair {
  readonly after: SystemInfo;
  readonly before: SystemInfo;
}

export interface Report {
  readonly title: string;
  readonly header: readonly string[];
  readonly systems: readonly SystemInfo[];
  readonly loads: readonly Load[];
  readonly runs: readonly LoadRun[];
  readonly mem: readonly MemRun[];
  /** Everything that went wrong or looked wrong (failed runs come from `runs`). */
  readonly notes: readonly string[];
  readonly nReps: number;
  /** After/before pairs (--baseline); the section is left out when there are none. */
  readonly pairs?: readonly Pair[];
  /** After/before beyond 1 ± tolerance is flagged. */
  readonly tolerance?: number;
  /** How the baseline is named in the section's text, e.g. "abc1234 (`HEAD~1`)". */
  readonly baselineName?: string;
}

export const BASE = "nutcracker";

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

interface Spread {
  readonly min: number;
  readonly med: number;
  readonly max: number;
  readonly n: number;
}

function spread(xs: readonly number[]): Spread | undefined {
  if (xs.length === 0) return undefined;
  return { min: Math.min(...xs), med: median(xs), max: Math.max(...xs), n: xs.length };
}

/** 842k, 76.1k, 1.26M, 950 */
export function count(x: number): string {
  if (!Number.isFinite(x)) return "—";
  if (x >= 10e6) return `${(x / 1e6).toFixed(1)}M`;
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)}M`;
  if (x >= 100e3) return `${(x / 1e3).toFixed(0)}k`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)}k`;
  return x.toFixed(0);
}

/** three significant digits at most: 0.479, 3.31, 12.4, 130 */
export function ms(x: number): string {
  if (!Number.isFinite(x)) return "—";
  if (x >= 100) return x.toFixed(0);
  if (x >= 10) return x.toFixed(1);
  if (x >= 1) return x.toFixed(2);
  return x.toFixed(3);
}

const mb = (b: number): string => (b / 1048576).toFixed(1);
const ratio = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? "—" : x.toFixed(2));

function withSpread(s: Spread | undefined, f: (x: number) => string): string {
  if (s === undefined) return "—";
  return s.n === 1 ? f(s.med) : `${f(s.med)} [${f(s.min)}–${f(s.max)}]`;
}

type Figure = "rps" | "p50" | "p99" | "maxMs" | "cpu" | "perCpu" | "peak";

/** Per-repetition figures of one system on one load. */
interface Cell {
  readonly rps: Map<number, number>;
  readonly p50: Map<number, number>;
  readonly p99: Map<number, number>;
  readonly maxMs: Map<number, number>;
  readonly cpu: Map<number, number>;
  readonly perCpu: Map<number, number>;
  readonly peak: Map<number, number>;
  readonly failed: number;
}

function cellOf(runs: readonly LoadRun[], load: string, system: string): Cell {
  const c: Cell = { rps: new Map(), p50: new Map(), p99: new Map(), maxMs: new Map(), cpu: new Map(), perCpu: new Map(), peak: new Map(), failed: 0 };
  let failed = 0;
  for (const r of runs) {
    if (r.load !== load || r.system !== system) continue;
    if (!r.outcome.ok) {
      failed++;
      continue;
    }
    const s = r.outcome.sample;
    c.rps.set(r.rep, s.rps);
    c.p50.set(r.rep, s.p50);
    c.p99.set(r.rep, s.p99);
    c.maxMs.set(r.rep, s.maxMs);
    if (r.cpu !== undefined) {
      c.cpu.set(r.rep, r.cpu);
      if (r.cpu > 0) c.perCpu.set(r.rep, r.n / r.cpu);
    }
    if (r.peakBytes !== undefined) c.peak.set(r.rep, r.peakBytes);
  }
  return { ...c, failed };
}

const values = (m: Map<number, number>): number[] => [...m.values()];

/** Per repetition, (system's figure / the other's figure in the same repetition). */
function ratiosByRep(mine: Map<number, number>, base: Map<number, number>): number[] {
  const rs: number[] = [];
  for (const [rep, v] of mine) {
    const b = base.get(rep);
    if (b !== undefined && b > 0) rs.push(v / b);
  }
  return rs;
}

/** The median over repetitions of (system's figure / nutcracker's figure in the same repetition). */
function ratioMedian(mine: Map<number, number>, base: Map<number, number>): number | undefined {
  const rs = ratiosByRep(mine, base);
  return rs.length === 0 ? undefined : median(rs);
}

function table(head: readonly string[], rows: readonly (readonly string[])[]): string[] {
  return [`| ${head.join(" | ")} |`, `|${head.map((h, i) => (i === 0 ? "---" : "---:")).join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)];
}

/** The whole Markdown report. */
export function markdown(r: Report, level = 1): string {
  const h = (n: number): string => "#".repeat(level + n - 1);
  const out: string[] = [`${h(1)} ${r.title}`, "", ...r.header, ""];
  const proxies = r.systems.filter((s) => s.proxy);
  const ours = proxies.filter((s) => s.id !== BASE);
  const cells = new Map<string, Cell>();
  const cell = (load: string, sys: string): Cell => {
    const k = `${load}\0${sys}`;
    let c = cells.get(k);
    if (c === undefined) cells.set(k, (c = cellOf(r.runs, load, sys)));
    return c;
  };
  const ran = (l: Load, s: SystemInfo): boolean => r.runs.some((x) => x.load === l.id && x.system === s.id);

  // 0. after/before, when there is a baseline build
  const pairs = r.pairs ?? [];
  if (pairs.length > 0) {
    const tol = r.tolerance ?? 0.03;
    const pct = (x: number): string => `${x >= 1 ? "+" : "−"}${(Math.abs(x - 1) * 100).toFixed(1)}%`;
    const flagged: string[] = [];
    let compared = 0;
    const fig = (l: Load, p: Pair, k: "perCpu" | "rps", judge: boolean): string => {
      if (!ran(l, p.after) || !ran(l, p.before)) return "";
      const [x, y] = [cell(l.id, p.after.id)[k], cell(l.id, p.before.id)[k]];
      if (x.size === 0 || y.size === 0) return x.size === y.size ? "both failed" : x.size === 0 ? "current failed" : "baseline failed";
      const rs = ratiosByRep(x, y);
      if (rs.length === 0) return "no repetition with both";
      const s = spread(rs)!;
      let text = withSpread(s, ratio);
      if (judge) {
        compared++;
        if (Math.abs(s.med - 1) > tol) {
          const up = rs.filter((x) => x > 1).length;
          flagged.push(`${p.after.label} on ${loadTitle(l)}: ${ratio(s.med)} (${pct(s.med)}); ${s.med > 1 ? up : rs.length - up} of ${rs.length} repetitions ${s.med > 1 ? "above" : "below"} 1.00`);
          text = `**${text} ${pct(s.med)}**`;
        }
      }
      return text;
    };
    out.push(
      `${h(2)} After / before${r.baselineName === undefined ? "" : ` ${r.baselineName}`}`,
      "",
      `The current build's figure over the baseline build's in the same repetition, median [min–max] over repetitions: requests per proxy CPU-second (higher is better; in **bold** when beyond ±${Math.round(tol * 100)}%), and requests/s. The min–max spread shows the noise of this run.`,
      "",
    );
    const rows = r.loads.map((l) => [loadTitle(l), ...pairs.flatMap((p) => [fig(l, p, "perCpu", true), fig(l, p, "rps", false)])]);
    out.push(...table(["load", ...pairs.flatMap((p) => [`${p.after.label}: per CPU-s`, `${p.after.label}: req/s`])], rows), "");
    if (compared === 0) out.push("No load completed on both builds.", "");
    else if (flagged.length === 0) out.push(`Within ±${Math.round(tol * 100)}% on every load (${compared} compared).`, "");
    else out.push(`Beyond ±${Math.round(tol * 100)}% in requests per proxy CPU-second on ${flagged.length} of ${compared} (when not every repetition agrees, or the other loads are mixed, it may be noise: rerun, with more repetitions):`, "", ...flagged.map((f) => `- ${f}`), "");
  }

  // 1. the fair figure
  out.push(
    `${h(2)} Requests per proxy CPU-second`,
    "",
    "Median over repetitions of (requests / proxy CPU seconds), nutcracker's absolute figure, then ours as the median of the per-repetition ratios to nutcracker (absolute in brackets). Higher is better.",
    "",
  );
  out.push(
    ...table(
      ["load", "nutcracker", ...ours.map((s) => s.label)],
      r.loads.map((l) => {
        const base = cell(l.id, BASE);
        const b = spread(values(base.perCpu));
        return [
          loadTitle(l),
          b === undefined ? "—" : count(b.med),
          ...ours.map((s) => {
            if (!ran(l, s)) return "";
            const c = cell(l.id, s.id);
            const m = spread(values(c.perCpu));
            return m === undefined ? "failed" : `${ratio(ratioMedian(c.perCpu, base.perCpu))}x (${count(m.med)})`;
          }),
        ];
      }),
    ),
    "",
  );

  // 2. throughput
  const withDirect = r.systems.filter((s) => s.id !== BASE);
  out.push(`${h(2)} Requests per second`, "", "Median requests/s; ours (and the backend without a proxy) as the median ratio to nutcracker.", "");
  out.push(
    ...table(
      ["load", "nutcracker", ...withDirect.map((s) => s.label)],
      r.loads.map((l) => {
        const base = cell(l.id, BASE);
        const b = spread(values(base.rps));
        return [
          loadTitle(l),
          b === undefined ? "—" : count(b.med),
          ...withDirect.map((s) => {
            if (!ran(l, s)) return "";
            const c = cell(l.id, s.id);
            const m = spread(values(c.rps));
            return m === undefined ? "failed" : `${ratio(ratioMedian(c.rps, base.rps))}x (${count(m.med)})`;
          }),
        ];
      }),
    ),
    "",
  );

  // 3. memory
  out.push(
    `${h(2)} Memory`,
    "",
    "RSS (VmRSS) one second after start; with the idle clients open (each did one PING); the increase per idle client; and the peak (VmHWM) under any load and under the depth-16 loads. The peak is reset to the current RSS before each load, so it includes what earlier loads left allocated (nutcracker never frees its buffers). Median over repetitions; ratio to nutcracker in brackets.",
    "",
  );
  const memRow = (s: SystemInfo): string[] => {
    const mine = r.mem.filter((m) => m.system === s.id);
    const base = r.mem.filter((m) => m.system === BASE);
    const per = (f: (m: MemRun) => number | undefined, ms_: readonly MemRun[]): Map<number, number> => {
      const m = new Map<number, number>();
      for (const x of ms_) {
        const v = f(x);
        if (v !== undefined) m.set(x.rep, v);
      }
      return m;
    };
    const peakOver = (sys: string, pred: (l: Load) => boolean): Map<number, number> => {
      const m = new Map<number, number>();
      for (const x of r.runs) {
        const l = r.loads.find((y) => y.id === x.load);
        if (x.system !== sys || x.peakBytes === undefined || l === undefined || !pred(l)) continue;
        m.set(x.rep, Math.max(m.get(x.rep) ?? 0, x.peakBytes));
      }
      return m;
    };
    const fig = (mine_: Map<number, number>, base_: Map<number, number>, f: (x: number) => string): string => {
      const s_ = spread(values(mine_));
      if (s_ === undefined) return "—";
      return s.id === BASE ? withSpread(s_, f) : `${withSpread(s_, f)} (${ratio(ratioMedian(mine_, base_))}x)`;
    };
    const idle = (m: MemRun): number => m.idleBytes;
    const withIdle = (m: MemRun): number | undefined => m.withIdleBytes;
    const perConn = (m: MemRun): number | undefined => (m.withIdleBytes === undefined || m.idleClients === 0 ? undefined : (m.withIdleBytes - m.idleBytes) / m.idleClients);
    return [
      s.label,
      fig(per(idle, mine), per(idle, base), mb),
      fig(per(withIdle, mine), per(withIdle, base), mb),
      fig(per(perConn, mine), per(perConn, base), (x) => (x / 1024).toFixed(1)),
      fig(peakOver(s.id, () => true), peakOver(BASE, () => true), mb),
      fig(peakOver(s.id, (l) => l.depth === 16), peakOver(BASE, (l) => l.depth === 16), mb),
      String(median(mine.map((m) => m.threads))),
    ];
  };
  const nIdle = r.mem[0]?.idleClients ?? 0;
  out.push(...table(["system", "RSS idle MB", `RSS, ${nIdle} idle clients, MB`, "KB per idle client", "peak under load MB", "peak under depth 16 MB", "threads"], proxies.map(memRow)), "");

  // 4. per load, in detail
  out.push(`${h(2)} Each load`, "", "Median [min–max] over repetitions; ratios (x nc) are medians of per-repetition ratios to nutcracker. Latencies in ms as the client reports them; max is the slowest single request (median of the per-run maxima).", "");
  for (const l of r.loads) {
    const base = cell(l.id, BASE);
    const rows: string[][] = [];
    for (const s of r.systems) {
      if (!ran(l, s)) continue;
      const c = cell(l.id, s.id);
      const isBase = s.id === BASE;
      const x = (k: Figure): string => (isBase ? "1.00" : ratio(ratioMedian(c[k], base[k])));
      rows.push([
        s.label,
        withSpread(spread(values(c.rps)), count),
        x("rps"),
        withSpread(spread(values(c.p50)), ms),
        withSpread(spread(values(c.p99)), ms),
        c.p99.size > 0 ? x("p99") : "—",
        withSpread(spread(values(c.maxMs)), ms),
        s.proxy ? withSpread(spread(values(c.cpu)), (v) => v.toFixed(2)) : "—",
        s.proxy ? withSpread(spread(values(c.perCpu)), count) : "—",
        s.proxy && c.perCpu.size > 0 ? x("perCpu") : "—",
        s.proxy ? withSpread(spread(values(c.peak)), mb) : "—",
        c.failed === 0 ? "" : `${c.failed} failed`,
      ]);
    }
    out.push(`${h(3)} ${loadTitle(l)} (\`${l.id}\`, ${r.runs.find((x) => x.load === l.id)?.n ?? "?"} requests)`, "");
    out.push(...table(["system", "req/s", "x nc", "p50 ms", "p99 ms", "p99 x nc", "max ms", "proxy CPU s", "req per CPU-s", "x nc", "peak RSS MB", ""], rows), "");
  }

  // 5. what went wrong
  const failures = r.runs.filter((x) => !x.outcome.ok);
  out.push(`${h(2)} Problems`, "");
  if (failures.length === 0 && r.notes.length === 0) out.push("None: every run completed with no error reply, no stall and no unexpected log line.", "");
  for (const f of failures) out.push(`- rep ${f.rep + 1}, ${f.load}, ${f.system}: ${f.outcome.ok ? "" : f.outcome.error}`);
  for (const n of r.notes) out.push(`- ${n}`);
  if (failures.length + r.notes.length > 0) out.push("");
  return out.join("\n");
}
