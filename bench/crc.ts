// Benchmark (issue 24): the append-only log's CRC-32 (src/cache/aof/crc.ts, slicing-by-8) against
// hash-wasm's crc32, on record sizes from 32 B to 1 MB, in MB/s and records/s.
//
//   bun bench/crc.ts [--ms 300]        (also runs under node after bundling; numbers are per runtime)
//
// Each size is timed for --ms milliseconds per implementation, alternating three rounds, and the
// best round is kept (a busy machine only ever makes a round slower). Both must give the same
// checksum for every buffer, or the run stops.

import { createCRC32 } from "hash-wasm";
import { crc32 } from "../src/cache/aof/crc.ts";

const proc = globalThis.process;
const at = proc.argv.indexOf("--ms");
const MS = at < 0 ? 300 : Number(proc.argv[at + 1]);
const SIZES = [32, 256, 1024, 16 * 1024, 64 * 1024, 1024 * 1024];

const wasm = await createCRC32();
function wasmCrc(b: Uint8Array): number {
  wasm.init();
  wasm.update(b);
  const d = wasm.digest("binary");
  return ((d[0]! << 24) | (d[1]! << 16) | (d[2]! << 8) | d[3]!) >>> 0;
}
const ours = (b: Uint8Array): number => crc32(b, 0, b.length);

/** Records per second of `f` over `bufs` for about MS ms. */
function rate(f: (b: Uint8Array) => number, bufs: readonly Uint8Array[]): number {
  let n = 0;
  let sink = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < MS) {
    for (let i = 0; i < 64; i++) sink ^= f(bufs[(n + i) % bufs.length]!);
    n += 64;
    t = performance.now();
  }
  if (sink === 0.5) console.log("");
  return (n * 1000) / (t - t0);
}

const rows: string[] = ["| record size | ours, MB/s | hash-wasm, MB/s | hash-wasm / ours |", "|---:|---:|---:|---:|"];
for (const size of SIZES) {
  const bufs = Array.from({ length: 16 }, () => {
    const b = new Uint8Array(size);
    for (let i = 0; i < size; i++) b[i] = (Math.random() * 256) | 0;
    return b;
  });
  for (const b of bufs) if (ours(b) !== wasmCrc(b)) throw new Error(`checksums differ at ${size} bytes`);
  let best = { ours: 0, wasm: 0 };
  for (let round = 0; round < 3; round++) {
    best = { ours: Math.max(best.ours, rate(ours, bufs)), wasm: Math.max(best.wasm, rate(wasmCrc, bufs)) };
  }
  const mb = (r: number) => ((r * size) / 1e6).toFixed(size < 1024 ? 1 : 0);
  rows.push(`| ${size < 1024 ? `${size} B` : `${size / 1024} KiB`} | ${mb(best.ours)} | ${mb(best.wasm)} | ${(best.wasm / best.ours).toFixed(2)} |`);
}
console.log(`crc32 on ${typeof Bun !== "undefined" ? `Bun ${Bun.version}` : `Node ${proc.version}`}, best of 3 rounds of ${MS} ms:\n`);
console.log(rows.join("\n"));
