// Fixed-size, reference-counted buffer chunks from a free list (twemproxy's nc_mbuf.c).
//
// Every byte the proxy keeps lives in an mbuf of `-m` bytes. A message is a chain of mbufs; two
// consecutive messages of one connection may share the mbuf where the first ends and the second
// begins, so an mbuf carries a reference count instead of being split and copied as twemproxy's
// mbuf_split does:
//
//   mbuf:  [ ...msg A bytes... | ...msg B bytes... | free space ]
//          ^0                  ^A.end = B.start    ^last        ^size
//
// An mbuf goes back to the free list when its last reference is dropped. Steady state allocates
// nothing: the free list only grows to the peak number of mbufs in use.

/** One chunk. `last` is the end of the written bytes; bytes past it are free space. */
export class Mbuf {
  readonly buf: Uint8Array;
  last = 0;
  refs = 0;

  constructor(size: number) {
    this.buf = new Uint8Array(size);
  }
}

/** The free list of mbufs of one size (`-m`, 512..16777216, default 16384). */
export class MbufPool {
  readonly size: number;
  private readonly free: Mbuf[] = [];
  /** Mbufs created so far (free + in use), for stats and leak checks. */
  allocated = 0;

  constructor(size: number) {
    this.size = size;
  }

  /** An empty mbuf holding one reference. */
  get(): Mbuf {
    const m = this.free.pop() ?? this.create();
    m.last = 0;
    m.refs = 1;
    return m;
  }

  /** Drop one reference; the mbuf returns to the free list with the last one. */
  put(m: Mbuf): void {
    if (--m.refs === 0) this.free.push(m);
    else if (m.refs < 0) throw new RangeError("Cannot release mbuf: reference count below zero");
  }

  /** Mbufs currently referenced by messages. */
  get inUse(): number {
    return this.allocated - this.free.length;
  }

  private create(): Mbuf {
    this.allocated++;
    return new Mbuf(this.size);
  }
}
