// The cache's items: a byte-keyed hash table, LRU lists and a memory limit over slot arrays (memcached's items.c + assoc.c).
//
// An item is a slot index. Its metadata lives in typed arrays (one entry per slot) and its bytes
// in the arena (arena.ts) at `loc[slot]`, laid out as memcached lays out an item's data:
//
//   | key (nkey bytes) | value (nbytes - 2 bytes) | \r\n |
//
// so a get reply copies "value\r\n" in one go and a set reads its data block straight into the
// chunk it keeps. Keys are never turned into strings: the table hashes the request bytes where
// they lie (murmur2) and compares bytes, so a lookup allocates nothing.
//
//   buckets[h & mask] -> slot -> hnext[slot] -> ...          chains of the hash table
//   head[c] <-> next/prev <-> ... <-> tail[c]               LRU of size class c, most recent first
//
// Memory is the arena's: when a class needs a chunk and the limit allows no new page, the tail
// of that class's LRU goes (memcached's per-class LRU); a class with nothing to evict takes a
// page from the class holding the most, evicting that page's items (memcached's slab rebalancing,
// done on demand).
//
// Time is memcached's: `now` is seconds since `processStarted` (the start minus 62 s, as memcached
// does so that no live time is 0), exptime 0 means never. flush_all is memcached's lazy flush: an
// item is dead once `oldestLive` has passed and the item was last stored or bumped at or before it,
// or its cas is older than `oldestCas` (what makes an immediate flush exact within one second).

import { hashMurmur } from "../../hashkit/murmur.ts";
import { Arena, FREE, NO_MEMORY, PAGE, RESERVED } from "./arena.ts";
import type { Journal, JournalItem, JournalTarget } from "../journal.ts";
import { CacheStats } from "../proto/stats.ts";
import { replayFlushAll, replaySet, snapshotItems } from "./replay.ts";

/** Item flag bits (iflags). FETCHED/TOKEN_SENT/STALE/KEY_BINARY are memcached's ITEM_* bits. */
export const IT_FETCHED = 1;
export const IT_TOKEN_SENT = 2;
export const IT_STALE = 4;
export const IT_KEY_BINARY = 8;
/** The value bytes were handed to a socket without a copy: never rewrite them in place. */
export const IT_SHARED = 16;

/** memcached's sizeof(item) + the cas field: what its item size limit counts besides key and value. */
export const ITEM_HEADER = 56;
/** memcached bumps an item's time at most once per this many seconds (ITEM_UPDATE_INTERVAL). */
const UPDATE_INTERVAL = 60;
/** Relative expiry times up to 30 days; larger exptimes are absolute unix times. */
export const REALTIME_MAXDELTA = 60 * 60 * 24 * 30;
export { NO_MEMORY };

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

export class CacheStore implements JournalTarget {
  /** Persistence, when attached: told of every mutation after it is applied. */
  journal: Journal | null = null;
  readonly stats = new CacheStats();
  readonly arena: Arena;
  readonly itemSizeMax: number;
  /** Items above this size are "chunked" in memcached, and incr/decr refuse them. */
  readonly chunkMax: number;
  readonly processStarted: number;
  /** memcached's current_time: seconds since processStarted. */
  now = 0;
  /** flush_all state (memcached's settings.oldest_live / oldest_cas); 0 = none. */
  oldestLive = 0;
  oldestCas = 0;
  /** The last cas unique handed out. */
  casId = 0;
  /** cas of the item the last storeItem stored (memcached's c->cas). */
  lastCas = 0;
  /** Key and value bytes of the live items (memcached's "bytes" stat). */
  itemBytes = 0;
  count = 0;

  // slot arrays, grown together; a free slot has nbytes 0
  private cap = 0;
  /** Where each item's bytes are (arena.ts). */
  loc = new Float64Array(0);
  nkey = new Uint8Array(0);
  /** Value length + 2 (the \r\n), as memcached's it->nbytes. */
  nbytes = new Int32Array(0);
  flags = new Uint32Array(0);
  exptime = new Int32Array(0);
  time = new Int32Array(0);
  cas = new Float64Array(0);
  iflags = new Uint8Array(0);
  /** Size class of each item (arena.nclasses for an item with a buffer of its own). */
  private cls = new Uint8Array(0);
  /** Hash of each slot's key (murmur2, unsigned). */
  private hv = new Uint32Array(0);
  private hnext = new Int32Array(0);
  private prev = new Int32Array(0);
  private next = new Int32Array(0);
  private freeHead = -1;
  private buckets = new Int32Array(0);
  private mask = 0;
  private readonly heads: Int32Array;
  private readonly tails: Int32Array;
  /** Next slot the crawler looks at. */
  private crawlAt = 0;

