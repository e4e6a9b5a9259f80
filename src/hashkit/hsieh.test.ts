// Tests for hashHsieh: twemproxy vectors, every tail length, and the signed third tail byte.

import { expect, test } from "vitest";
import { hashHsieh } from "./hsieh.ts";
import { describeHashVectors } from "./testdata/hash_suite.ts";
import { vectorNamed } from "./testdata/hash_vectors.ts";

describeHashVectors("hashHsieh()", "hsieh", hashHsieh);

test("hashHsieh() returns 0 for an empty key", () => {
  expect(hashHsieh(new Uint8Array(4), 2, 2)).toBe(0);
});

test("hashHsieh() sign-extends only the last byte of a 3-byte tail", () => {
  // "AB\x8f": the C reads key[2] through a char pointer; flipping that byte's sign
  // handling would change the result, the first two bytes are read unsigned.
  const v = vectorNamed("3-byte tail, only the last byte high");
  expect(hashHsieh(v.bytes, 0, 3)).toBe(v.expect.hsieh);
});

test("hashHsieh() handles every tail length 0..3 after whole blocks", () => {
  for (let n = 1; n <= 13; n++) {
    const v = vectorNamed(`pseudo-random bytes, length ${n}`);
    expect([n, hashHsieh(v.bytes, 0, n)]).toEqual([n, v.expect.hsieh]);
  }
});
