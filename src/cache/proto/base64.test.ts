// base64Decode/Encode: memcached base64.c's lenient decoding (skips non-alphabet bytes, stops at padding).

import { describe, expect, it } from "vitest";
import { base64Decode, base64Encode, base64Length } from "./base64.ts";

const dec = (s: string): string | null => {
  const src = Buffer.from(s, "latin1");
  const out = new Uint8Array(src.length);
  const n = base64Decode(src, 0, src.length, out);
  return n === 0 ? null : Buffer.from(out.subarray(0, n)).toString("latin1");
};

describe("base64Decode", () => {
  it("decodes what Buffer encodes, for every length 1..40", () => {
    for (let n = 1; n <= 40; n++) {
      const bytes = Buffer.from(Array.from({ length: n }, (_, i) => (i * 37 + n) & 255));
      expect(dec(bytes.toString("base64"))).toBe(bytes.toString("latin1"));
    }
  });

  it("is lenient where memcached is", () => {
    expect(dec("Zm9v")).toBe("foo");
    expect(dec("Zm9v!")).toBe("foo"); // bytes outside the alphabet are skipped
    expect(dec("Zm 9v")).toBe("foo");
    expect(dec("Zm9vYg==trailing")).toBe("foob"); // stops after the padded block
    expect(dec("sz")).toBeNull(); // not a multiple of four
    expect(dec("!!!")).toBeNull();
    expect(dec("Z===")).toBeNull(); // three pad bytes
  });
});

describe("base64Encode", () => {
  it("matches Buffer for every length 0..40", () => {
    for (let n = 0; n <= 40; n++) {
      const bytes = Buffer.from(Array.from({ length: n }, (_, i) => (i * 91 + 3) & 255));
      const out = new Uint8Array(base64Length(n));
      const end = base64Encode(bytes, 0, n, out, 0);
      expect(Buffer.from(out.subarray(0, end)).toString("latin1")).toBe(bytes.toString("base64"));
    }
  });
});
