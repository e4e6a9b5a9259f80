// The two CRC-32 hashes of twemproxy's hashkit/nc_crc32.c: libmemcached's 15-bit `crc32` and the standard `crc32a`.

// Reflected polynomial 0xedb88320: the table twemproxy ships as literals.
const CRC32_TAB = new Int32Array(256);
for (let i = 0; i < 256; i++) {
  let crc = i;
  for (let bit = 0; bit < 8; bit++) {
    crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  CRC32_TAB[i] = crc;
}

/**
 * twemproxy's `crc32` over `key[start..end)`: libmemcached's variant, which keeps
 * only bits 16..30 of the real CRC-32 (`((~crc) >> 16) & 0x7fff`).
 *
 * With only 32768 possible values, under ketama nearly every key lands on the
 * server owning the lowest points of the ring; twemproxy behaves the same.
 *
 * Cost: O(end - start), no allocation.
 *
 * @example
 * ```ts
 * hashCrc32(new TextEncoder().encode("foo"), 0, 3); // 3187
 * ```
 */
export function hashCrc32(key: Uint8Array, start: number, end: number): number {
  let crc = -1;
  for (let i = start; i < end; i++) {
    crc = (crc >>> 8) ^ CRC32_TAB[(crc ^ key[i]!) & 0xff]!;
  }
  return (~crc >>> 16) & 0x7fff;
}

/**
 * twemproxy's `crc32a` over `key[start..end)`: the standard CRC-32 (IEEE 802.3, as zlib).
 *
 * Cost: O(end - start), no allocation.
 *
 * @example
 * ```ts
 * hashCrc32a(new TextEncoder().encode("a"), 0, 1); // 0xe8b7be43
 * ```
 */
export function hashCrc32a(key: Uint8Array, start: number, end: number): number {
  let crc = -1;
  for (let i = start; i < end; i++) {
    crc = CRC32_TAB[(crc ^ key[i]!) & 0xff]! ^ (crc >>> 8);
  }
  return ~crc >>> 0;
}
