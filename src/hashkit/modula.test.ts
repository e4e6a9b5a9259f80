// Tests for buildModula: slot layout, dispatch, and a route recorded from nutcracker 0.5.0.

import { expect, test } from "vitest";
import { hashFnv1a_64 } from "./fnv.ts";
import { buildModula } from "./modula.ts";
import { compareServerNames } from "./server_name.ts";

test("buildModula() gives each server weight consecutive slots, in server order", () => {
  const m = buildModula([{ name: "a", weight: 1 }, { name: "b", weight: 2 }, { name: "c", weight: 3 }]);
  expect(Array.from(m.index)).toEqual([0, 1, 1, 2, 2, 2]);
});

test("ModulaContinuum.dispatch() is slots[hash % total weight] over the full uint32 range", () => {
  const m = buildModula([{ name: "a", weight: 1 }, { name: "b", weight: 2 }, { name: "c", weight: 3 }]);
  expect(m.dispatch(0)).toBe(0);
  expect(m.dispatch(5)).toBe(2);
  expect(m.dispatch(7)).toBe(1);
  expect(m.dispatch(0xffffffff)).toBe([0, 1, 1, 2, 2, 2][0xffffffff % 6]);
  expect(m.dispatch(-1)).toBe(m.dispatch(0xffffffff)); // read as uint32
});

test("ModulaContinuum.dispatch() returns -1 when built from no servers", () => {
  expect(buildModula([]).dispatch(42)).toBe(-1);
});

test("buildModula() takes slots in twemproxy's name order (pool r_fnv1a_64_modula_c)", () => {
  // Config order alpha, beta, gamma(2), delta; sorted order beta, alpha, delta, gamma.
  const servers = [
    { name: "alpha", weight: 1 },
    { name: "beta", weight: 1 },
    { name: "gamma", weight: 2 },
    { name: "delta", weight: 1 },
  ].sort((a, b) => compareServerNames(a.name, b.name));
  expect(servers.map((s) => s.name)).toEqual(["beta", "alpha", "delta", "gamma"]);
  const m = buildModula(servers);
  const enc = new TextEncoder();
  // Recorded by nutcracker 0.5.0: a -> alpha, foo -> gamma, bar -> delta, key -> delta, 0 -> alpha.
  const want: Record<string, string> = { a: "alpha", foo: "gamma", bar: "delta", key: "delta", "0": "alpha" };
  for (const [key, name] of Object.entries(want)) {
    const b = enc.encode(key);
    expect([key, servers[m.dispatch(hashFnv1a_64(b, 0, b.length))]!.name]).toEqual([key, name]);
  }
});
