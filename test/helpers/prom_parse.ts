// A strict parser of the Prometheus text exposition format 0.0.4, for tests: it throws on anything off-spec.
//
// Beyond the grammar it checks what a scraper relies on: each family has one TYPE (and at most
// one HELP) before its first sample, a family's samples are contiguous, no series repeats, and a
// histogram's buckets rise with `le`, never decrease, and end with `+Inf` equal to `_count`.
// Stricter than Prometheus where our output has no reason to vary: single spaces, no trailing
// comma in label sets, a final newline.

export type PromType = "counter" | "gauge" | "histogram" | "summary" | "untyped";

export interface PromSample {
  /** The sample's own name (`x_bucket`, `x_sum`... for a histogram `x`). */
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface PromFamily {
  readonly name: string;
  readonly type: PromType;
  help: string | null;
  readonly samples: PromSample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set<PromType>(["counter", "gauge", "histogram", "summary", "untyped"]);

/** A Go ParseFloat-compatible number, or the spec's +Inf, -Inf and NaN. */
function parseValue(s: string, where: string): number {
  if (s === "+Inf" || s === "Inf") return Number.POSITIVE_INFINITY;
  if (s === "-Inf") return Number.NEGATIVE_INFINITY;
  if (s === "NaN") return Number.NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) throw new Error(`${where}: bad value "${s}"`);
  return Number(s);
}

/** Undo a label value's escapes; only \\, \" and \n exist. */
function unescapeLabel(s: string, where: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === "\n") throw new Error(`${where}: raw newline in a label value`);
    if (c !== "\\") {
      out += c;
      continue;
    }
    const n = s[++i];
    if (n === "\\") out += "\\";
    else if (n === '"') out += '"';
    else if (n === "n") out += "\n";
    else throw new Error(`${where}: bad escape "\\${n ?? ""}" in a label value`);
  }
  return out;
}

function unescapeHelp(s: string, where: string): string {
  return s.replace(/\\(.?)/g, (_, n: string) => {
    if (n === "\\") return "\\";
    if (n === "n") return "\n";
    throw new Error(`${where}: bad escape "\\${n}" in HELP`);
  });
}

/** Parse `{a="x",b="y"}` starting at `line[i] === "{"`; returns the labels and the index after `}`. */
function parseLabels(line: string, i: number, where: string): [Record<string, string>, number] {
  const labels: Record<string, string> = {};
  i++; // {
  if (line[i] === "}") return [labels, i + 1];
  for (;;) {
    const eq = line.indexOf("=", i);
    if (eq < 0) throw new Error(`${where}: label without "="`);
    const name = line.slice(i, eq);
    if (!LABEL_NAME.test(name) || name.startsWith("__")) throw new Error(`${where}: bad label name "${name}"`);
    if (Object.hasOwn(labels, name)) throw new Error(`${where}: label "${name}" twice`);
    if (line[eq + 1] !== '"') throw new Error(`${where}: label value not quoted`);
    let j = eq + 2;
    while (j < line.length && line[j] !== '"') j += line[j] === "\\" ? 2 : 1;
    if (j >= line.length) throw new Error(`${where}: unterminated label value`);
    labels[name] = unescapeLabel(line.slice(eq + 2, j), where);
    i = j + 1;
    if (line[i] === "}") return [labels, i + 1];
    if (line[i] !== ",") throw new Error(`${where}: expected "," or "}" after a label, got "${line[i] ?? "end of line"}"`);
    i++;
  }
}

/** The family a sample name belongs to, given the declared families. */
function familyOf(name: string, families: Map<string, PromFamily>): PromFamily | undefined {
  const f = families.get(name);
  if (f !== undefined && f.type !== "histogram" && f.type !== "summary") return f;
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    if (!name.endsWith(suffix)) continue;
    const h = families.get(name.slice(0, -suffix.length));
    if (h !== undefined && (h.type === "histogram" || (h.type === "summary" && suffix !== "_bucket"))) return h;
  }
  if (f !== undefined && f.type === "summary") return f; // a quantile sample
  return undefined;
}

function checkHistogram(f: PromFamily): void {
  const series = new Map<string, { buckets: [number, number][]; sum?: number; count?: number }>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    let e = series.get(key);
    if (e === undefined) series.set(key, (e = { buckets: [] }));
    if (s.name === `${f.name}_bucket`) {
      if (le === undefined) throw new Error(`${f.name}: bucket without le`);
      e.buckets.push([parseValue(le, `${f.name} le`), s.value]);
    } else if (le !== undefined) throw new Error(`${f.name}: le on ${s.name}`);
    else if (s.name === `${f.name}_sum`) e.sum = s.value;
    else if (s.name === `${f.name}_count`) e.count = s.value;
  }
  for (const [key, e] of series) {
    const where = `${f.name}${key}`;
    if (e.sum === undefined || e.count === undefined) throw new Error(`${where}: no _sum or _count`);
    if (e.buckets.length === 0) throw new Error(`${where}: no buckets`);
    for (let i = 1; i < e.buckets.length; i++) {
      const [le0, c0] = e.buckets[i - 1]!;
      const [le1, c1] = e.buckets[i]!;
      if (!(le1 > le0)) throw new Error(`${where}: le ${le1} after ${le0}`);
      if (c1 < c0) throw new Error(`${where}: bucket le=${le1} has ${c1} < ${c0}`);
    }
    const [lastLe, lastCount] = e.buckets.at(-1)!;
    if (lastLe !== Number.POSITIVE_INFINITY) throw new Error(`${where}: last bucket is not +Inf`);
    if (lastCount !== e.count) throw new Error(`${where}: +Inf bucket ${lastCount} != _count ${e.count}`);
  }
}

