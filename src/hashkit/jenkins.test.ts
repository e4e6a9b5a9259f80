// Tests for hashJenkins: twemproxy vectors and the block boundary at 12 bytes.

import { expect, test } from "vitest";
import { hashJenkins } from "./jenkins.ts";
import { describeHashVectors } from "./testdata/hash_suite.ts";
import { vectorNamed } from "./testdata/hash_vectors.ts";

describeHashVectors("hashJenkins()", "jenkins", hashJenkins);

test("hashJenkins() returns the unmixed initial state for an empty key", () => {
  // 0xdeadbeef + 0 + 13, no final() mix.
  expect(hashJenkins(new Uint8Array(0), 0, 0)).toBe(0xdeadbefc);
});

test("hashJenkins() handles keys of 1..13 bytes (last block of 12, then one more)", () => {
  for (let n = 1; n <= 13; n++) {
    const v = vectorNamed(`pseudo-random bytes, length ${n}`);
    expect([n, hashJenkins(v.bytes, 0, n)]).toEqual([n, v.expect.jenkins]);
  }
});

test("hashJenkins() matches twemproxy on a 24-byte key (two full blocks, 12-byte last block)", () => {
  const v = vectorNamed("pseudo-random bytes, length 24 (md5 padding edge)");
  expect(hashJenkins(v.bytes, 0, 24)).toBe(v.expect.jenkins);
});
