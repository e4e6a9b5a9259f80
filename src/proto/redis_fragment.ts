// Splitting multi-key redis requests per server and merging the replies (nc_redis.c redis_fragment, *_coalesce).
//
// MGET answers an array in request order; DEL, UNLINK, TOUCH and EXISTS the sum of the parts'
// integers; MSET +OK once every part succeeded. Any failed part makes the whole reply one error:
// `-ERR <reason>` for a connection failure, `-ERR Invalid argument` for a part the server refused.

import type { Msg } from "../core/message.ts";
import { MsgCursor, msgCopySpan, type MsgWriter } from "../core/msg_io.ts";
import { RspType } from "./redis.ts";
import { CmdShape, REDIS_COMMANDS } from "./redis_commands.ts";
import { OK, redisErrorReply } from "./redis_replies.ts";

const enc = new TextEncoder();
const names = REDIS_COMMANDS.map((c) => enc.encode(c.name));
const cursor = new MsgCursor();
const MGET = REDIS_COMMANDS.findIndex((c) => c.name === "MGET") + 1;

function shapeOf(msg: Msg): number {
  return REDIS_COMMANDS[msg.type - 1]?.shape ?? -1;
}

/** nutcracker 0.5.0 closes the client after an MGET that failed on a server (not MSET or DEL). */
export function redisFailClosesClient(msg: Msg): boolean {
  return msg.type === MGET;
}

export function redisFragmentable(msg: Msg): boolean {
  const s = shapeOf(msg);
  return (s === CmdShape.argx || s === CmdShape.argkvx) && msg.keys.length > 3;
}

export function redisBuildFragment(w: MsgWriter, owner: Msg, keyIdx: readonly number[]): void {
  const kv = shapeOf(owner) === CmdShape.argkvx;
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
  const want = shapeOf(req) === CmdShape.argkvx ? RspType.STATUS : req.type === MGET ? RspType.MULTIBULK : RspType.INTEGER;
  return rsp.type !== want;
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
  const shape = shapeOf(owner);
  if (shape === CmdShape.argkvx) {
    for (const f of frags) if (f.peer!.type !== RspType.STATUS) return redisErrorReply("EINVAL");
    return OK;
  }
  if (owner.type === MGET) {
    for (const f of frags) {
      if (f.peer!.type !== RspType.MULTIBULK || f.peer!.integer !== f.narg) return redisErrorReply("EINVAL");
    }
    return mget(owner);
  }
  let sum = 0;
  for (const f of frags) {
    if (f.peer!.type !== RspType.INTEGER) return redisErrorReply("EINVAL");
    sum += f.peer!.integer;
  }
  return enc.encode(`:${sum}\r\n`);
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
      c.next(); // '$'
      const len = c.readInt();
      if (len > 0) c.skip(len + 2);
      else if (len === 0) c.skip(2);
      const bytes = 1 + digits(len) + 2 + (len >= 0 ? len + 2 : 0);
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
