// `lru_crawler metadump`: one line per live item in memcached 1.6.18's format, written in steps so a large store never holds up the event loop.
//
//   key=<URL-encoded key> exp=<unix time or -1> la=<unix time of last access> cas=<n> fetch=<yes|no> cls=<class> size=<bytes>\n
//   ...
//   END\r\n
//
// (the item lines end in "\n" alone, END in "\r\n", as memcached writes them). `memcached-tool
// HOST:PORT dump` and `keys` read this. memcached walks its LRUs in a thread of its own while the
// connection waits; we walk the slots, a bounded number per step (the session holds its input
// meanwhile), so items stored during a dump may or may not be in it, as in memcached.

import type { OutBuf } from "./output.ts";
import { ascii } from "./output.ts";
import { parseU32 } from "./numbers.ts";
import { NCLASSES } from "../store/arena.ts";
import { type CacheStore, IT_FETCHED } from "../store/store.ts";
import { classId } from "./slab_stats.ts";

/** memcached's MAX_NUMBER_OF_SLAB_CLASSES: class numbers run below it. */
const MAX_CLASS_ID = 64;

const HEX = ascii("0123456789ABCDEF");
const K_KEY = ascii("key=");
const K_EXP = ascii(" exp=");
const K_EXP_NEVER = ascii(" exp=-1");
const K_LA = ascii(" la=");
const K_CAS = ascii(" cas=");
const K_FETCH_YES = ascii(" fetch=yes cls=");
const K_FETCH_NO = ascii(" fetch=no cls=");
const K_SIZE = ascii(" size=");
export const DUMP_END = ascii("END\r\n");

/** Bytes memcached's uriencode() keeps as they are: letters, digits and "-._~". */
const PLAIN = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  const ch = String.fromCharCode(c);
  PLAIN[c] = /[A-Za-z0-9\-._~]/.test(ch) ? 1 : 0;
}

/** Append `src[s..e)` URL-encoded as memcached's uriencode() does (%XX, upper-case hex). */
export function uriEncode(out: OutBuf, src: Uint8Array, s: number, e: number): void {
  out.ensure(3 * (e - s));
  const c = out.chunk;
  let at = out.len;
  for (let i = s; i < e; i++) {
    const b = src[i]!;
    if (PLAIN[b] === 1) c[at++] = b;
    else {
      c[at++] = 37; // '%'
      c[at++] = HEX[b >> 4]!;
      c[at++] = HEX[b & 15]!;
    }
  }
  out.len = at;
}

/**
 * The classes `lru_crawler metadump <arg>` asks for: null for "all" or "hash" (every item), else
 * a flag per class index; "BADCLASS" as memcached refuses a number out of 1..63 or not a number.
 */
export function dumpClasses(arg: Uint8Array): Uint8Array | null | "BADCLASS" {
  const text = String.fromCharCode(...arg);
  if (text === "all" || text === "hash") return null;
  const want = new Uint8Array(NCLASSES + 1);
  // strtok_r on ",": empty pieces are skipped
  for (const piece of text.split(",")) {
    if (piece === "") continue;
    const b = ascii(piece);
    const id = parseU32(b, 0, b.length);
    if (id < 1 || id >= MAX_CLASS_ID) return "BADCLASS";
    if (id - 1 <= NCLASSES) want[id - 1] = 1;
  }
  return want;
}

/** One item's line. */
function writeLine(out: OutBuf, st: CacheStore, i: number): void {
  const at = st.base(i);
  out.put(K_KEY);
  uriEncode(out, st.buf(i), at, at + st.nkey[i]!);
  const x = st.exptime[i]!;
  if (x === 0) out.put(K_EXP_NEVER);
  else {
    out.put(K_EXP);
    out.num(st.absTime(x));
  }
  out.put(K_LA);
  out.num(st.absTime(st.time[i]!));
  out.put(K_CAS);
  out.num(st.cas[i]!);
  out.put((st.iflags[i]! & IT_FETCHED) !== 0 ? K_FETCH_YES : K_FETCH_NO);
  out.num(classId(st.cls[i]!));
  out.put(K_SIZE);
  out.num(st.itemTotal(i));
  out.byte(10);
}

/**
 * Lines for the live items of slots `from` to `from + max` (of the classes flagged in `classes`,
 * or all); returns the next slot, or -1 after the last one. An item is left out once its expiry
 * has passed or a flush_all covers it, as memcached's crawler leaves it out.
 */
export function metadumpStep(st: CacheStore, out: OutBuf, from: number, max: number, classes: Uint8Array | null): number {
  const end = Math.min(st.slotCount, from + max);
  for (let i = from; i < end; i++) {
    if (st.nbytes[i] === 0) continue;
    if (classes !== null && classes[st.cls[i]!] !== 1) continue;
    const x = st.exptime[i]!;
    if ((x !== 0 && x < st.now) || st.isFlushed(i)) continue;
    writeLine(out, st, i);
  }
  return end >= st.slotCount ? -1 : end;
}
