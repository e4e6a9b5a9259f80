// CRC-32 (IEEE, as zlib and hashkit's crc32a) by slicing-by-8: the checksum of every log record.
//
// A log record can be a 1 MB value and a snapshot tens of MB, all checksummed on the event loop,
// so this reads 8 bytes per step through 8 tables where hashkit's crc32a takes one byte per
// table lookup. Same results as hashCrc32a at every length and alignment (format.test.ts checks).
// From WASM_FROM bytes on, hash-wasm's CRC-32 is faster once loaded (crcInit): bench/crc.ts
// measured it at 1.14-1.93x ours from 16 KiB to 1 MiB on Bun and Node, about even at 1 KiB, and
// 0.12-0.70x below that, where its call costs more than the bytes
// (bench/results/2026-12-04-crc.md).

import { createCRC32, type IHasher } from "hash-wasm";

/** Records this long or longer go through hash-wasm, once crcInit has loaded it. */
const WASM_FROM = 4096;
let wasm: IHasher | null = null;

/** Load hash-wasm's CRC-32 (once; the cache server awaits it before it opens its log). */
export async function crcInit(): Promise<void> {
  wasm ??= await createCRC32();
}

const TABLES = new Int32Array(8 * 256);
for (let i = 0; i < 256; i++) {
  let c = i;
  for (let bit = 0; bit < 8; bit++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  TABLES[i] = c;
}
for (let i = 0; i < 256; i++) {
  for (let t = 1; t < 8; t++) {
    const prev = TABLES[(t - 1) * 256 + i]!;
    TABLES[t * 256 + i] = (prev >>> 8) ^ TABLES[prev & 0xff]!;
  }
}

/**
 * Standard CRC-32 of `bytes[start..end)`, as an unsigned 32-bit number.
 *
 * Cost: O(end - start), no allocation.
 *
 * @example
 * ```ts
 * crc32(new TextEncoder().encode("123456789"), 0, 9); // 0xcbf43926
 * ```
 */
export function crc32(bytes: Uint8Array, start: number, end: number): number {
  if (wasm !== null && end - start >= WASM_FROM) {
    wasm.init();
    wasm.update(bytes.subarray(start, end));
    const d = wasm.digest("binary");
    return ((d[0]! << 24) | (d[1]! << 16) | (d[2]! << 8) | d[3]!) >>> 0;
  }
  const T = TABLES;
  let crc = -1;
  let i = start;
  for (const stop = end - 7; i < stop; i += 8) {
    const lo = crc ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
    crc =
      T[1792 + (lo & 0xff)]! ^
      T[1536 + ((lo >>> 8) & 0xff)]! ^
      T[1280 + ((lo >>> 16) & 0xff)]! ^
      T[1024 + (lo >>> 24)]! ^
      T[768 + bytes[i + 4]!]! ^
      T[512 + bytes[i + 5]!]! ^
      T[256 + bytes[i + 6]!]! ^
      T[bytes[i + 7]!]!;
  }
  for (; i < end; i++) crc = T[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}
