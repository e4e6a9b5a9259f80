// The stats metrics, one table each for pools and servers, with twemproxy's names (nc_stats.h).

export type StatsKind = "counter" | "gauge" | "timestamp";

export interface StatsField {
  readonly kind: StatsKind;
  readonly description: string;
  /** Prometheus metric name (ours): counters end in _total, the timestamp is in seconds. */
  readonly prom: string;
}

/** Pool metrics, in twemproxy's order (STATS_POOL_CODEC). */
export const STATS_POOL_CODEC = {
  client_eof: { kind: "counter", description: "# eof on client connections", prom: "nutcracker_pool_client_eof_total" },
  client_err: { kind: "counter", description: "# errors on client connections", prom: "nutcracker_pool_client_err_total" },
  client_connections: { kind: "gauge", description: "# active client connections", prom: "nutcracker_pool_client_connections" },
  server_ejects: { kind: "counter", description: "# times backend server was ejected", prom: "nutcracker_pool_server_ejects_total" },
  forward_error: { kind: "counter", description: "# times we encountered a forwarding error", prom: "nutcracker_pool_forward_error_total" },
  fragments: { kind: "counter", description: "# fragments created from a multi-vector request", prom: "nutcracker_pool_fragments_total" },
} as const satisfies Record<string, StatsField>;

/** Server metrics, in twemproxy's order (STATS_SERVER_CODEC). */
export const STATS_SERVER_CODEC = {
  server_eof: { kind: "counter", description: "# eof on server connections", prom: "nutcracker_server_eof_total" },
  server_err: { kind: "counter", description: "# errors on server connections", prom: "nutcracker_server_err_total" },
  server_timedout: { kind: "counter", description: "# timeouts on server connections", prom: "nutcracker_server_timedout_total" },
  server_connections: { kind: "gauge", description: "# active server connections", prom: "nutcracker_server_connections" },
  server_ejected_at: { kind: "timestamp", description: "timestamp when server was ejected in usec since epoch", prom: "nutcracker_server_ejected_timestamp_seconds" },
  requests: { kind: "counter", description: "# requests", prom: "nutcracker_server_requests_total" },
  request_bytes: { kind: "counter", description: "total request bytes", prom: "nutcracker_server_request_bytes_total" },
  responses: { kind: "counter", description: "# responses", prom: "nutcracker_server_responses_total" },
  response_bytes: { kind: "counter", description: "total response bytes", prom: "nutcracker_server_response_bytes_total" },
  in_queue: { kind: "gauge", description: "# requests in incoming queue", prom: "nutcracker_server_in_queue" },
  in_queue_bytes: { kind: "gauge", description: "current request bytes in incoming queue", prom: "nutcracker_server_in_queue_bytes" },
  out_queue: { kind: "gauge", description: "# requests in outgoing queue", prom: "nutcracker_server_out_queue" },
  out_queue_bytes: { kind: "gauge", description: "current request bytes in outgoing queue", prom: "nutcracker_server_out_queue_bytes" },
} as const satisfies Record<string, StatsField>;

/** What `nutcracker -D` prints after the version lines (stats_describe). */
export function describeStats(): string {
  const line = ([name, f]: [string, StatsField]) => `  ${name.padEnd(20)}"${f.description}"\n`;
  return (
    "pool stats:\n" +
    Object.entries(STATS_POOL_CODEC).map(line).join("") +
    "\nserver stats:\n" +
    Object.entries(STATS_SERVER_CODEC).map(line).join("")
  );
}

type PoolField = keyof typeof STATS_POOL_CODEC;
type ServerField = keyof typeof STATS_SERVER_CODEC;

/** Index of each pool metric in a pool's counter array (table order). */
export const SP = Object.fromEntries(Object.keys(STATS_POOL_CODEC).map((k, i) => [k, i])) as Record<PoolField, number>;
/** Index of each server metric in a server's counter array (table order). */
export const SS = Object.fromEntries(Object.keys(STATS_SERVER_CODEC).map((k, i) => [k, i])) as Record<ServerField, number>;
export const POOL_FIELDS = Object.keys(STATS_POOL_CODEC) as PoolField[];
export const SERVER_FIELDS = Object.keys(STATS_SERVER_CODEC) as ServerField[];
