// Reply bytes of one connection: bump-written into shared chunks, handed to the socket without copies.
//
//   chunk: | handed to the socket ... | seg .. len: written, not yet handed | free |
//
// Replies are written after `len`; flush() hands `chunk[seg..len)` (and any parts queued before
// it) to the socket, which owns them from then on, so those bytes are never written again: a full
// chunk is replaced by a new one, not reused. A large value is queued as a view of the item's own
// buffer instead of being copied (the store then never rewrites that buffer in place).
//
// memcached sends some replies at once and keeps others stacked until it needs more input; when it
// then closes a connection, or a get meets a key that is too long, it drops what is stacked. The
// mark reproduces that: commit() moves it to the end, truncate() drops everything after it.

import { decimalLength, writeDecimal } from "./numbers.ts";

const CHUNK = 64 * 1024;
/** Values at least this long go out as views of the item, not copies. */
export const SHARE_MIN = 16 * 1024;

/** The bytes of an ASCII string, for the constant reply fragments. */
export function ascii(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 255;
  return b;
}

/** Where replies go: a runtime Socket fits. write() returning false means "wait for drain". */
export interface Sink {
  write(bytes: Uint8Array): boolean;
}

export class OutBuf {
  chunk = new Uint8Array(CHUNK);
  /** Start of the open segment: bytes written and not yet handed out or queued as a part. */
  seg = 0;
  len = 0;
  /** Views queued before the open segment, in order. */
  private parts: Uint8Array[] = [];
  // The mark. Either inside the open segment (mChunk === chunk and mParts === parts.length: the
  // committed bytes are the parts and chunk[seg..mLen)) or at a part boundary (mChunk === null:
  // the committed bytes are parts[0..mParts)).
  private mParts = 0;
  private mChunk: Uint8Array | null = this.chunk;
  private mLen = 0;
  /** The last flush met a full socket. */
  wouldBlock = false;

  /** Close the open segment into a part, split at the mark when the mark is inside it. */
  private seal(): void {
    if (this.len > this.seg) {
      const inside = this.mChunk === this.chunk && this.mParts === this.parts.length;
      if (inside && this.mLen > this.seg && this.mLen < this.len) {
        this.parts.push(this.chunk.subarray(this.seg, this.mLen));
        this.mParts = this.parts.length;
        this.parts.push(this.chunk.subarray(this.mLen, this.len));
      } else {
        this.parts.push(this.chunk.subarray(this.seg, this.len));
        if (inside && this.mLen === this.len) this.mParts = this.parts.length;
      }
      this.seg = this.len;
    }
    if (this.mChunk === this.chunk && this.mParts === this.parts.length) this.mLen = this.seg;
    else this.mChunk = null;
  }

  /** Room for `n` more bytes at `len`. */
  ensure(n: number): void {
    if (this.chunk.length - this.len >= n) return;
    const atMark = this.mChunk === this.chunk && this.mParts === this.parts.length && this.mLen === this.len;
    this.seal();
    this.chunk = new Uint8Array(Math.max(CHUNK, n));
    this.seg = 0;
    this.len = 0;
    if (atMark) {
      this.mChunk = this.chunk;
      this.mLen = 0;
    }
  }

  /** Append constant bytes. */
  put(b: Uint8Array): void {
    this.ensure(b.length);
    this.chunk.set(b, this.len);
    this.len += b.length;
  }

  /** Append `src[s..e)`, copying short runs byte by byte (cheaper than a subarray + set). */
  bytes(src: Uint8Array, s: number, e: number): void {
    const n = e - s;
    this.ensure(n);
    const c = this.chunk;
    let at = this.len;
    if (n <= 32) {
      for (let i = s; i < e; i++) c[at++] = src[i]!;
    } else {
      c.set(src.subarray(s, e), at);
      at += n;
    }
    this.len = at;
  }

  byte(b: number): void {
    this.ensure(1);
    this.chunk[this.len++] = b;
  }

  /** A non-negative integer below 2^53 in decimal. */
  num(n: number): void {
    this.ensure(decimalLength(n));
    this.len = writeDecimal(this.chunk, this.len, n);
  }

  /** An ASCII string (rare replies: stats, errors built at run time). */
  str(s: string): void {
    this.ensure(s.length);
    const c = this.chunk;
    let at = this.len;
    for (let i = 0; i < s.length; i++) c[at++] = s.charCodeAt(i) & 255;
    this.len = at;
  }

  /** Queue a view to be sent as is (a large value); its bytes must not change until sent. */
  share(view: Uint8Array): void {
    this.seal();
    this.parts.push(view);
  }

  /** Everything written so far counts as sent: a later truncate() keeps it. */
  commit(): void {
    this.mParts = this.parts.length;
    this.mChunk = this.chunk;
    this.mLen = this.len;
  }

  /** Drop what was written after the last commit(). */
  truncate(): void {
    if (this.mChunk === this.chunk && this.mParts === this.parts.length) {
      this.len = this.mLen;
    } else {
      this.parts.length = this.mParts;
      this.len = this.seg;
      this.commit();
    }
  }

  /** Bytes written and not yet handed out. */
  pending(): number {
    let n = this.len - this.seg;
    for (const p of this.parts) n += p.length;
    return n;
  }

  /**
   * Hand bytes to `sink`: everything (and commit) with `all`, else only what is committed.
   * Returns the byte count; `wouldBlock` tells whether the sink asked to wait.
   */
  flush(sink: Sink, all: boolean): number {
    if (all) {
      this.seal();
      this.commit();
    }
    let n = 0;
    let ok = true;
    const inside = this.mChunk === this.chunk && this.mParts === this.parts.length;
    const upto = inside ? this.parts.length : this.mParts;
    for (let i = 0; i < upto; i++) {
      const p = this.parts[i]!;
      n += p.length;
      ok = sink.write(p) && ok;
    }
    this.parts.splice(0, upto);
    if (inside) {
      if (this.mLen > this.seg) {
        const v = this.chunk.subarray(this.seg, this.mLen);
        n += v.length;
        ok = sink.write(v) && ok;
        this.seg = this.mLen;
      }
      this.mParts = 0;
    } else {
      this.mParts = 0;
    }
    // a nearly full chunk is dropped now rather than split into small writes later
    if (this.parts.length === 0 && this.len === this.seg && this.chunk.length - this.len < 1024) {
      this.chunk = new Uint8Array(CHUNK);
      this.seg = 0;
      this.len = 0;
      this.commit();
    }
    this.wouldBlock = !ok;
    return n;
  }
}
