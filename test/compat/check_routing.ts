// Replays twemproxy 0.5.0's recorded routing (shared/compat/routing-vectors.jsonl) through hashkit; runs on Node, Bun and Deno.
//
// As a script (`bun test/compat/check_routing.ts`, `deno run -A test/compat/check_routing.ts`)
// it prints `mismatches=N rows=M` and exits 1 on any mismatch. The vitest suite imports
// checkRouting() directly and also spawns the script under Bun and Deno.

import { readFileSync } from "node:fs";
import { buildContinuum, compareServerNames, defaultServerName, HASH_CODEC, hashkitInit, hashKey } from "../../src/hashkit/index.ts";
import type { DistName, HashName } from "../../src/hashkit/index.ts";

/** Where the vectors live: shared/ is a sibling of the repository root. */
export const ROUTING_VECTORS_URL = new URL("../../../shared/compat/routing-vectors.jsonl", import.meta.url);

export interface RoutingMismatch {
  readonly pool: string;
  readonly key_b64: string;
  readonly expected: number;
  readonly actual: number;
}

export interface RoutingResult {
  readonly pools: number;
  readonly rows: number;
  readonly mismatches: number;
  /** The first few mismatches, for the failure message. */
  readonly first: readonly RoutingMismatch[];
}

interface PoolRecord {
  readonly type: "pool";
  readonly name: string;
  readonly hash: HashName;
  readonly distribution: DistName;
  readonly hash_tag: string | null;
  readonly servers: readonly string[];
  readonly keys: number;
}

interface RouteRecord {
  readonly type: "route";
  readonly pool: string;
  readonly key_b64: string;
  readonly server_index: number;
}

type VectorRecord = PoolRecord | RouteRecord | { readonly type: "meta" };

/** One parsed pool: what dispatch needs plus the sorted-to-config index map. */
interface Pool {
  readonly record: PoolRecord;
  readonly dispatch: (key: Uint8Array) => number;
}

/**
 * Splits `host:port:weight [name]` from the end, as nc_conf.c conf_add_server does,
 * and returns twemproxy's identity for it.
 */
export function parseServer(entry: string): { name: string; weight: number } {
  let rest = entry;
  let name: string | null = null;
  const space = rest.lastIndexOf(" ");
  if (space >= 0) {
    name = rest.slice(space + 1);
    rest = rest.slice(0, space);
  }
  const wcolon = rest.lastIndexOf(":");
  if (wcolon < 0) throw new SyntaxError(`Cannot parse server "${entry}": no weight`);
  const weight = Number(rest.slice(wcolon + 1));
  rest = rest.slice(0, wcolon);
  let portText: string | null = null;
  if (!rest.startsWith("/")) {
    const pcolon = rest.lastIndexOf(":");
    if (pcolon < 0) throw new SyntaxError(`Cannot parse server "${entry}": no port`);
    portText = rest.slice(pcolon + 1);
    rest = rest.slice(0, pcolon);
  }
  return { name: name ?? defaultServerName(rest, portText), weight };
}

function buildPool(record: PoolRecord): Pool {
  const parsed = record.servers.map((s, configIndex) => ({ ...parseServer(s), configIndex }));
  const sorted = parsed.slice().sort((a, b) => compareServerNames(a.name, b.name));
  const toConfig = sorted.map((s) => s.configIndex);
  const continuum = buildContinuum(record.distribution, sorted.map(({ name, weight }) => ({ name, weight })));
  const fn = HASH_CODEC[record.hash].fn;
  const tag = record.hash_tag === null ? null : new TextEncoder().encode(record.hash_tag);
  return {
    record,
    dispatch(key: Uint8Array): number {
      // twemproxy skips hashing for a one-server pool; the caller's shortcut, kept here too.
      const i = sorted.length === 1 ? 0 : continuum.dispatch(hashKey(fn, tag, key, 0, key.length));
      return toConfig[i] ?? -1;
    },
  };
}

function decodeBase64(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Routes every recorded key and counts the ones that land on a different server than nutcracker chose. */
export async function checkRouting(jsonl: string, keepFirst = 10): Promise<RoutingResult> {
  await hashkitInit();
  const pools = new Map<string, Pool>();
  const first: RoutingMismatch[] = [];
  let rows = 0;
  let mismatches = 0;
  for (const line of jsonl.split("\n")) {
    if (line.trim() === "") continue;
    const rec = JSON.parse(line) as VectorRecord;
    if (rec.type === "pool") {
      pools.set(rec.name, buildPool(rec));
    } else if (rec.type === "route") {
      const pool = pools.get(rec.pool);
      if (pool === undefined) throw new SyntaxError(`Cannot route key: pool "${rec.pool}" has no pool record before it`);
      rows++;
      const actual = pool.dispatch(decodeBase64(rec.key_b64));
      if (actual !== rec.server_index) {
        mismatches++;
        if (first.length < keepFirst) {
          first.push({ pool: rec.pool, key_b64: rec.key_b64, expected: rec.server_index, actual });
        }
      }
    }
  }
  return { pools: pools.size, rows, mismatches, first };
}

if ((import.meta as { main?: boolean }).main) {
  const result = await checkRouting(readFileSync(ROUTING_VECTORS_URL, "utf8"));
  for (const m of result.first) console.error(`mismatch ${JSON.stringify(m)}`);
  console.log(`mismatches=${result.mismatches} rows=${result.rows}`);
  if (result.mismatches !== 0 || result.rows === 0) {
    throw new Error(`Cannot match twemproxy routing: ${result.mismatches} of ${result.rows} rows differ`);
  }
}
