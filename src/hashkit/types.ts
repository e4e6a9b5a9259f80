// Shapes shared by the hash functions and distributions (twemproxy's nc_hashkit.h).

/**
 * A twemproxy hash: reads `key[start..end)` and returns an unsigned 32-bit integer.
 * Synchronous and allocation-free on the per-key path.
 */
export type HashFn = (key: Uint8Array, start: number, end: number) => number;

export type HashName =
  | "one_at_a_time"
  | "md5"
  | "crc16"
  | "crc32"
  | "crc32a"
  | "fnv1_64"
  | "fnv1a_64"
  | "fnv1_32"
  | "fnv1a_32"
  | "hsieh"
  | "murmur"
  | "jenkins";

export type DistName = "ketama" | "modula" | "random";

/** A live server as a distribution sees it: its identity string and weight. */
export interface DistServer {
  readonly name: string;
  readonly weight: number;
}

/** A built continuum: maps a key hash to an index into the server list it was built from. */
export interface Continuum {
  dispatch(hash: number): number;
}

/** One row of HASH_CODEC: the function and a line for docs and config messages. */
export interface HashCodecEntry {
  readonly fn: HashFn;
  readonly description: string;
}

/** One row of DIST_CODEC: builds a continuum from the live servers, in twemproxy's sorted order. */
export interface DistCodecEntry {
  readonly build: (servers: readonly DistServer[]) => Continuum;
  readonly description: string;
}
