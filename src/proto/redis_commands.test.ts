// The redis command table: one row per command, and a row twemproxy does not route parses as an unknown name.

import { describe, expect, it } from "vitest";
import { splits } from "../../test/helpers/split.ts";
import { MbufPool } from "../buf/mbuf.ts";
import { MsgPool } from "../core/message.ts";
import { parseConf } from "../conf/parse.ts";
import { parseChunks, parseOne } from "./parse_harness.ts";
import { redisParseReq } from "./redis.ts";
import { CmdConn, CmdFanout, CmdLocal, CmdMerge, CmdShape, lookupCommand, REDIS_COMMANDS } from "./redis_commands.ts";
import { redisProto } from "./redis_proto.ts";
import { ReqAction, ReqError } from "./types.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function resp(...args: string[]): string {
  return `*${args.length}\r\n` + args.map((a) => `$${enc.encode(a).length}\r\n${a}\r\n`).join("");
}

const row = (name: string) => REDIS_COMMANDS.find((c) => c.name === name)!;
const supported = REDIS_COMMANDS.filter((c) => c.supported && !c.ours);
const ours = REDIS_COMMANDS.filter((c) => c.ours);
const unsupported = REDIS_COMMANDS.filter((c) => !c.supported);

function client(errorReplies: boolean) {
  const yml = `r:\n  listen: 127.0.0.1:1\n  redis: true\n  error_replies: ${errorReplies}\n  servers:\n   - 127.0.0.1:2:1\n`;
  return { authenticated: true, conf: parseConf(yml, "r.yml")[0]!, id: 1, name: null, peerName: "127.0.0.1:3", poolClients: 1, poolServers: 1, resp3: false, pinMode: false };
}

