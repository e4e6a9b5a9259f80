// `stats items`, `stats slabs`, `stats sizes` and `stats cachedump`: memcached 1.6.18's per-class replies, over our classes and pages.
//
// Class n is our size class n - 1 (arena.ts: chunks of 32 B to 256 KB in 1 MB pages, the growth
// factor and, from 96 B on, the chunk sizes of memcached's defaults); class NCLASSES + 1 holds the
// items with a buffer of their own (over 256 KB), each counted as a page of one chunk. Our chunks
// hold key, value and "\r\n" (the item's header is in typed arrays), so an item sits in a class
// of chunks smaller than memcached's, and chunk_size and mem_requested count those bytes.
//
// Fields are memcached's, in its order, as its defaults print them (the segmented LRU on). We keep
// one LRU per class, which is what memcached's COLD LRU is (eviction takes its tail, `age` is its
// tail's), so every item counts as cold and the HOT/WARM fields, LRU moves and tail repairs are 0.

import { NCLASSES } from "../store/arena.ts";
import type { ClassCounters } from "../store/stats.ts";
import { type CacheStore, IT_KEY_BINARY } from "../store/store.ts";

type Counter = Exclude<keyof ClassCounters, "reset">;
type Field = readonly [string, (st: CacheStore, c: number) => number];

const zero = (): number => 0;
const by =
  (name: Counter) =>
  (st: CacheStore, c: number): number =>
    st.stats.byClass[name][c]!;

/** The number `stats` prints for class index `c`. */
export function classId(c: number): number {
  return c + 1;
}

/** `stats items`, per class with items: memcached 1.6.18's names in its order (item_stats). */
export const ITEM_FIELDS: readonly Field[] = [
  ["number", (st, c) => st.classItems[c]!],
  ["number_hot", zero],
  ["number_warm", zero],
  ["number_cold", (st, c) => st.classItems[c]!],
  ["age_hot", zero],
  ["age_warm", zero],
  ["age", (st, c) => st.tailAge(c)],
  ["mem_requested", (st, c) => st.classBytes[c]!],
  ["evicted", by("evicted")],
  ["evicted_nonzero", by("evicted_nonzero")],
  ["evicted_time", by("evicted_time")],
  ["outofmemory", by("outofmemory")],
  ["tailrepairs", zero],
  ["reclaimed", by("reclaimed")],
  ["expired_unfetched", by("expired_unfetched")],
  ["evicted_unfetched", by("evicted_unfetched")],
  ["evicted_active", by("evicted_active")],
  ["crawler_reclaimed", by("crawler_reclaimed")],
  ["crawler_items_checked", by("crawler_items_checked")],
  ["lrutail_reflocked", zero],
  ["moves_to_cold", zero],
  ["moves_to_warm", zero],
  ["moves_within_lru", zero],
  ["direct_reclaims", by("direct_reclaims")],
  ["hits_to_hot", zero],
  ["hits_to_warm", zero],
  ["hits_to_cold", by("get_hits")],
  ["hits_to_temp", zero],
];

/** Pages of class `c` (an own-buffer item is a page of its own). */
function pages(st: CacheStore, c: number): number {
  return c < NCLASSES ? st.arena.classPages[c]!.length : st.classItems[c]!;
}

function chunksPerPage(st: CacheStore, c: number): number {
  return c < NCLASSES ? st.arena.perPage[c]! : 1;
}

function freeChunks(st: CacheStore, c: number): number {
  return c < NCLASSES ? st.arena.freeChunks(c) : 0;
}

/** `stats slabs`, per class with pages: memcached 1.6.18's names in its order (do_slabs_stats). */
export const SLAB_FIELDS: readonly Field[] = [
  ["chunk_size", (st, c) => (c < NCLASSES ? st.arena.sizes[c]! : st.itemSizeMax)],
  ["chunks_per_page", chunksPerPage],
  ["total_pages", pages],
  ["total_chunks", (st, c) => pages(st, c) * chunksPerPage(st, c)],
  ["used_chunks", (st, c) => pages(st, c) * chunksPerPage(st, c) - freeChunks(st, c)],
  ["free_chunks", freeChunks],
  ["free_chunks_end", zero], // memcached 1.6: "Stat is dead, but displaying zero instead of removing it."
  ["get_hits", by("get_hits")],
  ["cmd_set", by("cmd_set")],
  ["delete_hits", by("delete_hits")],
  ["incr_hits", by("incr_hits")],
  ["decr_hits", by("decr_hits")],
  ["cas_hits", by("cas_hits")],
  ["cas_badval", by("cas_badval")],
  ["touch_hits", by("touch_hits")],
];

