// The cache server's counters, bumped by the store, the protocol and the listener; memcached's stat names.
//
// They live on the store (`store.stats`) because every part of the server holds the store;
// ../proto/stats.ts and ../proto/slab_stats.ts print them.
//
// memcached keeps some counters per slab class (items.c's itemstats, the threads' slab_stats)
// and prints their sums in `stats`; so do we: those are typed arrays indexed by class
// (ClassCounters), a get hit costs one array increment as a scalar counter would, and the
// general names (get_hits, evictions...) are getters that add the classes up.

import { NCLASSES } from "./arena.ts";

/** One counter per class: the chunk classes and the own-buffer class (index NCLASSES). */
function perClass(): Float64Array {
  return new Float64Array(NCLASSES + 1);
}

function sum(a: Float64Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) n += a[i]!;
  return n;
}

/** memcached's per-class counters (itemstats_t and struct slab_stats), by our class index. */
export class ClassCounters {
  // items.c: what eviction, reclaiming and the crawler did in the class
  readonly evicted = perClass();
  /** Evicted items that had an expiry time. */
  readonly evicted_nonzero = perClass();
  /** Seconds since the last access of the last item evicted (not a counter: reset sets 0). */
  readonly evicted_time = perClass();
  /** Allocations that found no memory. */
  readonly outofmemory = perClass();
  readonly reclaimed = perClass();
  readonly expired_unfetched = perClass();
  readonly evicted_unfetched = perClass();
  readonly evicted_active = perClass();
  readonly crawler_reclaimed = perClass();
  readonly crawler_items_checked = perClass();
  /** Evictions and reclaims a request had to do to get memory (memcached: its worker threads). */
  readonly direct_reclaims = perClass();
  // the threads' slab_stats: hits by the class of the item hit
  readonly get_hits = perClass();
  /** memcached's set_cmds: data blocks read into an item of the class. */
  readonly cmd_set = perClass();
  readonly delete_hits = perClass();
  readonly incr_hits = perClass();
  readonly decr_hits = perClass();
  readonly cas_hits = perClass();
  readonly cas_badval = perClass();
  readonly touch_hits = perClass();

  reset(): void {
    for (const a of Object.values(this) as Float64Array[]) a.fill(0);
  }
}

/** Counters the store and the protocol bump. Names are memcached's stat names. */
export class CacheStats {
  readonly byClass = new ClassCounters();
  cmd_get = 0;
  cmd_flush = 0;
  cmd_touch = 0;
  cmd_meta = 0;
  get_misses = 0;
  get_expired = 0;
  get_flushed = 0;
  delete_misses = 0;
  incr_misses = 0;
  decr_misses = 0;
  cas_misses = 0;
  touch_misses = 0;
  store_too_large = 0;
  store_no_memory = 0;
  bytes_read = 0;
  bytes_written = 0;
  total_items = 0;
  curr_connections = 0;
  total_connections = 0;
  rejected_connections = 0;
  conn_yields = 0;
  /** Passes of the crawler begun, and metadumps (memcached counts each crawl it starts). */
  lru_crawler_starts = 0;

  get get_hits(): number {
    return sum(this.byClass.get_hits);
  }
  get cmd_set(): number {
    return sum(this.byClass.cmd_set);
  }
  get delete_hits(): number {
    return sum(this.byClass.delete_hits);
  }
  get incr_hits(): number {
    return sum(this.byClass.incr_hits);
  }
  get decr_hits(): number {
    return sum(this.byClass.decr_hits);
  }
  get cas_hits(): number {
    return sum(this.byClass.cas_hits);
  }
  get cas_badval(): number {
    return sum(this.byClass.cas_badval);
  }
  get touch_hits(): number {
    return sum(this.byClass.touch_hits);
  }
  get evictions(): number {
    return sum(this.byClass.evicted);
  }
  get reclaimed(): number {
    return sum(this.byClass.reclaimed);
  }
  get expired_unfetched(): number {
    return sum(this.byClass.expired_unfetched);
  }
  get evicted_unfetched(): number {
    return sum(this.byClass.evicted_unfetched);
  }
  get evicted_active(): number {
    return sum(this.byClass.evicted_active);
  }
  get crawler_reclaimed(): number {
    return sum(this.byClass.crawler_reclaimed);
  }
  get crawler_items_checked(): number {
    return sum(this.byClass.crawler_items_checked);
  }

  /**
   * `stats reset`: what memcached's stats_reset() clears (struct stats, the threads' stats, the
   * per-class counters); not the state it keeps in stats_state (the connections open now).
   */
  reset(): void {
    this.byClass.reset();
    const self = this as unknown as Record<string, unknown>;
    for (const k of Object.keys(self)) if (typeof self[k] === "number" && k !== "curr_connections") self[k] = 0;
  }
}
