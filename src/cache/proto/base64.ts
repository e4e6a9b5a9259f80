// Base64 for meta-command keys (the `b` flag), with the exact leniency of memcached's base64.c.
//
// memcached's decoder skips every byte that is not in the alphabet (so "Zm9v!" decodes as "foo"),
// needs a multiple of four alphabet bytes, and stops at the first block holding padding. The
// results differ from a strict decoder only on malformed input, which is where clients notice.

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const ENC = new Uint8Array(64);
/** Byte -> 6-bit value; 128 = not in the alphabet; '=' decodes as 0 (and counts as padding). */
const DEC = new Uint8Array(256).fill(128);
for (let i = 0; i < 64; i++) {
  ENC[i] = ALPHABET.charCodeAt(i);
  DEC[ALPHABET.charCodeAt(i)] = i;
}
DEC[61] = 0; // '='

/**
 * Decode `src[s..e)` into `out` at 0 as memcached's base64_decode does; returns the decoded
 * length, 0 meaning "cannot decode". `out` may be `src` itself with s = 0 (decoding never overtakes).
 */
export function base64Decode(src: Uint8Array, s: number, e: number, out: Uint8Array): number {
  let count = 0;
  for (let i = s; i < e; i++) if (DEC[src[i]!] !== 128) count++;
  if (count === 0 || count % 4 !== 0) return 0;
  let pos = 0;
  let pad = 0;
  count = 0;
  let b0 = 0;
  let b1 = 0;
  let b2 = 0;
  for (let i = s; i < e; i++) {
    const c = src[i]!;
    const t = DEC[c]!;
    if (t === 128) continue;
    if (c === 61) pad++;
    if (count === 0) b0 = t;
    else if (count === 1) b1 = t;
    else if (count === 2) b2 = t;
    count++;
    if (count === 4) {
      out[pos++] = ((b0 << 2) | (b1 >> 4)) & 255;
      out[pos++] = ((b1 << 4) | (b2 >> 2)) & 255;
      out[pos++] = ((b2 << 6) | t) & 255;
      count = 0;
      if (pad > 0) {
        if (pad === 1) pos--;
        else if (pad === 2) pos -= 2;
        else return 0; // invalid padding
        break;
      }
    }
  }
  return pos;
}

/** Encoded length of `n` bytes (with padding). */
export function base64Length(n: number): number {
  return Math.ceil(n / 3) * 4;
}

/** Encode `src[s..e)` at `out[at]`; returns the end offset. */
export function base64Encode(src: Uint8Array, s: number, e: number, out: Uint8Array, at: number): number {
  let i = s;
  let p = at;
  while (e - i >= 3) {
    const a = src[i]!;
    const b = src[i + 1]!;
    const c = src[i + 2]!;
    out[p++] = ENC[a >> 2]!;
    out[p++] = ENC[((a & 3) << 4) | (b >> 4)]!;
    out[p++] = ENC[((b & 15) << 2) | (c >> 6)]!;
    out[p++] = ENC[c & 63]!;
    i += 3;
  }
  if (e - i > 0) {
    const a = src[i]!;
    out[p++] = ENC[a >> 2]!;
    if (e - i === 1) {
      out[p++] = ENC[(a & 3) << 4]!;
      out[p++] = 61;
    } else {
      const b = src[i + 1]!;
      out[p++] = ENC[((a & 3) << 4) | (b >> 4)]!;
      out[p++] = ENC[(b & 15) << 2]!;
    }
    out[p++] = 61;
  }
  return p;
}
