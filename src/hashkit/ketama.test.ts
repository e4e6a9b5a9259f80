// Tests for buildKetama/ketamaPoints: float32 point counts, ring layout, dispatch and routes recorded from nutcracker 0.5.0.

import { describe, expect, test } from "vitest";
import { hashKey } from "./hash_key.ts";
import { hashCrc32 } from "./crc32.ts";
import { hashFnv1a_64 } from "./fnv.ts";
import { buildKetama, ketamaPoints } from "./ketama.ts";
import { hashMd5 } from "./md5.ts";
import { hashMurmur } from "./murmur.ts";
import { compareServerNames } from "./server_name.ts";
import type { DistServer, HashFn } from "./types.ts";

const enc = new TextEncoder();

function sorted(servers: readonly DistServer[]): DistServer[] {
  return servers.slice().sort((a, b) => compareServerNames(a.name, b.name));
}

/** key -> server name, over one ring built up front. */
function router(servers: readonly DistServer[], fn: HashFn): (key: string) => string {
  const ring = buildKetama(servers);
  return (key) => {
    const bytes = enc.encode(key);
    return servers[ring.dispatch(hashKey(fn, null, bytes, 0, bytes.length))]!.name;
  };
}

describe("ketamaPoints()", () => {
  // [weight, total weight, live servers, points]: printed by nc_ketama.c's expression compiled with gcc on x86_64.
  const CASES: readonly (readonly [number, number, number, number])[] = [
    [1, 1, 1, 160],
    [1, 3, 3, 160],
    [1, 12, 5, 64],
    [2, 12, 5, 132],
    [3, 12, 5, 200],
    [5, 12, 5, 332],
    [1, 5, 4, 128],
    [2, 5, 4, 256],
    [2, 7, 4, 180],
    [3, 7, 4, 272],
    // Cases where float32 rounding lands just under an integer: double arithmetic would give 4 more.
    [6, 25, 5, 188],
    [11, 14, 7, 876],
    [7, 12, 9, 836],
    [1, 50, 10, 28],
    [21765, 667460, 23, 116],
    [3, 150, 30, 92],
    [7, 185, 37, 220],
  ];

  test.each(CASES)("ketamaPoints(%i, %i, %i) is %i, as twemproxy computes it in float32", (w, total, n, points) => {
    expect(ketamaPoints(w, total, n)).toBe(points);
  });

  test("ketamaPoints() gives equal-weight servers 156 points, not 160, for some pool sizes", () => {
    // 1/n * 40 * n rounds to just under 40 in float32 for these n (the 1e-10 is lost in float).
    for (const n of [25, 47, 50, 55, 61, 71, 94, 100]) expect([n, ketamaPoints(1, n, n)]).toEqual([n, 156]);
    for (const n of [1, 2, 3, 4, 5, 10, 20, 24, 26, 48, 99]) expect([n, ketamaPoints(1, n, n)]).toEqual([n, 160]);
  });
});

