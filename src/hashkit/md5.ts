// MD5 (RFC 1321) over a byte range without allocation: twemproxy's hashkit/nc_md5.c (hash_md5, md5_signature).
//
// A plain TypeScript MD5 is used rather than hash-wasm: for 10-40 byte keys the
// three JS<->wasm calls plus the digest copy cost more than the whole compression
// (see bench/hashkit.ts and the figures in its header).

// Chaining state a, b, c, d: the digest is these four words, little-endian.
const ST = new Int32Array(4);
// The last one or two blocks: tail bytes, 0x80, zero padding and the bit length.
const TAIL = new Uint8Array(128);

function ff(a: number, b: number, c: number, d: number, x: number, s: number, t: number): number {
  a = (a + ((b & c) | (~b & d)) + x + t) | 0;
  return (((a << s) | (a >>> (32 - s))) + b) | 0;
}
function gg(a: number, b: number, c: number, d: number, x: number, s: number, t: number): number {
  a = (a + ((b & d) | (c & ~d)) + x + t) | 0;
  return (((a << s) | (a >>> (32 - s))) + b) | 0;
}
function hh(a: number, b: number, c: number, d: number, x: number, s: number, t: number): number {
  a = (a + (b ^ c ^ d) + x + t) | 0;
  return (((a << s) | (a >>> (32 - s))) + b) | 0;
}
function ii(a: number, b: number, c: number, d: number, x: number, s: number, t: number): number {
  a = (a + (c ^ (b | ~d)) + x + t) | 0;
  return (((a << s) | (a >>> (32 - s))) + b) | 0;
}

