// The cache server under memcached's own tools: memcached-tool display/stats/keys/dump, stats items/slabs, stats reset, against memcached 1.6.18 after the same load.
//
// One memcached (-t 1 -m 64 -I 1m) and our server as the Bun binary and the Node bundle get the
// same requests; a second set of each runs with 3 MB for the eviction counts. What depends on
// layout (our chunks hold key and value, memcached's also its header, so small items sit in other
// classes) or on timing is compared by kind and plausibility; slab rows are paired in class order,
// the load putting each group of items in a class of its own on every server; counters that mean
// the same thing must be equal.

import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exchange } from "../helpers/client.ts";
import { startProxy, type Target } from "../helpers/proxy.ts";
import { startMemcached } from "../helpers/real_backends.ts";
import { freePort } from "../helpers/runtimes.ts";

const MEMCACHED_TOOL = "/usr/share/memcached/scripts/memcached-tool";
const OURS: readonly Target[] = ["binary", "node"];

interface Sys {
  readonly name: string;
  readonly port: number;
  stop(): Promise<unknown>;
}

const full: Sys[] = []; // 64 MB: memcached first
const small: Sys[] = []; // 3 MB
const began = Date.now();

async function startAll(into: Sys[], mb: number): Promise<void> {
  const mc = await startMemcached(["-m", String(mb), "-I", "1m"]);
  into.push({ name: "memcached", port: mc.port, stop: () => mc.stop() });
  for (const target of OURS) {
    const port = await freePort();
    const run = await startProxy(target, ["cache", "--port", String(port), "--memory", `${mb}mb`, "--max-item-size", "1m"], port);
    into.push({ name: target, port, stop: () => run.stop() });
  }
}

/** Send `req` then quit; every byte of the reply, as latin1. */
async function ask(port: number, req: string): Promise<string> {
  return (await exchange(port, Buffer.from(`${req}quit\r\n`, "latin1"), { timeoutMs: 60_000 })).toString("latin1");
}

/** memcached-tool's stdout for `mode`. */
function tool(port: number, mode: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("perl", [MEMCACHED_TOOL, `127.0.0.1:${port}`, mode], { encoding: "latin1", timeout: 60_000, maxBuffer: 256 << 20 }, (err, out, errOut) =>
      err ? reject(new Error(`memcached-tool ${mode} on ${port}: ${err.message} ${errOut}`)) : resolve(out),
    );
  });
}

/** The STAT lines of a reply, in order. */
function statLines(reply: string): [string, string][] {
  return [...reply.matchAll(/^STAT (\S+) ([^\r\n]*)\r$/gm)].map((m) => [m[1]!, m[2]!]);
}

/** `stats items` or `stats slabs` by class number (in order): field names in order, and values. */
function byClass(reply: string): Map<number, Map<string, string>> {
  const out = new Map<number, Map<string, string>>();
  for (const [k, v] of statLines(reply)) {
    const m = /^(?:items:)?(\d+):(\w+)$/.exec(k);
    if (m === null) continue;
    const c = Number(m[1]);
    if (!out.has(c)) out.set(c, new Map());
    out.get(c)!.set(m[2]!, v);
  }
  return out;
}

const v = (n: number, ch = "v"): string => ch.repeat(n);
const SPECIAL_KEYS = ["sp%ace", "q?x=1&y", "\xc3\xb1"]; // memcached-tool URL-decodes metadump's keys

/** The load every 64 MB server gets: groups of items in distinct classes, hits, misses, changes. */
function load(): string {
  let r = "";
  for (let i = 0; i < 200; i++) r += `set small:${i} 0 0 32\r\n${v(32)}\r\n`;
  for (let i = 0; i < 50; i++) r += `set mid:${i} 7 3600 3000\r\n${v(3000, "m")}\r\n`;
  for (let i = 0; i < 20; i++) r += `set big:${i} 0 0 100000\r\n${v(100_000, "b")}\r\n`;
  for (let i = 0; i < 3; i++) r += `set huge:${i} 0 0 400000\r\n${v(400_000, "h")}\r\n`;
  for (const k of SPECIAL_KEYS) r += `set ${k} 3 0 7\r\nspecial\r\n`;
  r += "set n 0 0 1\r\n5\r\nincr n 10\r\ndecr n 3\r\nincr nope 1\r\n";
  r += `get ${Array.from({ length: 50 }, (_, i) => `small:${i}`).join(" ")} nope:1 nope:2\r\n`;
  r += "gets mid:0 big:3\r\ntouch small:1 100\r\ntouch nope 1\r\ndelete small:199\r\ndelete nope\r\n";
  r += "cas mid:1 7 3600 1 999999\r\nx\r\ncas nope 0 0 1 1\r\ny\r\nmg big:4 v\r\nmg nope v\r\n";
  return r;
}

