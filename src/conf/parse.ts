// parseConf: YAML text -> validated PoolConf[] with twemproxy's keys, defaults and checks (nc_conf.c).
//
// Order of checks, the same as conf_create (so the first error reported is the one twemproxy hits):
//   1. load.ts: YAML syntax, one document, allowed tokens, tree shape        (conf_pre_validate)
//   2. every key/value of every pool, in file order                          (conf_parse, conf_set_*)
//   3. each pool in file order: listen, defaults, server_connections,
//      redis_auth, servers sorted by name and unique                         (conf_validate_pool)
//   4. no two pools with the same listen text, then the same name            (conf_post_validate)

import type { DistName, HashName } from "../hashkit/types.ts";
import { type ListenConf, type PoolConf, READ_FROM, type ReadFrom, type ServerConf } from "./types.ts";
import { ConfError } from "./errors.ts";
import type { ConfErrorCode } from "./errors.ts";
import { loadConfYaml } from "./load.ts";
import type { RawEntry, RawPool } from "./load.ts";
import { DIST_NAMES, HASH_NAMES, isDistName, isHashName } from "./names.ts";
import { compareServerNames as compareNames } from "../hashkit/server_name.ts";
import { ncAtoi } from "./atoi.ts";
import { parseListen } from "./listen.ts";
import { parseServer } from "./server.ts";
import { isReadFrom, validateCluster, validateGroups, validateTls } from "./validate_ours.ts";

type Kind = "listen" | "hash" | "hash_tag" | "distribution" | "num" | "bool" | "string" | "servers" | "read_from";

/**
 * Every pool key, in conf_commands order, with how its value is read and its default
 * (nc_conf.h CONF_DEFAULT_*). `null` default: the key is required (listen, servers) or optional
 * without a value (hash_tag, redis_auth).
 */
export const CONF_KEYS = {
  listen: { kind: "listen", default: null, description: "host:port or /path/to/socket [mode] to accept clients on" },
  hash: { kind: "hash", default: "fnv1a_64", description: "hash function for keys" },
  hash_tag: { kind: "hash_tag", default: null, description: "two characters; only the part of a key between them is hashed" },
  distribution: { kind: "distribution", default: "ketama", description: "key distribution: ketama, modula or random" },
  timeout: { kind: "num", default: -1, description: "msec to wait for a server reply; -1 waits forever" },
  backlog: { kind: "num", default: 512, description: "listen(2) backlog" },
  client_connections: {
    kind: "num",
    default: 0,
    description: "most clients at once (0: no limit); twemproxy ignores it, we enforce it",
  },
  redis: { kind: "bool", default: false, description: "speak redis (true) or memcache (false)" },
  tcpkeepalive: { kind: "bool", default: false, description: "SO_KEEPALIVE on server connections" },
  reuseport: { kind: "bool", default: false, description: "SO_REUSEPORT on the listener (twemproxy master, not 0.5.0)" },
  health_check: {
    kind: "bool",
    default: false,
    description: "ours: probe an ejected server (PING / version) before putting it back, instead of a blind re-add",
  },
  fail_fast: {
    kind: "bool",
    default: false,
    description: "ours: an ejected server's keys get an immediate error instead of moving to other servers",
  },
  max_queued_bytes: {
    kind: "num",
    default: 8 * 1024 * 1024,
    description: "ours: bytes a client may have in flight before the proxy stops reading from it",
  },
  error_replies: {
    kind: "bool",
    default: true,
    description:
      "ours: answer unsupported or wrong-arity requests with an error, and serve HELLO, CLIENT, INFO, SCAN... (false: close on them, as 0.5.0)",
  },
  redis_auth: { kind: "string", default: null, description: "password sent with AUTH to each redis server" },
  redis_db: { kind: "num", default: 0, description: "database index selected on each redis server" },
  preconnect: { kind: "bool", default: false, description: "connect to all servers at startup" },
  auto_eject_hosts: { kind: "bool", default: false, description: "eject a server after server_failure_limit failures" },
  server_connections: { kind: "num", default: 1, description: "connections per server; at least 1" },
  server_retry_timeout: { kind: "num", default: 30000, description: "msec before an ejected server is retried" },
  server_failure_limit: { kind: "num", default: 2, description: "consecutive failures that eject a server" },
  servers: { kind: "servers", default: null, description: "list of host:port:weight [name] or /path:weight [name]" },
  sentinels: {
    kind: "servers",
    default: null,
    description: "twemproxy's documented form: list of Sentinel host:port:weight; each server's name is its Sentinel master name",
  },
  sentinel_interval: { kind: "num", default: 1000, description: "ours: msec between Sentinel polls" },
  tls: { kind: "bool", default: false, description: "ours: speak TLS to the servers (and Sentinels, cluster nodes)" },
  tls_ca_file: { kind: "string", default: null, description: "ours: PEM CA certificates the servers' certificates must chain to (default: the system's)" },
  tls_cert_file: { kind: "string", default: null, description: "ours: PEM client certificate shown to the servers" },
  tls_key_file: { kind: "string", default: null, description: "ours: PEM key of tls_cert_file" },
  tls_server_name: { kind: "string", default: null, description: "ours: the name sent as SNI and checked in the servers' certificates (default: their host)" },
  tls_verify: { kind: "bool", default: true, description: "ours: check the servers' certificates; false accepts any (logged as a warning)" },
  listen_tls_cert_file: { kind: "string", default: null, description: "ours: PEM certificate the listener shows its clients: it speaks TLS" },
  listen_tls_key_file: { kind: "string", default: null, description: "ours: PEM key of listen_tls_cert_file" },
  listen_tls_ca_file: { kind: "string", default: null, description: "ours: PEM CA that clients' certificates must chain to: clients without one are refused" },
  redis_cluster: {
    kind: "bool",
    default: false,
    description: "ours: the servers are seed nodes of a Redis Cluster; keys go by the cluster's slots",
  },
  cluster_refresh: { kind: "num", default: 10000, description: "ours: msec between reads of a cluster's slot map" },
  pinned_connections: {
    kind: "num",
    default: 4096,
    description: "ours: most connections per server pinned to one client each (pub/sub, blocking commands, transactions)",
  },
  reload_grace: {
    kind: "num",
    default: 30000,
    description: "ours: msec a pool removed by a reload keeps its clients before closing them",
  },
  replicas: {
    kind: "servers",
    default: null,
    description: "ours: list of host:port:weight shard, replicas of the server named shard (a static replica group)",
  },
  read_from: {
    kind: "read_from",
    default: "master",
    description: "ours: where a shard's reads go: master, prefer_master, replica, prefer_replica or any",
  },
} as const satisfies Record<string, { kind: Kind; default: unknown; description: string }>;

