// The cache store: what may be stored, the memory limit and eviction, and the logging of every change (memcached's do_store_item).
//
// The items themselves (slots, hash table, LRU lists, clock) are table.ts's ItemTable, which
// CacheStore extends; this file decides what goes in and out of it:
//
// Memory is the arena's: when a class needs a chunk and the limit allows no new page, the tail
// of that class's LRU goes (memcached's per-class LRU); a class with nothing to evict takes a
// page from the class holding the most, evicting that page's items (memcached's slab rebalancing,
// done on demand).
//
// Every change a client makes goes through a method here that also tells the journal (after the
// change, with the result: the whole new item, never the command); replay (replay.ts) goes
// around the journal.

import { hashMurmur } from "../../hashkit/murmur.ts";
import { FREE, NO_MEMORY, PAGE, RESERVED } from "./arena.ts";
import type { Journal, JournalItem, JournalTarget } from "../journal.ts";
import { IT_FETCHED, IT_KEY_BINARY, IT_SHARED, IT_STALE, IT_TOKEN_SENT, ItemTable } from "./table.ts";
import { replayFlushAll, replaySet, snapshotItems } from "./replay.ts";

export { IT_FETCHED, IT_KEY_BINARY, IT_SHARED, IT_STALE, IT_TOKEN_SENT, REALTIME_MAXDELTA } from "./table.ts";
export { NO_MEMORY };

/** memcached's sizeof(item) + the cas field: what its item size limit counts besides key and value. */
export const ITEM_HEADER = 56;

/** Results of storeItem, as memcached's store_item_type. */
export const STORED = 0;
export const EXISTS = 1;
export const NOT_FOUND = 2;
export const NOT_STORED = 3;

/** Storage modes (memcached's NREAD_*). */
export const NREAD_ADD = 1;
export const NREAD_SET = 2;
export const NREAD_REPLACE = 3;
export const NREAD_APPEND = 4;
export const NREAD_PREPEND = 5;
export const NREAD_CAS = 6;

export interface StoreOptions {
  /** Bytes of arena (pages and large items' buffers) the items may take. */
  readonly memoryLimit: number;
  /** memcached -I: largest item (ITEM_HEADER + key + 1 + flags + value + 2). */
  readonly itemSizeMax: number;
  /** Wall clock in unix seconds when the store is made. */
  readonly unixNow: number;
}

export class CacheStore extends ItemTable implements JournalTarget {
  /** Persistence, when attached: told of every mutation after it is applied. */
  journal: Journal | null = null;
  readonly itemSizeMax: number;
  /** Items above this size are "chunked" in memcached, and incr/decr refuse them. */
  readonly chunkMax: number;
  /** cas of the item the last storeItem stored (memcached's c->cas). */
  lastCas = 0;

  constructor(opts: StoreOptions) {
    super(opts.memoryLimit, opts.unixNow);
    this.itemSizeMax = opts.itemSizeMax;
    this.chunkMax = Math.min(524288, Math.floor(opts.itemSizeMax / 2));
  }

  get memoryLimit(): number {
    return this.arena.limit;
  }

  /** Whether an item of this key length, flags and nbytes fits memcached's item size limit. */
  sizeOk(nkey: number, flags: number, nbytes: number): boolean {
    return ITEM_HEADER + nkey + 1 + (flags === 0 ? 0 : 4) + nbytes <= this.itemSizeMax;
  }

  /** Whether an item of this size could be held at all under the memory limit. */
  memoryOk(nkey: number, nbytes: number): boolean {
    const need = nkey + nbytes;
    return this.arena.classOf(need) >= 0 ? PAGE <= this.arena.limit : need <= this.arena.limit;
  }

  /** cache_memlimit: a new limit, evicting down to it. */
  setMemoryLimit(bytes: number): void {
    this.arena.limit = bytes;
    this.freeMemory(0);
  }

