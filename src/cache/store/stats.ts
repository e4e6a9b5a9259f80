// The cache server's counters, bumped by the store, the protocol and the listener; memcached's stat names.
//
// They live on the store (`store.stats`) because every part of the server holds the store;
// ../proto/stats.ts prints them.

/** Counters the store and the protocol bump. Names are memcached's stat names. */
export class CacheStats {
  cmd_get = 0;
  cmd_set = 0;
  cmd_flush = 0;
  cmd_touch = 0;
  cmd_meta = 0;
  get_hits = 0;
  get_misses = 0;
  get_expired = 0;
  get_flushed = 0;
  delete_misses = 0;
  delete_hits = 0;
  incr_misses = 0;
  incr_hits = 0;
  decr_misses = 0;
  decr_hits = 0;
  cas_misses = 0;
  cas_hits = 0;
  cas_badval = 0;
  touch_hits = 0;
  touch_misses = 0;
  store_too_large = 0;
  store_no_memory = 0;
  bytes_read = 0;
  bytes_written = 0;
  total_items = 0;
  expired_unfetched = 0;
  evicted_unfetched = 0;
  evicted_active = 0;
  evictions = 0;
  reclaimed = 0;
  crawler_reclaimed = 0;
  crawler_items_checked = 0;
  curr_connections = 0;
  total_connections = 0;
  rejected_connections = 0;
  conn_yields = 0;

  /** `stats reset`: every counter but the connections open now. */
  reset(): void {
    const keep = this.curr_connections;
    Object.assign(this, new CacheStats());
    this.curr_connections = keep;
  }
}
