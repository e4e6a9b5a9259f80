// Tests for hashCrc32 (libmemcached's 15-bit variant) and hashCrc32a (standard CRC-32).

import { expect, test } from "vitest";
import { hashCrc32, hashCrc32a } from "./crc32.ts";
import { describeHashVectors } from "./testdata/hash_suite.ts";
import { HASH_VECTORS, vectorBytes } from "./testdata/hash_vectors.ts";

describeHashVectors("hashCrc32()", "crc32", hashCrc32);
describeHashVectors("hashCrc32a()", "crc32a", hashCrc32a);

test("hashCrc32a() gives the standard CRC-32 check value", () => {
  // CRC-32 of "123456789" is 0xcbf43926 (CRC catalogue).
  const key = new TextEncoder().encode("123456789");
  expect(hashCrc32a(key, 0, key.length)).toBe(0xcbf43926);
});

test("hashCrc32() is bits 16..30 of hashCrc32a()", () => {
  for (const v of HASH_VECTORS) {
    const key = vectorBytes(v.input);
    const full = hashCrc32a(key, 0, key.length);
    expect(hashCrc32(key, 0, key.length)).toBe((full >>> 16) & 0x7fff);
    expect(v.expect.crc32).toBeLessThanOrEqual(0x7fff);
  }
});
