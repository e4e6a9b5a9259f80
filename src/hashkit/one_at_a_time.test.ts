// Tests for hashOneAtATime: twemproxy vectors plus the signed-char quirk.

import { expect, test } from "vitest";
import { hashOneAtATime } from "./one_at_a_time.ts";
import { describeHashVectors } from "./testdata/hash_suite.ts";
import { vectorNamed } from "./testdata/hash_vectors.ts";

describeHashVectors("hashOneAtATime()", "one_at_a_time", hashOneAtATime);

/** The textbook version, reading bytes unsigned: what twemproxy does NOT do. */
function unsignedOneAtATime(key: Uint8Array): number {
  let v = 0;
  for (const b of key) {
    v = (v + b) | 0;
    v = (v + (v << 10)) | 0;
    v ^= v >>> 6;
  }
  v = (v + (v << 3)) | 0;
  v ^= v >>> 11;
  v = (v + (v << 15)) | 0;
  return v >>> 0;
}

test("hashOneAtATime() reads bytes >= 0x80 as signed char, like twemproxy on x86", () => {
  for (const name of ["single byte 0xff", "single byte 0x80", "text \"日本語\""]) {
    const v = vectorNamed(name);
    expect(hashOneAtATime(v.bytes, 0, v.bytes.length)).toBe(v.expect.one_at_a_time);
    expect(unsignedOneAtATime(v.bytes)).not.toBe(v.expect.one_at_a_time);
  }
});

test("hashOneAtATime() agrees with the unsigned textbook version on ASCII keys", () => {
  const v = vectorNamed("text \"hello world\"");
  expect(unsignedOneAtATime(v.bytes)).toBe(v.expect.one_at_a_time);
});
