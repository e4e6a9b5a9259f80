// parseU32/parseI32/parseU64 read tokens as memcached's safe_strto* do (64-bit Linux), addDelta wraps like uint64_t.

import { describe, expect, it } from "vitest";
import { addDelta, decimalLength, parseI32, parseU32, parseU64, u64Exact, writeDecimal } from "./numbers.ts";

const t = (s: string): [Uint8Array, number, number] => [Buffer.from(s, "latin1"), 0, s.length];

describe("parseU32 (safe_strtoul into uint32_t)", () => {
  const cases: [string, number][] = [
    ["0", 0],
    ["42", 42],
    ["+7", 7],
    ["-0", 0],
    ["\t5", 5],
    ["5\r", 5],
    ["4294967295", 4294967295],
    ["4294967296", 0], // unsigned long kept, stored in 32 bits
    ["4294967297", 1],
    ["18446744073709551615", 4294967295],
    ["18446744073709551616", -1], // ERANGE
    ["-1", -1], // negative as signed and holds a '-'
    ["-18446744073709551615", 1], // strtoul negates: 1, which is not negative
    ["", -1],
    ["x", -1],
    ["0x1", -1],
    ["12ab", -1],
    ["+", -1],
  ];
  for (const [s, want] of cases) it(JSON.stringify(s), () => expect(parseU32(...t(s))).toBe(want));
});

describe("parseI32 (safe_strtol into int32_t)", () => {
  const cases: [string, number][] = [
    ["0", 0],
    ["-1", -1],
    ["2592000", 2592000],
    ["2147483648", -2147483648], // long truncated to int32
    ["4294967297", 1],
    ["-4294967297", -1],
    ["9223372036854775807", -1],
    ["9223372036854775808", NaN], // ERANGE for long
    ["-9223372036854775808", 0],
    ["1.5", NaN],
    ["", NaN],
  ];
  for (const [s, want] of cases) it(JSON.stringify(s), () => expect(parseI32(...t(s))).toBe(want));
});

describe("parseU64 (safe_strtoull)", () => {
  it("reads small values as numbers, and big ones exactly through u64Exact", () => {
    expect(parseU64(...t("123"))).toBe(123);
    expect(u64Exact(...t("123"), 123)).toBe(123n);
    expect(parseU64(...t("18446744073709551615"))).toBe(18446744073709551615);
    expect(u64Exact(...t("18446744073709551615"), parseU64(...t("18446744073709551615")))).toBe(18446744073709551615n);
    expect(u64Exact(...t(" +9007199254740993\r"), parseU64(...t(" +9007199254740993\r")))).toBe(9007199254740993n);
    expect(parseU64(...t("18446744073709551616"))).toBe(-1);
    expect(parseU64(...t("-1"))).toBe(-1);
    const v = Buffer.from("12 34\r\n", "latin1"); // an item value: strtoull stops at the space
    expect(parseU64(v, 0, 5)).toBe(12);
    expect(parseU64(Buffer.from("7\0x", "latin1"), 0, 3)).toBe(7); // a NUL ends the C string
  });
});

describe("addDelta (uint64_t incr/decr)", () => {
  it("wraps incr at 2^64 and stops decr at 0", () => {
    const max = 18446744073709551615n;
    expect(addDelta(1, 1n, 2, 2n, true)).toBe(3);
    expect(addDelta(Number(max), max, 1, 1n, true)).toBe(0n);
    expect(addDelta(Number(max), max, Number(max), max, true)).toBe(max - 1n);
    expect(addDelta(5, 5n, 9, 9n, false)).toBe(0);
    expect(addDelta(2 ** 53, 2n ** 53n, 1, 1n, true)).toBe(2n ** 53n + 1n);
    expect(addDelta(Number(max), max, 1, 1n, false)).toBe(max - 1n);
  });

  it("writes decimals", () => {
    const b = new Uint8Array(20);
    for (const n of [0, 7, 10, 99, 123456789, Number.MAX_SAFE_INTEGER]) {
      const end = writeDecimal(b, 0, n);
      expect(end).toBe(decimalLength(n));
      expect(Buffer.from(b.subarray(0, end)).toString()).toBe(String(n));
    }
  });
});