beforeAll(async () => {
  if (!existsSync(MEMCACHED_TOOL)) throw new Error(`${MEMCACHED_TOOL} is missing: it comes with Debian's memcached package`);
  await startAll(full, 64);
  await startAll(small, 3);
  const replies = await Promise.all(full.map((s) => ask(s.port, load())));
  for (const [i, r] of replies.entries()) expect(r, full[i]!.name).toBe(replies[0]);
});

afterAll(async () => {
  await Promise.all([...full, ...small].map((s) => s.stop()));
});

interface Row {
  readonly id: number;
  readonly size: number;
  readonly age: number;
  readonly pages: number;
  readonly count: number;
  readonly full: string;
  readonly evicted: number;
  readonly evictTime: number;
  readonly oom: number;
}

/** memcached-tool display's rows. */
function displayRows(out: string): { header: string; rows: Row[] } {
  const lines = out.split("\n").filter((l) => l !== "");
  const rows: Row[] = [];
  for (const l of lines.slice(1)) {
    const m = /^\s*(\d+)\s+([\d.]+)([BK])\s+(\d+)s\s+(\d+)\s+(\d+)\s+(yes| no)\s+(\d+)\s+(\d+)\s+(\d+)$/.exec(l);
    if (m === null) throw new Error(`display row: ${JSON.stringify(l)}`);
    const n = (k: number): number => Number(m[k]);
    rows.push({ id: n(1), size: m[3] === "K" ? n(2) * 1024 : n(2), age: n(4), pages: n(5), count: n(6), full: m[7]!, evicted: n(8), evictTime: n(9), oom: n(10) });
  }
  return { header: lines[0]!, rows };
}

