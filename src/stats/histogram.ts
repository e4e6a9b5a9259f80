// Request latency histograms: log-linear buckets over microseconds, bumped per reply on the hot path.
//
// Eight buckets per power of two (12.5% wide at most) from 16 us up, one per microsecond below:
// recording is a clz32 and an array increment, percentiles come out within one bucket, and any
// power-of-two boundary is an exact bucket edge, which is what the Prometheus buckets use.

const SUB = 8;
const LINEAR = 16;
const MAX_EXP = 30;
/** Number of buckets: 16 linear ones, then 8 per power of two from 2^4 to 2^30 us. */
export const HIST_BUCKETS = LINEAR + (MAX_EXP - 3) * SUB;

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
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < HIST_BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return histUpper(i);
    }
    return histUpper(HIST_BUCKETS - 1);
  }
}
