// MurmurHash2 (32-bit), as in twemproxy's hashkit/nc_murmur.c.

const M = 0x5bd1e995;

/**
 * twemproxy's `murmur` over `key[start..end)`: MurmurHash2 with the seed
 * `0xdeadbeef * length` (mod 2^32), reading 4-byte little-endian blocks.
 *
 * Cost: O(end - start), no allocation.
 *
 * @example
 * ```ts
 * hashMurmur(new TextEncoder().encode("foo"), 0, 3); // 3303027599
 * ```
 */
export function hashMurmur(key: Uint8Array, start: number, end: number): number {
  let len = end - start;
  let h = Math.imul(0xdeadbeef, len) ^ len;
  let i = start;
  while (len >= 4) {
    let k = key[i]! | (key[i + 1]! << 8) | (key[i + 2]! << 16) | (key[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
    i += 4;
    len -= 4;
  }
  // The C switch falls through from 3 to 1.
  if (len >= 3) h ^= key[i + 2]! << 16;
  if (len >= 2) h ^= key[i + 1]! << 8;
  if (len >= 1) h = Math.imul(h ^ key[i]!, M);
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h >>> 0;
}
