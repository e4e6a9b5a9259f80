// Request latency histograms: log-linear buckets over microseconds, bumped per reply on the hot path.
//
// Eight buckets per power of two (12.5% wide at most) from 16 us up, one per microsecond below:
// recording is a clz32 and an array increment, percentiles come out within one bucket, and any
// power-of-two boundary is an exact bucket edge, which is what the Prometheus buckets use.

const SUB = 8;
const LINEAR = 16;
const MAX_EXP = 30;
/** Number of buckets: 16 linear ones, then 8 for each power of two from 2^4 up to 2^30 us (18 min). */
export const HIST_BUCKETS = LINEAR + (MAX_EXP - 4) * SUB;

/** Bucket of a latency of `us` microseconds (>= 0). */
export function histIndex(us: number): number {
  let v = us >>> 0;
  if (us >= 2 ** MAX_EXP) v = 2 ** MAX_EXP - 1;
  if (v < LINEAR) return v;
  const e = 31 - Math.clz32(v);
  return LINEAR + (e - 4) * SUB + ((v >>> (e - 3)) & (SUB - 1));
}

/** Smallest latency (us) that falls in bucket `i`. */
export function histLower(i: number): number {
  if (i < LINEAR) return i;
  const e = ((i - LINEAR) >> 3) + 4;
  return (SUB + ((i - LINEAR) & (SUB - 1))) * 2 ** (e - 3);
}

/** One past the largest latency (us) in bucket `i`. */
export function histUpper(i: number): number {
  return i + 1 < HIST_BUCKETS ? histLower(i + 1) : 2 ** MAX_EXP;
}

export class LatencyHistogram {
  readonly counts = new Float64Array(HIST_BUCKETS);
  count = 0;
  /** Sum of all recorded latencies, in microseconds. */
  sum = 0;

  record(us: number): void {
    this.counts[histIndex(us)]!++;
    this.count++;
    this.sum += us;
  }

  /** The latency (us) below which a fraction `q` of the recorded ones fall: its bucket's upper edge. */
  percentile(q: number): number {
    return percentileOf(this.counts, this.count, q);
  }

  /** How many recorded latencies are below `us`, a power of two from 16 up: an exact bucket edge. */
  countBelow(us: number): number {
    let n = 0;
    for (let i = histIndex(us) - 1; i >= 0; i--) n += this.counts[i]!;
    return n;
  }
}

/** The `q` quantile (0..1) of `total` latencies counted in `counts`, as its bucket's upper edge (us); 0 when empty. */
export function percentileOf(counts: Float64Array, total: number, q: number): number {
  if (total <= 0) return 0;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let i = 0; i < HIST_BUCKETS; i++) {
    seen += counts[i]!;
    if (seen >= rank) return histUpper(i);
  }
  return histUpper(HIST_BUCKETS - 1);
}

/**
 * Percentiles of what one histogram recorded between two take() calls. The stats JSON reports
 * them per aggregation interval (-i), like a gauge: a percentile since start stops moving after
 * a few hours of traffic and would hide a latency spike; the cumulative histogram is in the
 * Prometheus exposition, where rate() picks any window.
 */
export class IntervalPercentiles {
  private readonly hist: LatencyHistogram;
  private readonly prev = new Float64Array(HIST_BUCKETS);
  private readonly delta = new Float64Array(HIST_BUCKETS);
  private prevCount = 0;
  /** Latencies recorded in the last interval, and their p50, p99, p999 in us (0 when none). */
  count = 0;
  p50 = 0;
  p99 = 0;
  p999 = 0;

  constructor(hist: LatencyHistogram) {
    this.hist = hist;
    this.prev.set(hist.counts);
    this.prevCount = hist.count;
  }

  /** Close the interval: percentiles of what was recorded since the last take(). */
  take(): void {
    const counts = this.hist.counts;
    for (let i = 0; i < HIST_BUCKETS; i++) this.delta[i] = counts[i]! - this.prev[i]!;
    this.prev.set(counts);
    this.count = this.hist.count - this.prevCount;
    this.prevCount = this.hist.count;
    this.p50 = percentileOf(this.delta, this.count, 0.5);
    this.p99 = percentileOf(this.delta, this.count, 0.99);
    this.p999 = percentileOf(this.delta, this.count, 0.999);
  }
}