describe("buildKetama()", () => {
  test("buildKetama() takes four points from each md5 of \"<name>-<i>\", little-endian", () => {
    // md5("127.0.0.1:6379-0") = 0657b78b aa661008 fec6986c 779eff28 (coreutils md5sum)
    const ring = buildKetama([{ name: "127.0.0.1:6379", weight: 1 }]);
    expect(ring.values.length).toBe(160);
    const values = Array.from(ring.values);
    for (const word of [0x8bb75706, 0x081066aa, 0x6c98c6fe, 0x28ff9e77]) expect(values).toContain(word);
  });

  test("buildKetama() numbers the md5 inputs from 0 to points/4 - 1", () => {
    // md5("alpha-39") = 3c0eb7f4 ff83f13e fb676c46 07d7550e: the 40th and last hash of a 160-point server
    const ring = buildKetama([{ name: "alpha", weight: 1 }]);
    expect(Array.from(ring.values)).toContain(0xf4b70e3c);
  });

  test("buildKetama() sorts the points and gives each its owner", () => {
    const servers = sorted([1, 2, 3, 1, 5].map((w, i) => ({ name: `127.0.0.1:2600${i + 1}`, weight: w })));
    const ring = buildKetama(servers);
    expect(ring.values.length).toBe(64 + 132 + 200 + 64 + 332);
    for (let i = 1; i < ring.values.length; i++) expect(ring.values[i - 1]! <= ring.values[i]!).toBe(true);
    const owned = [0, 0, 0, 0, 0];
    for (const s of ring.index) owned[s]!++;
    expect(owned).toEqual(servers.map((s) => ketamaPoints(s.weight, 12, 5)));
  });

  test("KetamaContinuum.dispatch() picks the first point >= hash and wraps past the last", () => {
    const ring = buildKetama([{ name: "a:1", weight: 1 }, { name: "b:2", weight: 1 }, { name: "c:3", weight: 2 }]);
    const n = ring.values.length;
    expect(ring.dispatch(0)).toBe(ring.index[0]);
    expect(ring.dispatch(ring.values[0]!)).toBe(ring.index[0]);
    for (const k of [1, 17, 100, n - 1]) {
      expect(ring.dispatch(ring.values[k]!)).toBe(ring.index[k]);
      expect(ring.dispatch(ring.values[k - 1]! + 1)).toBe(ring.index[k]);
    }
    expect(ring.dispatch(ring.values[n - 1]! + 1)).toBe(ring.index[0]);
    expect(ring.dispatch(0xffffffff)).toBe(ring.values[n - 1] === 0xffffffff ? ring.index[n - 1] : ring.index[0]);
  });

  test("KetamaContinuum.dispatch() returns -1 when built from no servers", () => {
    expect(buildKetama([]).dispatch(123)).toBe(-1);
  });

  test("buildKetama() rejects a weight that is not a positive integer", () => {
    expect(() => buildKetama([{ name: "a", weight: 0 }])).toThrow(RangeError);
    expect(() => buildKetama([{ name: "a", weight: 1.5 }])).toThrow(RangeError);
  });

  test("buildKetama() routes named servers like nutcracker 0.5.0 (pool r_md5_ketama_c)", () => {
    const servers = sorted([
      { name: "alpha", weight: 1 },
      { name: "beta", weight: 1 },
      { name: "gamma", weight: 2 },
      { name: "delta", weight: 1 },
    ]);
    const want: Record<string, string> = { a: "alpha", foo: "gamma", bar: "gamma", key: "alpha", "0": "delta", "1": "gamma" };
    const route = router(servers, hashMd5);
    for (const [key, name] of Object.entries(want)) expect([key, route(key)]).toEqual([key, name]);
  });

  test("buildKetama() routes unnamed servers by host:port like nutcracker 0.5.0 (pool r_murmur_ketama_e)", () => {
    const servers = sorted([
      { name: "127.0.0.1:26003", weight: 2 },
      { name: "127.0.0.1:26001", weight: 1 },
      { name: "127.0.0.1:26005", weight: 1 },
      { name: "127.0.0.1:26002", weight: 3 },
    ]);
    const want: Record<string, string> = {
      a: "127.0.0.1:26002",
      foo: "127.0.0.1:26003",
      bar: "127.0.0.1:26005",
      key: "127.0.0.1:26001",
      "0": "127.0.0.1:26003",
      "1": "127.0.0.1:26002",
    };
    const route = router(servers, hashMurmur);
    for (const [key, name] of Object.entries(want)) expect([key, route(key)]).toEqual([key, name]);
  });

  test("buildKetama() with crc32 sends every key to the owner of the lowest point, as nutcracker does", () => {
    // crc32 is at most 0x7fff; in pool r_crc32_ketama_b nutcracker sent all 400 keys to 127.0.0.1:26004.
    const servers = sorted([1, 2, 3, 1, 5].map((w, i) => ({ name: `127.0.0.1:2600${i + 1}`, weight: w })));
    const ring = buildKetama(servers);
    expect(ring.values[0]! > 0x7fff).toBe(true);
    expect(servers[ring.index[0]!]!.name).toBe("127.0.0.1:26004");
    const route = router(servers, hashCrc32);
    for (const key of ["a", "foo", "bar", "key", "0", "1"]) expect(route(key)).toBe("127.0.0.1:26004");
  });

  test("buildKetama() cuts \"<name>-<i>\" to 272 bytes, like nutcracker 0.5.0's 273-byte snprintf buffer", () => {
    // A 300-byte name has the same 272-byte prefix for every i: 4 distinct points, repeated.
    const long = { name: "a".repeat(300), weight: 1 };
    const ring = buildKetama(sorted([long, { name: "b".repeat(100), weight: 1 }]));
    expect(ring.values.length).toBe(320);
    expect(new Set(ring.values).size).toBe(164);
    // Observed with nutcracker 0.5.0 (fnv1a_64, ketama): keys "key0".."key299" all went to the
    // 100-byte server, and with a 290-byte second name all went to the 300-byte one.
    const keys = Array.from({ length: 300 }, (_, i) => `key${i}`);
    const pairA = sorted([long, { name: "b".repeat(100), weight: 1 }]);
    const pairB = sorted([long, { name: "b".repeat(290), weight: 1 }]);
    expect(new Set(keys.map(router(pairA, hashFnv1a_64)))).toEqual(new Set(["b".repeat(100)]));
    expect(new Set(keys.map(router(pairB, hashFnv1a_64)))).toEqual(new Set(["a".repeat(300)]));
  });
});
