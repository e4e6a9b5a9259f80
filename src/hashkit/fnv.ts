// The four FNV hashes of twemproxy's hashkit/nc_fnv.c, with their 0.5.0 quirks.

// FNV-1 64-bit offset basis 0xcbf29ce484222325 as two 32-bit halves, and the
// low word of the 64-bit prime 0x100000001b3 (its high word is 1 << 8).
const FNV_64_INIT_HI = 0xcbf29ce4;
const FNV_64_INIT_LO = 0x84222325;
const FNV_64_PRIME_LO = 0x1b3;
const TWO_32 = 4294967296;

const FNV_32_INIT = 0x811c9dc5; // 2166136261
const FNV_32_PRIME = 16777619;

/**
 * twemproxy's `fnv1_64` over `key[start..end)`: real 64-bit FNV-1, truncated to
 * the low 32 bits at the end.
 *
 * Quirk: each byte is XORed in as `(uint64_t)key[x]` with `key` a `char *`, so a
 * byte >= 0x80 is sign-extended to 64 bits and flips the whole high word too.
 *
 * The 64-bit product is done in two 32-bit halves (no BigInt on the key path):
 * `h * 0x100000001b3 = h * 0x1b3 + (h << 40)`; `lo * 0x1b3` stays below 2^41, so
 * it is exact as a double and its carry into the high word is recovered by division.
 *
 * Cost: O(end - start), no allocation.
 *
 * @example
 * ```ts
 * hashFnv1_64(new TextEncoder().encode("foo"), 0, 3); // 1805727027
 * ```
 */
export function hashFnv1_64(key: Uint8Array, start: number, end: number): number {
  let hi = FNV_64_INIT_HI | 0;
  let lo = FNV_64_INIT_LO; // kept unsigned: the carry below needs it
  for (let i = start; i < end; i++) {
    const p = lo * FNV_64_PRIME_LO;
    const plo = p >>> 0;
    hi = (Math.imul(hi, FNV_64_PRIME_LO) + (p - plo) / TWO_32 + (lo << 8)) | 0;
    const val = (key[i]! << 24) >> 24; // signed char
    lo = (plo ^ val) >>> 0;
    hi ^= val >> 31; // sign extension into bits 32..63
  }
  return lo;
}

/**
 * twemproxy's `fnv1a_64` over `key[start..end)`.
 *
 * Quirk: despite the name it runs in 32 bits, seeded with the low word of the
 * 64-bit basis (0x84222325) and multiplied by the low word of the 64-bit prime
 * (0x1b3). Bytes >= 0x80 are sign-extended (`char` key).
 *
 * Cost: O(end - start), no allocation.
 *
 * @example
 * ```ts
 * hashFnv1a_64(new TextEncoder().encode("foo"), 0, 3); // 4275688823
 * ```
 */
export function hashFnv1a_64(key: Uint8Array, start: number, end: number): number {
  let hash = FNV_64_INIT_LO | 0;
  for (let i = start; i < end; i++) {
    hash ^= (key[i]! << 24) >> 24;
    hash = Math.imul(hash, FNV_64_PRIME_LO);
  }
  return hash >>> 0;
}

/**
 * twemproxy's `fnv1_32` over `key[start..end)`: 32-bit FNV-1, bytes >= 0x80 sign-extended.
 *
 * Cost: O(end - start), no allocation.
 *
 * @example
 * ```ts
 * hashFnv1_32(new TextEncoder().encode("foo"), 0, 3); // 1083137555
 * ```
 */
export function hashFnv1_32(key: Uint8Array, start: number, end: number): number {
  let hash = FNV_32_INIT | 0;
  for (let i = start; i < end; i++) {
    hash = Math.imul(hash, FNV_32_PRIME);
    hash ^= (key[i]! << 24) >> 24;
  }
  return hash >>> 0;
}

/**
 * twemproxy's `fnv1a_32` over `key[start..end)`: 32-bit FNV-1a, bytes >= 0x80 sign-extended.
 *
 * Cost: O(end - start), no allocation.
 *
 * @example
 * ```ts
 * hashFnv1a_32(new TextEncoder().encode("foo"), 0, 3); // 2851307223
 * ```
 */
export function hashFnv1a_32(key: Uint8Array, start: number, end: number): number {
  let hash = FNV_32_INIT | 0;
  for (let i = start; i < end; i++) {
    hash ^= (key[i]! << 24) >> 24;
    hash = Math.imul(hash, FNV_32_PRIME);
  }
  return hash >>> 0;
}
