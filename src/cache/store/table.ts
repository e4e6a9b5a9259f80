// The cache's items: slot arrays, a byte-keyed hash table, LRU lists and the clock (memcached's items.c + assoc.c).
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
// Time is memcached's: `now` is seconds since `processStarted` (the start minus 62 s, as memcached
// does so that no live time is 0), exptime 0 means never. flush_all is memcached's lazy flush: an
// item is dead once `oldestLive` has passed and the item was last stored or bumped at or before it,
// or its cas is older than `oldestCas` (what makes an immediate flush exact within one second).
//
// The table only keeps items; what may be stored, the memory limit and eviction, and what each
// change logs are store.ts's, whose CacheStore extends this class.

import { hashMurmur } from "../../hashkit/murmur.ts";
import { Arena } from "./arena.ts";
import type { JournalItem } from "../journal.ts";
import { CacheStats } from "./stats.ts";

/** Item flag bits (iflags). FETCHED/TOKEN_SENT/STALE/KEY_BINARY are memcached's ITEM_* bits. */
export const IT_FETCHED = 1;
export const IT_TOKEN_SENT = 2;
export const IT_STALE = 4;
export const IT_KEY_BINARY = 8;
/** The value bytes were handed to a socket without a copy: never rewrite them in place. */
export const IT_SHARED = 16;

/** memcached bumps an item's time at most once per this many seconds (ITEM_UPDATE_INTERVAL). */
const UPDATE_INTERVAL = 60;
/** Relative expiry times up to 30 days; larger exptimes are absolute unix times. */
export const REALTIME_MAXDELTA = 60 * 60 * 24 * 30;

export class ItemTable {
  readonly stats = new CacheStats();
  readonly arena: Arena;
  readonly processStarted: number;
  /** memcached's current_time: seconds since processStarted. */
  now = 0;
  /** flush_all state (memcached's settings.oldest_live / oldest_cas); 0 = none. */
  oldestLive = 0;
  oldestCas = 0;
  /** The last cas unique handed out. */
  casId = 0;
  /** Key and value bytes of the live items (memcached's "bytes" stat). */
  itemBytes = 0;
  count = 0;

  // slot arrays, grown together; a free slot has nbytes 0
  protected cap = 0;
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
  protected hv = new Uint32Array(0);
  private hnext = new Int32Array(0);
  private prev = new Int32Array(0);
  private next = new Int32Array(0);
  private freeHead = -1;
  private buckets = new Int32Array(0);
  private mask = 0;
  private readonly heads: Int32Array;
  /** The LRU tail of each class: what eviction takes first. */
  protected readonly tails: Int32Array;
  /** Next slot the crawler looks at. */
  private crawlAt = 0;

  constructor(memoryLimit: number, unixNow: number) {
    this.arena = new Arena(memoryLimit);
    this.processStarted = unixNow - UPDATE_INTERVAL - 2;
    this.heads = new Int32Array(this.arena.nclasses + 1).fill(-1);
    this.tails = new Int32Array(this.arena.nclasses + 1).fill(-1);
    this.tick(unixNow);
    this.grow(1024);
    this.buckets = new Int32Array(1024).fill(-1);
    this.mask = 1023;
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

  /** An absolute unix expiry from the journal as a relative time (0 = never, the past = dead). */
  relTime(abs: number): number {
    if (abs === 0) return 0;
    const r = abs - this.processStarted;
    return r <= 0 ? 1 : r;
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
    // the same kind of array, `cap` long, starting with `a`
    const grown = <T extends Uint8Array | Int32Array | Uint32Array | Float64Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(cap);
      b.set(a);
      return b;
    };
    this.loc = grown(this.loc);
    this.nkey = grown(this.nkey);
    this.nbytes = grown(this.nbytes);
    this.flags = grown(this.flags);
    this.exptime = grown(this.exptime);
    this.time = grown(this.time);
    this.cas = grown(this.cas);
    this.iflags = grown(this.iflags);
    this.cls = grown(this.cls);
    this.hv = grown(this.hv);
    this.hnext = grown(this.hnext);
    this.prev = grown(this.prev);
    this.next = grown(this.next);
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
  protected getHashed(buf: Uint8Array, s: number, e: number, h: number): number {
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
  protected relink(i: number, loc: number, nbytes: number, flags: number, exptime: number, bits: number): void {
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
}
