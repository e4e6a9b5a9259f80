// Benchmark: twemproxy hashes (keys/s on 10-40 byte keys), plain-TS md5 vs hash-wasm, and ketama dispatch/s.
//
// Run: `npx bun bench/hashkit.ts`, `npx deno run -A bench/hashkit.ts` (Node needs a TS loader).
// Prints a Markdown table. Not a test: numbers depend on the machine.

import { createMD5 } from "hash-wasm";
import { buildContinuum, compareServerNames, HASH_CODEC, hashKey } from "../src/hashkit/index.ts";
import type { HashFn, KetamaContinuum } from "../src/hashkit/index.ts";

const NKEYS = 4096; // power of two: the loops index with a mask
const MIN_MS = 400;

function runtimeName(): string {
  const ua = (globalThis as { navigator?: { userAgent?: string } }).navigator?.userAgent;
  return ua ?? "unknown runtime";
}

// One buffer holding all keys back to back, like keys sitting inside an mbuf.
function makeKeys(): { buf: Uint8Array; starts: Uint32Array; ends: Uint32Array } {
  const starts = new Uint32Array(NKEYS);
  const ends = new Uint32Array(NKEYS);
  const buf = new Uint8Array(NKEYS * 40);
  let x = 12345;
  const next = (): number => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x >>> 8;
  };
  let pos = 0;
  for (let k = 0; k < NKEYS; k++) {
    const len = 10 + (next() % 31);
    starts[k] = pos;
    for (let i = 0; i < len; i++) buf[pos++] = 0x21 + (next() % 94); // printable ASCII
    ends[k] = pos;
  }
  return { buf, starts, ends };
}

let sink = 0;

/** Calls `fn` over the keys for at least MIN_MS after a warm-up; returns keys per second. */
function measureHash(fn: HashFn, keys: ReturnType<typeof makeKeys>): number {
  const { buf, starts, ends } = keys;
  const mask = NKEYS - 1;
  for (let i = 0; i < 50_000; i++) sink ^= fn(buf, starts[i & mask]!, ends[i & mask]!);
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < MIN_MS) {
    for (let i = 0; i < 100_000; i++) sink ^= fn(buf, starts[i & mask]!, ends[i & mask]!);
    n += 100_000;
    t = performance.now();
  }
  return (n * 1000) / (t - t0);
}

function measureDispatch(dispatch: (h: number) => number, hashes: Uint32Array): number {
  const mask = hashes.length - 1;
  for (let i = 0; i < 100_000; i++) sink ^= dispatch(hashes[i & mask]!);
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < MIN_MS) {
    for (let i = 0; i < 100_000; i++) sink ^= dispatch(hashes[i & mask]!);
    n += 100_000;
    t = performance.now();
  }
  return (n * 1000) / (t - t0);
}

const keys = makeKeys();
const rows: [string, number][] = [];

for (const [name, entry] of Object.entries(HASH_CODEC)) {
  rows.push([name, measureHash(entry.fn, keys)]);
}

// md5 through hash-wasm: one hasher created up front, then init/update/digest per key.
const wasm = await createMD5();
const md5Wasm: HashFn = (key, start, end) => {
  wasm.init();
  wasm.update(key.subarray(start, end));
  const d = wasm.digest("binary");
  return (d[0]! | (d[1]! << 8) | (d[2]! << 16) | (d[3]! << 24)) >>> 0;
};
// Same answers as the plain TS md5, or the comparison is meaningless.
for (let k = 0; k < 64; k++) {
  const a = md5Wasm(keys.buf, keys.starts[k]!, keys.ends[k]!);
  const b = HASH_CODEC.md5.fn(keys.buf, keys.starts[k]!, keys.ends[k]!);
  if (a !== b) throw new Error(`Cannot compare md5 implementations: key ${k} gives ${a} and ${b}`);
}
rows.push(["md5 via hash-wasm (not used)", measureHash(md5Wasm, keys)]);

const fnv = HASH_CODEC.fnv1a_64.fn;
const tag = new TextEncoder().encode("{}");
rows.push(["hashKey(fnv1a_64, tag {})", measureHash((k, s, e) => hashKey(fnv, tag, k, s, e), keys)]);

// 100 unnamed servers, weight 1, sorted the twemproxy way.
const servers = Array.from({ length: 100 }, (_, i) => ({ name: `10.0.${i >> 8}.${i & 255}:6379`, weight: 1 }))
  .sort((a, b) => compareServerNames(a.name, b.name));
const hashes = new Uint32Array(1 << 16);
for (let i = 0; i < hashes.length; i++) hashes[i] = fnv(keys.buf, keys.starts[i & (NKEYS - 1)]!, keys.ends[i & (NKEYS - 1)]!) ^ Math.imul(i, 0x9e3779b1);

const tb = performance.now();
const ketama = buildContinuum("ketama", servers);
const buildMs = performance.now() - tb;
const modula = buildContinuum("modula", servers);
rows.push([`ketama dispatch, 100 servers (${(ketama as KetamaContinuum).values.length} points)`, measureDispatch((h) => ketama.dispatch(h), hashes)]);
rows.push(["modula dispatch, 100 servers", measureDispatch((h) => modula.dispatch(h), hashes)]);
rows.push([
  "fnv1a_64 + ketama dispatch, 100 servers",
  measureHash((k, s, e) => ketama.dispatch(fnv(k, s, e)), keys),
]);

console.log(`hashkit benchmark on ${runtimeName()}: ${NKEYS} keys of 10-40 bytes, >= ${MIN_MS} ms per row`);
console.log("");
console.log("| operation | M ops/s | ns/op |");
console.log("|---|---:|---:|");
for (const [name, rate] of rows) {
  console.log(`| ${name} | ${(rate / 1e6).toFixed(1)} | ${(1e9 / rate).toFixed(1)} |`);
}
console.log("");
console.log(`ketama build, 100 servers: ${buildMs.toFixed(1)} ms (sink ${sink & 1})`);