  constructor(opts: StoreOptions) {
    this.arena = new Arena(opts.memoryLimit);
    this.itemSizeMax = opts.itemSizeMax;
    this.chunkMax = Math.min(524288, Math.floor(opts.itemSizeMax / 2));
    this.processStarted = opts.unixNow - UPDATE_INTERVAL - 2;
    this.heads = new Int32Array(this.arena.nclasses + 1).fill(-1);
    this.tails = new Int32Array(this.arena.nclasses + 1).fill(-1);
    this.tick(opts.unixNow);
    this.grow(1024);
    this.buckets = new Int32Array(1024).fill(-1);
    this.mask = 1023;
  }

  get memoryLimit(): number {
    return this.arena.limit;
  }

  /** Set the clock from the wall clock (unix seconds). */
  tick(unixNow: number): void {
    const t = unixNow - this.processStarted;
    if (t > this.now) this.now = t;
  }

  /** memcached's realtime(): an exptime from a request to a relative time (0 = never). */
  realtime(exptime: number): number {
    if (exptime === 0) return 0;
    if (exptime < 0) exptime = REALTIME_MAXDELTA + 1; // EXPTIME_TO_POSITIVE_TIME: already expired
    if (exptime > REALTIME_MAXDELTA) {
      if (exptime <= this.processStarted) return 1;
      return (exptime - this.processStarted) >>> 0;
    }
    return exptime + this.now;
  }

