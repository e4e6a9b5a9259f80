// The key-to-hash step of twemproxy's server_pool_idx/server_pool_hash (nc_server.c): hash_tag, empty key, hash.

import type { HashFn } from "./types.ts";

/**
 * Hashes a key the way twemproxy does before it dispatches.
 *
 * With a `tag` (two bytes, e.g. `{}`), find the first `tag[0]` in the key and the
 * first `tag[1]` after it; if the bytes between them are non-empty, hash only
 * those. Otherwise (no tag, no closing byte, or `{}` with nothing inside) the
 * whole key is hashed. A key (or tag part) of zero length hashes to 0 whatever
 * the function. A pool with a single server skips hashing altogether in
 * twemproxy; that shortcut is the caller's.
 *
 * Cost: one scan of the key for the tag plus the hash; no allocation.
 *
 * @param fn the pool's hash (a `HASH_CODEC[name].fn`)
 * @param tag the pool's `hash_tag` bytes, or null
 * @param key the buffer holding the key
 * @param start first byte of the key in `key`
 * @param end one past the last byte of the key
 * @returns the unsigned 32-bit hash to hand to `Continuum.dispatch`
 *
 * @example
 * ```ts
 * const key = new TextEncoder().encode("user:{42}:name");
 * const tag = new TextEncoder().encode("{}");
 * hashKey(HASH_CODEC.fnv1a_64.fn, tag, key, 0, key.length) ===
 *   hashKey(HASH_CODEC.fnv1a_64.fn, null, new TextEncoder().encode("42"), 0, 2); // true
 * ```
 */
export function hashKey(fn: HashFn, tag: Uint8Array | null, key: Uint8Array, start: number, end: number): number {
  if (tag !== null) {
    const open = tag[0]!;
    const close = tag[1]!;
    let tagStart = start;
    while (tagStart < end && key[tagStart] !== open) tagStart++;
    if (tagStart < end) {
      let tagEnd = tagStart + 1;
      while (tagEnd < end && key[tagEnd] !== close) tagEnd++;
      // tagEnd - tagStart > 1: an empty "{}" falls back to the whole key
      if (tagEnd < end && tagEnd - tagStart > 1) {
        start = tagStart + 1;
        end = tagEnd;
      }
    }
  }
  if (end <= start) {
    return 0;
  }
  return fn(key, start, end);
}