type ConfKey = keyof typeof CONF_KEYS;
type NumKey = { [K in ConfKey]: (typeof CONF_KEYS)[K]["kind"] extends "num" ? K : never }[ConfKey];
export type StrKey = { [K in ConfKey]: (typeof CONF_KEYS)[K]["kind"] extends "string" ? K : never }[ConfKey];
type BoolKey = { [K in ConfKey]: (typeof CONF_KEYS)[K]["kind"] extends "bool" ? K : never }[ConfKey];

function isConfKey(key: string): key is ConfKey {
  return Object.hasOwn(CONF_KEYS, key);
}

/** A pool while its keys are read; `undefined` = not set yet (twemproxy's CONF_UNSET_*). */
export interface Draft {
  readonly name: string;
  readonly line: number;
  listen?: ListenConf;
  listenLine?: number;
  hash?: HashName;
  hash_tag?: Uint8Array;
  distribution?: DistName;
  readonly strings: Partial<Record<StrKey, string>>;
  read_from?: ReadFrom;
  readLine?: number;
  readonly nums: Partial<Record<NumKey, number>>;
  readonly bools: Partial<Record<BoolKey, boolean>>;
  /** The `servers:`, `sentinels:` and `replicas:` lists. */
  readonly lists: Record<ListKey, ServerConf[]>;
}

export type ListKey = "servers" | "sentinels" | "replicas";

const utf8 = new TextEncoder();

/**
 * Parses and validates a nutcracker configuration file.
 *
 * Returns the pools in file order (twemproxy itself ends up with them sorted by name, see
 * compareNames), each with every default filled in and its servers sorted as twemproxy sorts them.
 * Throws ConfError for everything `nutcracker -t` rejects; the `code` says which check failed.
 *
 * @example
 * ```ts
 * const [alpha] = parseConf("alpha:\n  listen: 127.0.0.1:22121\n  servers:\n   - 127.0.0.1:6379:1\n", "x.yml");
 * alpha.hash;     // "fnv1a_64"
 * alpha.timeout;  // -1
 * ```
 */
