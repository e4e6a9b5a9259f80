// ConfError and its codes: every way a configuration file can be rejected, in one table.

/**
 * Each code with the twemproxy check it stands for (nc_conf.c) and what it means. The codes are
 * stable: tests and callers match on them, never on message text.
 */
export const CONF_ERROR_CODES = {
  E_CONF_YAML: "the text is not valid YAML (yaml_parser_load failed)",
  E_CONF_DOCUMENT_COUNT: "the file holds no YAML document or more than one (conf_validate_document)",
  E_CONF_DISALLOWED_TOKEN:
    "directives, document markers, flow collections, anchors, aliases and tags are not allowed (conf_validate_tokens)",
  E_CONF_STRUCTURE:
    "the tree is not pool name -> mapping of scalars with one sequence per pool (conf_validate_structure)",
  E_CONF_EMPTY_VALUE: "an empty scalar where a key or value is expected (conf_push_scalar)",
  E_CONF_UNKNOWN_KEY: "a pool key twemproxy does not know (conf_handler)",
  E_CONF_DUPLICATE_KEY: "a pool key given twice (conf_set_*: is a duplicate)",
  E_CONF_INVALID_LISTEN: "listen is not host:port or /path [mode] (conf_set_listen)",
  E_CONF_INVALID_SERVER: "a server is not host:port:weight [name] or /path:weight [name] (conf_add_server)",
  E_CONF_ZERO_WEIGHT: "a server with weight 0 (conf_add_server)",
  E_CONF_INVALID_HASH: "hash is not one of the hash names (conf_set_hash)",
  E_CONF_INVALID_DISTRIBUTION: "distribution is not ketama, modula or random (conf_set_distribution)",
  E_CONF_INVALID_HASH_TAG: "hash_tag is not exactly two bytes (conf_set_hashtag)",
  E_CONF_NOT_A_NUMBER: "a numeric key whose value is not a non-negative decimal integer (conf_set_num)",
  E_CONF_NOT_A_BOOLEAN: "a boolean key whose value is not exactly true or false (conf_set_bool)",
  E_CONF_MISSING_LISTEN: "a pool without listen (conf_validate_pool)",
  E_CONF_MISSING_SERVERS: "a pool without servers (conf_validate_server, conf_validate_structure)",
  E_CONF_ZERO_SERVER_CONNECTIONS: "server_connections: 0 (conf_validate_pool)",
  E_CONF_REDIS_AUTH_NOT_REDIS: "redis_auth on a pool without redis: true (conf_validate_pool)",
  E_CONF_DUPLICATE_SERVER: "two servers of one pool with the same name (conf_validate_server)",
  E_CONF_DUPLICATE_LISTEN: "two pools with the same listen text (conf_post_validate)",
  E_CONF_DUPLICATE_POOL: "two pools with the same name (conf_post_validate)",
  E_CONF_INVALID_READ_FROM: "ours: read_from is not master, prefer_master, replica, prefer_replica or any",
  E_CONF_READ_FROM_NO_REPLICAS: "ours: a read_from other than master on a pool without sentinels or replicas",
  E_CONF_GROUPS_NOT_REDIS: "ours: sentinels or replicas on a pool without redis: true",
  E_CONF_GROUPS_BOTH: "ours: a pool with both sentinels and replicas",
  E_CONF_SHARD_UNNAMED: "ours: a server without a name in a pool with sentinels (the name is the Sentinel master name)",
  E_CONF_TLS: "ours: a TLS key without its partner (certificate, key, tls: true), or a TLS file that cannot be read or is not PEM",
  E_CONF_CLUSTER_NOT_REDIS: "ours: redis_cluster on a pool without redis: true",
  E_CONF_CLUSTER_KEY: "ours: hash, hash_tag, distribution, sentinels or replicas on a redis_cluster pool",
  E_CONF_REPLICA_NO_MASTER: "ours: a replica whose name is no server's of the pool (a group without a master)",
} as const;

/** One of the CONF_ERROR_CODES keys, e.g. "E_CONF_DUPLICATE_KEY". */
export type ConfErrorCode = keyof typeof CONF_ERROR_CODES;

/** Where an error was found; `line` is 1-based, null when the error is about the whole file. */
export interface ConfErrorInit {
  readonly file: string;
  readonly line: number | null;
  readonly key: string | null;
  readonly pool: string | null;
  /** What is wrong, lowercase, values quoted: `unknown hash "foo"`. */
  readonly detail: string;
}

/**
 * A configuration file twemproxy would reject. Extends SyntaxError because the input text is
 * what is wrong; callers catch it at startup (and for `-t`) and print `message`.
 *
 * @example
 * ```ts
 * try { parseConf(text, "conf/x.yml"); } catch (e) {
 *   if (e instanceof ConfError && e.code === "E_CONF_INVALID_HASH") console.error(e.message);
 * }
 * // Cannot parse configuration "conf/x.yml" line 7 key "hash": unknown hash "foo"
 * ```
 */
export class ConfError extends SyntaxError {
  override name = "ConfError";
  readonly code: ConfErrorCode;
  readonly file: string;
  readonly line: number | null;
  readonly key: string | null;
  readonly pool: string | null;
  readonly detail: string;

  constructor(code: ConfErrorCode, init: ConfErrorInit) {
    const where = (init.line !== null ? ` line ${init.line}` : "") + (init.key !== null ? ` key "${init.key}"` : "");
    super(`Cannot parse configuration "${init.file}"${where}: ${init.detail}`);
    this.code = code;
    this.file = init.file;
    this.line = init.line;
    this.key = init.key;
    this.pool = init.pool;
    this.detail = init.detail;
  }
}

/** What the per-value parsers return: the value, or why it is rejected (the caller adds file/line/key). */
export type Checked<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly code: ConfErrorCode; readonly detail: string };
