// Feeds bytes whole, byte by byte, and at seeded random split points (STYLE rule 9).

/** A small deterministic PRNG (mulberry32) so failing splits can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Named ways to cut `bytes` into chunks: whole, every byte, and `seeds` random cuttings. */
export function splits(bytes: Uint8Array, seeds = 5): [string, Uint8Array[]][] {
  const out: [string, Uint8Array[]][] = [["whole", [bytes]]];
  const each: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i++) each.push(bytes.subarray(i, i + 1));
  out.push(["byte by byte", each]);
  for (let s = 1; s <= seeds; s++) {
    const rnd = prng(s);
    const parts: Uint8Array[] = [];
    let i = 0;
    while (i < bytes.length) {
      const n = 1 + Math.floor(rnd() * Math.min(64, bytes.length - i));
      parts.push(bytes.subarray(i, i + n));
      i += n;
    }
    out.push([`random split seed ${s}`, parts]);
  }
  return out;
}