export function parseConf(text: string, fileName: string): PoolConf[] {
  const raw = loadConfYaml(text, fileName);
  const fail = (code: ConfErrorCode, line: number | null, key: string | null, pool: string | null, detail: string) =>
    new ConfError(code, { file: fileName, line, key, pool, detail });

  const drafts = raw.map((p) => readPool(p, fail));

  const pools: { conf: PoolConf; draft: Draft }[] = [];
  for (const d of drafts) pools.push({ conf: validatePool(d, fail), draft: d });

  // conf_post_validate sorts the pools (by listen, then by name) and reports the first equal
  // neighbours; sort a copy, so the caller still gets file order
  const byListen = pools.toSorted((a, b) => compareNames(a.conf.listen.pname, b.conf.listen.pname));
  for (let i = 0; i + 1 < byListen.length; i++) {
    const a = byListen[i]!;
    const b = byListen[i + 1]!;
    if (a.conf.listen.pname === b.conf.listen.pname) {
      throw fail(
        "E_CONF_DUPLICATE_LISTEN",
        b.draft.listenLine ?? b.draft.line,
        "listen",
        b.conf.name,
        `pools "${a.conf.name}" and "${b.conf.name}" have the same listen address "${a.conf.listen.pname}"`,
      );
    }
  }
  const byName = pools.toSorted((a, b) => compareNames(a.conf.name, b.conf.name));
  for (let i = 0; i + 1 < byName.length; i++) {
    const a = byName[i]!;
    const b = byName[i + 1]!;
    if (a.conf.name === b.conf.name) {
      throw fail("E_CONF_DUPLICATE_POOL", b.draft.line, null, b.conf.name, `duplicate pool name "${b.conf.name}"`);
    }
  }
  return pools.map((p) => p.conf);
}

export type Fail = (code: ConfErrorCode, line: number | null, key: string | null, pool: string | null, detail: string) => ConfError;

/** conf_parse for one pool: applies each entry in file order (conf_handler + conf_set_*). */
function readPool(p: RawPool, fail: Fail): Draft {
  if (p.name === "") throw fail("E_CONF_EMPTY_VALUE", p.line, null, null, "empty pool name");
  const d: Draft = { name: p.name, line: p.line, nums: {}, bools: {}, strings: {}, lists: { servers: [], sentinels: [], replicas: [] } };
  for (const e of p.entries) applyEntry(d, e, fail);
  return d;
}

function applyEntry(d: Draft, e: RawEntry, fail: Fail): void {
  const { key, value, line } = e;
  const err = (code: ConfErrorCode, detail: string) => fail(code, line, key, d.name, detail);
  if (key === "") throw fail("E_CONF_EMPTY_VALUE", e.keyLine, null, d.name, "empty key");
  if (value === "") throw err("E_CONF_EMPTY_VALUE", "empty value");
  if (!isConfKey(key)) throw err("E_CONF_UNKNOWN_KEY", `unknown key "${key}"`);
  const dup = () => err("E_CONF_DUPLICATE_KEY", `duplicate key "${key}"`);

  const spec = CONF_KEYS[key];
  switch (spec.kind) {
    case "listen": {
      if (d.listen !== undefined) throw dup();
      const r = parseListen(value);
      if (!r.ok) throw err(r.code, r.detail);
      d.listen = r.value;
      d.listenLine = line;
      return;
    }
    case "hash":
      if (d.hash !== undefined) throw dup();
      if (!isHashName(value)) {
        throw err("E_CONF_INVALID_HASH", `unknown hash "${value}": expected one of ${HASH_NAMES.join(", ")}`);
      }
      d.hash = value;
      return;
    case "distribution":
      if (d.distribution !== undefined) throw dup();
      if (!isDistName(value)) {
        throw err(
          "E_CONF_INVALID_DISTRIBUTION",
          `unknown distribution "${value}": expected one of ${DIST_NAMES.join(", ")}`,
        );
      }
      d.distribution = value;
      return;
    case "hash_tag": {
      if (d.hash_tag !== undefined) throw dup();
      const bytes = utf8.encode(value);
      // twemproxy counts bytes, so a single two-byte UTF-8 character passes
      if (bytes.length !== 2) {
        throw err("E_CONF_INVALID_HASH_TAG", `invalid hash tag "${value}": expected two characters, such as "{}"`);
      }
      d.hash_tag = bytes;
      return;
    }
    case "string":
      if (d.strings[key as StrKey] !== undefined) throw dup();
      d.strings[key as StrKey] = value;
      return;
    case "num": {
      const k = key as NumKey;
      if (d.nums[k] !== undefined) throw dup();
      const n = ncAtoi(value);
      if (n < 0) throw err("E_CONF_NOT_A_NUMBER", `invalid number "${value}": expected a non-negative decimal integer`);
      d.nums[k] = n;
      return;
    }
    case "bool": {
      const k = key as BoolKey;
      if (d.bools[k] !== undefined) throw dup();
      // exactly these two spellings: libyaml hands over the text, twemproxy compares bytes
      if (value !== "true" && value !== "false") {
        throw err("E_CONF_NOT_A_BOOLEAN", `invalid boolean "${value}": expected true or false`);
      }
      d.bools[k] = value === "true";
      return;
    }
    case "servers": {
      const r = parseServer(value, line);
      if (!r.ok) throw err(r.code, r.detail);
      d.lists[key as ListKey].push(r.value);
      return;
    }
    case "read_from":
      if (d.read_from !== undefined) throw dup();
      if (!isReadFrom(value)) {
        throw err("E_CONF_INVALID_READ_FROM", `unknown read_from "${value}": expected one of ${READ_FROM.join(", ")}`);
      }
      d.read_from = value;
      d.readLine = line;
      return;
  }
}

