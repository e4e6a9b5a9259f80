// Slab memory for item bytes (memcached's slabs.c): 1 MB pages, each carved into chunks of one size class.
//
//   pages[p]: | chunk 0 | chunk 1 | ... |      every chunk of page p has size sizes[pageClass[p]]
//   owners[p][j]: slot of the item in chunk j, FREE, or RESERVED (being filled by a set in flight)
//
// A location ("loc") is a number: p * PAGE + offset for a chunk, -(b + 1) for an item too large
// for the largest chunk, which gets a buffer of its own (bigs[b]). Items never move, so nothing
// is copied on a hit and no JS object exists per item: the garbage collector sees a few hundred
// pages instead of millions of buffers. The price is memcached's: memory given to one class stays
// with it until a page is reassigned (the store does that when a class has nothing to evict).

export const PAGE = 1 << 20;
/** The largest chunk; larger items get their own buffer. */
export const MAX_CHUNK = PAGE / 4;
const MIN_CHUNK = 32;
const GROWTH = 1.25;
export const FREE = -1;
export const RESERVED = -2;
/** No memory to give (never a valid loc). */
export const NO_MEMORY = Number.MIN_SAFE_INTEGER;

function classSizes(): number[] {
  const sizes: number[] = [];
  let size = MIN_CHUNK;
  while (size < MAX_CHUNK) {
    sizes.push(size);
    size = Math.ceil((size * GROWTH) / 8) * 8;
  }
  sizes.push(MAX_CHUNK);
  return sizes;
}

export class Arena {
  readonly sizes = classSizes();
  readonly nclasses = this.sizes.length;
  readonly perPage = this.sizes.map((s) => Math.floor(PAGE / s));
  limit: number;
  /** Bytes taken: whole pages plus the own buffers of large items. */
  bytes = 0;
  pages: (Uint8Array | null)[] = [];
  pageClass: number[] = [];
  owners: (Int32Array | null)[] = [];
  /** Indexes of pages given back (slots in `pages` to reuse). */
  private freePages: number[] = [];
  /** Free chunks per class, as locs. */
  private free: number[][];
  /** Per class: the page being carved and its next chunk, or -1. */
  private bumpPage: Int32Array;
  private bumpNext: Int32Array;
  /** Pages of each class. */
  readonly classPages: number[][];
  bigs: (Uint8Array | null)[] = [];
  private bigFree: number[] = [];
  /** memcached's slabs_moved: pages reassigned to another class. */
  slabsMoved = 0;

  constructor(limit: number) {
    this.limit = limit;
    this.free = this.sizes.map(() => []);
    this.classPages = this.sizes.map(() => []);
    this.bumpPage = new Int32Array(this.nclasses).fill(-1);
    this.bumpNext = new Int32Array(this.nclasses);
  }

  /** The class for `n` bytes, or -1 when it needs a buffer of its own. */
  classOf(n: number): number {
    if (n > MAX_CHUNK) return -1;
    // binary search: sizes grow geometrically, about 40 classes
    let lo = 0;
    let hi = this.nclasses - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.sizes[mid]! >= n) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** The buffer holding `loc`. */
  buf(loc: number): Uint8Array {
    return loc >= 0 ? this.pages[Math.floor(loc / PAGE)]! : this.bigs[-loc - 1]!;
  }

  /** The offset of `loc` in its buffer. */
  base(loc: number): number {
    return loc >= 0 ? loc % PAGE : 0;
  }

  /** A chunk of class `c` from the free list or the page being carved; NO_MEMORY when there is none. */
  allocChunk(c: number): number {
    const f = this.free[c]!;
    let loc: number;
    if (f.length > 0) loc = f.pop()!;
    else {
      const p = this.bumpPage[c]!;
      if (p < 0) return NO_MEMORY;
      const j = this.bumpNext[c]!;
      loc = p * PAGE + j * this.sizes[c]!;
      if (j + 1 >= this.perPage[c]!) this.bumpPage[c] = -1;
      else this.bumpNext[c] = j + 1;
    }
    this.setOwner(loc, RESERVED);
    return loc;
  }

  /** Give class `c` a new page if the limit allows; false when it does not. */
  growClass(c: number): boolean {
    if (this.bytes + PAGE > this.limit) return false;
    const p = this.freePages.length > 0 ? this.freePages.pop()! : this.pages.length;
    this.pages[p] = new Uint8Array(PAGE);
    this.bytes += PAGE;
    this.assign(p, c);
    return true;
  }

  /** Make page `p` (empty of items) a page of class `c`, carved from its start. */
  assign(p: number, c: number): void {
    this.pageClass[p] = c;
    this.owners[p] = new Int32Array(this.perPage[c]!).fill(FREE);
    this.classPages[c]!.push(p);
    // the page being carved goes on the free list first, so carving continues on the new page
    const old = this.bumpPage[c]!;
    if (old >= 0) {
      for (let j = this.bumpNext[c]!; j < this.perPage[c]!; j++) this.free[c]!.push(old * PAGE + j * this.sizes[c]!);
    }
    this.bumpPage[c] = p;
    this.bumpNext[c] = 0;
  }

  /**
   * Take page `p` from its class: its chunks must all be free (the caller evicted the items).
   * Returns false, touching nothing, when a chunk is reserved by a set in flight.
   */
  detach(p: number): boolean {
    const own = this.owners[p]!;
    for (let j = 0; j < own.length; j++) if (own[j] !== FREE) return false;
    const c = this.pageClass[p]!;
    const lo = p * PAGE;
    const hi = lo + PAGE;
    this.free[c] = this.free[c]!.filter((loc) => loc < lo || loc >= hi);
    if (this.bumpPage[c] === p) this.bumpPage[c] = -1;
    const cp = this.classPages[c]!;
    cp.splice(cp.indexOf(p), 1);
    this.slabsMoved++;
    return true;
  }

  /** Give a detached page's memory back. */
  dropPage(p: number): void {
    this.pages[p] = null;
    this.owners[p] = null;
    this.freePages.push(p);
    this.bytes -= PAGE;
  }

  /** A buffer of its own for a large item; NO_MEMORY when the limit does not allow it now. */
  allocBig(n: number): number {
    if (this.bytes + n > this.limit) return NO_MEMORY;
    const b = this.bigFree.length > 0 ? this.bigFree.pop()! : this.bigs.length;
    this.bigs[b] = new Uint8Array(n);
    this.bytes += n;
    return -(b + 1);
  }

  /** Return `loc` (a chunk to its class, a large item's buffer to the garbage collector). */
  release(loc: number): void {
    if (loc >= 0) {
      this.setOwner(loc, FREE);
      this.free[this.pageClass[Math.floor(loc / PAGE)]!]!.push(loc);
    } else {
      const b = -loc - 1;
      this.bytes -= this.bigs[b]!.length;
      this.bigs[b] = null;
      this.bigFree.push(b);
    }
  }

  /** Record who holds chunk `loc` (a slot, FREE or RESERVED); no-op for large items. */
  setOwner(loc: number, slot: number): void {
    if (loc < 0) return;
    const p = Math.floor(loc / PAGE);
    this.owners[p]![(loc % PAGE) / this.sizes[this.pageClass[p]!]!] = slot;
  }
}
