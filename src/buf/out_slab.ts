// Output buffers for socket writes, cut from shared slabs instead of one allocation per write.
//
// A typed-array backing store is an expensive allocation on every runtime (and GC work after);
// a write of a few hundred bytes then costs a view, not a buffer. Regions are never reused: a
// slab lives until the last write cut from it is sent, so a stalled socket can pin at most one
// slab, which is why slabs are small and big writes get their own buffer.

const SLAB = 16 * 1024;
const SMALL = 2 * 1024;

export class OutSlab {
  private slab = new ArrayBuffer(SLAB);
  private used = 0;

  /** A fresh, writable region of `n` bytes, to be handed to one socket write. */
  take(n: number): Uint8Array {
    if (n > SMALL) return new Uint8Array(n);
    if (this.used + n > SLAB) {
      this.slab = new ArrayBuffer(SLAB);
      this.used = 0;
    }
    const out = new Uint8Array(this.slab, this.used, n);
    this.used += n;
    return out;
  }
}
