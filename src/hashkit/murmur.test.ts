// Tests for hashMurmur: twemproxy vectors and every tail length.

import { expect, test } from "vitest";
import { hashMurmur } from "./murmur.ts";
import { describeHashVectors } from "./testdata/hash_suite.ts";
import { vectorNamed } from "./testdata/hash_vectors.ts";

describeHashVectors("hashMurmur()", "murmur", hashMurmur);

test("hashMurmur() returns 0 for an empty key (seed 0xdeadbeef * 0)", () => {
  expect(hashMurmur(new Uint8Array(0), 0, 0)).toBe(0);
});

test("hashMurmur() handles every tail length 0..3 after whole blocks", () => {
  for (let n = 1; n <= 13; n++) {
    const v = vectorNamed(`pseudo-random bytes, length ${n}`);
    expect([n, hashMurmur(v.bytes, 0, n)]).toEqual([n, v.expect.murmur]);
  }
});
