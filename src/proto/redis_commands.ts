// The redis command table: one row per command with everything the proxy knows of it (nc_redis.c).
//
// A row gives the argument shape (twemproxy's redis_arg* class, which also says which arguments
// are keys), how a multi-key request is split and its replies merged, whether the command writes,
// whether it needs a server connection of its own, whether the proxy answers it, whether it goes
// to one server or to every one, and whether twemproxy 0.5.0 routes it at all. A command's row
// index + 1 is its message type (msg.type), so the hot path reads a row by array index; names are
// matched as upper-cased bytes through a small open-addressing index, never as strings.
//
// `write` is redis 7's own `write` command flag (COMMAND INFO, copied here once, never asked at
// runtime), except EVAL/EVALSHA: redis leaves them unflagged because the script decides, so they
// count as writes. Rows with `supported: false` are commands 0.5.0 does not route (it closes the
// client; with error_replies we answer `-ERR unsupported command`): the parser treats them as
// unknown names, and their other columns are what a later issue that enables them starts from.

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
  /** A key and any number of arguments; only the first is a key (SDIFF, PFCOUNT... go by it). */
  argn: 5,
  /** One or more keys, every argument a key (MGET, DEL...). */
  argx: 6,
  /** Key-value pairs (MSET): the odd arguments are keys. */
  argkvx: 7,
  /** EVAL/EVALSHA: script, numkeys, keys..., args...; keys are the numkeys after the second. */
  argeval: 8,
  /** Any arguments, no key (LOLWUT). */
  nokey: 9,
  /**
   * Any arguments, none a key, each recorded in msg.keys for the proxy to read: commands it
   * answers itself or rewrites (HELLO, CLIENT, SCAN...). The handler judges the count.
   */
  argv: 10,
} as const;
export type CmdShape = (typeof CmdShape)[keyof typeof CmdShape];

/** How a request with several keys is split per server and its parts' replies merged. */
export const CmdMerge = {
  /** Not split: sent whole to the server its (first) key picks. */
  none: 0,
  /** MGET: each part answers an array; the elements go back in request-key order. */
  array: 1,
  /** DEL, UNLINK, TOUCH, EXISTS: each part answers an integer; the reply is their sum. */
  sum: 2,
  /** MSET: each part answers +OK; the reply is +OK once all did. */
  status: 3,
  /** KEYS: each server answers an array; the reply is their elements one after the other. */
  concat: 4,
  /** RANDOMKEY: each server answers a key or nil; the reply is one of the keys. */
  random: 5,
  /** SCRIPT: by subcommand (LOAD: the one sha; EXISTS: 1 where every server has it; FLUSH, KILL: +OK). */
  script: 6,
  /** INFO: the proxy's own sections, with the servers' keyspace summed. */
  info: 7,
  /** SCAN: one server's reply, its cursor rewritten to carry the server (redis_fanout.ts). */
  scan: 8,
  /** PUBSUB: CHANNELS concatenated, NUMSUB counts summed per channel, NUMPAT the largest. */
  pubsub: 9,
} as const;
export type CmdMerge = (typeof CmdMerge)[keyof typeof CmdMerge];

/** Which server connection a command may use. */
export const CmdConn = {
  /** The pool's shared connection, pipelined with every other client's requests. */
  shared: 0,
  /**
   * A connection of the client's own: the command leaves state on it or holds it (SUBSCRIBE,
   * MULTI/EXEC/WATCH, blocking pops, SELECT, CLIENT...).
   */
  pinned: 1,
} as const;
export type CmdConn = (typeof CmdConn)[keyof typeof CmdConn];

/** What a command does on a pinned connection (CmdConn.pinned), for redis_pinned.ts and redis_pubsub.ts. */
export const CmdPin = {
  none: 0,
  subscribe: 1,
  unsubscribe: 2,
  psubscribe: 3,
  punsubscribe: 4,
  ssubscribe: 5,
  sunsubscribe: 6,
  multi: 7,
  exec: 8,
  discard: 9,
  watch: 10,
  unwatch: 11,
  /** Blocking, its keys every argument but the last (BLPOP k... timeout). */
  blockLast: 12,
  /** Blocking, its keys the first two arguments (BRPOPLPUSH, BLMOVE). */
  blockTwo: 13,
  /** Blocking, `timeout numkeys key...` (BLMPOP, BZMPOP). */
  blockNumkeys: 14,
  /** XREAD/XREADGROUP: the keys are the first half after STREAMS. */
  blockStreams: 15,
} as const;
export type CmdPin = (typeof CmdPin)[keyof typeof CmdPin];