  /** Absolute unix time of a relative expiry (0 stays 0), for the journal. */
  absTime(rel: number): number {
    return rel === 0 ? 0 : rel + this.processStarted;
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

  /** The buffer holding slot `i`'s bytes, and where in it they start. */
  buf(i: number): Uint8Array {
    return this.arena.buf(this.loc[i]!);
  }

  base(i: number): number {
    return this.arena.base(this.loc[i]!);
  }

  /** Whether slot `i`'s bytes are a buffer of their own (a large item) rather than a shared page. */
  ownBuffer(i: number): boolean {
    return this.loc[i]! < 0;
  }

  private grow(cap: number): void {
    const old = this.cap;
    const copy = <T extends Uint8Array | Int32Array | Uint32Array | Float64Array>(a: T, make: (n: number) => T): T => {
      const b = make(cap);
      b.set(a);
      return b;
    };
    this.loc = copy(this.loc, (n) => new Float64Array(n));
    this.nkey = copy(this.nkey, (n) => new Uint8Array(n));
    this.nbytes = copy(this.nbytes, (n) => new Int32Array(n));
    this.flags = copy(this.flags, (n) => new Uint32Array(n));
    this.exptime = copy(this.exptime, (n) => new Int32Array(n));
    this.time = copy(this.time, (n) => new Int32Array(n));
    this.cas = copy(this.cas, (n) => new Float64Array(n));
    this.iflags = copy(this.iflags, (n) => new Uint8Array(n));
    this.cls = copy(this.cls, (n) => new Uint8Array(n));
    this.hv = copy(this.hv, (n) => new Uint32Array(n));
    this.hnext = copy(this.hnext, (n) => new Int32Array(n));
    this.prev = copy(this.prev, (n) => new Int32Array(n));
    this.next = copy(this.next, (n) => new Int32Array(n));
    // new slots go on the free list, lowest index first
    for (let i = cap - 1; i >= old; i--) {
      this.hnext[i] = this.freeHead;
      this.freeHead = i;
    }
    this.cap = cap;
  }

  private rehash(size: number): void {
    const b = new Int32Array(size).fill(-1);
    const mask = size - 1;
    for (let i = 0; i < this.cap; i++) {
      if (this.nbytes[i] === 0) continue;
      const at = this.hv[i]! & mask;
      this.hnext[i] = b[at]!;
      b[at] = i;
    }
    this.buckets = b;
    this.mask = mask;
  }

  /** The slot holding key `buf[s..e)` (hash `h`), dead or alive; -1 when absent. */
  find(buf: Uint8Array, s: number, e: number, h: number): number {
    const n = e - s;
    for (let i = this.buckets[h & this.mask]!; i >= 0; i = this.hnext[i]!) {
      if (this.hv[i] !== h || this.nkey[i] !== n) continue;
      const loc = this.loc[i]!;
      const k = this.arena.buf(loc);
      const o = this.arena.base(loc);
      let j = 0;
      while (j < n && k[o + j] === buf[s + j]) j++;
      if (j === n) return i;
    }
    return -1;
  }

  /** Whether slot `i` is dead by flush_all. */
  isFlushed(i: number): boolean {
    const ol = this.oldestLive;
    if (ol === 0 || ol > this.now) return false;
    return this.time[i]! <= ol || (this.oldestCas !== 0 && this.cas[i] !== 0 && this.cas[i]! < this.oldestCas);
  }

  /** Whether slot `i` is dead by expiry or flush. */
  isDead(i: number): boolean {
    const x = this.exptime[i]!;
    return (x !== 0 && x <= this.now) || this.isFlushed(i);
  }

  /**
   * memcached's do_item_get: the live item with key `buf[s..e)`, or -1. A dead item found on the
   * way is unlinked (lazy expiry). With `update`, the item is marked fetched and moved to the LRU head.
   */
  get(buf: Uint8Array, s: number, e: number, update: boolean): number {
    const i = this.getHashed(buf, s, e, hashMurmur(buf, s, e));
    if (i >= 0 && update) this.bump(i);
    return i;
  }

  /** get() with the hash already computed, without a bump. */
  private getHashed(buf: Uint8Array, s: number, e: number, h: number): number {
    const i = this.find(buf, s, e, h);
    if (i < 0) return -1;
    if (this.isFlushed(i)) {
      this.stats.get_flushed++;
      this.unlink(i);
      return -1;
    }
    const x = this.exptime[i]!;
    if (x !== 0 && x <= this.now) {
      this.stats.get_expired++;
      this.unlink(i);
      return -1;
    }
    return i;
  }

  /** memcached's do_item_bump: fetched bit, LRU head, and the item's time at most once a minute. */
  bump(i: number): void {
    this.iflags[i]! |= IT_FETCHED;
    if (this.time[i]! < this.now - UPDATE_INTERVAL) this.time[i] = this.now;
    this.toHead(i);
  }

  /** memcached's do_item_update (segmented LRU): the item's time and LRU place, not its fetched bit. */
  update(i: number): void {
    this.time[i] = this.now;
    this.toHead(i);
  }

  private toHead(i: number): void {
    const c = this.cls[i]!;
    if (this.heads[c] === i) return;
    this.lruRemove(i);
    this.lruPush(i);
  }

  private lruRemove(i: number): void {
    const c = this.cls[i]!;
    const p = this.prev[i]!;
    const n = this.next[i]!;
    if (p >= 0) this.next[p] = n;
    else this.heads[c] = n;
    if (n >= 0) this.prev[n] = p;
    else this.tails[c] = p;
  }

  private lruPush(i: number): void {
    const c = this.cls[i]!;
    const h = this.heads[c]!;
    this.prev[i] = -1;
    this.next[i] = h;
    if (h >= 0) this.prev[h] = i;
    this.heads[c] = i;
    if (this.tails[c]! < 0) this.tails[c] = i;
  }

  /** Remove slot `i` from the table and its LRU and free its memory and slot. Logs nothing. */
  unlink(i: number): void {
    const at = this.hv[i]! & this.mask;
    let p = this.buckets[at]!;
    if (p === i) this.buckets[at] = this.hnext[i]!;
    else {
      while (this.hnext[p] !== i) p = this.hnext[p]!;
      this.hnext[p] = this.hnext[i]!;
    }
    this.lruRemove(i);
    this.arena.release(this.loc[i]!);
    this.itemBytes -= this.nkey[i]! + this.nbytes[i]!;
    this.count--;
    this.nbytes[i] = 0;
    this.hnext[i] = this.freeHead;
    this.freeHead = i;
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
   * Link a new item (memcached's do_item_link) whose bytes are at `loc` (from alloc()): gets the
   * next cas unique and goes to the head of its LRU. The caller has removed any item with the
   * same key. Returns the slot.
   */
  link(loc: number, nkey: number, nbytes: number, flags: number, exptime: number, bits: number, h: number): number {
    if (this.freeHead < 0) this.grow(this.cap * 2);
    const i = this.freeHead;
    this.freeHead = this.hnext[i]!;
    this.loc[i] = loc;
    this.nkey[i] = nkey;
    this.nbytes[i] = nbytes;
    this.flags[i] = flags;
    this.exptime[i] = exptime;
    this.time[i] = this.now;
    this.cas[i] = ++this.casId;
    this.iflags[i] = bits;
    this.hv[i] = h;
    const c = this.arena.classOf(nkey + nbytes);
    this.cls[i] = c < 0 ? this.arena.nclasses : c;
    this.arena.setOwner(loc, i);
    const at = h & this.mask;
    this.hnext[i] = this.buckets[at]!;
    this.buckets[at] = i;
    this.lruPush(i);
    this.count++;
    this.itemBytes += nkey + nbytes;
    this.stats.total_items++;
    if (this.count > this.buckets.length + (this.buckets.length >> 1)) this.rehash(this.buckets.length * 2);
    return i;
  }

  /**
   * Put a new version of slot `i`'s item (same key, bytes at `loc`) in place of the old one: what
   * unlink + link would do, without touching the hash chain.
   */
  private relink(i: number, loc: number, nbytes: number, flags: number, exptime: number, bits: number): void {
    const nkey = this.nkey[i]!;
    this.lruRemove(i);
    this.arena.release(this.loc[i]!);
    this.itemBytes += nbytes - this.nbytes[i]!;
    this.loc[i] = loc;
    this.nbytes[i] = nbytes;
    this.flags[i] = flags;
    this.exptime[i] = exptime;
    this.time[i] = this.now;
    this.cas[i] = ++this.casId;
    this.iflags[i] = bits;
    const c = this.arena.classOf(nkey + nbytes);
    this.cls[i] = c < 0 ? this.arena.nclasses : c;
    this.arena.setOwner(loc, i);
    this.lruPush(i);
    this.stats.total_items++;
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

  /** Call `fn` with every slot that holds an item (it may unlink that slot). */
  forEachSlot(fn: (i: number) => void): void {
    for (let i = 0; i < this.cap; i++) if (this.nbytes[i] !== 0) fn(i);
  }

  /** The key bytes of slot `i` (a view, valid until the store changes). */
  key(i: number): Uint8Array {
    const at = this.base(i);
    return this.buf(i).subarray(at, at + this.nkey[i]!);
  }

  /** The journal's view of slot `i` (views into the arena: valid during the call only). */
  journalItem(i: number): JournalItem {
    const b = this.buf(i);
    const at = this.base(i);
    const nkey = this.nkey[i]!;
    return {
      key: b.subarray(at, at + nkey),
      flags: this.flags[i]!,
      exptime: this.absTime(this.exptime[i]!),
      cas: BigInt(this.cas[i]!),
      value: b.subarray(at + nkey, at + nkey + this.nbytes[i]! - 2),
    };
  }

  /**
   * The crawler's step: look at up to `max` slots from where the last step stopped and reclaim
   * the dead ones. Returns how many were reclaimed. Bounded work, so requests never wait long.
   */
  crawl(max: number): number {
    let n = 0;
    const end = Math.min(this.cap, this.crawlAt + max);
    for (let i = this.crawlAt; i < end; i++) {
      if (this.nbytes[i] === 0) continue;
      this.stats.crawler_items_checked++;
      if (this.isDead(i)) {
        if ((this.iflags[i]! & IT_FETCHED) === 0) this.stats.expired_unfetched++;
        this.unlink(i);
        this.stats.crawler_reclaimed++;
        n++;
      }
    }
    this.crawlAt = end >= this.cap ? 0 : end;
    return n;
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

  /** An absolute unix expiry from the journal as a relative time (0 = never, the past = dead). */
  relTime(abs: number): number {
    if (abs === 0) return 0;
    const r = abs - this.processStarted;
    return r <= 0 ? 1 : r;
  }
}
