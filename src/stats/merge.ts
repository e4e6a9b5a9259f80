// One set of stats for a group of workers (--workers): their stats JSON and metrics texts summed into one.
//
// Every worker serves its own stats and metrics on a private unix socket; the primary reads them
// all for each request on its ports and answers with the sums, so a collector sees one proxy.
// Counters and gauges are summed (connections, queues and requests add up across processes);
// the latency percentiles of the stats JSON cannot be summed, so the group's is the largest
// worker's (the histogram buckets of the metrics do sum, exactly); a server's ejection time is
// the latest. The header is the group's: its start, its clock.

/** Stats JSON keys whose value across workers is the largest, not the sum. */
const MAX_KEYS: ReadonlySet<string> = new Set(["latency_p50_us", "latency_p99_us", "latency_p999_us", "server_ejected_at"]);

type Json = number | string | boolean | null | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

const isObj = (v: Json | undefined): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** `b` merged into `a` (a copy): numbers summed (or the max for MAX_KEYS), objects merged, anything else from the first that has it. */
function mergeInto(a: Obj, b: Obj): Obj {
  const out: Obj = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const mine = out[k];
    if (mine === undefined) out[k] = v;
    else if (typeof mine === "number" && typeof v === "number") out[k] = MAX_KEYS.has(k) ? Math.max(mine, v) : mine + v;
    else if (isObj(mine) && isObj(v)) out[k] = mergeInto(mine, v);
  }
  return out;
}

/** nc_stats.c's layout: scalars joined by ", ", an object after a scalar by ", " and after an object by ",", `"name": {` for objects. */
function write(o: Obj): string {
  let out = "{";
  let prev: "none" | "scalar" | "object" = "none";
  for (const [k, v] of Object.entries(o)) {
    if (isObj(v)) {
      out += `${prev === "none" ? "" : prev === "object" ? "," : ", "}${JSON.stringify(k)}: ${write(v)}`;
      prev = "object";
    } else {
      out += `${prev === "none" ? "" : ", "}${JSON.stringify(k)}:${JSON.stringify(v)}`;
      prev = "scalar";
    }
  }
  return `${out}}`;
}

/**
 * The group's stats JSON from each worker's (unparseable ones skipped): the header from the
 * first, `uptime` and `timestamp` the group's, then `workers` (ours: how many answered), then the
 * pools with their sums.
 */
export function mergeStatsJson(texts: readonly string[], uptime: number, timestamp: number): string {
  const parsed: Obj[] = [];
  for (const t of texts) {
    try {
      const v = JSON.parse(t) as Json;
      if (isObj(v)) parsed.push(v);
    } catch {
      // a worker that died mid-answer: the others still count
    }
  }
  let sum: Obj = {};
  for (const p of parsed) sum = mergeInto(sum, p);
  const head: Obj = {
    service: sum.service ?? "nutcracker",
    source: sum.source ?? "",
    version: sum.version ?? "0.5.0",
    uptime,
    timestamp,
    total_connections: sum.total_connections ?? 0,
    curr_connections: sum.curr_connections ?? 0,
    workers: parsed.length,
  };
  for (const [k, v] of Object.entries(sum)) if (isObj(v)) head[k] = v;
  return `${write(head)}\n`;
}

/** One sample line: its series (name and labels, as written) and its value. */
function splitSample(line: string): { series: string; value: number } | null {
  const sp = line.lastIndexOf(" ");
  if (sp <= 0) return null;
  const value = Number(line.slice(sp + 1));
  return Number.isNaN(value) && line.slice(sp + 1) !== "NaN" ? null : { series: line.slice(0, sp), value };
}

/** A series' metric name: the text before its labels. */
const nameOf = (series: string): string => {
  const b = series.indexOf("{");
  return b < 0 ? series : series.slice(0, b);
};

/**
 * The group's metrics text from each worker's: every series summed, in the order first seen,
 * with its family's HELP and TYPE once. The series named in `own` are left out, for the caller
 * to write with the group's values (the uptime, the info line, the reload counters).
 */
export function mergePrometheus(texts: readonly string[], own: ReadonlySet<string>): string {
  const families: string[] = [];
  const meta = new Map<string, string>();
  const series = new Map<string, { family: string; value: number }>();
  const order = new Map<string, string[]>();
  for (const t of texts) {
    let family = "";
    for (const line of t.split("\n")) {
      if (line === "") continue;
      if (line.startsWith("# HELP ") || line.startsWith("# TYPE ")) {
        family = line.slice(7, line.indexOf(" ", 7) < 0 ? undefined : line.indexOf(" ", 7));
        if (own.has(family)) continue;
        if (!meta.has(family)) {
          meta.set(family, "");
          families.push(family);
          order.set(family, []);
        }
        if (!meta.get(family)!.includes(line.slice(0, 7))) meta.set(family, `${meta.get(family)}${line}\n`);
        continue;
      }
      if (line.startsWith("#")) continue;
      const s = splitSample(line);
      if (s === null || own.has(family) || own.has(nameOf(s.series))) continue;
      const e = series.get(s.series);
      if (e !== undefined) e.value += s.value;
      else {
        const f = order.has(family) ? family : nameOf(s.series);
        if (!order.has(f)) {
          families.push(f);
          order.set(f, []);
          meta.set(f, "");
        }
        series.set(s.series, { family: f, value: s.value });
        order.get(f)!.push(s.series);
      }
    }
  }
  let out = "";
  for (const f of families) {
    out += meta.get(f) ?? "";
    for (const k of order.get(f)!) {
      const v = series.get(k)!.value;
      out += `${k} ${Number.isFinite(v) ? String(v) : v > 0 ? "+Inf" : v < 0 ? "-Inf" : "NaN"}\n`;
    }
  }
  return out;
}