/** conf_validate_pool + conf_validate_server: required keys, defaults, cross-key checks. */
function validatePool(d: Draft, fail: Fail): PoolConf {
  if (d.listen === undefined) {
    throw fail("E_CONF_MISSING_LISTEN", d.line, "listen", d.name, `pool "${d.name}" has no "listen"`);
  }
  const num = (k: NumKey): number => d.nums[k] ?? CONF_KEYS[k].default;
  const bool = (k: BoolKey): boolean => d.bools[k] ?? CONF_KEYS[k].default;

  const serverConnections = num("server_connections");
  if (serverConnections === 0) {
    throw fail(
      "E_CONF_ZERO_SERVER_CONNECTIONS",
      d.line,
      "server_connections",
      d.name,
      "server_connections must be at least 1",
    );
  }
  const redis = bool("redis");
  if (!redis && d.strings.redis_auth !== undefined) {
    throw fail(
      "E_CONF_REDIS_AUTH_NOT_REDIS",
      d.line,
      "redis_auth",
      d.name,
      `redis_auth is only valid for a redis pool: pool "${d.name}" does not set "redis: true"`,
    );
  }
  if (d.lists.servers.length === 0) {
    throw fail("E_CONF_MISSING_SERVERS", d.line, "servers", d.name, `pool "${d.name}" has no servers`);
  }
  const servers = d.lists.servers.toSorted((a, b) => compareNames(a.name, b.name));
  for (let i = 0; i + 1 < servers.length; i++) {
    const a = servers[i]!;
    const b = servers[i + 1]!;
    if (a.name === b.name) {
      throw fail(
        "E_CONF_DUPLICATE_SERVER",
        Math.max(a.line, b.line),
        "servers",
        d.name,
        `pool "${d.name}" has two servers named "${a.name}"`,
      );
    }
  }

  return {
    name: d.name,
    listen: d.listen,
    hash: d.hash ?? CONF_KEYS.hash.default,
    hash_tag: d.hash_tag ?? null,
    distribution: d.distribution ?? CONF_KEYS.distribution.default,
    timeout: num("timeout"),
    backlog: num("backlog"),
    // twemproxy's conf_validate_pool resets this to 0 and never enforces it; we keep and enforce it
    client_connections: num("client_connections"),
    redis,
    redis_auth: d.strings.redis_auth ?? null,
    redis_db: num("redis_db"),
    preconnect: bool("preconnect"),
    auto_eject_hosts: bool("auto_eject_hosts"),
    server_connections: serverConnections,
    server_retry_timeout: num("server_retry_timeout"),
    server_failure_limit: num("server_failure_limit"),
    tcpkeepalive: bool("tcpkeepalive"),
    reuseport: bool("reuseport"),
    error_replies: bool("error_replies"),
    max_queued_bytes: num("max_queued_bytes"),
    health_check: bool("health_check"),
    fail_fast: bool("fail_fast"),
    servers,
    sentinels: d.lists.sentinels,
    sentinel_interval: num("sentinel_interval"),
    reload_grace: num("reload_grace"),
    pinned_connections: num("pinned_connections"),
    redis_cluster: validateCluster(d, redis, bool("redis_cluster"), fail),
    tls: validateTls(d, bool("tls"), bool("tls_verify"), fail),
    cluster_refresh: num("cluster_refresh"),
    replicas: validateGroups(d, servers, redis, fail),
    read_from: d.read_from ?? CONF_KEYS.read_from.default,
  };
}

