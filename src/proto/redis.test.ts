// Wire vectors for the RESP request and reply parsers, fed whole, byte by byte and at random splits.

import { describe, expect, it } from "vitest";
import { MbufPool } from "../buf/mbuf.ts";
import { MsgPool } from "../core/message.ts";
import { redisParseReq, redisParseRsp, requestCommand, RspType } from "./redis.ts";
import { parseChunks, parseOne, type Run, testPipeline, testVectors } from "./parse_harness.ts";
import { REDIS_COMMANDS } from "./redis_commands.ts";

const enc = new TextEncoder();

// twemproxy's way (strict): an unsupported or wrong-arity request fails the parse at once;
// with error_replies (lenient) it is read whole, so req_filter can answer it
const strict: Run = (chunks, mbufSize) => parseChunks(chunks, redisParseReq, { request: true, mbufSize });
const lenient: Run = (chunks, mbufSize) => parseChunks(chunks, redisParseReq, { request: true, mbufSize, lenient: true });
const replyRun: Run = (chunks, mbufSize) => parseChunks(chunks, redisParseRsp, { request: false, mbufSize });

function resp(...args: string[]): string {
  return `*${args.length}\r\n` + args.map((a) => `$${enc.encode(a).length}\r\n${a}\r\n`).join("");
}

const requests: { name: string; wire: string; cmd?: string; keys?: string[]; error?: boolean; reqError?: number }[] = [
  { name: "GET", wire: resp("GET", "foo"), cmd: "GET", keys: ["foo"] },
  { name: "lower-case set with options", wire: resp("set", "k", "v", "EX", "10"), cmd: "SET", keys: ["k"] },
  { name: "empty key", wire: resp("GET", ""), cmd: "GET", keys: [""] },
  { name: "PING", wire: resp("PING"), cmd: "PING", keys: [] },
  { name: "MGET keys", wire: resp("MGET", "a", "b", "c"), cmd: "MGET", keys: ["a", "b", "c"] },
  { name: "MSET pairs", wire: resp("MSET", "a", "1", "b", "2"), cmd: "MSET", keys: ["a", "b"] },
  { name: "EVAL keys", wire: resp("EVAL", "return 1", "2", "k1", "k2", "arg"), cmd: "EVAL", keys: ["k1", "k2"] },
  { name: "binary key", wire: resp("GET", "a\r\nb\0c"), cmd: "GET", keys: ["a\r\nb\0c"] },
  { name: "long key", wire: resp("GET", "k".repeat(3000)), cmd: "GET", keys: ["k".repeat(3000)] },
  { name: "big value", wire: resp("SET", "big", "v".repeat(70000)), cmd: "SET", keys: ["big"] },
  { name: "command name longer than any", wire: resp("X".repeat(40), "k"), reqError: 1 },
  { name: "unknown command", wire: resp("FOOBAR", "x"), reqError: 1 },
  // inline: with error_replies read as its multi-bulk form (redis_commands.test.ts has more)
  { name: "inline command", wire: "GET foo\r\n", cmd: "GET", keys: ["foo"] },
  { name: "GET wrong arity", wire: resp("GET", "a", "b"), reqError: 2 },
  { name: "GET without key", wire: resp("GET"), reqError: 2 },
  // PING [message] (ours; req_filter closes on it for a pool with error_replies: false, as 0.5.0)
  { name: "PING with argument", wire: resp("PING", "x"), cmd: "PING", keys: ["x"] },
  { name: "MSET odd", wire: resp("MSET", "a", "1", "b"), reqError: 2 },
  { name: "EVAL without keys", wire: resp("EVAL", "return 1", "0"), reqError: 2 },
  { name: "EVAL numkeys past the arguments (redis answers it)", wire: resp("EVAL", "return 1", "2", "k"), cmd: "EVAL", keys: ["k"] },
  { name: "MOVE (0.5.0 closes on it)", wire: resp("MOVE", "k", "1"), reqError: 1 },
  { name: "bad length", wire: "*2\r\n$3\r\nGET\r\n$x\r\n", error: true },
  { name: "payload longer than length", wire: "*2\r\n$3\r\nGET\r\n$1\r\nab\r\n", error: true },
  { name: "zero arguments", wire: "*0\r\n", error: true },
];

