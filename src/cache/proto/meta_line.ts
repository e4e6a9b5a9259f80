// The line meta replies are built in before they are committed, and memcached's slab classes (for `me`).
//
// A meta reply line is assembled whole, then copied out: memcached can still fail a request
// half-way through its flags (an opaque token too long) and must then send only the error.

import { base64Encode, base64Length } from "./base64.ts";
import { decimalLength, writeDecimal } from "./numbers.ts";

/** A growable byte line, reset per request. */
export class LineBuf {
  buf: Uint8Array;
  len = 0;

  constructor(size: number) {
    this.buf = new Uint8Array(size);
  }

  reset(): void {
    this.len = 0;
  }

  /** Room for `n` more bytes. */
  room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const b = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
  }

  byte(c: number): void {
    this.room(1);
    this.buf[this.len++] = c;
  }

  /** Append constant bytes (a status code from replies.ts). */
  put(b: Uint8Array): void {
    this.room(b.length);
    for (let i = 0; i < b.length; i++) this.buf[this.len++] = b[i]!;
  }

  bytes(src: Uint8Array, s: number, e: number): void {
    this.room(e - s);
    for (let i = s; i < e; i++) this.buf[this.len++] = src[i]!;
  }

  /** A non-negative integer below 2^53. */
  num(n: number): void {
    this.room(decimalLength(n));
    this.len = writeDecimal(this.buf, this.len, n);
  }

  /** A signed integer. */
  int(n: number): void {
    if (n < 0) {
      this.byte(45);
      n = -n;
    }
    this.num(n);
  }

  str(s: string): void {
    this.room(s.length);
    for (let i = 0; i < s.length; i++) this.buf[this.len++] = s.charCodeAt(i) & 255;
  }

  /** " <c>" (memcached's META_CHAR). */
  flag(c: number): void {
    this.byte(32);
    this.byte(c);
  }
}

/** memcached's META_KEY: " k<key>", or " k<base64 key> b" for a binary key. */
export function metaKey(m: LineBuf, kb: Uint8Array, ks: number, ke: number, binary: boolean): void {
  m.flag(107); // k
  if (!binary) {
    m.bytes(kb, ks, ke);
    return;
  }
  m.room(base64Length(ke - ks));
  m.len = base64Encode(kb, ks, ke, m.buf, m.len);
  m.byte(32);
  m.byte(98); // b
}

/** memcached's " t<ttl>" of an item with relative `exptime` at time `now`: seconds left, -1 for never. */
export function metaTtl(m: LineBuf, exptime: number, now: number): void {
  m.flag(116); // t
  if (exptime === 0) m.str("-1");
  else m.num((exptime - now) >>> 0);
}

/** memcached's default slab chunk sizes (-n 48, -f 1.25, 512 KB largest chunk), for `me`'s cls. */
const SLAB_SIZES: number[] = (() => {
  const sizes: number[] = [];
  let size = 48 + 48;
  while (sizes.length < 62) {
    if (size >= 524288 / 1.25) break;
    if (size % 8 !== 0) size += 8 - (size % 8);
    sizes.push(size);
    size = Math.floor(size * 1.25);
  }
  sizes.push(524288);
  return sizes;
})();

/** The slab class memcached would put an item of `ntotal` bytes in (1-based). */
export function slabClass(ntotal: number): number {
  for (let i = 0; i < SLAB_SIZES.length; i++) if (ntotal <= SLAB_SIZES[i]!) return i + 1;
  return SLAB_SIZES.length;
}
