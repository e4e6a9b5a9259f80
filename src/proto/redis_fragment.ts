// Splitting multi-key redis requests per server and merging the replies (nc_redis.c redis_fragment, *_coalesce).
//
// MGET answers an array in request order; DEL, UNLINK, TOUCH and EXISTS the sum of the parts'
// integers; MSET +OK once every part succeeded. Any failed part makes the whole reply one error:
// `-ERR <reason>` for a connection failure, `-ERR Invalid argument` for a part the server refused.

import type { Msg } from "../core/message.ts";
import { MsgCursor, msgCopySpan, type MsgWriter } from "../core/msg_io.ts";
import { RspType } from "./redis.ts";
import { CmdFanout, CmdMerge, CmdShape, REDIS_COMMANDS } from "./redis_commands.ts";
import { redisFanCoalesce, redisFanPartRefused } from "./redis_fanout.ts";
import { OK, redisErrorReply } from "./redis_replies.ts";

const enc = new TextEncoder();
const names = REDIS_COMMANDS.map((c) => enc.encode(c.name));
const cursor = new MsgCursor();

/** The reply type each part of a split request must answer, by merge kind (redis_pre_coalesce). */
const PART_REPLY: Readonly<Record<CmdMerge, number>> = {
  [CmdMerge.none]: 0,
  [CmdMerge.array]: RspType.MULTIBULK,
  [CmdMerge.sum]: RspType.INTEGER,
  [CmdMerge.status]: RspType.STATUS,
  // the keyspace-wide merges judge their parts in redis_fanout.ts
  [CmdMerge.concat]: 0,
  [CmdMerge.random]: 0,
  [CmdMerge.script]: 0,
  [CmdMerge.info]: 0,
  [CmdMerge.scan]: 0,
  [CmdMerge.pubsub]: 0,
};

function fannedOut(msg: Msg): boolean {
  return (REDIS_COMMANDS[msg.type - 1]?.fanout ?? CmdFanout.one) !== CmdFanout.one;
}

function mergeOf(msg: Msg): CmdMerge {
  return REDIS_COMMANDS[msg.type - 1]?.merge ?? CmdMerge.none;
}

/**
 * nutcracker 0.5.0 closes the client after an MGET that failed on a server, and not after a
 * failed MSET or DEL: the array merge is the one that copies values out of the parts.
 */
export function redisFailClosesClient(msg: Msg): boolean {
  return mergeOf(msg) === CmdMerge.array;
}

export function redisFragmentable(msg: Msg): boolean {
  const row = REDIS_COMMANDS[msg.type - 1];
  if (row === undefined) return false;
  return (row.merge !== CmdMerge.none && msg.keys.length > 3) || row.fanout !== CmdFanout.one;
}

export function redisBuildFragment(w: MsgWriter, owner: Msg, keyIdx: readonly number[]): void {
  const kv = REDIS_COMMANDS[owner.type - 1]!.arity === CmdShape.argkvx;
  const name = names[owner.type - 1]!;
  const keys = owner.keys;
  w.byte(42); // '*'
  w.uint(1 + keyIdx.length * (kv ? 2 : 1));
  w.crlf();
  w.byte(36); // '$'
  w.uint(name.length);
  w.crlf();
  w.bytes(name);
  w.crlf();
  for (const k of keyIdx) {
    const idx = keys[k * 3]!;
    const pos = keys[k * 3 + 1]!;
    const len = keys[k * 3 + 2]!;
    w.byte(36);
    w.uint(len);
    w.crlf();
    w.range(owner, idx, pos, len);
    w.crlf();
    if (kv) {
      // the value follows its key: CRLF, then `$len CRLF data CRLF`
      const c = cursor.reset(owner, idx, pos);
      c.skip(len + 3);
      const vlen = c.readInt();
      w.byte(36);
      w.uint(vlen);
      w.crlf();
      w.range(owner, c.idx, c.pos, vlen);
      w.crlf();
    }
  }
}

function digits(n: number): number {
  let d = n < 0 ? 2 : 1;
  for (let v = Math.abs(n); v >= 10; v = Math.floor(v / 10)) d++;
  return d;
}

