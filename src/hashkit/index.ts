// hashkit: twemproxy's hash functions and key distributions (nc_hashkit.h HASH_CODEC / DIST_CODEC) behind one table each.
//
// Per request: hashKey(pool.hash, pool.hash_tag, key, start, end) -> continuum.dispatch(hash)
// -> index into the live servers. On start-up and after ejection: buildContinuum().

import { hashCrc16 } from "./crc16.ts";
import { hashCrc32, hashCrc32a } from "./crc32.ts";
import { hashFnv1_32, hashFnv1_64, hashFnv1a_32, hashFnv1a_64 } from "./fnv.ts";
import { hashHsieh } from "./hsieh.ts";
import { hashJenkins } from "./jenkins.ts";
import { buildKetama } from "./ketama.ts";
import { hashMd5 } from "./md5.ts";
import { buildModula } from "./modula.ts";
import { hashMurmur } from "./murmur.ts";
import { hashOneAtATime } from "./one_at_a_time.ts";
import { buildRandom } from "./random.ts";
import type { Continuum, DistCodecEntry, DistName, DistServer, HashCodecEntry, HashName } from "./types.ts";

export type { Continuum, DistCodecEntry, DistName, DistServer, HashCodecEntry, HashFn, HashName } from "./types.ts";
export { hashKey } from "./hash_key.ts";
export { compareServerNames, defaultServerName } from "./server_name.ts";
export { KetamaContinuum, ketamaPoints } from "./ketama.ts";
export { ModulaContinuum } from "./modula.ts";
export { RandomContinuum } from "./random.ts";
export { md5Words } from "./md5.ts";

/**
 * twemproxy's hashes by their config names, in nc_hashkit.h order. Every
 * function is bit-exact with nutcracker 0.5.0 on x86_64, quirks included, and
 * returns an unsigned 32-bit integer. Config validation and docs are generated
 * from this table.
 *
 * @example
 * ```ts
 * const key = new TextEncoder().encode("foo");
 * HASH_CODEC.fnv1a_64.fn(key, 0, key.length); // 4275688823
 * Object.keys(HASH_CODEC); // ["one_at_a_time", "md5", ..., "jenkins"]
 * ```
 */
export const HASH_CODEC = {
  one_at_a_time: {
    fn: hashOneAtATime,
    description: "Bob Jenkins' one-at-a-time hash; bytes >= 0x80 are read as signed char",
  },
  md5: {
    fn: hashMd5,
    description: "MD5 of the key, first four digest bytes read little-endian",
  },
  crc16: {
    fn: hashCrc16,
    description: "CRC-16/XMODEM with a 32-bit accumulator that is never masked to 16 bits",
  },
  crc32: {
    fn: hashCrc32,
    description: "libmemcached's CRC-32 variant: bits 16..30 of the CRC-32, a 15-bit value",
  },
  crc32a: {
    fn: hashCrc32a,
    description: "Standard CRC-32 (IEEE 802.3, as zlib)",
  },
  fnv1_64: {
    fn: hashFnv1_64,
    description: "64-bit FNV-1, low 32 bits; bytes >= 0x80 are read as signed char",
  },
  fnv1a_64: {
    fn: hashFnv1a_64,
    description: "64-bit FNV-1a computed in 32 bits (same low word); bytes >= 0x80 are read as signed char",
  },
  fnv1_32: {
    fn: hashFnv1_32,
    description: "32-bit FNV-1; bytes >= 0x80 are read as signed char",
  },
  fnv1a_32: {
    fn: hashFnv1a_32,
    description: "32-bit FNV-1a; bytes >= 0x80 are read as signed char",
  },
  hsieh: {
    fn: hashHsieh,
    description: "Paul Hsieh's SuperFastHash; the last byte of a 3-byte tail is read as signed char",
  },
  murmur: {
    fn: hashMurmur,
    description: "MurmurHash2 with seed 0xdeadbeef * key length",
  },
  jenkins: {
    fn: hashJenkins,
    description: "Bob Jenkins' lookup3 hashlittle with initval 13",
  },
} as const satisfies Record<HashName, HashCodecEntry>;

/**
 * twemproxy's key distributions by their config names, in nc_hashkit.h order.
 * `build` takes the live servers in twemproxy's sorted order (see
 * `compareServerNames`) and returns a continuum whose `dispatch(hash)` is an
 * index into that list.
 */
export const DIST_CODEC = {
  ketama: {
    build: buildKetama,
    description: "Consistent hashing: 160 points per server scaled by weight, md5 of \"<name>-<i>\"",
  },
  modula: {
    build: buildModula,
    description: "hash modulo the total weight; one slot per unit of weight, servers in order",
  },
  random: {
    build: buildRandom,
    description: "A random live server per request; weights and the hash are ignored",
  },
} as const satisfies Record<DistName, DistCodecEntry>;

/**
 * Builds the continuum for a pool's distribution from its live servers.
 *
 * Cost: ketama does 40 md5 digests per server and sorts the points; modula is
 * O(total weight); random is O(1). Run at start-up and after ejections only.
 *
 * @example
 * ```ts
 * const servers = ["127.0.0.1:6380", "127.0.0.1:6379"]
 *   .sort(compareServerNames)
 *   .map((name) => ({ name, weight: 1 }));
 * const ring = buildContinuum("ketama", servers);
 * const key = new TextEncoder().encode("user:{42}:name");
 * const i = ring.dispatch(hashKey(HASH_CODEC.fnv1a_64.fn, null, key, 0, key.length)); // 0 or 1
 * servers[i]!.name;
 * ```
 */
export function buildContinuum(dist: DistName, servers: readonly DistServer[]): Continuum {
  return DIST_CODEC[dist].build(servers);
}

/**
 * Prepares hashkit once at start-up; afterwards every hash is synchronous.
 *
 * Today nothing needs preparing: md5 is plain TypeScript because it measured
 * faster than hash-wasm for proxy-sized keys (bench/hashkit.ts). The call stays
 * so that callers keep one contract if a wasm hash ever wins.
 */
export async function hashkitInit(): Promise<void> {}