/** What the proxy does itself instead of forwarding. */
export const CmdLocal = {
  none: 0,
  /** +PONG */
  ping: 1,
  /** Close the client once earlier replies are out. */
  quit: 2,
  /** Check redis_auth's password. */
  auth: 3,
  /** HELLO [protover [AUTH user pass] [SETNAME name]] (redis_local.ts, as all below). */
  hello: 4,
  /** CLIENT SETINFO, SETNAME, GETNAME, ID, INFO, NO-EVICT, NO-TOUCH, REPLY ON. */
  client: 5,
  /** SELECT n: +OK for the pool's redis_db. */
  select: 6,
  /** ECHO msg */
  echo: 7,
  /** RESET: the connection's state back to new. */
  reset: 8,
  /** READONLY, READWRITE: +OK (replica reads are the pool's choice, not the client's). */
  ok: 9,
} as const;
export type CmdLocal = (typeof CmdLocal)[keyof typeof CmdLocal];

/** Which servers a forwarded command goes to. */
export const CmdFanout = {
  /** The one its key picks (a keyless command: the one the empty key picks). */
  one: 0,
  /** Every server of the pool, the replies merged into one (KEYS, DBSIZE, FLUSHALL, INFO...). */
  every: 1,
  /** The one server the request's cursor names, in configuration order (SCAN). */
  cursor: 2,
} as const;
export type CmdFanout = (typeof CmdFanout)[keyof typeof CmdFanout];

export interface RedisCommand {
  /** Upper case, as matched. */
  readonly name: string;
  /** The argument count rule, which also gives the key positions. */
  readonly arity: CmdShape;
  readonly merge: CmdMerge;
  /** redis's `write` flag: the command may change data (a replica would refuse it). */
  readonly write: boolean;
  readonly conn: CmdConn;
  readonly local: CmdLocal;
  readonly fanout: CmdFanout;
  /** twemproxy 0.5.0 routes it, or we do; false parses as an unknown command. */
  readonly supported: boolean;
  /**
   * Beyond twemproxy 0.5.0: served only with `error_replies` (the default); `error_replies: false`
   * keeps 0.5.0's answer to it, which is closing the connection.
   */
  readonly ours: boolean;
  /** On a pinned connection: which kind of pub/sub, transaction or blocking command it is. */
  readonly pin?: CmdPin;
}

const A = CmdShape;
const M = CmdMerge;
const C = CmdConn;
const L = CmdLocal;
const F = CmdFanout;
const P = CmdPin;

