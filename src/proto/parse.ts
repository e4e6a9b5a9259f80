// What the redis and memcache parsers share: their two exits, and span lengths.
//
// Every parser here is a resumable loop over the message's mbuf chain (nc_redis.c, nc_memcache.c)
// that keeps its state in locals while it runs. It leaves by one of two doors: parseDone when a
// message ends (the start state is 0 in all four), parseAgain when the bytes run out, which
// stores the locals back on the msg for the next read. The loops themselves stay apart: each
// keeps its own locals in registers, and a shared driver calling a step per byte would cost more.
// For the same reason each parser declares its byte codes (CR, LF...) itself: V8 reads an
// imported const through its module cell on every use, which cost the redis and memcache request
// parsers 10-13% of their throughput under Deno; a module's own const is folded into the code.

import { type Msg, ParseResult } from "../core/message.ts";

/** A message ends just before (idx, p): the parser starts over there for the next one. */
export function parseDone(msg: Msg, idx: number, p: number): ParseResult {
  msg.state = 0;
  msg.pidx = idx;
  msg.ppos = p;
  return ParseResult.OK;
}

/** The bytes ran out at (idx, p): keep the parser's locals on the msg until more come. */
export function parseAgain(msg: Msg, state: number, num: number, rlen: number, idx: number, p: number): ParseResult {
  msg.state = state;
  msg.num = num;
  msg.rlen = rlen;
  msg.pidx = idx;
  msg.ppos = p;
  return ParseResult.AGAIN;
}

/** Bytes from (sidx, soff) to (eidx, eoff) of a message's mbuf chain; O(mbufs spanned). */
export function msgSpan(msg: Msg, sidx: number, soff: number, eidx: number, eoff: number): number {
  if (sidx === eidx) return eoff - soff;
  const mbufs = msg.mbufs;
  let n = mbufs[sidx]!.last - soff;
  for (let i = sidx + 1; i < eidx; i++) n += mbufs[i]!.last;
  return n + eoff;
}