  /**
   * Memory for `need` bytes of key and value: a chunk of the right class or a buffer of its own,
   * evicting as memcached would; NO_MEMORY when nothing can be freed. The memory is reserved (no
   * eviction or page move touches it) until link() or release().
   */
  alloc(need: number): number {
    const a = this.arena;
    const c = a.classOf(need);
    if (c < 0) {
      if (need > a.limit || !this.freeMemory(need)) return NO_MEMORY;
      return a.allocBig(need);
    }
    for (;;) {
      const loc = a.allocChunk(c);
      if (loc !== NO_MEMORY) return loc;
      if (a.growClass(c)) continue;
      if (this.evictTail(c)) continue;
      if (this.stealPage(c)) continue;
      // large items hold memory a page could use
      if (this.evictTail(a.nclasses)) continue;
      return NO_MEMORY;
    }
  }

  /** Give back memory from alloc() that was not linked. */
  release(loc: number): void {
    this.arena.release(loc);
  }

  /** Evict the LRU tail of class `c` (dead items count as reclaimed); false when it is empty. */
  private evictTail(c: number): boolean {
    const t = this.tails[c]!;
    if (t < 0) return false;
    this.evictOne(t);
    return true;
  }

  private evictOne(t: number): void {
    if (this.isDead(t)) {
      this.stats.reclaimed++;
      if ((this.iflags[t]! & IT_FETCHED) === 0) this.stats.expired_unfetched++;
    } else {
      this.stats.evictions++;
      if ((this.iflags[t]! & IT_FETCHED) === 0) this.stats.evicted_unfetched++;
      else this.stats.evicted_active++;
    }
    this.unlink(t);
  }

  /** Evict every item of page `p`; false (page untouched) when a chunk in it is reserved. */
  private emptyPage(p: number): boolean {
    const own = this.arena.owners[p]!;
    for (let j = 0; j < own.length; j++) if (own[j] === RESERVED) return false;
    for (let j = 0; j < own.length; j++) {
      const slot = own[j]!;
      if (slot !== FREE) this.evictOne(slot);
    }
    return this.arena.detach(p);
  }

  /** The class with the most pages other than `c` (-1 when none has any). */
  private richestClass(c: number): number {
    let best = -1;
    let n = 0;
    const cp = this.arena.classPages;
    for (let k = 0; k < cp.length; k++) {
      if (k !== c && cp[k]!.length > n) {
        n = cp[k]!.length;
        best = k;
      }
    }
    return best;
  }

  /** Move a page from the richest class to class `c`, evicting its items; false when none can move. */
  private stealPage(c: number): boolean {
    const v = this.richestClass(c);
    if (v < 0) return false;
    for (const p of [...this.arena.classPages[v]!]) {
      if (this.emptyPage(p)) {
        this.arena.assign(p, c);
        return true;
      }
    }
    return false;
  }

  /** Free memory until `need` more bytes fit the limit: large items first, then whole pages. */
  private freeMemory(need: number): boolean {
    const a = this.arena;
    while (a.bytes + need > a.limit) {
      if (this.evictTail(a.nclasses)) continue;
      const v = this.richestClass(-1);
      if (v < 0) return false;
      let freed = false;
      for (const p of [...a.classPages[v]!]) {
        if (this.emptyPage(p)) {
          a.dropPage(p);
          freed = true;
          break;
        }
      }
      if (!freed) return false;
    }
    return true;
  }