/** Parse `text` strictly; throws an Error naming the line on the first fault. */
export function parsePrometheus(text: string): Map<string, PromFamily> {
  if (text.length > 0 && !text.endsWith("\n")) throw new Error("no newline at the end");
  const families = new Map<string, PromFamily>();
  const seen = new Set<string>();
  const closed = new Set<string>();
  let current: PromFamily | null = null;
  const lines = text.split("\n");
  lines.pop();
  for (const [n, line] of lines.entries()) {
    const where = `line ${n + 1} "${line.slice(0, 80)}"`;
    if (line === "") continue;
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (m === null) continue; // a plain comment
      const [, kw, name, rest] = m as unknown as [string, string, string, string];
      if (!METRIC_NAME.test(name)) throw new Error(`${where}: bad metric name`);
      let f = families.get(name);
      if (f !== undefined && closed.has(name)) throw new Error(`${where}: family ${name} continues after another`);
      if (kw === "TYPE") {
        if (!TYPES.has(rest as PromType)) throw new Error(`${where}: unknown type "${rest}"`);
        if (f !== undefined) throw new Error(`${where}: second TYPE or TYPE after HELP/samples of ${name}`);
        f = { name, type: rest as PromType, help: null, samples: [] };
        families.set(name, f);
      } else {
        if (f !== undefined && f.help !== null) throw new Error(`${where}: second HELP for ${name}`);
        // HELP may come first; the TYPE must follow before any sample
        if (f === undefined) {
          const next = lines[n + 1] ?? "";
          if (!next.startsWith(`# TYPE ${name} `)) throw new Error(`${where}: HELP not followed by its TYPE`);
          const type = next.slice(`# TYPE ${name} `.length) as PromType;
          if (!TYPES.has(type)) throw new Error(`${where}: unknown type "${type}"`);
          f = { name, type, help: null, samples: [] };
          families.set(name, f);
          lines[n + 1] = ""; // consumed
        }
        f.help = unescapeHelp(rest, where);
      }
      if (current !== null && current !== f) closed.add(current.name);
      current = f;
      continue;
    }
    let i = 0;
    while (i < line.length && line[i] !== "{" && line[i] !== " ") i++;
    const name = line.slice(0, i);
    if (!METRIC_NAME.test(name)) throw new Error(`${where}: bad metric name "${name}"`);
    let labels: Record<string, string> = {};
    if (line[i] === "{") [labels, i] = parseLabels(line, i, where);
    if (line[i] !== " ") throw new Error(`${where}: expected one space before the value`);
    const fields = line.slice(i + 1).split(" ");
    if (fields.length > 2 || fields.some((x) => x === "")) throw new Error(`${where}: expected "value [timestamp]"`);
    const value = parseValue(fields[0]!, where);
    if (fields[1] !== undefined && !/^-?\d+$/.test(fields[1])) throw new Error(`${where}: bad timestamp`);
    const f = familyOf(name, families);
    if (f === undefined) throw new Error(`${where}: sample of an undeclared family`);
    if (closed.has(f.name)) throw new Error(`${where}: family ${f.name} continues after another`);
    if (current !== null && current !== f) closed.add(current.name);
    current = f;
    if ((f.type === "counter" || name.endsWith("_count") || name.endsWith("_bucket")) && !(value >= 0)) {
      throw new Error(`${where}: negative or NaN count`);
    }
    const id = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(id)) throw new Error(`${where}: series repeated`);
    seen.add(id);
    f.samples.push({ name, labels, value });
  }
  for (const f of families.values()) if (f.type === "histogram") checkHistogram(f);
  return families;
}

/** The value of the one sample of `name` whose labels include `labels`; throws if none or several. */
export function sampleValue(families: Map<string, PromFamily>, name: string, labels: Record<string, string> = {}): number {
  const hits: PromSample[] = [];
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) hits.push(s);
    }
  }
  if (hits.length !== 1) throw new Error(`${hits.length} samples of ${name} ${JSON.stringify(labels)}`);
  return hits[0]!.value;
}

/** Every sample of `name` whose labels include `labels`. */
export function samples(families: Map<string, PromFamily>, name: string, labels: Record<string, string> = {}): PromSample[] {
  const out: PromSample[] = [];
  for (const f of families.values()) {
    for (const s of f.samples) if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) out.push(s);
  }
  return out;
}
