// The `stats` replies: memcached 1.6's names in memcached's order, over the counters of ../store/stats.ts.
//
// Clients and dashboards parse `stats` by name, so the general list carries every name memcached
// 1.6.18 prints, in its order; the ones that describe memcached internals we do not have (slab
// rebalancing, libevent, worker logs) are printed with their idle values.

import type { CacheStats } from "../store/stats.ts";

/** What `stats` needs besides the counters. */
export interface StatsView {
  readonly stats: CacheStats;
  readonly pid: number;
  /** Seconds since the server started (memcached prints current_time - 60, which starts at 2). */
  readonly uptime: number;
  readonly unixTime: number;
  readonly version: string;
  readonly maxConnections: number;
  readonly limitMaxbytes: number;
  readonly currItems: number;
  readonly bytes: number;
  readonly hashPowerLevel: number;
  readonly verbosity: number;
  readonly port: number;
  readonly listenAddr: string;
  readonly itemSizeMax: number;
  readonly chunkMax: number;
  readonly crawlerRunning: boolean;
}

type Row = readonly [string, (v: StatsView) => string | number];

const zero = (): number => 0;

/** `stats` with no argument: memcached 1.6.18's names, in its order. */
export const GENERAL_STATS: readonly Row[] = [
  ["pid", (v) => v.pid],
  ["uptime", (v) => v.uptime],
  ["time", (v) => v.unixTime],
  ["version", (v) => v.version],
  ["libevent", () => "none"],
  ["pointer_size", () => 64],
  ["rusage_user", () => "0.000000"],
  ["rusage_system", () => "0.000000"],
  ["max_connections", (v) => v.maxConnections],
  ["curr_connections", (v) => v.stats.curr_connections],
  ["total_connections", (v) => v.stats.total_connections],
  ["rejected_connections", (v) => v.stats.rejected_connections],
  ["connection_structures", (v) => v.stats.curr_connections + 1],
  ["response_obj_oom", zero],
  ["response_obj_count", zero],
  ["response_obj_bytes", zero],
  ["read_buf_count", zero],
  ["read_buf_bytes", zero],
  ["read_buf_bytes_free", zero],
  ["read_buf_oom", zero],
  ["reserved_fds", zero],
  ["cmd_get", (v) => v.stats.cmd_get],
  ["cmd_set", (v) => v.stats.cmd_set],
  ["cmd_flush", (v) => v.stats.cmd_flush],
  ["cmd_touch", (v) => v.stats.cmd_touch],
  ["cmd_meta", (v) => v.stats.cmd_meta],
  ["get_hits", (v) => v.stats.get_hits],
  ["get_misses", (v) => v.stats.get_misses],
  ["get_expired", (v) => v.stats.get_expired],
  ["get_flushed", (v) => v.stats.get_flushed],
  ["delete_misses", (v) => v.stats.delete_misses],
  ["delete_hits", (v) => v.stats.delete_hits],
  ["incr_misses", (v) => v.stats.incr_misses],
  ["incr_hits", (v) => v.stats.incr_hits],
  ["decr_misses", (v) => v.stats.decr_misses],
  ["decr_hits", (v) => v.stats.decr_hits],
  ["cas_misses", (v) => v.stats.cas_misses],
  ["cas_hits", (v) => v.stats.cas_hits],
  ["cas_badval", (v) => v.stats.cas_badval],
  ["touch_hits", (v) => v.stats.touch_hits],
  ["touch_misses", (v) => v.stats.touch_misses],
  ["store_too_large", (v) => v.stats.store_too_large],
  ["store_no_memory", (v) => v.stats.store_no_memory],
  ["auth_cmds", zero],
  ["auth_errors", zero],
  ["bytes_read", (v) => v.stats.bytes_read],
  ["bytes_written", (v) => v.stats.bytes_written],
  ["limit_maxbytes", (v) => v.limitMaxbytes],
  ["accepting_conns", () => 1],
  ["listen_disabled_num", zero],
  ["time_in_listen_disabled_us", zero],
  ["threads", () => 1],
  ["conn_yields", (v) => v.stats.conn_yields],
  ["hash_power_level", (v) => v.hashPowerLevel],
  ["hash_bytes", (v) => 4 * 2 ** v.hashPowerLevel],
  ["hash_is_expanding", zero],
  ["slab_reassign_rescues", zero],
  ["slab_reassign_chunk_rescues", zero],
  ["slab_reassign_evictions_nomem", zero],
  ["slab_reassign_inline_reclaim", zero],
  ["slab_reassign_busy_items", zero],
  ["slab_reassign_busy_deletes", zero],
  ["slab_reassign_running", zero],
  ["slabs_moved", zero],
  ["lru_crawler_running", (v) => (v.crawlerRunning ? 1 : 0)],
  ["lru_crawler_starts", () => 1],
  ["lru_maintainer_juggles", zero],
  ["malloc_fails", zero],
  ["log_worker_dropped", zero],
  ["log_worker_written", zero],
  ["log_watcher_skipped", zero],
  ["log_watcher_sent", zero],
  ["log_watchers", zero],
  ["unexpected_napi_ids", zero],
  ["round_robin_fallback", zero],
  ["bytes", (v) => v.bytes],
  ["curr_items", (v) => v.currItems],
  ["total_items", (v) => v.stats.total_items],
  ["slab_global_page_pool", zero],
  ["expired_unfetched", (v) => v.stats.expired_unfetched],
  ["evicted_unfetched", (v) => v.stats.evicted_unfetched],
  ["evicted_active", (v) => v.stats.evicted_active],
  ["evictions", (v) => v.stats.evictions],
  ["reclaimed", (v) => v.stats.reclaimed],
  ["crawler_reclaimed", (v) => v.stats.crawler_reclaimed],
  ["crawler_items_checked", (v) => v.stats.crawler_items_checked],
  ["lrutail_reflocked", zero],
  ["moves_to_cold", zero],
  ["moves_to_warm", zero],
  ["moves_within_lru", zero],
  ["direct_reclaims", zero],
  ["lru_bumps_dropped", zero],
];