describe("REDIS_COMMANDS", () => {
  it("has one upper-case row per name, found by lookupCommand at its index + 1", () => {
    expect(new Set(REDIS_COMMANDS.map((c) => c.name)).size).toBe(REDIS_COMMANDS.length);
    for (const [i, c] of REDIS_COMMANDS.entries()) {
      expect(c.name).toBe(c.name.toUpperCase());
      const b = enc.encode(c.name);
      expect(lookupCommand(b, b.length), c.name).toBe(i + 1);
    }
    for (const name of ["", "GETT", "MGE", "CONFIG", "TIME", "X".repeat(32)]) {
      const b = enc.encode(name);
      expect(lookupCommand(b, b.length), name).toBe(0);
    }
  });

  it("routes what twemproxy 0.5.0 routes: 136 commands, all on the shared connection to one server", () => {
    expect(supported).toHaveLength(136);
    // the supported rows come first, so their message types are those of the table before issue 15
    expect(REDIS_COMMANDS.slice(0, supported.length).every((c) => c.supported && !c.ours)).toBe(true);
    for (const c of supported) {
      expect(c.conn, c.name).toBe(CmdConn.shared);
      expect(c.fanout, c.name).toBe(CmdFanout.one);
    }
    expect(unsupported.map((c) => c.name)).toEqual(expect.arrayContaining(["MOVE", "WAIT"]));
    // ours: served with error_replies (the default), closed as 0.5.0 closes them without it
    expect(ours.map((c) => c.name).sort()).toEqual(
      [
        "BLMOVE", "BLMPOP", "BLPOP", "BRPOP", "BRPOPLPUSH", "BZMPOP", "BZPOPMAX", "BZPOPMIN", "CLIENT", "DBSIZE", "DISCARD",
        "ECHO", "EXEC", "FLUSHALL", "FLUSHDB", "HELLO", "INFO", "KEYS", "MULTI", "PSUBSCRIBE", "PUBLISH", "PUBSUB",
        "PUNSUBSCRIBE", "RANDOMKEY", "READONLY", "READWRITE", "RESET", "SCAN", "SCRIPT", "SELECT", "SPUBLISH", "SSUBSCRIBE",
        "SUBSCRIBE", "SUNSUBSCRIBE", "UNSUBSCRIBE", "UNWATCH", "WATCH", "XREAD", "XREADGROUP",
      ],
    );
    // the proxy reads their arguments itself (PUBLISH and SPUBLISH route by their channel, a key)
    for (const c of ours.filter((o) => o.name !== "PUBLISH" && o.name !== "SPUBLISH")) expect(c.arity, c.name).toBe(CmdShape.argv);
    // every pinned command is told apart by its row, not its name
    const pinned = REDIS_COMMANDS.filter((c) => c.conn === CmdConn.pinned && c.supported);
    expect(pinned).toHaveLength(21);
    for (const c of pinned) expect(c.pin, c.name).toBeGreaterThan(0);
  });

  it("splits exactly the every-key and key-value shapes, each with its merge", () => {
    for (const c of supported) {
      const split = c.arity === CmdShape.argx || c.arity === CmdShape.argkvx;
      expect(c.merge !== CmdMerge.none, c.name).toBe(split);
    }
    expect(row("MGET").merge).toBe(CmdMerge.array);
    for (const n of ["DEL", "UNLINK", "TOUCH", "EXISTS"]) expect(row(n).merge, n).toBe(CmdMerge.sum);
    expect(row("MSET").merge).toBe(CmdMerge.status);
  });

  it("answers PING, QUIT and AUTH itself as 0.5.0 does, and the connection commands of ours", () => {
    const local = REDIS_COMMANDS.filter((c) => c.local !== CmdLocal.none).map((c) => [c.name, c.local]);
    expect(local).toEqual([
      ["PING", CmdLocal.ping], ["QUIT", CmdLocal.quit], ["AUTH", CmdLocal.auth],
      ["HELLO", CmdLocal.hello], ["CLIENT", CmdLocal.client], ["SELECT", CmdLocal.select], ["ECHO", CmdLocal.echo],
      ["RESET", CmdLocal.reset], ["READONLY", CmdLocal.ok], ["READWRITE", CmdLocal.ok],
    ]);
  });

  it("says write as redis's command flags do, scripts included", () => {
    for (const n of ["SET", "DEL", "MSET", "INCR", "EXPIRE", "EVAL", "EVALSHA", "SORT", "BLPOP", "FLUSHALL", "MOVE"]) expect(row(n).write, n).toBe(true);
    for (const n of ["GET", "MGET", "EXISTS", "TOUCH", "TTL", "PING", "LOLWUT", "KEYS", "SUBSCRIBE", "MULTI"]) expect(row(n).write, n).toBe(false);
  });

  it("pins the connection for pub/sub, transactions and blocking commands, and fans keyspace commands out", () => {
    for (const n of ["SUBSCRIBE", "PSUBSCRIBE", "MULTI", "EXEC", "WATCH", "BLPOP", "BZMPOP", "XREAD", "WAIT"]) expect(row(n).conn, n).toBe(CmdConn.pinned);
    for (const n of ["KEYS", "DBSIZE", "RANDOMKEY", "FLUSHDB", "FLUSHALL", "SCRIPT", "INFO"]) expect(row(n).fanout, n).toBe(CmdFanout.every);
    expect(row("SCAN").fanout).toBe(CmdFanout.cursor);
  });
});

describe("a command twemproxy 0.5.0 does not route", () => {
  const unknown = resp("NOSUCHCMD", "k");
  const wires = unsupported.map((c) => [c, resp(c.name.toLowerCase(), "k", "v")] as const);

  it("closes the client as an unknown name does: the parse fails at once (ours too, without error_replies)", () => {
    expect(parseChunks([enc.encode(unknown)], redisParseReq, { request: true, mbufSize: 512 }).error).toBe(true);
    for (const [c, wire] of [...wires, ...ours.map((o) => [o, resp(o.name.toLowerCase(), "k", "v")] as const)]) {
      for (const [how, chunks] of splits(enc.encode(wire), 1)) {
        const r = parseChunks(chunks, redisParseReq, { request: true, mbufSize: 512 });
        expect(r.error, `${c.name} ${how}`).toBe(true);
        expect(r.pool.mbufs.inUse).toBe(0);
      }
    }
  });

  it("with error_replies, is read whole, keyless, and answered -ERR unsupported command", () => {
    const pool = new MsgPool(new MbufPool(512));
    const strict = client(false);
    const lenient = client(true);
    for (const [c, wire] of [...wires, [null, unknown] as const]) {
      for (const [how, chunks] of splits(enc.encode(wire), 1)) {
        const r = parseChunks(chunks, redisParseReq, { request: true, mbufSize: 512, lenient: true });
        expect(r.error, how).toBe(false);
        expect(r.msgs.map((m) => [m.bytes, m.reqError, m.keys])).toEqual([[wire, ReqError.UNSUPPORTED, []]]);
        // a known name counts as itself in the per-command stats; an unknown one as "unknown"
        const type = c === null ? 0 : REDIS_COMMANDS.indexOf(c) + 1;
        expect(r.msgs[0]!.type).toBe(type);
        expect(redisProto.commandNames[type]).toBe(c === null ? "unknown" : c.name.toLowerCase());
      }
      const msg = parseOne(pool, wire, redisParseReq, true, true);
      expect(redisProto.filter(msg, strict)).toBe(ReqAction.CLOSE);
      expect(redisProto.filter(msg, lenient)).toBe(ReqAction.LOCAL);
      const name = c === null ? "nosuchcmd" : c.name.toLowerCase();
      expect(dec.decode(msg.reply!)).toBe(`-ERR unsupported command '${name}'\r\n`);
      pool.put(msg);
    }
    expect(pool.mbufs.inUse).toBe(0);
  });
});

