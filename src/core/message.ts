// Messages: one request or response as a chain of mbufs plus its parser state (nc_message.c).
//
// Request lifecycle (twemproxy's names; client side left, server side right):
//
//   client read → req_recv_next → parse → req_recv_done → req_filter → req_forward
//                                                                         │
//                                   server in_q ← enqueue ←───────────────┘
//   server write ← req_send_next ← in_q; req_send_done → server out_q
//   server read → rsp_recv_next → parse → rsp_recv_done → rsp_forward → pair with out_q head
//   client write ← rsp_send_next ← client out_q head, once done; rsp_send_done → msg_put both
//
// A request sits in its client's out_q (reply order) and, at the same time, in one server
// connection's in_q (not yet written) or out_q (written, reply pending).

import type { ErrnoName } from "../../runtime/types.ts";
import type { Mbuf, MbufPool } from "../buf/mbuf.ts";
import { copyBytes } from "../buf/copy.ts";

/** Parser verdicts (twemproxy's MSG_PARSE_*; REPAIR is not needed: keys may span mbufs). */
export const ParseResult = {
  OK: 0,
  AGAIN: 1,
  ERROR: 2,
} as const;
export type ParseResult = (typeof ParseResult)[keyof typeof ParseResult];

/** Anything that owns messages: a client connection (core/client.ts) or a server connection (core/server_conn.ts). */
export interface MsgOwner {
  readonly id: number;
  /**
   * Read a well-formed request the proxy does not support to its end, so req_filter can answer
   * it (error_replies), instead of failing the parse at once as twemproxy does.
   */
  readonly lenient?: boolean;
}

let nextMsgId = 1;

export class Msg {
  id = 0;
  request = true;
  /** Client connection for a request, server connection for a response. */
  owner: MsgOwner | null = null;
  /** The paired response of a request, or the request of a response. */
  peer: Msg | null = null;

  /** Bytes: from mbufs[0].buf[start] to mbufs[last].buf[end). */
  readonly mbufs: Mbuf[] = [];
  start = 0;
  end = 0;
  mlen = 0;

  // Resumable parser state; the parser is a byte state machine that never looks back.
  state = 0;
  /** Resume point: index into mbufs and offset in that mbuf. */
  pidx = 0;
  ppos = 0;
  /** Arguments (request) or elements (response) still expected at the current level. */
  rnarg = 0;
  /** Bytes still expected in the current bulk string. */
  rlen = 0;
  /** Total argument count of a request (the `*N` header). */
  narg = 0;
  /** Index of the argument being parsed (0 = command name). */
  argi = 0;
  /** Digits being accumulated, and whether a '-' preceded them. */
  num = 0;
  neg = false;
  /** Command name bytes, upper-cased while parsing (longest redis command is 17 bytes). */
  readonly name = new Uint8Array(32);
  nameLen = 0;
  /** Message type (proto/types.ts MsgType). */
  type = 0;
  /** Keys as flat triples: mbuf index, offset, length. */
  readonly keys: number[] = [];
  /** Pending element counts of enclosing arrays (nested multi-bulk replies). */
  readonly stack: number[] = [];
  /** A well-formed request the proxy will not forward (ReqError), decided by req_filter. */
  reqError = 0;
  /** Value of an integer reply, or element count of an array reply (for coalescing). */
  integer = 0;

  /** The reply is complete (from a server, the proxy, or an error). */
  done = false;
  /** Failed: the client gets an error reply built from `err`. */
  error = false;
  err: ErrnoName | null = null;
  /** The client is gone: discard the reply when it comes. */
  swallow = false;
  noreply = false;
  /** Meta quiet mode (`q`): the server may say nothing; a no-op sent after it tells (proto.quietSentinel). */
  quiet = false;
  quit = false;
  /** A reply made by the proxy itself (e.g. +PONG); shared constant bytes. */
  reply: Uint8Array | null = null;
  /** When the server must have answered (monotonic ms), or 0 for never (nc_request.c msg_tmo). */
  deadline = 0;
  /** When the request was read (ms, the event's time): latency is measured from here. */
  stime = 0;
  /** Keep the bytes once written: its router may send it again (Router.retains). */
  retain = false;
  /** Times a cluster sent it elsewhere (MOVED, ASK) or again (TRYAGAIN): bounded by MAX_REDIRECTS. */
  redirects = 0;
  /** Exempt from the pool's timeout (a blocking command waiting on a pinned connection). */
  untimed = false;

