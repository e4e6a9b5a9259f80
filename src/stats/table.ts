// The stats metrics, one table each for pools and servers, with twemproxy's names (nc_stats.h).

export type StatsKind = "counter" | "gauge" | "timestamp";

export interface StatsField {
  readonly kind: StatsKind;
  readonly description: string;
}

/** Pool metrics, in twemproxy's order (STATS_POOL_CODEC). */
export const STATS_POOL_CODEC = {
  client_eof: { kind: "counter", description: "# eof on client connections" },
  client_err: { kind: "counter", description: "# errors on client connections" },
  client_connections: { kind: "gauge", description: "# active client connections" },
  server_ejects: { kind: "counter", description: "# times backend server was ejected" },
  forward_error: { kind: "counter", description: "# times we encountered a forwarding error" },
  fragments: { kind: "counter", description: "# fragments created from a multi-vector request" },
} as const satisfies Record<string, StatsField>;

/** Server metrics, in twemproxy's order (STATS_SERVER_CODEC). */
export const STATS_SERVER_CODEC = {
  server_eof: { kind: "counter", description: "# eof on server connections" },
  server_err: { kind: "counter", description: "# errors on server connections" },
  server_timedout: { kind: "counter", description: "# timeouts on server connections" },
  server_connections: { kind: "gauge", description: "# active server connections" },
  server_ejected_at: { kind: "timestamp", description: "timestamp when server was ejected in usec since epoch" },
  requests: { kind: "counter", description: "# requests" },
  request_bytes: { kind: "counter", description: "total request bytes" },
  responses: { kind: "counter", description: "# responses" },
  response_bytes: { kind: "counter", description: "total response bytes" },
  in_queue: { kind: "gauge", description: "# requests in incoming queue" },
  in_queue_bytes: { kind: "gauge", description: "current request bytes in incoming queue" },
  out_queue: { kind: "gauge", description: "# requests in outgoing queue" },
  out_queue_bytes: { kind: "gauge", description: "current request bytes in outgoing queue" },
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
