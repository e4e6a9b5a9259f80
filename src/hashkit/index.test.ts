// Tests for the hashkit tables and entry points: names and order as in nc_hashkit.h, delegation, init.

import { expect, test } from "vitest";
import {
  buildContinuum,
  compareServerNames,
  DIST_CODEC,
  HASH_CODEC,
  hashkitInit,
  hashKey,
  KetamaContinuum,
  ModulaContinuum,
  RandomContinuum,
} from "./index.ts";
import { vectorNamed } from "./testdata/hash_vectors.ts";

test("HASH_CODEC lists twemproxy's twelve hashes in nc_hashkit.h order", () => {
  expect(Object.keys(HASH_CODEC)).toEqual([
    "one_at_a_time",
    "md5",
    "crc16",
    "crc32",
    "crc32a",
    "fnv1_64",
    "fnv1a_64",
    "fnv1_32",
    "fnv1a_32",
    "hsieh",
    "murmur",
    "jenkins",
  ]);
});

test("HASH_CODEC entries hash like twemproxy and carry a description", () => {
  const v = vectorNamed("text \"foo\"");
  for (const [name, entry] of Object.entries(HASH_CODEC)) {
    expect([name, entry.fn(v.bytes, 0, v.bytes.length)]).toEqual([name, v.expect[name as keyof typeof v.expect]]);
    expect(entry.description.length).toBeGreaterThan(10);
  }
});

test("DIST_CODEC lists ketama, modula and random in nc_hashkit.h order", () => {
  expect(Object.keys(DIST_CODEC)).toEqual(["ketama", "modula", "random"]);
  for (const entry of Object.values(DIST_CODEC)) expect(entry.description.length).toBeGreaterThan(10);
});

test("buildContinuum() builds the distribution named", () => {
  const servers = [{ name: "127.0.0.1:6379", weight: 1 }, { name: "127.0.0.1:6380", weight: 2 }];
  expect(buildContinuum("ketama", servers)).toBeInstanceOf(KetamaContinuum);
  expect(buildContinuum("modula", servers)).toBeInstanceOf(ModulaContinuum);
  expect(buildContinuum("random", servers)).toBeInstanceOf(RandomContinuum);
});

test("buildContinuum() dispatches into the server list it was given (JSDoc example)", () => {
  const servers = ["127.0.0.1:6380", "127.0.0.1:6379"].sort(compareServerNames).map((name) => ({ name, weight: 1 }));
  const ring = buildContinuum("ketama", servers);
  const key = new TextEncoder().encode("user:{42}:name");
  const i = ring.dispatch(hashKey(HASH_CODEC.fnv1a_64.fn, null, key, 0, key.length));
  expect([0, 1]).toContain(i);
});

test("hashkitInit() resolves and leaves hashing synchronous", async () => {
  await expect(hashkitInit()).resolves.toBeUndefined();
  const key = new TextEncoder().encode("foo");
  expect(typeof HASH_CODEC.md5.fn(key, 0, 3)).toBe("number");
});
