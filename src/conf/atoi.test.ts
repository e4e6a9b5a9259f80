// Tests for ncAtoi and validPort: twemproxy's only number syntax.

import { describe, expect, it } from "vitest";
import { ncAtoi, validPort } from "./atoi.ts";

describe("ncAtoi()", () => {
  it("ncAtoi() reads decimal digits, leading zeros included", () => {
    expect(ncAtoi("0")).toBe(0);
    expect(ncAtoi("0400")).toBe(400);
    expect(ncAtoi("2147483647")).toBe(2147483647);
  });

  it("ncAtoi() returns -1 for anything else", () => {
    for (const s of ["", "-1", "+1", " 1", "1 ", "1.0", "1e3", "0x10", "abc", "١"]) expect(ncAtoi(s), s).toBe(-1);
  });

  it("ncAtoi() returns -1 above 2^31-1 instead of wrapping like C", () => {
    expect(ncAtoi("2147483648")).toBe(-1);
    expect(ncAtoi("4294967297")).toBe(-1);
  });
});

describe("validPort()", () => {
  it("validPort() accepts 1..65535", () => {
    expect([0, 1, 65535, 65536].map(validPort)).toEqual([false, true, true, false]);
  });
});