  /**
   * memcached's do_store_item for a new item at `loc` (key then value then \r\n, from alloc()),
   * under `comm` (NREAD_*), with the request's cas (0 = none). `setStale` is the ms I flag.
   * Returns STORED, EXISTS, NOT_FOUND or NOT_STORED; on STORED, `lastCas` is the new item's cas.
   * `loc` is the store's afterwards either way.
   */
  storeItem(comm: number, loc: number, nkey: number, nbytes: number, flags: number, exptime: number, reqCas: number, setStale: boolean, bits: number): number {
    const a = this.arena;
    let data = a.buf(loc);
    let at = a.base(loc);
    const h = hashMurmur(data, at, at + nkey);
    const old = this.getHashed(data, at, at + nkey, h);
    if (old >= 0) {
      const oldCas = this.cas[old]!;
      // CAS_NONE 0, CAS_MATCH 1, CAS_STALE 2, CAS_BADVAL 3
      const casRes = reqCas === 0 ? 0 : reqCas === oldCas ? 1 : setStale && reqCas < oldCas ? 2 : 3;
      let result = NOT_STORED;
      let doStore = false;
      switch (comm) {
        case NREAD_ADD:
          this.update(old); // add only promotes the existing item
          break;
        case NREAD_CAS:
          if (casRes === 1) {
            this.stats.cas_hits++;
            doStore = true;
          } else if (casRes === 2) {
            exptime = this.exptime[old]!;
            bits |= IT_STALE | (this.iflags[old]! & IT_TOKEN_SENT);
            this.stats.cas_hits++;
            doStore = true;
          } else {
            this.stats.cas_badval++;
            result = EXISTS;
          }
          break;
        case NREAD_APPEND:
        case NREAD_PREPEND: {
          if (casRes !== 0 && casRes !== 1) {
            result = EXISTS;
            break;
          }
          const oldFlags = this.flags[old]!;
          const on = this.nbytes[old]!;
          const total = nbytes + on - 2;
          if (!this.sizeOk(nkey, oldFlags, total) || !this.memoryOk(nkey, total)) break; // NOT_STORED
          // the old value is copied out first: making room may evict it
          const ob = this.buf(old);
          const oa = this.base(old);
          const oldValue = ob.slice(oa + nkey, oa + nkey + on - 2);
          const oldExp = this.exptime[old]!;
          const oldBits = this.iflags[old]! & IT_KEY_BINARY;
          const nloc = this.alloc(nkey + total);
          if (nloc === NO_MEMORY) break;
          const nd = a.buf(nloc);
          const na = a.base(nloc);
          nd.set(data.subarray(at, at + nkey), na);
          if (comm === NREAD_APPEND) {
            nd.set(oldValue, na + nkey);
            nd.set(data.subarray(at + nkey, at + nkey + nbytes), na + nkey + on - 2);
          } else {
            nd.set(data.subarray(at + nkey, at + nkey + nbytes - 2), na + nkey);
            nd.set(oldValue, na + nkey + nbytes - 2);
            nd[na + nkey + total - 2] = 13;
            nd[na + nkey + total - 1] = 10;
          }
          a.release(loc);
          loc = nloc;
          data = nd;
          at = na;
          nbytes = total;
          flags = oldFlags;
          exptime = oldExp;
          bits |= oldBits;
          doStore = true;
          break;
        }
        default: // NREAD_SET, NREAD_REPLACE
          doStore = true;
      }
      if (!doStore) {
        a.release(loc);
        return result;
      }
      // alloc() may have evicted the old item meanwhile; if not, its slot takes the new item
      const still = this.find(data, at, at + nkey, h);
      if (still >= 0) {
        this.relink(still, loc, nbytes, flags, exptime, bits);
        this.lastCas = this.cas[still]!;
        if (this.journal !== null) this.journal.set(this.journalItem(still));
        return STORED;
      }
    } else {
      if (comm === NREAD_CAS) this.stats.cas_misses++;
      if (comm !== NREAD_ADD && comm !== NREAD_SET) {
        a.release(loc);
        return comm === NREAD_CAS ? NOT_FOUND : NOT_STORED;
      }
    }
    const i = this.link(loc, nkey, nbytes, flags, exptime, bits, h);
    this.lastCas = this.cas[i]!;
    if (this.journal !== null) this.journal.set(this.journalItem(i));
    return STORED;
  }

  /** storeItem for bytes held elsewhere (`data` = key, value, \r\n): copies them into the arena. */
  storeBytes(comm: number, data: Uint8Array, nkey: number, flags: number, exptime: number, bits: number, reqCas = 0): number {
    const loc = this.alloc(data.length);
    if (loc === NO_MEMORY) return NOT_STORED;
    this.arena.buf(loc).set(data, this.arena.base(loc));
    return this.storeItem(comm, loc, nkey, data.length - nkey, flags, exptime, reqCas, false, bits);
  }

