// Reading and writing message bytes across an mbuf chain: for fragments and coalesced replies.

import type { Mbuf, MbufPool } from "../buf/mbuf.ts";
import { copyBytes } from "../buf/copy.ts";
import type { Msg } from "./message.ts";

const CR = 13;
const LF = 10;

/** A read position in a message's mbuf chain. */
export class MsgCursor {
  msg!: Msg;
  idx = 0;
  pos = 0;

  /** Start at byte `pos` of mbuf `idx` of `msg` (default: the message's first byte). */
  reset(msg: Msg, idx = 0, pos = msg.start): this {
    this.msg = msg;
    this.idx = idx;
    this.pos = pos;
    return this;
  }

  private settle(): void {
    const mbufs = this.msg.mbufs;
    while (this.idx < mbufs.length - 1 && this.pos >= mbufs[this.idx]!.last) {
      this.idx++;
      this.pos = 0;
    }
  }

  /** The next byte, or -1 past the end. */
  next(): number {
    this.settle();
    const m = this.msg.mbufs[this.idx];
    if (m === undefined || this.pos >= m.last) return -1;
    return m.buf[this.pos++]!;
  }

  skip(n: number): void {
    while (n > 0) {
      this.settle();
      const m = this.msg.mbufs[this.idx]!;
      const take = Math.min(n, m.last - this.pos);
      if (take <= 0) return;
      this.pos += take;
      n -= take;
    }
  }

  /** Skip through the next LF. */
  skipLine(): void {
    for (let c = this.next(); c !== -1 && c !== LF; c = this.next());
  }

  /** Read a signed decimal up to CR, and skip the LF after it. */
  readInt(): number {
    let n = 0;
    let neg = false;
    for (let c = this.next(); c !== -1 && c !== CR; c = this.next()) {
      if (c === 45) neg = true;
      else n = n * 10 + (c - 48);
    }
    this.next();
    return neg ? -n : n;
  }
}

/** Appends bytes to a message under construction (a fragment, or a reply the proxy builds). */
export class MsgWriter {
  private msg!: Msg;
  private pool!: MbufPool;
  /** The mbuf being filled (the message's last), cached: fragments are built a byte at a time. */
  private cur: Mbuf | null = null;

  begin(pool: MbufPool, msg: Msg): this {
    this.pool = pool;
    this.msg = msg;
    const mbufs = msg.mbufs;
    this.cur = mbufs.length > 0 ? mbufs[mbufs.length - 1]! : null;
    msg.start = 0;
    msg.mlen = 0;
    return this;
  }

  private room(): Mbuf {
    let m = this.cur;
    if (m === null || m.last === m.buf.length) {
      m = this.pool.get();
      this.msg.mbufs.push(m);
      this.cur = m;
    }
    return m;
  }

  byte(b: number): void {
    const m = this.cur;
    if (m !== null && m.last < m.buf.length) m.buf[m.last++] = b;
    else {
      const r = this.room();
      r.buf[r.last++] = b;
    }
    this.msg.mlen++;
  }

  bytes(src: Uint8Array, s = 0, e = src.length): void {
    while (s < e) {
      const m = this.room();
      const take = Math.min(e - s, m.buf.length - m.last);
      copyBytes(m.buf, m.last, src, s, s + take);
      m.last += take;
      s += take;
      this.msg.mlen += take;
    }
  }

  /** A non-negative integer in decimal, without a string. */
  uint(n: number): void {
    let div = 1;
    while (div * 10 <= n) div *= 10;
    for (; div >= 1; div /= 10) {
      const d = Math.floor(n / div);
      this.byte(48 + d);
      n -= d * div;
    }
  }

  crlf(): void {
    this.byte(CR);
    this.byte(LF);
  }

  /** Copy `len` bytes of `src` starting at mbuf `idx`, offset `pos`. */
  range(src: Msg, idx: number, pos: number, len: number): void {
    while (len > 0) {
      const m = src.mbufs[idx]!;
      const take = Math.min(len, m.last - pos);
      if (take > 0) {
        this.bytes(m.buf, pos, pos + take);
        len -= take;
      }
      idx++;
      pos = 0;
    }
  }

  /** Seal the message: its end is the end of the last mbuf written. */
  end(): Msg {
    const mbufs = this.msg.mbufs;
    this.msg.end = mbufs.length > 0 ? mbufs[mbufs.length - 1]!.last : 0;
    return this.msg;
  }
}


/** Whether key `k` of `msg` is exactly `bytes` (the key may span mbufs). */
export function msgKeyEquals(msg: Msg, k: number, bytes: Uint8Array): boolean {
  const keys = msg.keys;
  if (keys.length < k * 3 + 3 || keys[k * 3 + 2] !== bytes.length) return false;
  let idx = keys[k * 3]!;
  let pos = keys[k * 3 + 1]!;
  for (let i = 0; i < bytes.length; i++, pos++) {
    while (pos >= msg.mbufs[idx]!.last) {
      idx++;
      pos = 0;
    }
    if (msg.mbufs[idx]!.buf[pos] !== bytes[i]) return false;
  }
  return true;
}

/** Copy `len` bytes of `msg` from mbuf `idx`, offset `pos`, into `out` at `at`; returns the new offset. */
export function msgCopySpan(out: Uint8Array, at: number, msg: Msg, idx: number, pos: number, len: number): number {
  while (len > 0) {
    const m = msg.mbufs[idx]!;
    const take = Math.min(len, m.last - pos);
    copyBytes(out, at, m.buf, pos, pos + take);
    at += take;
    len -= take;
    idx++;
    pos = 0;
  }
  return at;
}