/** One 64-byte block of `buf` at `o` into ST. Words are read little-endian byte by byte (no DataView per key). */
function compress(buf: Uint8Array, o: number): void {
  const x0 = buf[o]! | (buf[o + 1]! << 8) | (buf[o + 2]! << 16) | (buf[o + 3]! << 24);
  const x1 = buf[o + 4]! | (buf[o + 5]! << 8) | (buf[o + 6]! << 16) | (buf[o + 7]! << 24);
  const x2 = buf[o + 8]! | (buf[o + 9]! << 8) | (buf[o + 10]! << 16) | (buf[o + 11]! << 24);
  const x3 = buf[o + 12]! | (buf[o + 13]! << 8) | (buf[o + 14]! << 16) | (buf[o + 15]! << 24);
  const x4 = buf[o + 16]! | (buf[o + 17]! << 8) | (buf[o + 18]! << 16) | (buf[o + 19]! << 24);
  const x5 = buf[o + 20]! | (buf[o + 21]! << 8) | (buf[o + 22]! << 16) | (buf[o + 23]! << 24);
  const x6 = buf[o + 24]! | (buf[o + 25]! << 8) | (buf[o + 26]! << 16) | (buf[o + 27]! << 24);
  const x7 = buf[o + 28]! | (buf[o + 29]! << 8) | (buf[o + 30]! << 16) | (buf[o + 31]! << 24);
  const x8 = buf[o + 32]! | (buf[o + 33]! << 8) | (buf[o + 34]! << 16) | (buf[o + 35]! << 24);
  const x9 = buf[o + 36]! | (buf[o + 37]! << 8) | (buf[o + 38]! << 16) | (buf[o + 39]! << 24);
  const x10 = buf[o + 40]! | (buf[o + 41]! << 8) | (buf[o + 42]! << 16) | (buf[o + 43]! << 24);
  const x11 = buf[o + 44]! | (buf[o + 45]! << 8) | (buf[o + 46]! << 16) | (buf[o + 47]! << 24);
  const x12 = buf[o + 48]! | (buf[o + 49]! << 8) | (buf[o + 50]! << 16) | (buf[o + 51]! << 24);
  const x13 = buf[o + 52]! | (buf[o + 53]! << 8) | (buf[o + 54]! << 16) | (buf[o + 55]! << 24);
  const x14 = buf[o + 56]! | (buf[o + 57]! << 8) | (buf[o + 58]! << 16) | (buf[o + 59]! << 24);
  const x15 = buf[o + 60]! | (buf[o + 61]! << 8) | (buf[o + 62]! << 16) | (buf[o + 63]! << 24);
  let a = ST[0]!;
  let b = ST[1]!;
  let c = ST[2]!;
  let d = ST[3]!;
  a = ff(a, b, c, d, x0, 7, 0xd76aa478);
  d = ff(d, a, b, c, x1, 12, 0xe8c7b756);
  c = ff(c, d, a, b, x2, 17, 0x242070db);
  b = ff(b, c, d, a, x3, 22, 0xc1bdceee);
  a = ff(a, b, c, d, x4, 7, 0xf57c0faf);
  d = ff(d, a, b, c, x5, 12, 0x4787c62a);
  c = ff(c, d, a, b, x6, 17, 0xa8304613);
  b = ff(b, c, d, a, x7, 22, 0xfd469501);
  a = ff(a, b, c, d, x8, 7, 0x698098d8);
  d = ff(d, a, b, c, x9, 12, 0x8b44f7af);
  c = ff(c, d, a, b, x10, 17, 0xffff5bb1);
  b = ff(b, c, d, a, x11, 22, 0x895cd7be);
  a = ff(a, b, c, d, x12, 7, 0x6b901122);
  d = ff(d, a, b, c, x13, 12, 0xfd987193);
  c = ff(c, d, a, b, x14, 17, 0xa679438e);
  b = ff(b, c, d, a, x15, 22, 0x49b40821);
  a = gg(a, b, c, d, x1, 5, 0xf61e2562);
  d = gg(d, a, b, c, x6, 9, 0xc040b340);
  c = gg(c, d, a, b, x11, 14, 0x265e5a51);
  b = gg(b, c, d, a, x0, 20, 0xe9b6c7aa);
  a = gg(a, b, c, d, x5, 5, 0xd62f105d);
  d = gg(d, a, b, c, x10, 9, 0x02441453);
  c = gg(c, d, a, b, x15, 14, 0xd8a1e681);
  b = gg(b, c, d, a, x4, 20, 0xe7d3fbc8);
  a = gg(a, b, c, d, x9, 5, 0x21e1cde6);
  d = gg(d, a, b, c, x14, 9, 0xc33707d6);
  c = gg(c, d, a, b, x3, 14, 0xf4d50d87);
  b = gg(b, c, d, a, x8, 20, 0x455a14ed);
  a = gg(a, b, c, d, x13, 5, 0xa9e3e905);
  d = gg(d, a, b, c, x2, 9, 0xfcefa3f8);
  c = gg(c, d, a, b, x7, 14, 0x676f02d9);
  b = gg(b, c, d, a, x12, 20, 0x8d2a4c8a);
  a = hh(a, b, c, d, x5, 4, 0xfffa3942);
  d = hh(d, a, b, c, x8, 11, 0x8771f681);
  c = hh(c, d, a, b, x11, 16, 0x6d9d6122);
  b = hh(b, c, d, a, x14, 23, 0xfde5380c);
  a = hh(a, b, c, d, x1, 4, 0xa4beea44);
  d = hh(d, a, b, c, x4, 11, 0x4bdecfa9);
  c = hh(c, d, a, b, x7, 16, 0xf6bb4b60);
  b = hh(b, c, d, a, x10, 23, 0xbebfbc70);
  a = hh(a, b, c, d, x13, 4, 0x289b7ec6);
  d = hh(d, a, b, c, x0, 11, 0xeaa127fa);
  c = hh(c, d, a, b, x3, 16, 0xd4ef3085);
  b = hh(b, c, d, a, x6, 23, 0x04881d05);
  a = hh(a, b, c, d, x9, 4, 0xd9d4d039);
  d = hh(d, a, b, c, x12, 11, 0xe6db99e5);
  c = hh(c, d, a, b, x15, 16, 0x1fa27cf8);
  b = hh(b, c, d, a, x2, 23, 0xc4ac5665);
  a = ii(a, b, c, d, x0, 6, 0xf4292244);
  d = ii(d, a, b, c, x7, 10, 0x432aff97);
  c = ii(c, d, a, b, x14, 15, 0xab9423a7);
  b = ii(b, c, d, a, x5, 21, 0xfc93a039);
  a = ii(a, b, c, d, x12, 6, 0x655b59c3);
  d = ii(d, a, b, c, x3, 10, 0x8f0ccc92);
  c = ii(c, d, a, b, x10, 15, 0xffeff47d);
  b = ii(b, c, d, a, x1, 21, 0x85845dd1);
  a = ii(a, b, c, d, x8, 6, 0x6fa87e4f);
  d = ii(d, a, b, c, x15, 10, 0xfe2ce6e0);
  c = ii(c, d, a, b, x6, 15, 0xa3014314);
  b = ii(b, c, d, a, x13, 21, 0x4e0811a1);
  a = ii(a, b, c, d, x4, 6, 0xf7537e82);
  d = ii(d, a, b, c, x11, 10, 0xbd3af235);
  c = ii(c, d, a, b, x2, 15, 0x2ad7d2bb);
  b = ii(b, c, d, a, x9, 21, 0xeb86d391);
  ST[0] = a + ST[0]!;
  ST[1] = b + ST[1]!;
  ST[2] = c + ST[2]!;
  ST[3] = d + ST[3]!;
}