  // Fragments (nc_message.c frag_owner/nfrag): a multi-key request split per server.
  /** For a fragment: the request it was cut from. */
  fragOwner: Msg | null = null;
  /** For a split request: its fragments, one per server, and how many are complete. */
  readonly frags: Msg[] = [];
  nfragDone = 0;
  /** A multi-key request that went whole because all its keys live on one server. */
  multikey = false;
  /** For a split request: per key, in request order, the index of the fragment that carries it. */
  readonly fragMap: number[] = [];

  /** Copy the message bytes into `dst` at `at`; returns the new offset. */
  copyTo(dst: Uint8Array, at: number): number {
    const mbufs = this.mbufs;
    const n = mbufs.length;
    for (let i = 0; i < n; i++) {
      const m = mbufs[i]!;
      const s = i === 0 ? this.start : 0;
      const e = i === n - 1 ? this.end : m.last;
      if (e > s) {
        copyBytes(dst, at, m.buf, s, e);
        at += e - s;
      }
    }
    return at;
  }
}

/** Empty a small array without V8's slow `length` setter. */
export function clear(a: unknown[]): void {
  while (a.length > 0) a.pop();
}

/** Free list of messages; owns the mbuf pool so releasing a message releases its mbufs. */
export class MsgPool {
  private readonly free: Msg[] = [];
  readonly mbufs: MbufPool;
  allocated = 0;

  constructor(mbufs: MbufPool) {
    this.mbufs = mbufs;
  }

  get(request: boolean, owner: MsgOwner | null): Msg {
    const m = this.free.pop() ?? this.create();
    m.id = nextMsgId++;
    m.request = request;
    m.owner = owner;
    return m;
  }

  /** Release the message and every mbuf reference it holds. */
  put(m: Msg): void {
    // pop loops and length checks: assigning .length is a slow runtime call in V8, on every message
    const mbufs = m.mbufs;
    while (mbufs.length > 0) this.mbufs.put(mbufs.pop()!);
    m.owner = null;
    m.peer = null;
    m.start = m.end = m.mlen = 0;
    m.state = m.pidx = m.ppos = 0;
    m.rnarg = m.rlen = m.narg = m.argi = m.num = 0;
    m.neg = false;
    m.nameLen = 0;
    m.type = 0;
    clear(m.keys);
    clear(m.stack);
    m.integer = 0;
    m.reqError = 0;
    m.done = m.error = m.swallow = m.noreply = m.quiet = m.quit = false;
    m.err = null;
    m.reply = null;
    m.retain = m.untimed = false;
    m.redirects = 0;
    m.deadline = 0;
    m.fragOwner = null;
    clear(m.frags);
    m.nfragDone = 0;
    m.multikey = false;
    clear(m.fragMap);
    this.free.push(m);
  }

  get inUse(): number {
    return this.allocated - this.free.length;
  }

  private create(): Msg {
    this.allocated++;
    return new Msg();
  }
}

/**
 * Append `chunk` to the tail of `msg`, taking fresh mbufs as each fills.
 * The chunk is borrowed (runtime/types.ts), so this copy is the one that keeps it.
 */
export function msgAppend(pool: MbufPool, msg: Msg, chunk: Uint8Array): void {
  const mbufs = msg.mbufs;
  let off = 0;
  const len = chunk.length;
  let m = mbufs.length > 0 ? mbufs[mbufs.length - 1]! : null;
  while (off < len) {
    if (m === null || m.last === m.buf.length) {
      m = pool.get();
      mbufs.push(m);
    }
    const n = Math.min(len - off, m.buf.length - m.last);
    m.buf.set(n === len ? chunk : chunk.subarray(off, off + n), m.last);
    m.last += n;
    off += n;
  }
}

