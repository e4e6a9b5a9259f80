// The redis command table: each command twemproxy routes, with its argument shape (nc_redis.c).
//
// Shapes are twemproxy's redis_arg* classes. The table is the single source for the parser's
// arity checks and key positions; names are matched as upper-cased bytes through a small
// open-addressing index, never as strings.

/** Argument shapes, after twemproxy's redis_argz/arg0/arg1/arg2/arg3/argn/argx/argkvx/argeval/nokey. */
export const CmdShape = {
  /** No arguments at all (PING, QUIT, COMMAND). */
  argz: 0,
  /** A key and nothing else. */
  arg0: 1,
  /** A key and exactly one argument. */
  arg1: 2,
  /** A key and exactly two arguments. */
  arg2: 3,
  /** A key and exactly three arguments. */
  arg3: 4,
  /** A key and any number of arguments. */
  argn: 5,
  /** One or more keys (MGET, DEL...): split per server. */
  argx: 6,
  /** Key-value pairs (MSET): split per server. */
  argkvx: 7,
  /** EVAL/EVALSHA: script, numkeys, keys..., args...; routed by the first key. */
  argeval: 8,
  /** Any arguments, no key (LOLWUT). */
  nokey: 9,
} as const;
export type CmdShape = (typeof CmdShape)[keyof typeof CmdShape];

/** What the proxy does itself instead of forwarding. */
export const CmdLocal = {
  none: 0,
  ping: 1,
  quit: 2,
  auth: 3,
} as const;
export type CmdLocal = (typeof CmdLocal)[keyof typeof CmdLocal];

export interface RedisCommand {
  readonly name: string;
  readonly shape: CmdShape;
  readonly local: CmdLocal;
}

const S = CmdShape;
const shapes: Readonly<Record<keyof typeof CmdShape, readonly string[]>> = {
  argz: ["PING", "QUIT", "COMMAND"],
  arg0: [
    "PERSIST", "PTTL", "TTL", "TYPE", "DUMP", "DECR", "GET", "GETDEL", "INCR", "STRLEN", "HGETALL",
    "HKEYS", "HLEN", "HVALS", "LLEN", "SCARD", "SMEMBERS", "ZCARD", "AUTH",
  ],
  arg1: [
    // MOVE is absent on purpose: 0.5.0 parses it but has no reply for it and closes the client
    "EXPIRE", "EXPIREAT", "PEXPIRE", "PEXPIREAT", "APPEND", "DECRBY", "GETBIT", "GETSET",
    "INCRBY", "INCRBYFLOAT", "SETNX", "HEXISTS", "HGET", "HSTRLEN", "LINDEX", "RPOPLPUSH",
    "SISMEMBER", "ZRANK", "ZREVRANK", "ZSCORE",
  ],
  arg2: [
    "GETRANGE", "PSETEX", "SETBIT", "SETEX", "SETRANGE", "HINCRBY", "HINCRBYFLOAT", "HSETNX",
    "LRANGE", "LREM", "LSET", "LTRIM", "SMOVE", "ZCOUNT", "ZLEXCOUNT", "ZINCRBY", "ZREMRANGEBYLEX",
    "ZREMRANGEBYRANK", "ZREMRANGEBYSCORE",
  ],
  arg3: ["LINSERT", "LMOVE"],
  argn: [
    "SORT", "COPY", "BITCOUNT", "BITPOS", "BITFIELD", "GETEX", "SET", "HDEL", "HMGET",
    "HMSET", "HSCAN", "HSET", "HRANDFIELD", "LPUSH", "LPUSHX", "RPUSH", "RPUSHX", "LPOP", "RPOP",
    "LPOS", "SADD", "SDIFF", "SDIFFSTORE", "SINTER", "SINTERSTORE", "SREM", "SUNION",
    "SUNIONSTORE", "SRANDMEMBER", "SSCAN", "SPOP", "SMISMEMBER", "PFADD", "PFMERGE", "PFCOUNT",
    "ZADD", "ZDIFF", "ZDIFFSTORE", "ZINTER", "ZINTERSTORE", "ZMSCORE", "ZPOPMAX", "ZPOPMIN",
    "ZRANDMEMBER", "ZRANGE", "ZRANGEBYLEX", "ZRANGEBYSCORE", "ZRANGESTORE", "ZREM", "ZREVRANGE",
    "ZREVRANGEBYLEX", "ZREVRANGEBYSCORE", "ZSCAN", "ZUNION", "ZUNIONSTORE", "GEODIST", "GEOPOS",
    "GEOHASH", "GEOADD", "GEORADIUS", "GEORADIUSBYMEMBER", "GEOSEARCH", "GEOSEARCHSTORE", "RESTORE",
  ],
  // EXISTS is argn in twemproxy (routed by its first key) but documented as split: we split it
  argx: ["MGET", "DEL", "UNLINK", "TOUCH", "EXISTS"],
  argkvx: ["MSET"],
  argeval: ["EVAL", "EVALSHA"],
  nokey: ["LOLWUT"],
};

const locals: Readonly<Record<string, CmdLocal>> = {
  PING: CmdLocal.ping,
  QUIT: CmdLocal.quit,
  AUTH: CmdLocal.auth,
};

/** Every command, in table order; a command's index is its message type (1-based). */
export const REDIS_COMMANDS: readonly RedisCommand[] = Object.entries(shapes).flatMap(([shape, names]) =>
  names.map((name) => ({ name, shape: S[shape as keyof typeof CmdShape], local: locals[name] ?? CmdLocal.none })),
);

// Open-addressing index over the upper-cased name bytes; 0 marks an empty slot.
const SLOTS = 1024;
const index = new Int32Array(SLOTS);
const nameBytes: Uint8Array[] = [];

function nameHash(b: Uint8Array, len: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < len; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return (h >>> 0) & (SLOTS - 1);
}

for (let i = 0; i < REDIS_COMMANDS.length; i++) {
  const bytes = new TextEncoder().encode(REDIS_COMMANDS[i]!.name);
  nameBytes.push(bytes);
  let slot = nameHash(bytes, bytes.length);
  while (index[slot] !== 0) slot = (slot + 1) & (SLOTS - 1);
  index[slot] = i + 1;
}

/**
 * The message type (table index + 1) of the command whose upper-cased name is `name[0..len)`,
 * or 0 when twemproxy does not know it.
 * @example REDIS_COMMANDS[lookupCommand(new TextEncoder().encode("GET"), 3) - 1]?.shape === CmdShape.arg0
 */
export function lookupCommand(name: Uint8Array, len: number): number {
  let slot = nameHash(name, len);
  for (;;) {
    const i = index[slot]!;
    if (i === 0) return 0;
    const cand = nameBytes[i - 1]!;
    if (cand.length === len) {
      let j = 0;
      while (j < len && cand[j] === name[j]) j++;
      if (j === len) return i;
    }
    slot = (slot + 1) & (SLOTS - 1);
  }
}
