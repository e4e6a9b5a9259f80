// Tests for the hash and distribution name lists.

import { describe, expect, it } from "vitest";
import { DIST_NAMES, HASH_NAMES, isDistName, isHashName } from "./names.ts";

describe("names", () => {
  it("HASH_NAMES lists twemproxy's twelve hashes in HASH_CODEC order", () => {
    expect(HASH_NAMES).toEqual([
      "one_at_a_time", "md5", "crc16", "crc32", "crc32a", "fnv1_64", "fnv1a_64", "fnv1_32", "fnv1a_32", "hsieh",
      "murmur", "jenkins",
    ]);
  });

  it("DIST_NAMES lists ketama, modula, random", () => {
    expect(DIST_NAMES).toEqual(["ketama", "modula", "random"]);
  });

  it("isHashName() and isDistName() match exactly, case-sensitively, and not inherited keys", () => {
    expect(isHashName("md5")).toBe(true);
    expect(isHashName("MD5")).toBe(false);
    expect(isHashName("toString")).toBe(false);
    expect(isDistName("modula")).toBe(true);
    expect(isDistName("Ketama")).toBe(false);
  });
});
