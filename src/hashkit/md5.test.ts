// Tests for hashMd5 and md5Words: twemproxy vectors and the RFC 1321 test suite.

import { expect, test } from "vitest";
import { hashMd5, md5Words } from "./md5.ts";
import { describeHashVectors } from "./testdata/hash_suite.ts";
import { seqBytes } from "./testdata/hash_vectors.ts";

describeHashVectors("hashMd5()", "md5", hashMd5);

function hexOfWords(w: Uint32Array): string {
  let s = "";
  for (const word of w) {
    for (let i = 0; i < 4; i++) s += ((word >>> (8 * i)) & 0xff).toString(16).padStart(2, "0");
  }
  return s;
}

// RFC 1321 appendix A.5, an independent source for the full digest.
const RFC1321: readonly (readonly [string, string])[] = [
  ["", "d41d8cd98f00b204e9800998ecf8427e"],
  ["a", "0cc175b9c0f1b6a831c399e269772661"],
  ["abc", "900150983cd24fb0d6963f7d28e17f72"],
  ["message digest", "f96b697d7cb7938d525a2f31aaf161d0"],
  ["abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"],
  ["ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "d174ab98d277d9f5a5611c2c9f419d9f"],
  ["12345678901234567890123456789012345678901234567890123456789012345678901234567890", "57edf4a22be3c955ac49da2e2107b67a"],
];

test.each(RFC1321)("md5Words() gives the RFC 1321 digest of %j", (text, hex) => {
  const out = new Uint32Array(4);
  const key = new TextEncoder().encode(text);
  md5Words(key, 0, key.length, out);
  expect(hexOfWords(out)).toBe(hex);
});

test("hashMd5() is the first digest word of md5Words()", () => {
  const out = new Uint32Array(4);
  for (const n of [0, 1, 55, 56, 63, 64, 65, 200, 5000]) {
    const key = seqBytes(n, n + 3);
    md5Words(key, 0, n, out);
    expect(hashMd5(key, 0, n)).toBe(out[0]);
  }
});

test("md5Words() leaves no state behind between calls", () => {
  const a = new Uint32Array(4);
  const b = new Uint32Array(4);
  const key = new TextEncoder().encode("abc");
  md5Words(key, 0, 3, a);
  md5Words(seqBytes(1000, 1), 0, 1000, b);
  md5Words(key, 0, 3, b);
  expect(b).toEqual(a);
});
