// Byte copies between Uint8Arrays, tuned for the short spans of keys, commands and small replies.

/**
 * Copy src[s, e) to dst at `at`. Spans of a key or a short value are copied by a loop: below
 * about 64 bytes that beats the view object `subarray` allocates for `set` on every runtime.
 */
export function copyBytes(dst: Uint8Array, at: number, src: Uint8Array, s: number, e: number): void {
  if (e - s <= 64) {
    for (let i = s; i < e; i++) dst[at++] = src[i]!;
  } else {
    dst.set(src.subarray(s, e), at);
  }
}
