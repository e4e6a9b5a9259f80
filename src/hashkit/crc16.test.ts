// Tests for hashCrc16: twemproxy vectors plus the missing 16-bit mask.

import { expect, test } from "vitest";
import { hashCrc16 } from "./crc16.ts";
import { describeHashVectors } from "./testdata/hash_suite.ts";
import { vectorNamed } from "./testdata/hash_vectors.ts";

describeHashVectors("hashCrc16()", "crc16", hashCrc16);

test("hashCrc16() keeps bits above 16, as twemproxy's uint32_t accumulator does", () => {
  const v = vectorNamed("text \"foo\"");
  expect(v.expect.crc16).toBeGreaterThan(0xffff);
  expect(hashCrc16(v.bytes, 0, v.bytes.length)).toBe(v.expect.crc16);
});

test("hashCrc16() low 16 bits are CRC-16/XMODEM", () => {
  // Check value of CRC-16/XMODEM for "123456789" is 0x31c3 (CRC catalogue).
  const key = new TextEncoder().encode("123456789");
  expect(hashCrc16(key, 0, key.length) & 0xffff).toBe(0x31c3);
});
