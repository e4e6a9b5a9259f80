// Validation shared by the distributions: every live server needs a positive integer weight.

import type { DistServer } from "./types.ts";

/**
 * The sum of the servers' weights. Throws a RangeError for a weight that is not a
 * positive integer (the conf layer rejects those first, as twemproxy does).
 *
 * @example
 * ```ts
 * totalWeight([{ name: "a", weight: 1 }, { name: "b", weight: 2 }]); // 3
 * ```
 */
export function totalWeight(servers: readonly DistServer[]): number {
  let total = 0;
  for (const s of servers) {
    if (!Number.isInteger(s.weight) || s.weight <= 0) {
      throw new RangeError(`Cannot build continuum: server "${s.name}" has weight ${s.weight}, expected a positive integer`);
    }
    total += s.weight;
  }
  return total;
}
