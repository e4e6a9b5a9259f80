// Wire vectors for the RESP request and reply parsers, fed whole, byte by byte and at random splits.

import { describe, expect, it } from "vitest";
import { splits } from "../../test/helpers/split.ts";
import { MbufPool } from "../buf/mbuf.ts";
import { type Msg, type MsgParser, MsgPool, type MsgSink, msgRecv } from "../core/message.ts";
import { redisParseReq, redisParseRsp, requestCommand, RspType } from "./redis.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

interface Parsed {
  reqError: number;
  bytes: string;
  type: number;
  keys: string[];
  integer: number;
}

/** Run `chunks` through msgRecv with a given mbuf size; collect messages or the error. */
function run(chunks: Uint8Array[], parse: MsgParser, mbufSize: number, lenient = false): { msgs: Parsed[]; error: boolean; pool: MsgPool } {
  const pool = new MsgPool(new MbufPool(mbufSize));
  const msgs: Parsed[] = [];
  let error = false;
  const sink: MsgSink = {
    recvDone(msg: Msg) {
      const out = new Uint8Array(msg.mlen);
      msg.copyTo(out, 0);
      const keys: string[] = [];
      for (let i = 0; i < msg.keys.length; i += 3) {
        const k = new Uint8Array(msg.keys[i + 2]!);
        let idx = msg.keys[i]!;
        let pos = msg.keys[i + 1]!;
        for (let j = 0; j < k.length; j++) {
          while (pos >= msg.mbufs[idx]!.last) {
            idx++;
            pos = 0;
          }
          k[j] = msg.mbufs[idx]!.buf[pos++]!;
        }
        keys.push(dec.decode(k));
      }
      msgs.push({ reqError: msg.reqError, bytes: dec.decode(out), type: msg.type, keys, integer: msg.integer });
      pool.put(msg);
      return true;
    },
    recvError() {
      error = true;
    },
  };
  const owner = { id: 1, lenient };
  let rmsg: Msg | null = null;
  for (const c of chunks) {
    if (error) break;
    rmsg = msgRecv(pool, rmsg, true, owner, c, parse, sink);
  }
  if (rmsg !== null) pool.put(rmsg);
  return { msgs, error, pool };
}

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
  { name: "inline command", wire: "GET foo\r\n", error: true },
  { name: "GET wrong arity", wire: resp("GET", "a", "b"), reqError: 2 },
  { name: "GET without key", wire: resp("GET"), reqError: 2 },
  { name: "PING with argument", wire: resp("PING", "x"), reqError: 2 },
  { name: "MSET odd", wire: resp("MSET", "a", "1", "b"), reqError: 2 },
  { name: "EVAL without keys", wire: resp("EVAL", "return 1", "0"), reqError: 2 },
  { name: "EVAL numkeys past the arguments (redis answers it)", wire: resp("EVAL", "return 1", "2", "k"), cmd: "EVAL", keys: ["k"] },
  { name: "MOVE (0.5.0 closes on it)", wire: resp("MOVE", "k", "1"), reqError: 1 },
  { name: "bad length", wire: "*2\r\n$3\r\nGET\r\n$x\r\n", error: true },
  { name: "payload longer than length", wire: "*2\r\n$3\r\nGET\r\n$1\r\nab\r\n", error: true },
  { name: "zero arguments", wire: "*0\r\n", error: true },
];

describe("redisParseReq()", () => {
  for (const v of requests) {
    for (const [how, chunks] of splits(enc.encode(v.wire), 3)) {
      for (const mbufSize of [512, 16384]) {
        it(`parses ${v.name} (${how}, mbuf ${mbufSize})`, () => {
          if (v.reqError !== undefined) {
            // twemproxy's way: an unsupported or wrong-arity request fails the parse at once
            const strict = run(chunks, redisParseReq, mbufSize);
            expect(strict.error).toBe(true);
            expect(strict.pool.mbufs.inUse).toBe(0);
          }
          const { msgs, error, pool } = run(chunks, redisParseReq, mbufSize, true);
          expect(pool.inUse).toBe(0);
          expect(pool.mbufs.inUse).toBe(0);
          if (v.error) {
            expect(error).toBe(true);
            return;
          }
          expect(error).toBe(false);
          expect(msgs).toHaveLength(1);
          expect(msgs[0]!.bytes).toBe(v.wire);
          // unsupported and wrong-arity requests are read whole, so req_filter can answer or close
          expect(msgs[0]!.reqError).toBe(v.reqError ?? 0);
          if (v.reqError === undefined) expect(msgs[0]!.keys).toEqual(v.keys);
        });
      }
    }
  }

  it("parses a pipeline of mixed requests back to back, at every split", () => {
    const parts = requests.filter((r) => !r.error);
    expect(parts.some((r) => r.reqError)).toBe(true);
    const wire = parts.map((r) => r.wire).join("");
    for (const [, chunks] of splits(enc.encode(wire), 10)) {
      const { msgs, error } = run(chunks, redisParseReq, 512, true);
      expect(error).toBe(false);
      expect(msgs.map((m) => m.bytes)).toEqual(parts.map((r) => r.wire));
    }
  });

  it("names the command through requestCommand()", () => {
    const pool = new MsgPool(new MbufPool(512));
    let name = "";
    const sink: MsgSink = {
      recvDone(msg) {
        name = requestCommand(msg)?.name ?? "";
        pool.put(msg);
        return true;
      },
      recvError() {},
    };
    msgRecv(pool, null, true, { id: 1 }, enc.encode(resp("hgetall", "h")), redisParseReq, sink);
    expect(name).toBe("HGETALL");
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
  { name: "unknown type byte", wire: "?x\r\n", error: true },
  { name: "bad bulk length", wire: "$abc\r\n", error: true },
  { name: "bulk without CRLF", wire: "$1\r\nab\r\n", error: true },
];

describe("redisParseRsp()", () => {
  for (const v of replies) {
    for (const [how, chunks] of splits(enc.encode(v.wire), 3)) {
      it(`parses ${v.name} (${how})`, () => {
        const { msgs, error, pool } = run(chunks, redisParseRsp, 512);
        expect(pool.mbufs.inUse).toBe(0);
        if (v.error) {
          expect(error).toBe(true);
          return;
        }
        expect(error).toBe(false);
        expect(msgs).toHaveLength(1);
        expect(msgs[0]!.bytes).toBe(v.wire);
        expect(msgs[0]!.type).toBe(v.type);
        if (v.integer !== undefined) expect(msgs[0]!.integer).toBe(v.integer);
      });
    }
  }

  it("parses a pipeline of replies back to back, at every split", () => {
    const parts = replies.filter((r) => !r.error);
    const wire = parts.map((r) => r.wire).join("");
    for (const [, chunks] of splits(enc.encode(wire), 10)) {
      const { msgs, error } = run(chunks, redisParseRsp, 512);
      expect(error).toBe(false);
      expect(msgs.map((m) => m.bytes)).toEqual(parts.map((r) => r.wire));
    }
  });
});
