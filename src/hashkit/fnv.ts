// The four FNV hashes of twemproxy's hashkit/nc_fnv.c, with their 0.5.0 quirks.

// Low words of the 64-bit FNV offset basis 0xcbf29ce484222325 and prime 0x100000001b3.
// Both 64-bit hashes only ever need these (see hashFnv1_64).
const FNV_64_INIT_LO = 0x84222325;
const FNV_64_PRIME_LO = 0x1b3;

const FNV_32_INIT = 0x811c9dc5; // 2166136261
const FNV_32_PRIME = 16777619;

/**
 * twemproxy's `fnv1_64` over `key[start..end)`: 64-bit FNV-1 (`hash *= prime;
 * hash ^= (uint64_t)key[x]`), returned as `(uint32_t)hash`.
 *
 * Quirk: the byte is XORed in through a `char *`, so a byte >= 0x80 is
 * sign-extended to 64 bits and flips the whole high word too.
 *
 * Why no 64-bit arithmetic here: only the low 32 bits are returned, and neither
 * step lets the high word reach the low word. The low 32 bits of a product
 * depend only on the low 32 bits of its factors, and XOR works bit by bit. So
 * the low word evolves on its own: `lo = lo * 0x1b3 ^ signed byte (mod 2^32)`.
 * The tests check this against a BigInt 64-bit reference and twemproxy's C output.
 * (The loop order, multiply then XOR, is what separates it from `fnv1a_64`.)
 *
 * Cost: O(end - start), no allocation.
 *
 * @example
 * ```ts
 * hashFnv1_64(new TextEncoder().encode("foo"), 0, 3); // 1805727027
 * ```
 */
export function hashFnv1_64(key: Uint8Array, start: number, end: number): number {
  let hash = FNV_64_INIT_LO | 0;
  for (let i = start; i < end; i++) {
    hash = Math.imul(hash, FNV_64_PRIME_LO);
    hash ^= (key[i]! << 24) >> 24; // signed char
  }
  return hash >>> 0;
}

/**
 * twemproxy's `fnv1a_64` over `key[start..end)`.
 *
 * The C runs it in 32 bits, seeded with the low word of the 64-bit basis
 * (0x84222325) and multiplied by the low word of the 64-bit prime (0x1b3). That
 * alone changes nothing: it equals 64-bit FNV-1a truncated to 32 bits (see
 * hashFnv1_64). The real quirk is the `char` key: bytes >= 0x80 are sign-extended.
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
