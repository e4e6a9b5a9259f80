// Tests for the four FNV hashes: twemproxy vectors, a 64-bit BigInt reference, and the 0.5.0 quirks.

import { expect, test } from "vitest";
import { hashFnv1_32, hashFnv1_64, hashFnv1a_32, hashFnv1a_64 } from "./fnv.ts";
import { describeHashVectors } from "./testdata/hash_suite.ts";
import { HASH_VECTORS, seqBytes, vectorBytes, vectorNamed } from "./testdata/hash_vectors.ts";

describeHashVectors("hashFnv1_64()", "fnv1_64", hashFnv1_64);
describeHashVectors("hashFnv1a_64()", "fnv1a_64", hashFnv1a_64);
describeHashVectors("hashFnv1_32()", "fnv1_32", hashFnv1_32);
describeHashVectors("hashFnv1a_32()", "fnv1a_32", hashFnv1a_32);

const MASK64 = (1n << 64n) - 1n;

/** twemproxy's hash_fnv1_64 literally: uint64_t state, `(uint64_t)(char)byte` sign-extended. Slow, tests only. */
function fnv1_64BigInt(key: Uint8Array): number {
  let hash = 0xcbf29ce484222325n;
  for (const b of key) {
    hash = (hash * 0x100000001b3n) & MASK64;
    hash ^= BigInt.asUintN(64, BigInt((b << 24) >> 24));
  }
  return Number(hash & 0xffffffffn);
}

/** Textbook FNV-1a 64 (unsigned bytes, 64-bit state), truncated: what twemproxy's fnv1a_64 is NOT. */
function textbookFnv1a_64(key: Uint8Array): number {
  let hash = 0xcbf29ce484222325n;
  for (const b of key) {
    hash ^= BigInt(b);
    hash = (hash * 0x100000001b3n) & MASK64;
  }
  return Number(hash & 0xffffffffn);
}

test("hashFnv1_64() equals the 64-bit computation truncated to 32 bits", () => {
  for (const v of HASH_VECTORS) {
    const key = vectorBytes(v.input);
    expect(fnv1_64BigInt(key)).toBe(v.expect.fnv1_64);
  }
  for (let n = 0; n < 300; n++) {
    const key = seqBytes(n, 77 + n);
    expect(hashFnv1_64(key, 0, n)).toBe(fnv1_64BigInt(key));
  }
});

test("hashFnv1a_64() in 32 bits equals 64-bit FNV-1a truncated, except for bytes >= 0x80", () => {
  // Truncation commutes with the 64-bit steps, so the 32-bit shortcut is not what
  // makes it differ from the textbook; the signed char is.
  const ascii = vectorNamed("text \"hello world\"");
  expect(hashFnv1a_64(ascii.bytes, 0, ascii.bytes.length)).toBe(ascii.expect.fnv1a_64);
  expect(textbookFnv1a_64(ascii.bytes)).toBe(ascii.expect.fnv1a_64);
  const high = vectorNamed("text \"日本語\"");
  expect(hashFnv1a_64(high.bytes, 0, high.bytes.length)).toBe(high.expect.fnv1a_64);
  expect(textbookFnv1a_64(high.bytes)).not.toBe(high.expect.fnv1a_64);
});

test("hashFnv1a_64() of a single byte is (0x84222325 ^ byte) * 0x1b3 mod 2^32", () => {
  const v = vectorNamed("text \"a\"");
  expect(v.expect.fnv1a_64).toBe(Math.imul(0x84222325 ^ 0x61, 0x1b3) >>> 0);
});

test("hashFnv1_32() and hashFnv1a_32() read bytes >= 0x80 as signed char", () => {
  const v = vectorNamed("single byte 0x80");
  // 0x80 sign-extends to 0xffffff80.
  expect(v.expect.fnv1_32).toBe((Math.imul(0x811c9dc5, 16777619) ^ 0xffffff80) >>> 0);
  expect(v.expect.fnv1a_32).toBe(Math.imul(0x811c9dc5 ^ 0xffffff80, 16777619) >>> 0);
  expect(hashFnv1_32(v.bytes, 0, 1)).toBe(v.expect.fnv1_32);
  expect(hashFnv1a_32(v.bytes, 0, 1)).toBe(v.expect.fnv1a_32);
});