/** Write a non-negative integer in decimal at `at`; returns the new offset. */
function writeUint(out: Uint8Array, at: number, n: number): number {
  const end = at + digits(n);
  for (let i = end - 1; i >= at; i--) {
    out[i] = 48 + (n % 10);
    n = Math.floor(n / 10);
  }
  return end;
}

/**
 * A part whose reply is not of the kind its command expects: MSET parts answer a status, MGET
 * parts an array, DEL/UNLINK/TOUCH/EXISTS parts an integer. redis_pre_coalesce turns anything
 * else (an error such as -READONLY or -MASTERDOWN included) into EINVAL for the whole request.
 */
export function redisPartRefused(req: Msg, rsp: Msg): boolean {
  if (fannedOut(req)) return redisFanPartRefused(req, rsp);
  return rsp.type !== PART_REPLY[mergeOf(req)];
}

/**
 * Merge the parts' replies; call once every fragment is done. A part whose reply is not of the
 * kind its command expects (an error such as -READONLY or -MASTERDOWN included) fails the whole
 * request with EINVAL, as redis_pre_coalesce does: `-ERR Invalid argument`.
 */
export function redisCoalesce(owner: Msg): Uint8Array {
  const frags = owner.frags;
  for (const f of frags) {
    if (f.error) return redisErrorReply(f.err);
  }
  if (fannedOut(owner)) return redisFanCoalesce(owner);
  const merge = mergeOf(owner);
  const want = PART_REPLY[merge];
  for (const f of frags) if (f.peer!.type !== want) return redisErrorReply("EINVAL");
  if (merge === CmdMerge.status) return OK;
  if (merge === CmdMerge.array) {
    // each part must answer one element per key it was asked
    for (const f of frags) if (f.peer!.integer !== f.narg) return redisErrorReply("EINVAL");
    return mget(owner);
  }
  let sum = 0;
  for (const f of frags) sum += f.peer!.integer;
  return integerReply(sum);
}

/** `:<n>\r\n` without a string in between. */
function integerReply(n: number): Uint8Array {
  if (n < 0) return enc.encode(`:${n}\r\n`); // not from DEL, UNLINK, TOUCH or EXISTS
  const out = new Uint8Array(1 + digits(n) + 2);
  out[0] = 58; // ':'
  const at = writeUint(out, 1, n);
  out[at] = 13;
  out[at + 1] = 10;
  return out;
}

/** MGET: each part answered an array for its keys; pick elements back into request order. */
function mget(owner: Msg): Uint8Array {
  const frags = owner.frags;
  const n = owner.fragMap.length;
  // element spans per fragment: start mbuf, start offset, byte length
  const spans: number[][] = [];
  let total = 1 + digits(n) + 2;
  for (const f of frags) {
    const rsp = f.peer!;
    const c = cursor.reset(rsp);
    c.next(); // '*'
    const count = c.readInt();
    const s: number[] = [];
    for (let i = 0; i < count; i++) {
      const idx = c.idx;
      const pos = c.pos;
      let bytes = 3;
      if (c.next() === 95) {
        c.skip(2); // RESP3's null: `_\r\n`
      } else {
        // '$'
        const len = c.readInt();
        if (len > 0) c.skip(len + 2);
        else if (len === 0) c.skip(2);
        bytes = 1 + digits(len) + 2 + (len >= 0 ? len + 2 : 0);
      }
      s.push(idx, pos, bytes);
      total += bytes;
    }
    spans.push(s);
  }
  const out = new Uint8Array(total);
  let at = 0;
  out[at++] = 42;
  at = writeUint(out, at, n);
  out[at++] = 13;
  out[at++] = 10;
  const next = new Array<number>(frags.length).fill(0);
  for (let k = 0; k < n; k++) {
    const fi = owner.fragMap[k]!;
    const s = spans[fi]!;
    const e = next[fi]!;
    next[fi] = e + 3;
    at = msgCopySpan(out, at, frags[fi]!.peer!, s[e]!, s[e + 1]!, s[e + 2]!);
  }
  return out;
}
