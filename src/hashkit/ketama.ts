// Ketama consistent hashing, as in twemproxy's hashkit/nc_ketama.c (ketama_update, ketama_dispatch).
//
// Model: every live server owns points on a 2^32 ring. A server gets
// floorf(w/W * 160/4 * n + 1e-10) * 4 points (w its weight, W the live total,
// n the live count), computed in float32 like the C. Each group of four points
// is one md5 of "<name>-<i>" (i = 0, 1, ...), split into four little-endian
// words; the md5 is used whatever hash the pool is configured with. A key goes
// to the first point >= its hash, wrapping to the first point of the ring.
//
//   values  [ 0x0012..., 0x01f3..., 0x0a77..., ..., 0xffe0... ]   sorted ascending
//   index   [     2    ,     0    ,     2    , ...,     1     ]   owner of each point

import { md5Words } from "./md5.ts";
import { totalWeight } from "./total_weight.ts";
import type { Continuum, DistServer } from "./types.ts";

const KETAMA_POINTS_PER_SERVER = 160;
const KETAMA_POINTS_PER_HASH = 4;
// snprintf into a 273-byte buffer: "<name>-<i>" longer than 272 bytes is cut to 272.
const KETAMA_MAX_HOSTLEN = 273;

/** A built ketama ring: point values and the owning server index, in parallel typed arrays. */
export class KetamaContinuum implements Continuum {
  /** Point values on the ring, ascending. */
  readonly values: Uint32Array;
  /** `index[i]` is the position, in the server list given to {@link buildKetama}, of the owner of `values[i]`. */
  readonly index: Uint32Array;

  constructor(values: Uint32Array, index: Uint32Array) {
    this.values = values;
    this.index = index;
  }

  /**
   * The server for a key hash: lower bound in `values`, wrapping past the end.
   * Returns -1 for a ring built from no servers. O(log points), no allocation.
   */
  dispatch(hash: number): number {
    const values = this.values;
    const n = values.length;
    if (n === 0) {
      return -1;
    }
    hash >>>= 0;
    let left = 0;
    let right = n;
    while (left < right) {
      const middle = (left + right) >>> 1;
      if (values[middle]! < hash) {
        left = middle + 1;
      } else {
        right = middle;
      }
    }
    return this.index[right === n ? 0 : right]!;
  }
}

/**
 * Number of ring points for a server, bit-exact with nc_ketama.c:
 * `(uint32_t)(floorf((float)(pct * 160 / 4 * (float)n + 0.0000000001)) * 4)` with
 * `float pct = (float)weight / (float)total_weight`. Every step rounds to float32;
 * only the `+ 1e-10` happens in double (a double literal) before the cast back.
 */
export function ketamaPoints(weight: number, total: number, nlive: number): number {
  const f = Math.fround;
  const pct = f(f(weight) / f(total));
  const x = f(f(f(pct * KETAMA_POINTS_PER_SERVER) / 4) * f(nlive));
  return Math.floor(f(x + 0.0000000001)) * 4;
}

const encoder = new TextEncoder();

/**
 * Builds twemproxy's ketama ring over the live servers, given in twemproxy's
 * sorted order (`compareServerNames`); `dispatch` returns an index into `servers`.
 *
 * Points with equal values keep server order (a stable sort), which is what
 * glibc's merge-sort qsort gives nutcracker.
 *
 * Cost: n * 40 md5 digests and a sort of n * 160 points; call it on start-up and
 * after ejections, not per request.
 *
 * @example
 * ```ts
 * const ring = buildKetama([{ name: "127.0.0.1:6379", weight: 1 }, { name: "127.0.0.1:6380", weight: 1 }]);
 * ring.values.length; // 320
 * ring.dispatch(hashKey(HASH_CODEC.fnv1a_64.fn, null, key, 0, key.length)); // 0 or 1
 * ```
 */
export function buildKetama(servers: readonly DistServer[]): KetamaContinuum {
  const total = totalWeight(servers);
  const nlive = servers.length;
  const counts = servers.map((s) => ketamaPoints(s.weight, total, nlive));
  let npoints = 0;
  for (const c of counts) npoints += c;

  const rawValues = new Uint32Array(npoints);
  const rawIndex = new Uint32Array(npoints);
  const words = new Uint32Array(KETAMA_POINTS_PER_HASH);
  let k = 0;
  for (let s = 0; s < nlive; s++) {
    const name = servers[s]!.name;
    const hashes = counts[s]! / KETAMA_POINTS_PER_HASH;
    for (let p = 0; p < hashes; p++) {
      const host = encoder.encode(`${name}-${p}`);
      md5Words(host, 0, Math.min(host.length, KETAMA_MAX_HOSTLEN - 1), words);
      for (let x = 0; x < KETAMA_POINTS_PER_HASH; x++) {
        rawValues[k] = words[x]!;
        rawIndex[k] = s;
        k++;
      }
    }
  }

  const order = Array.from({ length: npoints }, (_, i) => i);
  order.sort((a, b) => rawValues[a]! - rawValues[b]! || a - b);
  const values = new Uint32Array(npoints);
  const index = new Uint32Array(npoints);
  for (let i = 0; i < npoints; i++) {
    const o = order[i]!;
    values[i] = rawValues[o]!;
    index[i] = rawIndex[o]!;
  }
  return new KetamaContinuum(values, index);
}
