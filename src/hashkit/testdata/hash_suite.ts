// Shared vitest cases for a HashFn: twemproxy's C output on every vector, at offset 0 and inside a larger buffer.

import { describe, expect, test } from "vitest";
import type { HashFn, HashName } from "../types.ts";
import { HASH_VECTORS, vectorBytes } from "./hash_vectors.ts";

// Bytes around the key that would change any hash that read past start or end.
const PREFIX = [0xff, 0x80, 0x7b, 0x00, 0x41];
const SUFFIX = [0x7d, 0xfe, 0x01];

/** Places `key` at offset PREFIX.length inside junk. */
export function embed(key: Uint8Array): Uint8Array {
  const out = new Uint8Array(PREFIX.length + key.length + SUFFIX.length);
  out.set(PREFIX, 0);
  out.set(key, PREFIX.length);
  out.set(SUFFIX, PREFIX.length + key.length);
  return out;
}

/** Declares the vector cases for one hash; `label` is the exported symbol, e.g. "hashFnv1a_64()". */
export function describeHashVectors(label: string, name: HashName, fn: HashFn): void {
  describe(`${label} against twemproxy 0.5.0`, () => {
    test.each(HASH_VECTORS.map((v) => [v.name, v] as const))(`${label} matches twemproxy's ${name} on %s`, (_, v) => {
      const key = vectorBytes(v.input);
      expect(fn(key, 0, key.length)).toBe(v.expect[name]);
    });

    test(`${label} reads only key[start..end) when start > 0`, () => {
      for (const v of HASH_VECTORS) {
        const key = vectorBytes(v.input);
        const buf = embed(key);
        expect([v.name, fn(buf, PREFIX.length, PREFIX.length + key.length)]).toEqual([v.name, v.expect[name]]);
      }
    });

    test(`${label} gives the empty-key value for an empty range at any offset`, () => {
      const empty = HASH_VECTORS[0]!;
      expect(empty.input).toEqual({ text: "" });
      const buf = embed(new Uint8Array([0x61, 0x62, 0x63]));
      for (let i = 0; i <= buf.length; i++) {
        expect(fn(buf, i, i)).toBe(empty.expect[name]);
      }
    });

    test(`${label} returns an unsigned 32-bit integer`, () => {
      for (const v of HASH_VECTORS) {
        const key = vectorBytes(v.input);
        const h = fn(key, 0, key.length);
        expect(Number.isInteger(h) && h >= 0 && h <= 0xffffffff).toBe(true);
      }
    });
  });
}