/** Runs MD5 over `key[start..end)`; the digest is left in ST. */
function md5Range(key: Uint8Array, start: number, end: number): void {
  ST[0] = 0x67452301;
  ST[1] = 0xefcdab89;
  ST[2] = 0x98badcfe;
  ST[3] = 0x10325476;
  let i = start;
  for (; end - i >= 64; i += 64) {
    compress(key, i);
  }
  const rem = end - i;
  for (let j = 0; j < rem; j++) {
    TAIL[j] = key[i + j]!;
  }
  TAIL[rem] = 0x80;
  const last = rem < 56 ? 56 : 120; // where the 8-byte bit length goes
  TAIL.fill(0, rem + 1, last);
  const len = end - start;
  const bitsLo = (len << 3) >>> 0;
  const bitsHi = Math.floor(len / 0x20000000); // len >> 29 without the 32-bit wrap
  TAIL[last] = bitsLo;
  TAIL[last + 1] = bitsLo >>> 8;
  TAIL[last + 2] = bitsLo >>> 16;
  TAIL[last + 3] = bitsLo >>> 24;
  TAIL[last + 4] = bitsHi;
  TAIL[last + 5] = bitsHi >>> 8;
  TAIL[last + 6] = bitsHi >>> 16;
  TAIL[last + 7] = bitsHi >>> 24;
  compress(TAIL, 0);
  if (last === 120) {
    compress(TAIL, 64);
  }
}

/**
 * MD5 of `key[start..end)` as four little-endian 32-bit words: `out[0]` is digest
 * bytes 0..3, `out[3]` bytes 12..15. Ketama takes all four as points
 * (`ketama_hash(host, len, alignment)` for alignment 0..3).
 *
 * Cost: O(end - start), no allocation.
 *
 * @example
 * ```ts
 * const out = new Uint32Array(4);
 * md5Words(new TextEncoder().encode(""), 0, 0, out); // out[0] === 0xd98c1dd4
 * ```
 */
export function md5Words(key: Uint8Array, start: number, end: number, out: Uint32Array): void {
  md5Range(key, start, end);
  out[0] = ST[0]!;
  out[1] = ST[1]!;
  out[2] = ST[2]!;
  out[3] = ST[3]!;
}

/**
 * twemproxy's `md5` over `key[start..end)`: the first four digest bytes read
 * little-endian.
 *
 * Cost: O(end - start), no allocation.
 *
 * @example
 * ```ts
 * hashMd5(new TextEncoder().encode("foo"), 0, 3); // 3675831724
 * ```
 */
export function hashMd5(key: Uint8Array, start: number, end: number): number {
  md5Range(key, start, end);
  return ST[0]! >>> 0;
}
