// Validated configuration: one PoolConf per YAML pool, with twemproxy's key names and defaults.

import type { Endpoint } from "../../runtime/types.ts";
import type { DistName, HashName } from "../hashkit/types.ts";

/** One entry of a pool's `servers:` list, e.g. `127.0.0.1:6379:1 alpha` or `/tmp/r.sock:1`. */
export interface ServerConf {
  /** The entry as written, without the name: `host:port:weight` or `path:weight` (stats, logs). */
  readonly pname: string;
  /** Identity used by ketama and stats: the given name, else `host:port` (`host` alone for port 11211, `path:` for a unix socket). */
  readonly name: string;
  /** True when the entry carried an explicit name. */
  readonly named: boolean;
  readonly endpoint: Endpoint;
  readonly weight: number;
  /** 1-based line in the YAML file, for messages. */
  readonly line: number;
}

/** `listen:` as `host:port`, `[::1]:port`, or `/path/to/sock [mode]`. */
export interface ListenConf {
  /** As written in the file (twemproxy prints it in logs and stats). */
  readonly pname: string;
  readonly endpoint: Endpoint;
  /** Octal permission for a unix socket path, e.g. 0o666; null when not given. */
  readonly mode: number | null;
}

/** A pool, with every twemproxy 0.5.0 key (plus `reuseport` from twemproxy master). */
export interface PoolConf {
  readonly name: string;
  readonly listen: ListenConf;
  readonly hash: HashName;
  /** The two tag bytes (e.g. `{` `}`), or null. */
  readonly hash_tag: Uint8Array | null;
  readonly distribution: DistName;
  /** Milliseconds; -1 means wait forever (twemproxy's default). */
  readonly timeout: number;
  readonly backlog: number;
  readonly client_connections: number;
  readonly redis: boolean;
  readonly redis_auth: string | null;
  readonly redis_db: number;
  readonly preconnect: boolean;
  readonly auto_eject_hosts: boolean;
  readonly server_connections: number;
  readonly server_retry_timeout: number;
  readonly server_failure_limit: number;
  readonly tcpkeepalive: boolean;
  readonly reuseport: boolean;
  /**
   * Ours, not twemproxy's: answer an unsupported command or a wrong argument count with an error
   * reply and keep the connection, instead of closing it without a word.
   */
  readonly error_replies: boolean;
  /**
   * Ours: request and reply bytes one client may have queued in the proxy (sent to servers and not
   * yet answered, or answered and not yet taken by the client) before the proxy stops reading
   * from that client; reading resumes below half of it. Bounds the memory a client that never
   * reads, or a stalled backend, can make the proxy hold.
   */
  readonly max_queued_bytes: number;
  /** Ours: an ejected server comes back only after it answers a probe (PING, or memcache `version`). */
  readonly health_check: boolean;
  /** Ours: keep an ejected server in the continuum and fail its keys at once (no stale reads later). */
  readonly fail_fast: boolean;
  /** In twemproxy's order: sorted by name, shorter names first, then bytewise (nc_conf.c). */
  readonly servers: readonly ServerConf[];
  /**
   * twemproxy's documented, never shipped `sentinels:` (notes/redis.md): Sentinel addresses,
   * weight unused; each server's name is its shard's Sentinel master name. Empty: no Sentinel.
   */
  readonly sentinels: readonly ServerConf[];
  /** Ours: ms between Sentinel polls. */
  readonly sentinel_interval: number;
  /** Ours: TLS to the servers and from the clients (file names; read at start); null for none. */
  readonly tls: TlsConf | null;
  /** Ours: the servers are seeds of a Redis Cluster (core/cluster.ts). */
  readonly redis_cluster: boolean;
  /** Ours: ms between reads of the cluster's slot map. */
  readonly cluster_refresh: number;
  /** Ours: most connections per server pinned to one client each (pub/sub, blocking, MULTI). */
  readonly pinned_connections: number;
  /** Ours: ms a pool removed by a reload keeps its clients before it closes them. */
  readonly reload_grace: number;
  /** Ours: static replica groups; each entry's name is the server (shard) it replicates. */
  readonly replicas: readonly ServerConf[];
  /** Ours: which members of a shard serve reads (writes always go to its master). */
  readonly read_from: ReadFrom;
}

/** Envoy's read policy names: where a shard's reads go. */
export const READ_FROM = ["master", "prefer_master", "replica", "prefer_replica", "any"] as const;
export type ReadFrom = (typeof READ_FROM)[number];

/** A pool's TLS (ours), as file names: to its servers, and on its listener. */
export interface TlsConf {
  readonly servers: {
    readonly ca: string | null;
    readonly cert: string | null;
    readonly key: string | null;
    readonly serverName: string | null;
    readonly verify: boolean;
  } | null;
  readonly listen: { readonly cert: string; readonly key: string; readonly ca: string | null } | null;
}