/** `stats settings`: memcached 1.6.18's names in its order; ours where they mean something here. */
export const SETTINGS_STATS: readonly Row[] = [
  ["maxbytes", (v) => v.limitMaxbytes],
  ["maxconns", (v) => v.maxConnections],
  ["tcpport", (v) => v.port],
  ["udpport", () => 0],
  ["inter", (v) => v.listenAddr],
  ["verbosity", (v) => v.verbosity],
  ["oldest", () => 0],
  ["evictions", () => "on"],
  ["domain_socket", () => "NULL"],
  ["umask", () => 700],
  ["shutdown_command", () => "no"],
  ["growth_factor", () => "1.25"],
  ["chunk_size", () => 48],
  ["num_threads", () => 1],
  ["num_threads_per_udp", () => 1],
  ["stat_key_prefix", () => ":"],
  ["detail_enabled", () => "no"],
  ["reqs_per_event", () => 20],
  ["cas_enabled", () => "yes"],
  ["tcp_backlog", () => 1024],
  ["binding_protocol", () => "ascii"],
  ["auth_enabled_sasl", () => "no"],
  ["auth_enabled_ascii", () => "no"],
  ["item_size_max", (v) => v.itemSizeMax],
  ["maxconns_fast", () => "yes"],
  ["hashpower_init", () => 0],
  ["slab_reassign", () => "no"],
  ["slab_automove", () => 0],
  ["slab_automove_ratio", () => "0.80"],
  ["slab_automove_window", () => 30],
  ["slab_chunk_max", (v) => v.chunkMax],
  ["lru_crawler", () => "yes"],
  ["lru_crawler_sleep", () => 100],
  ["lru_crawler_tocrawl", () => 0],
  ["tail_repair_time", () => 0],
  ["flush_enabled", () => "yes"],
  ["dump_enabled", () => "no"],
  ["hash_algorithm", () => "murmur2"],
  ["lru_maintainer_thread", () => "no"],
  ["lru_segmented", () => "no"],
  ["hot_lru_pct", () => 20],
  ["warm_lru_pct", () => 40],
  ["hot_max_factor", () => "0.20"],
  ["warm_max_factor", () => "2.00"],
  ["temp_lru", () => "no"],
  ["temporary_ttl", () => 61],
  ["idle_timeout", () => 0],
  ["watcher_logbuf_size", () => 262144],
  ["worker_logbuf_size", () => 65536],
  ["read_buf_mem_limit", () => 0],
  ["track_sizes", () => "no"],
  ["inline_ascii_response", () => "no"],
  ["ext_item_size", () => 512],
  ["ext_item_age", () => 4294967295],
  ["ext_low_ttl", () => 0],
  ["ext_recache_rate", () => 2000],
  ["ext_wbuf_size", () => 4194304],
  ["ext_compact_under", () => 0],
  ["ext_drop_under", () => 0],
  ["ext_max_sleep", () => 1000000],
  ["ext_max_frag", () => "0.80"],
  ["slab_automove_freeratio", () => "0.010"],
  ["ext_drop_unread", () => "no"],
  ["ssl_enabled", () => "no"],
  ["ssl_chain_cert", () => "(null)"],
  ["ssl_key", () => "(null)"],
  ["ssl_verify_mode", () => 0],
  ["ssl_keyformat", () => 1],
  ["ssl_ciphers", () => "NULL"],
  ["ssl_ca_cert", () => "NULL"],
  ["ssl_wbuf_size", () => 16384],
  ["ssl_session_cache", () => "no"],
  ["ssl_kernel_tls", () => "no"],
  ["ssl_min_version", () => "tlsv1.2"],
  ["num_napi_ids", () => "(null)"],
  ["memory_file", () => "(null)"],
];

/** "STAT name value\r\n" for each row, then "END\r\n". */
export function statsText(rows: readonly Row[], v: StatsView): string {
  let s = "";
  for (const [name, get] of rows) s += `STAT ${name} ${get(v)}\r\n`;
  return `${s}END\r\n`;
}
