// Tests for compareNames: twemproxy's string_compare (length first, then bytes).

import { describe, expect, it } from "vitest";
import { compareNames } from "./order.ts";

describe("compareNames()", () => {
  it("compareNames() puts shorter names first", () => {
    expect(["bb", "a", "ccc"].sort(compareNames)).toEqual(["a", "bb", "ccc"]);
    expect(compareNames("z", "aa")).toBeLessThan(0);
  });

  it("compareNames() compares equal lengths bytewise, uppercase before lowercase", () => {
    expect(["b", "a", "B"].sort(compareNames)).toEqual(["B", "a", "b"]);
    expect(compareNames("server10", "server20")).toBeLessThan(0);
    expect(compareNames("x", "x")).toBe(0);
  });

  it("compareNames() measures length in UTF-8 bytes", () => {
    // "é" is 2 bytes: longer than "z", same length as "zz" and after it (0xc3 > 0x7a)
    expect(compareNames("é", "z")).toBeGreaterThan(0);
    expect(compareNames("é", "zz")).toBeGreaterThan(0);
    expect(compareNames("é", "zzz")).toBeLessThan(0);
  });
});