/**
 * Split a parsed message at its end (pidx/ppos as left by the parser): the bytes after it move to
 * a new message, which shares the boundary mbuf. Returns null when nothing follows, so an idle
 * connection holds no mbuf (twemproxy allocates the next message on the next read too).
 */
export function msgSplit(pool: MsgPool, msg: Msg): Msg | null {
  const mbufs = msg.mbufs;
  const idx = msg.pidx;
  const pos = msg.ppos;
  msg.end = pos;
  const boundary = mbufs[idx]!;
  const tailStart = pos < boundary.last ? idx : idx + 1;
  let mlen = pos - msg.start;
  for (let i = 0; i < idx; i++) mlen += mbufs[i]!.last;
  msg.mlen = mlen;
  if (tailStart >= mbufs.length) {
    while (mbufs.length > idx + 1) mbufs.pop();
    return null;
  }
  const next = pool.get(msg.request, msg.owner);
  if (tailStart === idx) {
    boundary.refs++;
    next.start = pos;
    next.ppos = pos;
  }
  for (let i = tailStart; i < mbufs.length; i++) next.mbufs.push(mbufs[i]!);
  while (mbufs.length > idx + 1) mbufs.pop();
  return next;
}

/** A parser: resumes on `msg` and reports OK, AGAIN or ERROR. */
export type MsgParser = (msg: Msg) => ParseResult;

/** Receives what msgRecv parses; implemented once per connection role (no closure per message). */
export interface MsgSink {
  /** A complete message; return false to stop parsing what follows (e.g. after QUIT). */
  recvDone(msg: Msg): boolean;
  /** When recvDone returned false: keep the unparsed rest for later (flow control) or drop it. */
  readonly holding?: boolean;
  /** The bytes are not the protocol: `msg` is released by the caller. */
  recvError(msg: Msg): void;
}

/**
 * Append a chunk to the connection's partial message and parse every message it completes
 * (twemproxy's msg_recv_chain + msg_parse). Returns the new partial message, or null when the
 * chunk ended on a message boundary (or parsing stopped).
 */
export function msgRecv(
  pool: MsgPool,
  rmsg: Msg | null,
  request: boolean,
  owner: MsgOwner,
  chunk: Uint8Array,
  parse: MsgParser,
  sink: MsgSink,
): Msg | null {
  let msg = rmsg ?? pool.get(request, owner);
  msgAppend(pool.mbufs, msg, chunk);
  for (;;) {
    const r = parse(msg);
    if (r === ParseResult.AGAIN) return msg;
    if (r === ParseResult.ERROR) {
      sink.recvError(msg);
      pool.put(msg);
      return null;
    }
    const next = msgSplit(pool, msg);
    if (!sink.recvDone(msg)) {
      if (sink.holding === true) return next;
      if (next !== null) pool.put(next);
      return null;
    }
    if (next === null) return null;
    msg = next;
  }
}

/** Give `dst` the bytes of `src` in place of its own (and of its key positions, which no longer apply). */
export function msgMoveData(pool: MsgPool, src: Msg, dst: Msg): void {
  msgReleaseData(pool, dst);
  const from = src.mbufs;
  for (let i = 0; i < from.length; i++) dst.mbufs.push(from[i]!);
  clear(from);
  dst.start = src.start;
  dst.end = src.end;
  dst.mlen = src.mlen;
  src.start = src.end = src.mlen = 0;
}

/** Drop a message's bytes but keep the message (a request written to its server needs no bytes). */
export function msgReleaseData(pool: MsgPool, msg: Msg): void {
  const mbufs = msg.mbufs;
  while (mbufs.length > 0) pool.mbufs.put(mbufs.pop()!);
  clear(msg.keys);
}
