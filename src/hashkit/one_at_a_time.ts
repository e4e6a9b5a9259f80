// Bob Jenkins' one-at-a-time hash, as in twemproxy's hashkit/nc_one_at_a_time.c.

/**
 * twemproxy's `one_at_a_time` over `key[start..end)`.
 *
 * Quirk kept for routing compatibility: the C code reads the key through a
 * `const char *` and widens each byte with `(uint32_t) *ptr`, so on x86 bytes
 * >= 0x80 are sign-extended (0xff adds 0xffffffff, not 255).
 *
 * Cost: O(end - start), no allocation.
 *
 * @example
 * ```ts
 * hashOneAtATime(new TextEncoder().encode("foo"), 0, 3); // 596015325
 * ```
 */
export function hashOneAtATime(key: Uint8Array, start: number, end: number): number {
  let value = 0;
  for (let i = start; i < end; i++) {
    value = (value + ((key[i]! << 24) >> 24)) | 0; // signed char
    value = (value + (value << 10)) | 0;
    value ^= value >>> 6;
  }
  value = (value + (value << 3)) | 0;
  value ^= value >>> 11;
  value = (value + (value << 15)) | 0;
  return value >>> 0;
}