/** Every command, one row each; a row's index + 1 is its message type. */
export const REDIS_COMMANDS: readonly RedisCommand[] = [
  // twemproxy 0.5.0 routes these; no arguments
  { name: "PING",              arity: A.argv,    merge: M.none,   write: false, conn: C.shared, local: L.ping, fanout: F.one,   supported: true, ours: false },
  { name: "QUIT",              arity: A.argz,    merge: M.none,   write: false, conn: C.shared, local: L.quit, fanout: F.one,   supported: true, ours: false },
  { name: "COMMAND",           arity: A.argz,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  // a key
  { name: "PERSIST",           arity: A.arg0,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "PTTL",              arity: A.arg0,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "TTL",               arity: A.arg0,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "TYPE",              arity: A.arg0,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "DUMP",              arity: A.arg0,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "DECR",              arity: A.arg0,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "GET",               arity: A.arg0,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "GETDEL",            arity: A.arg0,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "INCR",              arity: A.arg0,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "STRLEN",            arity: A.arg0,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "HGETALL",           arity: A.arg0,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "HKEYS",             arity: A.arg0,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "HLEN",              arity: A.arg0,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "HVALS",             arity: A.arg0,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "LLEN",              arity: A.arg0,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "SCARD",             arity: A.arg0,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "SMEMBERS",          arity: A.arg0,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "ZCARD",             arity: A.arg0,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "AUTH",              arity: A.arg0,    merge: M.none,   write: false, conn: C.shared, local: L.auth, fanout: F.one,   supported: true, ours: false },
  // a key and one argument
  { name: "EXPIRE",            arity: A.arg1,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "EXPIREAT",          arity: A.arg1,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "PEXPIRE",           arity: A.arg1,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "PEXPIREAT",         arity: A.arg1,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "APPEND",            arity: A.arg1,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "DECRBY",            arity: A.arg1,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "GETBIT",            arity: A.arg1,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "GETSET",            arity: A.arg1,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "INCRBY",            arity: A.arg1,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "INCRBYFLOAT",       arity: A.arg1,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "SETNX",             arity: A.arg1,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "HEXISTS",           arity: A.arg1,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "HGET",              arity: A.arg1,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "HSTRLEN",           arity: A.arg1,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "LINDEX",            arity: A.arg1,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "RPOPLPUSH",         arity: A.arg1,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "SISMEMBER",         arity: A.arg1,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "ZRANK",             arity: A.arg1,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "ZREVRANK",          arity: A.arg1,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "ZSCORE",            arity: A.arg1,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  // a key and two arguments
  { name: "GETRANGE",          arity: A.arg2,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "PSETEX",            arity: A.arg2,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "SETBIT",            arity: A.arg2,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "SETEX",             arity: A.arg2,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "SETRANGE",          arity: A.arg2,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "HINCRBY",           arity: A.arg2,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "HINCRBYFLOAT",      arity: A.arg2,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "HSETNX",            arity: A.arg2,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "LRANGE",            arity: A.arg2,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "LREM",              arity: A.arg2,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "LSET",              arity: A.arg2,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "LTRIM",             arity: A.arg2,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "SMOVE",             arity: A.arg2,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "ZCOUNT",            arity: A.arg2,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "ZLEXCOUNT",         arity: A.arg2,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "ZINCRBY",           arity: A.arg2,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "ZREMRANGEBYLEX",    arity: A.arg2,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "ZREMRANGEBYRANK",   arity: A.arg2,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "ZREMRANGEBYSCORE",  arity: A.arg2,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  // a key and three arguments
  { name: "LINSERT",           arity: A.arg3,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "LMOVE",             arity: A.arg3,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  // a key, then any arguments
  { name: "SORT",              arity: A.argn,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "COPY",              arity: A.argn,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "BITCOUNT",          arity: A.argn,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "BITPOS",            arity: A.argn,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "BITFIELD",          arity: A.argn,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "GETEX",             arity: A.argn,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "SET",               arity: A.argn,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "HDEL",              arity: A.argn,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "HMGET",             arity: A.argn,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "HMSET",             arity: A.argn,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "HSCAN",             arity: A.argn,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "HSET",              arity: A.argn,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "HRANDFIELD",        arity: A.argn,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "LPUSH",             arity: A.argn,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "LPUSHX",            arity: A.argn,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "RPUSH",             arity: A.argn,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "RPUSHX",            arity: A.argn,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "LPOP",              arity: A.argn,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "RPOP",              arity: A.argn,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "LPOS",              arity: A.argn,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "SADD",              arity: A.argn,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "SDIFF",             arity: A.argn,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "SDIFFSTORE",        arity: A.argn,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "SINTER",            arity: A.argn,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "SINTERSTORE",       arity: A.argn,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "SREM",              arity: A.argn,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "SUNION",            arity: A.argn,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "SUNIONSTORE",       arity: A.argn,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "SRANDMEMBER",       arity: A.argn,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "SSCAN",             arity: A.argn,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "SPOP",              arity: A.argn,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "SMISMEMBER",        arity: A.argn,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "PFADD",             arity: A.argn,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "PFMERGE",           arity: A.argn,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "PFCOUNT",           arity: A.argn,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "ZADD",              arity: A.argn,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "ZDIFF",             arity: A.argn,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "ZDIFFSTORE",        arity: A.argn,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "ZINTER",            arity: A.argn,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "ZINTERSTORE",       arity: A.argn,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "ZMSCORE",           arity: A.argn,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "ZPOPMAX",           arity: A.argn,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "ZPOPMIN",           arity: A.argn,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "ZRANDMEMBER",       arity: A.argn,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "ZRANGE",            arity: A.argn,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "ZRANGEBYLEX",       arity: A.argn,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "ZRANGEBYSCORE",     arity: A.argn,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "ZRANGESTORE",       arity: A.argn,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "ZREM",              arity: A.argn,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "ZREVRANGE",         arity: A.argn,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "ZREVRANGEBYLEX",    arity: A.argn,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "ZREVRANGEBYSCORE",  arity: A.argn,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "ZSCAN",             arity: A.argn,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "ZUNION",            arity: A.argn,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "ZUNIONSTORE",       arity: A.argn,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "GEODIST",           arity: A.argn,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "GEOPOS",            arity: A.argn,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "GEOHASH",           arity: A.argn,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "GEOADD",            arity: A.argn,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "GEORADIUS",         arity: A.argn,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "GEORADIUSBYMEMBER", arity: A.argn,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "GEOSEARCH",         arity: A.argn,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "GEOSEARCHSTORE",    arity: A.argn,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "RESTORE",           arity: A.argn,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  // every argument a key: split per server. EXISTS is argn in twemproxy (routed by its first key)
  // but documented as split: we split it
  { name: "MGET",              arity: A.argx,    merge: M.array,  write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "DEL",               arity: A.argx,    merge: M.sum,    write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "UNLINK",            arity: A.argx,    merge: M.sum,    write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "TOUCH",             arity: A.argx,    merge: M.sum,    write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "EXISTS",            arity: A.argx,    merge: M.sum,    write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  // key-value pairs: split per server
  { name: "MSET",              arity: A.argkvx,  merge: M.status, write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  // script, numkeys, keys, arguments: routed by the first key
  { name: "EVAL",              arity: A.argeval, merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  { name: "EVALSHA",           arity: A.argeval, merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  // no key
  { name: "LOLWUT",            arity: A.nokey,   merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: false },
  // twemproxy 0.5.0 does not route these (supported: false). MOVE: 0.5.0 parses it but has no
  // reply for it and closes the client
  { name: "MOVE",              arity: A.arg1,    merge: M.none,   write: true,  conn: C.shared, local: L.none, fanout: F.one,   supported: false, ours: false },
  // connection state and server facts
  { name: "HELLO",             arity: A.argv,    merge: M.none,   write: false, conn: C.shared, local: L.hello, fanout: F.one,   supported: true, ours: true },
  { name: "CLIENT",            arity: A.argv,    merge: M.none,   write: false, conn: C.shared, local: L.client, fanout: F.one,   supported: true, ours: true },
  { name: "SELECT",            arity: A.argv,    merge: M.none,   write: false, conn: C.shared, local: L.select, fanout: F.one,   supported: true, ours: true },
  { name: "INFO",              arity: A.argv,    merge: M.info,   write: false, conn: C.shared, local: L.none, fanout: F.every, supported: true, ours: true },
  { name: "ECHO",              arity: A.argv,    merge: M.none,   write: false, conn: C.shared, local: L.echo, fanout: F.one,   supported: true, ours: true },
  { name: "RESET",             arity: A.argv,    merge: M.none,   write: false, conn: C.shared, local: L.reset, fanout: F.one,   supported: true, ours: true },
  { name: "READONLY",          arity: A.argv,    merge: M.none,   write: false, conn: C.shared, local: L.ok, fanout: F.one,   supported: true, ours: true },
  { name: "READWRITE",         arity: A.argv,    merge: M.none,   write: false, conn: C.shared, local: L.ok, fanout: F.one,   supported: true, ours: true },
  // the whole keyspace: every server
  { name: "SCAN",              arity: A.argv,    merge: M.scan,   write: false, conn: C.shared, local: L.none, fanout: F.cursor, supported: true, ours: true },
  { name: "KEYS",              arity: A.argv,    merge: M.concat, write: false, conn: C.shared, local: L.none, fanout: F.every, supported: true, ours: true },
  { name: "DBSIZE",            arity: A.argv,    merge: M.sum,    write: false, conn: C.shared, local: L.none, fanout: F.every, supported: true, ours: true },
  { name: "RANDOMKEY",         arity: A.argv,    merge: M.random, write: false, conn: C.shared, local: L.none, fanout: F.every, supported: true, ours: true },
  { name: "FLUSHDB",           arity: A.argv,    merge: M.status, write: true,  conn: C.shared, local: L.none, fanout: F.every, supported: true, ours: true },
  { name: "FLUSHALL",          arity: A.argv,    merge: M.status, write: true,  conn: C.shared, local: L.none, fanout: F.every, supported: true, ours: true },
  { name: "SCRIPT",            arity: A.argv,    merge: M.script, write: false, conn: C.shared, local: L.none, fanout: F.every, supported: true, ours: true },
  // pub/sub: a subscribed connection carries pushes, not replies (redis_pubsub.ts)
  { name: "SUBSCRIBE",         arity: A.argv,    merge: M.none,   write: false, conn: C.pinned, local: L.none, fanout: F.one,   supported: true, ours: true, pin: P.subscribe },
  { name: "UNSUBSCRIBE",       arity: A.argv,    merge: M.none,   write: false, conn: C.pinned, local: L.none, fanout: F.one,   supported: true, ours: true, pin: P.unsubscribe },
  { name: "PSUBSCRIBE",        arity: A.argv,    merge: M.none,   write: false, conn: C.pinned, local: L.none, fanout: F.every, supported: true, ours: true, pin: P.psubscribe },
  { name: "PUNSUBSCRIBE",      arity: A.argv,    merge: M.none,   write: false, conn: C.pinned, local: L.none, fanout: F.every, supported: true, ours: true, pin: P.punsubscribe },
  { name: "SSUBSCRIBE",        arity: A.argv,    merge: M.none,   write: false, conn: C.pinned, local: L.none, fanout: F.one,   supported: true, ours: true, pin: P.ssubscribe },
  { name: "SUNSUBSCRIBE",      arity: A.argv,    merge: M.none,   write: false, conn: C.pinned, local: L.none, fanout: F.one,   supported: true, ours: true, pin: P.sunsubscribe },
  { name: "PUBLISH",           arity: A.arg1,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: true },
  { name: "SPUBLISH",          arity: A.arg1,    merge: M.none,   write: false, conn: C.shared, local: L.none, fanout: F.one,   supported: true, ours: true },
  { name: "PUBSUB",            arity: A.argv,    merge: M.pubsub, write: false, conn: C.shared, local: L.none, fanout: F.every, supported: true, ours: true },
  // transactions: the commands between MULTI and EXEC must reach one connection (redis_pinned.ts)
  { name: "MULTI",             arity: A.argv,    merge: M.none,   write: false, conn: C.pinned, local: L.none, fanout: F.one,   supported: true, ours: true, pin: P.multi },
  { name: "EXEC",              arity: A.argv,    merge: M.none,   write: false, conn: C.pinned, local: L.none, fanout: F.one,   supported: true, ours: true, pin: P.exec },
  { name: "DISCARD",           arity: A.argv,    merge: M.none,   write: false, conn: C.pinned, local: L.none, fanout: F.one,   supported: true, ours: true, pin: P.discard },
  { name: "WATCH",             arity: A.argv,    merge: M.none,   write: false, conn: C.pinned, local: L.none, fanout: F.one,   supported: true, ours: true, pin: P.watch },
  { name: "UNWATCH",           arity: A.argv,    merge: M.none,   write: false, conn: C.pinned, local: L.none, fanout: F.one,   supported: true, ours: true, pin: P.unwatch },
  // blocking: the connection is held until a value or the timeout comes (redis_pinned.ts)
  { name: "BLPOP",             arity: A.argv,    merge: M.none,   write: true,  conn: C.pinned, local: L.none, fanout: F.one,   supported: true, ours: true, pin: P.blockLast },
  { name: "BRPOP",             arity: A.argv,    merge: M.none,   write: true,  conn: C.pinned, local: L.none, fanout: F.one,   supported: true, ours: true, pin: P.blockLast },
  { name: "BRPOPLPUSH",        arity: A.argv,    merge: M.none,   write: true,  conn: C.pinned, local: L.none, fanout: F.one,   supported: true, ours: true, pin: P.blockTwo },
  { name: "BLMOVE",            arity: A.argv,    merge: M.none,   write: true,  conn: C.pinned, local: L.none, fanout: F.one,   supported: true, ours: true, pin: P.blockTwo },
  { name: "BLMPOP",            arity: A.argv,    merge: M.none,   write: true,  conn: C.pinned, local: L.none, fanout: F.one,   supported: true, ours: true, pin: P.blockNumkeys },
  { name: "BZPOPMIN",          arity: A.argv,    merge: M.none,   write: true,  conn: C.pinned, local: L.none, fanout: F.one,   supported: true, ours: true, pin: P.blockLast },
  { name: "BZPOPMAX",          arity: A.argv,    merge: M.none,   write: true,  conn: C.pinned, local: L.none, fanout: F.one,   supported: true, ours: true, pin: P.blockLast },
  { name: "BZMPOP",            arity: A.argv,    merge: M.none,   write: true,  conn: C.pinned, local: L.none, fanout: F.one,   supported: true, ours: true, pin: P.blockNumkeys },
  { name: "XREAD",             arity: A.argv,    merge: M.none,   write: false, conn: C.pinned, local: L.none, fanout: F.one,   supported: true, ours: true, pin: P.blockStreams },
  { name: "XREADGROUP",        arity: A.argv,    merge: M.none,   write: true,  conn: C.pinned, local: L.none, fanout: F.one,   supported: true, ours: true, pin: P.blockStreams },
  { name: "WAIT",              arity: A.nokey,   merge: M.none,   write: false, conn: C.pinned, local: L.none, fanout: F.one,   supported: false, ours: false },
];

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
 * or 0 when the table does not know it. A known name may still be unsupported (row.supported).
 * @example REDIS_COMMANDS[lookupCommand(new TextEncoder().encode("GET"), 3) - 1]?.arity === CmdShape.arg0
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
