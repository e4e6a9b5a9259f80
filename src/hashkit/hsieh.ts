// Paul Hsieh's SuperFastHash, as in twemproxy's hashkit/nc_hsieh.c.

/**
 * twemproxy's `hsieh` over `key[start..end)`; 0 for an empty range.
 *
 * Quirk: in the 3-byte tail the last byte is read as `(uint32_t)key[2]` through a
 * `char *`, so a byte >= 0x80 there is sign-extended before `<< 18`. Every other
 * byte is read unsigned (`get16bits` casts to `uint8_t`).
 *
 * Cost: O(end - start), no allocation.
 *
 * @example
 * ```ts
 * hashHsieh(new TextEncoder().encode("foo"), 0, 3); // 1993659431
 * ```
 */
export function hashHsieh(key: Uint8Array, start: number, end: number): number {
  const len = end - start;
  if (len <= 0) {
    return 0;
  }
  let hash = 0;
  let i = start;
  for (let n = len >>> 2; n > 0; n--) {
    hash = (hash + (key[i]! | (key[i + 1]! << 8))) | 0;
    const tmp = ((key[i + 2]! | (key[i + 3]! << 8)) << 11) ^ hash;
    hash = (hash << 16) ^ tmp;
    hash = (hash + (hash >>> 11)) | 0;
    i += 4;
  }
  switch (len & 3) {
    case 3:
      hash = (hash + (key[i]! | (key[i + 1]! << 8))) | 0;
      hash ^= hash << 16;
      hash ^= ((key[i + 2]! << 24) >> 24) << 18; // signed char
      hash = (hash + (hash >>> 11)) | 0;
      break;
    case 2:
      hash = (hash + (key[i]! | (key[i + 1]! << 8))) | 0;
      hash ^= hash << 11;
      hash = (hash + (hash >>> 17)) | 0;
      break;
    case 1:
      hash = (hash + key[i]!) | 0;
      hash ^= hash << 10;
      hash = (hash + (hash >>> 1)) | 0;
      break;
  }
  // "avalanching" of the final bits, as in the C
  hash ^= hash << 3;
  hash = (hash + (hash >>> 5)) | 0;
  hash ^= hash << 4;
  hash = (hash + (hash >>> 17)) | 0;
  hash ^= hash << 25;
  hash = (hash + (hash >>> 6)) | 0;
  return hash >>> 0;
}