  /** A client removed slot `i` (delete, md, a failed set): unlink and log it. */
  remove(i: number): void {
    if (this.journal !== null) this.journal.delete(this.key(i));
    this.unlink(i);
  }

  /** A client changed slot `i`'s expiry (touch, gat, mg T, ma T, md I T): set and log it. */
  setExptime(i: number, exptime: number): void {
    this.exptime[i] = exptime;
    if (this.journal !== null) this.journal.touch(this.key(i), this.absTime(exptime));
  }

  /** Slot `i` changed in place (md I): give it a new cas and log the whole item. */
  changed(i: number): void {
    this.cas[i] = ++this.casId;
    if (this.journal !== null) this.journal.set(this.journalItem(i));
  }

  /**
   * Replace slot `i`'s value by `value[0..n)` (incr/decr): in place, padded with spaces as memcached
   * does, when it fits and the bytes are not shared with a socket; else as a new item. Returns the
   * slot, or -1 when there is no memory for the new item (the old one stays).
   */
  replaceValue(i: number, value: Uint8Array, n: number): number {
    const nb = this.nbytes[i]!;
    const nkey = this.nkey[i]!;
    if (n + 2 <= nb && (this.iflags[i]! & IT_SHARED) === 0) {
      const b = this.buf(i);
      const at = this.base(i) + nkey;
      for (let k = 0; k < n; k++) b[at + k] = value[k]!;
      b.fill(32, at + n, at + nb - 2); // 32 = ' '
      this.update(i);
      this.changed(i);
      return i;
    }
    const key = this.key(i).slice();
    const flags = this.flags[i]!;
    const exptime = this.exptime[i]!;
    const bits = this.iflags[i]! & IT_KEY_BINARY;
    const h = this.hv[i]!;
    const loc = this.alloc(nkey + n + 2);
    if (loc === NO_MEMORY) return -1;
    const d = this.arena.buf(loc);
    const at = this.arena.base(loc);
    d.set(key, at);
    d.set(value.subarray(0, n), at + nkey);
    d[at + nkey + n] = 13;
    d[at + nkey + n + 1] = 10;
    const still = this.find(key, 0, nkey, h); // alloc() may have evicted it
    if (still >= 0) this.unlink(still);
    const j = this.link(loc, nkey, n + 2, flags, exptime, bits, h);
    if (this.journal !== null) this.journal.set(this.journalItem(j));
    return j;
  }

  /** memcached's flush_all: invalidate everything stored before the delay runs out. */
  flushAll(delay: number): void {
    const newOldest = delay > 0 ? this.realtime(delay) : this.now;
    this.oldestLive = newOldest - 1;
    if (this.oldestLive <= this.now) this.oldestCas = ++this.casId;
    if (this.journal !== null) this.journal.flushAll(this.absTime(newOldest));
  }

  // JournalTarget (replay.ts): replay puts items back without logging them again.

  applySet(item: JournalItem): void {
    replaySet(this, item);
  }

  applyDelete(key: Uint8Array): void {
    const i = this.find(key, 0, key.length, hashMurmur(key, 0, key.length));
    if (i >= 0) this.unlink(i);
  }

  applyTouch(key: Uint8Array, exptime: number): void {
    const i = this.find(key, 0, key.length, hashMurmur(key, 0, key.length));
    if (i >= 0) this.exptime[i] = this.relTime(exptime);
  }

  applyFlushAll(at: number): void {
    replayFlushAll(this, at);
  }

  forEachItem(fn: (item: JournalItem) => void): void {
    snapshotItems(this, fn);
  }

  /**
   * The snapshot walk in pieces: live items of slots `cursor` to `cursor + max`, as views valid
   * during the callback; returns the next cursor, or -1 after the last slot. An item keeps its
   * slot until it goes; a set on its key reuses the slot, and every other move is a logged set.
   */
  forEachItemFrom(cursor: number, max: number, fn: (item: JournalItem) => void): number {
    const end = Math.min(this.cap, cursor + max);
    for (let i = cursor; i < end; i++) if (this.nbytes[i] !== 0 && !this.isDead(i)) fn(this.journalItem(i));
    return end >= this.cap ? -1 : end;
  }

}