describe("redisParseReq()", () => {
  testVectors(requests, lenient, (m, v, chunks, mbufSize) => {
    if (v.reqError !== undefined) {
      const r = strict(chunks, mbufSize);
      expect(r.error).toBe(true);
      expect(r.pool.mbufs.inUse).toBe(0);
    }
    expect(m.reqError).toBe(v.reqError ?? 0);
    if (v.reqError === undefined) expect(m.keys).toEqual(v.keys);
    if (v.cmd !== undefined) expect(REDIS_COMMANDS[m.type - 1]?.name).toBe(v.cmd);
  });
  testPipeline("mixed requests, unsupported and wrong-arity ones too", requests, lenient, (m) => [m.bytes, m.reqError], (v) => [v.wire, v.reqError ?? 0]);

  it("names the command through requestCommand()", () => {
    const pool = new MsgPool(new MbufPool(512));
    const msg = parseOne(pool, resp("hgetall", "h"), redisParseReq, true);
    expect(requestCommand(msg)?.name).toBe("HGETALL");
    pool.put(msg);
  });
});

const replies: { name: string; wire: string; type?: number; integer?: number; error?: boolean }[] = [
  { name: "status", wire: "+OK\r\n", type: RspType.STATUS },
  { name: "error", wire: "-ERR wrong\r\n", type: RspType.ERROR },
  { name: "integer", wire: ":12345\r\n", type: RspType.INTEGER, integer: 12345 },
  { name: "negative integer", wire: ":-7\r\n", type: RspType.INTEGER, integer: -7 },
  { name: "bulk", wire: "$5\r\nhello\r\n", type: RspType.BULK },
  { name: "empty bulk", wire: "$0\r\n\r\n", type: RspType.BULK },
  { name: "nil bulk", wire: "$-1\r\n", type: RspType.BULK },
  { name: "binary bulk", wire: "$4\r\n\r\n\r\n\r\n", type: RspType.BULK },
  { name: "large bulk", wire: `$100000\r\n${"x".repeat(100000)}\r\n`, type: RspType.BULK },
  { name: "empty array", wire: "*0\r\n", type: RspType.MULTIBULK, integer: 0 },
  { name: "nil array", wire: "*-1\r\n", type: RspType.MULTIBULK, integer: -1 },
  { name: "array", wire: "*3\r\n$1\r\na\r\n$-1\r\n:5\r\n", type: RspType.MULTIBULK, integer: 3 },
  { name: "nested arrays", wire: "*2\r\n*2\r\n+a\r\n*1\r\n*0\r\n*-1\r\n", type: RspType.MULTIBULK, integer: 2 },
  { name: "deep nesting", wire: "*1\r\n".repeat(200) + ":1\r\n", type: RspType.MULTIBULK, integer: 1 },
  // RESP3, from a connection that said HELLO 3
  { name: "RESP3 null", wire: "_\r\n", type: RspType.NULL },
  { name: "RESP3 booleans in a set", wire: "~2\r\n#t\r\n#f\r\n", type: RspType.SET, integer: 2 },
  { name: "RESP3 double", wire: ",1.5\r\n", type: RspType.DOUBLE },
  { name: "RESP3 big number", wire: "(3492890328409238509324850943850943825024385\r\n", type: RspType.BIGNUM },
  { name: "RESP3 blob error", wire: "!21\r\nSYNTAX invalid syntax\r\n", type: RspType.BLOB_ERROR },
  { name: "RESP3 verbatim", wire: "=15\r\ntxt:Some string\r\n", type: RspType.VERBATIM },
  { name: "RESP3 map", wire: "%2\r\n+first\r\n:1\r\n$6\r\nsecond\r\n*2\r\n_\r\n,2.5\r\n", type: RspType.MAP, integer: 2 },
  { name: "RESP3 empty map", wire: "%0\r\n", type: RspType.MAP, integer: 0 },
  { name: "RESP3 push", wire: ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n", type: RspType.PUSH, integer: 3 },
  { name: "RESP3 attribute inside an array", wire: "*2\r\n|1\r\n+ttl\r\n:3600\r\n:2039\r\n:9\r\n", type: RspType.MULTIBULK, integer: 2 },
  { name: "RESP3 HELLO reply", wire: "%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:5\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n", type: RspType.MAP, integer: 7 },
  { name: "unknown type byte", wire: "?x\r\n", error: true },
  { name: "bad bulk length", wire: "$abc\r\n", error: true },
  { name: "bulk without CRLF", wire: "$1\r\nab\r\n", error: true },
];

describe("redisParseRsp()", () => {
  testVectors(replies, replyRun, (m, v) => {
    expect(m.type).toBe(v.type);
    if (v.integer !== undefined) expect(m.integer).toBe(v.integer);
  });
  testPipeline("replies", replies, replyRun, (m) => [m.bytes, m.type], (v) => [v.wire, v.type]);
});
