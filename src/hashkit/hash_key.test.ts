// Tests for hashKey: hash_tag extraction, the empty-key rule and key offsets (nc_server.c server_pool_idx).

import { expect, test } from "vitest";
import { hashKey } from "./hash_key.ts";
import { hashMd5 } from "./md5.ts";
import { hashFnv1a_64 } from "./fnv.ts";
import type { HashFn } from "./types.ts";

const enc = new TextEncoder();
const CURLY = enc.encode("{}");
const COLON = enc.encode("::");

/** A HashFn that returns the hashed bytes' text, to see exactly what hashKey handed over. */
function spy(): { fn: HashFn; seen: string[] } {
  const seen: string[] = [];
  const fn: HashFn = (key, start, end) => {
    seen.push(new TextDecoder().decode(key.subarray(start, end)));
    return 1;
  };
  return { fn, seen };
}

function hashedPart(tag: Uint8Array | null, key: string): string | null {
  const s = spy();
  const b = enc.encode(key);
  hashKey(s.fn, tag, b, 0, b.length);
  return s.seen[0] ?? null;
}

test.each([
  ["user:{42}:name", "42"],
  ["{user1000}.following", "user1000"],
  ["foo{bar}{zap}", "bar"],
  ["foo{{bar}}zap", "{bar"],
  ["foo{}{bar}", "foo{}{bar}"],
  ["{}", "{}"],
  ["{}{}", "{}{}"],
  ["x{}y", "x{}y"],
  ["{", "{"],
  ["}", "}"],
  ["}{", "}{"],
  ["abc", "abc"],
])("hashKey() with tag {} hashes %j as %j", (key, part) => {
  expect(hashedPart(CURLY, key)).toBe(part);
});

test.each([
  ["a:b:c", "b"],
  ["::", "::"],
  ["a::b", "a::b"],
  ["user:1000:x", "1000"],
  ["nocolon", "nocolon"],
])("hashKey() with tag :: hashes %j as %j", (key, part) => {
  expect(hashedPart(COLON, key)).toBe(part);
});

test("hashKey() without a tag hashes the whole key", () => {
  expect(hashedPart(null, "user:{42}:name")).toBe("user:{42}:name");
});

test("hashKey() returns 0 for an empty key without calling the hash", () => {
  const s = spy();
  expect(hashKey(s.fn, null, new Uint8Array(4), 2, 2)).toBe(0);
  expect(hashKey(s.fn, CURLY, new Uint8Array(0), 0, 0)).toBe(0);
  expect(s.seen).toEqual([]);
  // md5 of "" is not 0, so the 0 comes from hashKey, as in twemproxy's server_pool_hash.
  expect(hashMd5(new Uint8Array(0), 0, 0)).not.toBe(0);
  expect(hashKey(hashMd5, null, new Uint8Array(0), 0, 0)).toBe(0);
});

test("hashKey() looks for the tag only inside key[start..end)", () => {
  const buf = enc.encode("{zz}[user:{42}:name]{yy}");
  const start = 5;
  const end = start + "user:{42}:name".length;
  const alone = enc.encode("42");
  expect(hashKey(hashFnv1a_64, CURLY, buf, start, end)).toBe(hashFnv1a_64(alone, 0, 2));
  // An opening byte inside, closing byte only after end: the whole key is hashed.
  const open = enc.encode("xx{abc}");
  expect(hashKey(hashFnv1a_64, CURLY, open, 0, 6)).toBe(hashFnv1a_64(open, 0, 6));
});

test("hashKey() sends keys sharing a tag to the same hash", () => {
  const a = enc.encode("{user1000}.following");
  const b = enc.encode("{user1000}.followers");
  expect(hashKey(hashMd5, CURLY, a, 0, a.length)).toBe(hashKey(hashMd5, CURLY, b, 0, b.length));
});
