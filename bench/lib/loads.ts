// The loads: redis-benchmark (GET, SET, MGET of 10 keys) and mcbench (memcache get/set), how to run
// one against a port, and how to read its CSV.

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, have, runClient } from "./procs.ts";

export type Proto = "redis" | "mc";
export type Op = "get" | "set" | "mget10";

/** Clients, value size and key space of every load (issue 6). */
export const CLIENTS = 50;
export const VALUE_BYTES = 32;
export const KEYSPACE = 100_000;

export interface Load {
  /** e.g. redis.get.1.d16: protocol, operation, backend servers, pipeline depth. */
  readonly id: string;
  readonly proto: Proto;
  readonly op: Op;
  readonly servers: 1 | 2;
  readonly depth: 1 | 16;
  /** Every key in this {hash tag} (one cluster slot): bench/cluster.ts's like-for-like MGET. */
  readonly tag?: string;
  /** Speak TLS to the port, trusting this CA file (redis only: redis-benchmark --tls --cacert); bench/tls.ts. */
  readonly tls?: { readonly ca: string };
}

/** Every load the harness knows, in report order. */
export const ALL_LOADS: readonly Load[] = (() => {
  const out: Load[] = [];
  for (const proto of ["redis", "mc"] as const) {
    for (const servers of [1, 2] as const) {
      const ops: Op[] = proto === "redis" && servers === 2 ? ["get", "set", "mget10"] : ["get", "set"];
      for (const op of ops) for (const depth of [1, 16] as const) out.push({ id: `${proto}.${op}.${servers}.d${depth}`, proto, op, servers, depth });
    }
  }
  return out;
})();

export function loadTitle(l: Load): string {
  const what = l.proto === "redis" ? (l.op === "mget10" ? "redis MGET 10 keys" : `redis ${l.op.toUpperCase()}`) : `memcache ${l.op}`;
  return `${what}, ${l.servers} server${l.servers === 1 ? "" : "s"}, depth ${l.depth}`;
}

/** One completed run of a load. */
export interface Sample {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly maxMs: number;
  readonly wallSeconds: number;
}

/** Either a sample or why there is none (the client's complaint, a timeout, a short count). */
export type Outcome = { readonly ok: true; readonly sample: Sample } | { readonly ok: false; readonly error: string };

/** The quoted fields of every CSV line that has any. */
function csvRows(text: string): string[][] {
  return text
    .split("\n")
    .map((l) => [...l.matchAll(/"([^"]*)"/g)].map((m) => m[1]!))
    .filter((r) => r.length > 0);
}

const noise = (stderr: string): string =>
  stderr
    .split("\n")
    .filter((l) => l.trim() !== "" && !l.includes("Could not fetch server CONFIG"))
    .slice(0, 3)
    .join(" | ");

let mcbenchBin: string | null | undefined;

/** Where mcbench.c may be: $MCBENCH_SRC, a copy in bench/, or the shared tools of this machine. */
export function mcbenchSource(): string | undefined {
  const c = [globalThis.process.env.MCBENCH_SRC, join(ROOT, "bench", "mcbench.c"), join(ROOT, "..", "shared", "tools", "mcbench.c"), "/work/shared/tools/mcbench.c"];
  return c.find((p): p is string => p !== undefined && p !== "" && existsSync(p));
}

/** Compile mcbench (cc -O2) into a temp dir once; null when there is no source or no compiler. */
export function mcbench(): string | null {
  if (mcbenchBin !== undefined) return mcbenchBin;
  const src = mcbenchSource();
  if (src === undefined || !have("cc")) return (mcbenchBin = null);
  const out = join(mkdtempSync(join(tmpdir(), "ncbench-")), "mcbench");
  const r = spawnSync("cc", ["-O2", "-o", out, src], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`cc -O2 ${src} failed: ${r.stderr}`);
  return (mcbenchBin = out);
}

/** The client command line for `load` at `n` requests against 127.0.0.1:port. */
export function clientArgv(load: Load, port: number, n: number, maxSeconds: number): string[] {
  if (load.proto === "mc") {
    if (load.tls !== undefined) throw new Error("mcbench speaks no TLS");
    const bin = mcbench();
    if (bin === null) throw new Error("no mcbench");
    return [bin, "127.0.0.1", String(port), String(CLIENTS), String(load.depth), String(n), load.op, String(VALUE_BYTES), String(KEYSPACE), String(maxSeconds)];
  }
  const base = ["redis-benchmark", "-h", "127.0.0.1", "-p", String(port), "-c", String(CLIENTS), "-d", String(VALUE_BYTES), "-r", String(KEYSPACE), "-P", String(load.depth), "-n", String(n), "--csv", ...(load.tls === undefined ? [] : ["--tls", "--cacert", load.tls.ca])];
  const key = load.tag === undefined ? "key:__rand_int__" : `{${load.tag}}key:__rand_int__`;
  if (load.op === "mget10") return [...base, "MGET", ...Array.from({ length: 10 }, () => key)];
  if (load.tag !== undefined) return [...base, load.op.toUpperCase(), key, ...(load.op === "set" ? ["x".repeat(VALUE_BYTES)] : [])];
  return [...base, "-t", load.op];
}

/**
 * Run `load` with `n` requests against `port`. A load that outlives `timeoutMs` is killed and
 * reported as a stall; mcbench stops itself at the same deadline and reports how many it did.
 */
export async function runLoad(load: Load, port: number, n: number, pinned: boolean, timeoutMs: number): Promise<Outcome> {
  const maxSeconds = Math.max(1, Math.floor(timeoutMs / 1000) - 2);
  const r = await runClient(clientArgv(load, port, n, maxSeconds), pinned, timeoutMs);
  if (r.timedOut) return { ok: false, error: `stalled: killed after ${(timeoutMs / 1000).toFixed(0)} s ${noise(r.stderr)}`.trim() };
  const rows = csvRows(r.stdout);
  const row = rows[1];
  if (r.code !== 0 || row === undefined) {
    return { ok: false, error: `exit ${r.code}${row === undefined ? ", no CSV row" : ""}: ${noise(r.stderr) || r.stdout.trim().slice(0, 200)}` };
  }
  const num = (i: number): number => Number(row[i]);
  if (load.proto === "redis") {
    // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
    return { ok: true, sample: { rps: num(1), p50: num(4), p99: num(6), maxMs: num(7), wallSeconds: r.wallSeconds } };
  }
  // "op","rps","avg_ms","p50_ms","p95_ms","p99_ms","max_ms","done","errors","elapsed_s"
  const done = num(7);
  const errors = num(8);
  if (errors > 0) return { ok: false, error: `${errors} error replies (of ${done} done)` };
  if (done < n) return { ok: false, error: `stalled: ${done} of ${n} done within ${maxSeconds} s` };
  return { ok: true, sample: { rps: num(1), p50: num(3), p99: num(5), maxMs: num(6), wallSeconds: r.wallSeconds } };
}

/** Fill the key space so every GET hits: SET every key (about 5 times over) through `port`. */
export async function prefill(proto: Proto, port: number, pinned: boolean): Promise<void> {
  const load: Load = { id: "prefill", proto, op: "set", servers: 1, depth: 16 };
  const o = await runLoad(load, port, KEYSPACE * 5, pinned, 120_000);
  if (!o.ok) throw new Error(`prefill of ${proto} through port ${port} failed: ${o.error}`);
}