/** "STAT <prefix><id>:<name> <value>\r\n" for each field of class `c`. */
function classLines(st: CacheStore, c: number, prefix: string, fields: readonly Field[]): string {
  let s = "";
  const id = classId(c);
  for (const [name, get] of fields) s += `STAT ${prefix}${id}:${name} ${get(st, c)}\r\n`;
  return s;
}

/** The reply to `stats items`. */
export function itemsText(st: CacheStore): string {
  let s = "";
  for (let c = 0; c <= NCLASSES; c++) if (st.classItems[c]! > 0) s += classLines(st, c, "items:", ITEM_FIELDS);
  return `${s}END\r\n`;
}

/** The reply to `stats slabs`. */
export function slabsText(st: CacheStore): string {
  let s = "";
  let active = 0;
  for (let c = 0; c <= NCLASSES; c++) {
    if (pages(st, c) === 0) continue;
    s += classLines(st, c, "", SLAB_FIELDS);
    active++;
  }
  return `${s}STAT active_slabs ${active}\r\nSTAT total_malloced ${st.arena.bytes}\r\nEND\r\n`;
}

const SIZES_DISABLED = "STAT sizes_status disabled\r\n";

/**
 * The reply to `stats sizes`: items stored since `stats sizes_enable`, by memcached's size
 * (header included) rounded up to 32 bytes. memcached keeps this histogram up to date on every
 * link and unlink; we count when asked (one pass over the slots), which costs the request path
 * nothing and gives the same numbers.
 */
export function sizesText(st: CacheStore): string {
  const min = st.sizesCasMin;
  if (min < 0) return `${SIZES_DISABLED}END\r\n`;
  const buckets = Math.floor(st.itemSizeMax / 32) + 1;
  const hist = new Uint32Array(buckets);
  st.forEachSlot((i) => {
    if (st.cas[i]! < min) return;
    const b = Math.ceil(st.itemTotal(i) / 32);
    if (b < buckets) hist[b]!++;
  });
  let s = "";
  for (let b = 0; b < buckets; b++) if (hist[b] !== 0) s += `STAT ${b * 32} ${hist[b]}\r\n`;
  return `${s}END\r\n`;
}

/** `stats sizes_enable`: count items stored from now on (memcached takes a cas unique to mark "now"). */
export function sizesEnable(st: CacheStore): string {
  if (st.sizesCasMin < 0) st.sizesCasMin = ++st.casId;
  return "STAT sizes_status enabled\r\nEND\r\n";
}

export function sizesDisable(st: CacheStore): string {
  st.sizesCasMin = -1;
  return `${SIZES_DISABLED}END\r\n`;
}

/** memcached's cap on a cachedump reply. */
const CACHEDUMP_MAX = 2 * 1024 * 1024;

/**
 * `stats cachedump <class> <limit>` (memcached's item_cachedump): "ITEM key [bytes b; exptime s]"
 * for the items of class `id`, most recent first, binary keys left out, at most `limit` (0 = all)
 * and 2 MB; expired items not yet reclaimed are listed, as memcached lists them.
 */
export function cachedumpText(st: CacheStore, id: number, limit: number): string {
  let s = "";
  const c = id - 1;
  if (c >= 0 && c <= NCLASSES) {
    let shown = 0;
    for (let i = st.lruHead(c); i >= 0 && (limit === 0 || shown < limit); i = st.lruNext(i)) {
      if ((st.iflags[i]! & IT_KEY_BINARY) !== 0) continue;
      const at = st.base(i);
      const key = String.fromCharCode(...st.buf(i).subarray(at, at + st.nkey[i]!));
      const line = `ITEM ${key} [${st.nbytes[i]! - 2} b; ${st.absTime(st.exptime[i]!)} s]\r\n`;
      if (s.length + line.length + 6 > CACHEDUMP_MAX) break;
      s += line;
      shown++;
    }
  }
  return `${s}END\r\n`;
}