describe("memcached-tool against our server and memcached 1.6.18, after the same load", () => {
  it("display: a row per slab class with items, the same counts, evictions and OOMs; sizes, pages and ages plausible", async () => {
    const [ref, ...ours] = await Promise.all(full.map((s) => tool(s.port, "display").then(displayRows)));
    expect(ref!.rows.map((r) => r.count)).toEqual([4, 199, 50, 20, 3]); // specials + n, small, mid, big, huge
    const secs = (Date.now() - began) / 1000 + 2;
    for (const [i, got] of ours.entries()) {
      const who = OURS[i]!;
      expect(got!.header, who).toBe(ref!.header);
      expect(got!.rows.length, who).toBe(ref!.rows.length);
      for (const [j, r] of got!.rows.entries()) {
        const m = ref!.rows[j]!;
        const at = `${who} row ${j} (ours ${r.id}, memcached ${m.id})`;
        expect([r.count, r.evicted, r.evictTime, r.oom], at).toEqual([m.count, m.evicted, m.evictTime, m.oom]);
        // an item over 256 KB has a buffer of its own, a page of one chunk: always full
        expect(r.full, at).toBe(m.size < 256 * 1024 ? m.full : "yes");
        // our chunks hold key + value, memcached's its header too: never bigger, the same from
        // 96 B up to 256 KB where the header does not cross a class boundary (mid and big here)
        if (m.size < 256 * 1024) expect(r.size, at).toBeLessThanOrEqual(m.size);
        if (j === 2 || j === 3) expect([r.size, r.pages], at).toEqual([m.size, m.pages]);
        expect(r.id, at).toBeGreaterThanOrEqual(m.id);
        expect(r.pages, at).toBeGreaterThanOrEqual(1);
        expect(r.pages, at).toBeLessThanOrEqual(r.count);
        for (const age of [r.age, m.age]) expect(age, at).toBeLessThanOrEqual(secs);
      }
    }
  });

  it("stats: the same fields, the same kind of value, and the counters equal", async () => {
    const parse = (out: string): Map<string, string> => {
      // memcached-tool chomps "\n" off each STAT line and prints the "\r" that is left with the value
      const lines = out.split(/\r?\n/).filter((l) => l !== "");
      expect(lines[0]).toMatch(/^#127\.0\.0\.1:\d+\s+Field\s+Value$/);
      return new Map(
        lines.slice(1).map((l) => {
          const m = /^\s*(\S+)\s+(.*)$/.exec(l);
          if (m === null) throw new Error(`stats line: ${JSON.stringify(l)}`);
          return [m[1]!, m[2]!] as const;
        }),
      );
    };
    const [ref, ...ours] = await Promise.all(full.map((s) => tool(s.port, "stats").then(parse)));
    const equal = ["curr_items", "total_items", "cmd_get", "cmd_set", "cmd_touch", "cmd_flush", "get_hits", "get_misses", "get_expired", "get_flushed"];
    equal.push("delete_hits", "delete_misses", "incr_hits", "incr_misses", "decr_hits", "decr_misses", "cas_hits", "cas_misses", "cas_badval");
    equal.push("touch_hits", "touch_misses", "evictions", "evicted_unfetched", "expired_unfetched", "store_too_large", "store_no_memory");
    equal.push("limit_maxbytes", "threads", "max_connections", "pointer_size", "accepting_conns");
    for (const [i, got] of ours.entries()) {
      const who = OURS[i]!;
      expect([...got!.keys()], who).toEqual([...ref!.keys()]);
      for (const [k, mv] of ref!) {
        if (k === "version") continue; // ours says what it is after memcached's number
        const ov = got!.get(k)!;
        expect(/^-?[\d.]+$/.test(ov), `${who} ${k}: ${ov} vs ${mv}`).toBe(/^-?[\d.]+$/.test(mv));
      }
      for (const k of equal) expect(got!.get(k), `${who} ${k}`).toBe(ref!.get(k));
      // bytes: memcached counts its 56-byte item header, a byte after the key and 4 for flags; we count key and value
      const bytes = Number(got!.get("bytes"));
      expect(bytes, who).toBeLessThan(Number(ref!.get("bytes")));
      expect(bytes, who).toBeGreaterThanOrEqual(Number(ref!.get("bytes")) - 61 * Number(ref!.get("curr_items")));
    }
  });

  it("stats items and stats slabs: memcached's field names in its order per class, and the per-class counters equal", async () => {
    const items = await Promise.all(full.map((s) => ask(s.port, "stats items\r\n")));
    const slabs = await Promise.all(full.map((s) => ask(s.port, "stats slabs\r\n")));
    const refItems = [...byClass(items[0]!).values()];
    const refSlabs = [...byClass(slabs[0]!).values()];
    const tail = (r: string): string[] => statLines(r).slice(-2).map(([k]) => k);
    for (const [i, who] of OURS.entries()) {
      const gotItems = [...byClass(items[i + 1]!).values()];
      const gotSlabs = [...byClass(slabs[i + 1]!).values()];
      expect(gotItems.length, who).toBe(refItems.length);
      expect(gotSlabs.length, who).toBe(refSlabs.length);
      expect(tail(slabs[i + 1]!), who).toEqual(["active_slabs", "total_malloced"]);
      expect(tail(slabs[i + 1]!)).toEqual(tail(slabs[0]!));
      for (const [j, m] of refItems.entries()) {
        const g = gotItems[j]!;
        expect([...g.keys()], `${who} items row ${j}`).toEqual([...m.keys()]);
        for (const k of ["number", "evicted", "evicted_nonzero", "outofmemory", "reclaimed", "evicted_unfetched", "tailrepairs"]) {
          expect(g.get(k), `${who} items row ${j} ${k}`).toBe(m.get(k));
        }
        // memcached splits its hits by sub-LRU (hot, warm, cold); we have one LRU per class
        const hits = (x: Map<string, string>): number => ["hot", "warm", "cold", "temp"].reduce((n, l) => n + Number(x.get(`hits_to_${l}`)), 0);
        expect(hits(g), `${who} items row ${j} hits`).toBe(hits(m));
        expect(Number(g.get("mem_requested")), `${who} items row ${j}`).toBeLessThan(Number(m.get("mem_requested")));
      }
      for (const [j, m] of refSlabs.entries()) {
        const g = gotSlabs[j]!;
        expect([...g.keys()], `${who} slabs row ${j}`).toEqual([...m.keys()]);
        for (const k of ["get_hits", "cmd_set", "delete_hits", "incr_hits", "decr_hits", "cas_hits", "cas_badval", "touch_hits", "used_chunks", "free_chunks_end"]) {
          expect(g.get(k), `${who} slabs row ${j} ${k}`).toBe(m.get(k));
        }
        const n = (x: Map<string, string>, k: string): number => Number(x.get(k));
        expect(n(g, "total_chunks"), `${who} slabs row ${j}`).toBe(n(g, "used_chunks") + n(g, "free_chunks"));
        expect(n(g, "total_chunks")).toBe(n(g, "total_pages") * n(g, "chunks_per_page"));
      }
    }
  });

  it("keys and dump: every live key, URL-encoded in metadump, and dump's add commands rebuild the same items", async () => {
    const keys = await Promise.all(full.map((s) => tool(s.port, "keys")));
    const parsed = keys.map((out) =>
      out
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => {
          const m = /^key=(\S+) exp=(-?\d+) la=(\d+) cas=(\d+) fetch=(yes|no) cls=(\d+) size=(\d+)$/.exec(l);
          if (m === null) throw new Error(`metadump line: ${JSON.stringify(l)}`);
          return { key: m[1]!, exp: Number(m[2]), fetch: m[5]!, size: Number(m[7]) };
        })
        .sort((a, b) => (a.key < b.key ? -1 : 1)),
    );
    expect(parsed[0]!.length).toBe(200 - 1 + 50 + 20 + 3 + SPECIAL_KEYS.length + 1);
    expect(parsed[0]!.map((r) => r.key)).toContain("sp%25ace");
    for (const [i, who] of OURS.entries()) {
      const got = parsed[i + 1]!;
      expect(got.map((r) => [r.key, r.fetch, r.size]), who).toEqual(parsed[0]!.map((r) => [r.key, r.fetch, r.size]));
      for (const [j, r] of got.entries()) expect(Math.abs(r.exp - parsed[0]![j]!.exp), `${who} ${r.key}`).toBeLessThanOrEqual(2);
    }
    const dumps = await Promise.all(full.map((s) => tool(s.port, "dump")));
    const records = dumps.map((d) => {
      const out: [string, string, number, string][] = [];
      const re = /^add (\S+) (\d+) (\d+) (\d+)\r\n/gm;
      for (let m = re.exec(d); m !== null; m = re.exec(d)) {
        const len = Number(m[4]);
        const at = m.index + m[0].length;
        out.push([m[1]!, m[2]!, Number(m[3]), d.slice(at, at + len)]);
        re.lastIndex = at + len;
      }
      return out.sort((a, b) => (a[0] < b[0] ? -1 : 1));
    });
    expect(records[0]!.length).toBe(parsed[0]!.length);
    expect(records[0]!.map((r) => r[0])).toEqual(expect.arrayContaining(SPECIAL_KEYS));
    for (const [i, who] of OURS.entries()) {
      const got = records[i + 1]!;
      expect(got.map((r) => [r[0], r[1], r[3]]), who).toEqual(records[0]!.map((r) => [r[0], r[1], r[3]]));
      for (const [j, r] of got.entries()) expect(Math.abs(r[2] - records[0]![j]![2]), `${who} ${r[0]}`).toBeLessThanOrEqual(2);
    }
  });

  it("evictions under the same memory limit and value size: the same counts, before and after stats reset", async () => {
    const sets = (from: number, to: number): string => {
      let r = "";
      for (let k = from; k < to; k++) r += `set key${k} 0 0 66560 noreply\r\n${v(66_560, "B")}\r\n`;
      return `${r}mn\r\n`;
    };
    const evicted = async (s: Sys): Promise<string[]> => {
      const rows = [...byClass(await ask(s.port, "stats items\r\n")).values()];
      return rows.map((r) => `${r.get("number")}/${r.get("evicted")}/${r.get("evicted_nonzero")}/${r.get("evicted_unfetched")}`);
    };
    await Promise.all(small.map((s) => ask(s.port, sets(0, 40))));
    const first = await Promise.all(small.map(evicted));
    expect(first[0]).toEqual(["36/4/0/4"]); // t/issue_22.t: 3 pages of 12, 4 evicted
    for (const f of first.slice(1)) expect(f).toEqual(first[0]);
    await Promise.all(small.map((s) => ask(s.port, "stats reset\r\n")));
    await Promise.all(small.map((s) => ask(s.port, sets(40, 80))));
    const second = await Promise.all(small.map(evicted));
    expect(second[0]).toEqual(["36/40/0/40"]);
    for (const g of second.slice(1)) expect(g).toEqual(second[0]);
    const shown = await Promise.all(small.map((s) => tool(s.port, "display").then(displayRows)));
    for (const g of shown.slice(1)) {
      expect(g.rows.map((r) => [r.size, r.pages, r.count, r.full, r.evicted, r.oom])).toEqual(shown[0]!.rows.map((r) => [r.size, r.pages, r.count, r.full, r.evicted, r.oom]));
    }
  });

  it("expired items are reclaimed in the background, counted in their class (memcached: reclaimed or crawler_reclaimed)", async () => {
    let req = "";
    for (let k = 0; k < 50; k++) req += `set rc:${k} 0 1 10000 noreply\r\n${v(10_000, "r")}\r\n`;
    req += `set rc:keep 0 0 10000 noreply\r\n${v(10_000, "r")}\r\nmn\r\n`;
    await Promise.all(full.map((s) => ask(s.port, req)));
    // the class of 10,000-byte values: the same chunk size (11104) on every server
    const row = async (s: Sys): Promise<Map<string, string> | undefined> => {
      const sl = byClass(await ask(s.port, "stats slabs\r\n"));
      const id = [...sl.entries()].find(([, r]) => r.get("chunk_size") === "11104")?.[0];
      return id === undefined ? undefined : byClass(await ask(s.port, "stats items\r\n")).get(id);
    };
    const deadline = Date.now() + 30_000;
    let rows = await Promise.all(full.map(row));
    while (rows.some((r) => r?.get("number") !== "1") && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      rows = await Promise.all(full.map(row));
    }
    for (const [i, r] of rows.entries()) {
      const who = full[i]!.name;
      expect(r?.get("number"), who).toBe("1");
      expect(Number(r!.get("reclaimed")) + Number(r!.get("crawler_reclaimed")), who).toBe(50);
      expect(r!.get("expired_unfetched"), who).toBe("50");
      expect(r!.get("evicted"), who).toBe("0");
    }
  });

  it("stats reset clears what memcached clears", async () => {
    const after = await Promise.all(full.map(async (s) => new Map(statLines(await ask(s.port, "stats reset\r\nstats\r\n")))));
    // memcached's internals we print with idle values, and what its background threads change at any time
    const skip = new Set(["rusage_user", "rusage_system", "response_obj_count", "read_buf_count", "read_buf_bytes", "read_buf_bytes_free", "reserved_fds"]);
    for (const k of ["lru_crawler_running", "lru_crawler_starts", "lru_maintainer_juggles", "moves_to_cold", "moves_to_warm", "moves_within_lru"]) skip.add(k);
    for (const k of ["uptime", "time", "pid", "version", "libevent", "crawler_items_checked", "bytes_read", "bytes_written"]) skip.add(k);
    const zeros = (m: Map<string, string>): string[] => [...m].filter(([k, x]) => !skip.has(k) && Number(x) === 0).map(([k]) => k);
    const ref = zeros(after[0]!);
    expect(ref).toContain("total_items");
    expect(ref).toContain("get_hits");
    for (const [i, who] of OURS.entries()) expect(zeros(after[i + 1]!), who).toEqual(ref);
    const items = await Promise.all(full.map((s) => ask(s.port, "stats items\r\n")));
    for (const [i, r] of items.entries()) {
      const rows = [...byClass(r).values()];
      expect(rows.length, full[i]!.name).toBeGreaterThan(0);
      for (const row of rows) expect([row.get("evicted"), row.get("reclaimed"), row.get("expired_unfetched")], full[i]!.name).toEqual(["0", "0", "0"]);
    }
  });
});
