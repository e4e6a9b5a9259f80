// The hash and distribution names the config accepts (twemproxy's HASH_CODEC/DIST_CODEC spelling).
//
// Kept here, not imported from src/hashkit/, so the loader has no dependency on the hash code; the
// `satisfies` clauses make the compiler fail if a name is added to or removed from the unions in
// src/hashkit/types.ts without updating this file. To be pointed at hashkit's tables later.

import type { DistName, HashName } from "../hashkit/types.ts";

/** Hash names in HASH_CODEC order (nc_hashkit.h). The config compares them case-sensitively. */
const HASHES = {
  one_at_a_time: 0,
  md5: 1,
  crc16: 2,
  crc32: 3,
  crc32a: 4,
  fnv1_64: 5,
  fnv1a_64: 6,
  fnv1_32: 7,
  fnv1a_32: 8,
  hsieh: 9,
  murmur: 10,
  jenkins: 11,
} as const satisfies Record<HashName, number>;

/** Distribution names in DIST_CODEC order. */
const DISTS = {
  ketama: 0,
  modula: 1,
  random: 2,
} as const satisfies Record<DistName, number>;

/** Every hash name, in HASH_CODEC order (for messages and docs). */
export const HASH_NAMES: readonly HashName[] = Object.keys(HASHES) as HashName[];
/** Every distribution name, in DIST_CODEC order. */
export const DIST_NAMES: readonly DistName[] = Object.keys(DISTS) as DistName[];

/** True when `s` is a `hash:` value twemproxy accepts (exact, case-sensitive). */
export function isHashName(s: string): s is HashName {
  return Object.hasOwn(HASHES, s);
}

/** True when `s` is a `distribution:` value twemproxy accepts. */
export function isDistName(s: string): s is DistName {
  return Object.hasOwn(DISTS, s);
}
