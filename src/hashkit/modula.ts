// Modula distribution, as in twemproxy's hashkit/nc_modula.c: hash modulo the total live weight.
//
// One slot per unit of weight, servers in order: weights [1, 2, 3] give
// slots [0, 1, 1, 2, 2, 2] and a key goes to slots[hash % 6].

import { totalWeight } from "./total_weight.ts";
import type { Continuum, DistServer } from "./types.ts";

/** A built modula table. */
export class ModulaContinuum implements Continuum {
  /** `index[slot]` is the position of the slot's server in the list given to {@link buildModula}. */
  readonly index: Uint32Array;

  constructor(index: Uint32Array) {
    this.index = index;
  }

  /** `index[hash % slots]`; -1 when built from no servers. O(1), no allocation. */
  dispatch(hash: number): number {
    const n = this.index.length;
    if (n === 0) {
      return -1;
    }
    return this.index[(hash >>> 0) % n]!;
  }
}

/**
 * Builds twemproxy's modula table over the live servers (twemproxy's sorted order).
 *
 * Cost: O(total weight) memory and time.
 *
 * @example
 * ```ts
 * buildModula([{ name: "a", weight: 1 }, { name: "b", weight: 2 }]).dispatch(4); // 1 (slots [0, 1, 1])
 * ```
 */
export function buildModula(servers: readonly DistServer[]): ModulaContinuum {
  const total = totalWeight(servers);
  const index = new Uint32Array(total);
  let k = 0;
  for (let s = 0; s < servers.length; s++) {
    for (let w = servers[s]!.weight; w > 0; w--) {
      index[k++] = s;
    }
  }
  return new ModulaContinuum(index);
}