describe("an empty line before a request (redis-cli --pipe ends with one and an ECHO)", () => {
  const wire = "\r\n" + resp("ECHO", "0123456789abcdefghij");
  it("is skipped with error_replies, at every split, and closes without", () => {
    for (const [how, chunks] of splits(enc.encode(wire), 3)) {
      const r = parseChunks(chunks, redisParseReq, { request: true, mbufSize: 512, lenient: true });
      expect(r.error, how).toBe(false);
      expect(r.msgs.map((m) => [m.type, m.reqError, m.keys, m.bytes]), how).toEqual([[REDIS_COMMANDS.indexOf(row("ECHO")) + 1, ReqError.NONE, ["0123456789abcdefghij"], wire]]);
      expect(parseChunks(chunks, redisParseReq, { request: true, mbufSize: 512 }).error, how).toBe(true);
    }
  });
});

describe("inline requests (with error_replies)", () => {
  const typeOf = (n: string): number => REDIS_COMMANDS.indexOf(row(n)) + 1;
  const cases: [string, number, number, string[]][] = [
    ["PING\r\n", typeOf("PING"), ReqError.NONE, []],
    ["ping\n", typeOf("PING"), ReqError.NONE, []],
    ["SET k v\r\n", typeOf("SET"), ReqError.NONE, ["k"]],
    ["get  k \r\n", typeOf("GET"), ReqError.NONE, ["k"]],
    ["MGET a bb ccc\r\n", typeOf("MGET"), ReqError.NONE, ["a", "bb", "ccc"]],
    ["ECHO hello\r\n", typeOf("ECHO"), ReqError.NONE, ["hello"]],
    ["GET\r\n", typeOf("GET"), ReqError.ARITY, []],
    ["MSET a 1\r\n", typeOf("MSET"), ReqError.UNSUPPORTED, []],
    ["NOSUCH x\r\n", 0, ReqError.UNSUPPORTED, []],
  ];
  it("are read as their multi-bulk form would be, whole, byte by byte and at random splits", () => {
    for (const [wire, type, err, keys] of cases) {
      for (const [how, chunks] of splits(enc.encode(wire), 3)) {
        const r = parseChunks(chunks, redisParseReq, { request: true, mbufSize: 512, lenient: true });
        expect(r.error, `${JSON.stringify(wire)} ${how}`).toBe(false);
        expect(r.msgs.map((m) => [m.type, m.reqError, m.keys, m.bytes]), `${JSON.stringify(wire)} ${how}`).toEqual([[type, err, keys, wire]]);
        expect(r.pool.mbufs.inUse).toBe(0);
      }
    }
  });
  it("mix with multi-bulk ones in a pipeline, close without error_replies, and are bounded at 64 KB", () => {
    const wire = "PING\r\n" + resp("GET", "k") + "\r\nSET a b\r\n";
    for (const [how, chunks] of splits(enc.encode(wire), 3)) {
      const r = parseChunks(chunks, redisParseReq, { request: true, mbufSize: 512, lenient: true });
      expect(r.msgs.map((m) => [m.type, m.keys]), how).toEqual([[typeOf("PING"), []], [typeOf("GET"), ["k"]], [typeOf("SET"), ["a"]]]);
      expect(parseChunks(chunks, redisParseReq, { request: true, mbufSize: 512 }).error, how).toBe(true);
    }
    const long = parseChunks([enc.encode(`GET ${"k".repeat(70 * 1024)}`)], redisParseReq, { request: true, mbufSize: 16384, lenient: true });
    expect(long.error).toBe(true);
  });
});
