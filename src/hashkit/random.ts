// Random distribution, as in twemproxy's hashkit/nc_random.c: any live server, chosen per request.

import { totalWeight } from "./total_weight.ts";
import type { Continuum, DistServer } from "./types.ts";

/** A random "continuum": one slot per live server, weights ignored (as in twemproxy). */
export class RandomContinuum implements Continuum {
  readonly nserver: number;

  constructor(nserver: number) {
    this.nserver = nserver;
  }

  /**
   * A uniformly random server index, ignoring `hash`; -1 when built from no servers.
   * twemproxy uses `random() % n` after `srandom(time)`, so no sequence is reproducible anyway.
   */
  dispatch(_hash: number): number {
    const n = this.nserver;
    return n === 0 ? -1 : Math.floor(Math.random() * n);
  }
}

/**
 * Builds twemproxy's random distribution over the live servers.
 *
 * @example
 * ```ts
 * buildRandom([{ name: "a", weight: 1 }, { name: "b", weight: 9 }]).dispatch(0); // 0 or 1, evenly
 * ```
 */
export function buildRandom(servers: readonly DistServer[]): RandomContinuum {
  totalWeight(servers);
  return new RandomContinuum(servers.length);
}
