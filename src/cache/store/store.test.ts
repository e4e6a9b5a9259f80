// CacheStore: byte-keyed table, LRU eviction under the memory limit, expiry, flush, crawler, journal and replay.

import { describe, expect, it } from "vitest";
import type { Journal, JournalItem } from "../journal.ts";
import { PAGE } from "./arena.ts";
import { CacheStore, NOT_FOUND, NREAD_ADD, NREAD_APPEND, NREAD_CAS, NREAD_SET, STORED } from "./store.ts";

const T0 = 1_800_000_000;
const enc = (s: string): Uint8Array => Buffer.from(s, "latin1");
const str = (b: Uint8Array): string => Buffer.from(b).toString("latin1");

/** Item bytes as the session builds them: key, value, \r\n. */
function data(key: string, value: string): Uint8Array {
  return enc(`${key}${value}\r\n`);
}

function set(st: CacheStore, key: string, value: string, exptime = 0, comm = NREAD_SET, cas = 0): number {
  return st.storeBytes(comm, data(key, value), key.length, 0, exptime, 0, cas);
}

function get(st: CacheStore, key: string): string | null {
  const k = enc(key);
  const i = st.get(k, 0, k.length, true);
  if (i < 0) return null;
  const at = st.base(i) + st.nkey[i]!;
  return str(st.buf(i).subarray(at, at + st.nbytes[i]! - 2));
}

function store(memory = 64 << 20): CacheStore {
  return new CacheStore({ memoryLimit: memory, itemSizeMax: 1 << 20, unixNow: T0 });
}

describe("CacheStore table", () => {
  it("finds keys by bytes, including bytes >= 0x80 and keys that share a prefix", () => {
    const st = store();
    const keys = ["a", "ab", "abc", "\xff\xfe", "key:1", "key:10", "k".repeat(250)];
    for (const [n, k] of keys.entries()) expect(set(st, k, `v${n}`)).toBe(STORED);
    for (const [n, k] of keys.entries()) expect(get(st, k)).toBe(`v${n}`);
    expect(get(st, "abcd")).toBeNull();
    expect(st.count).toBe(keys.length);
  });

  it("keeps 100,000 keys through table and slot growth, and frees slots for reuse", () => {
    const st = store();
    for (let i = 0; i < 100_000; i++) set(st, `key:${i}`, String(i));
    for (let i = 0; i < 100_000; i += 997) expect(get(st, `key:${i}`)).toBe(String(i));
    for (let i = 0; i < 100_000; i += 2) st.remove(st.get(enc(`key:${i}`), 0, `key:${i}`.length, false));
    expect(st.count).toBe(50_000);
    for (let i = 1; i < 100_000; i += 2000) expect(get(st, `key:${i}`)).toBe(String(i));
    expect(get(st, "key:2")).toBeNull();
  });

  it("hands out increasing cas uniques, one per store", () => {
    const st = store();
    set(st, "a", "1");
    const c1 = st.lastCas;
    set(st, "b", "1");
    expect(st.lastCas).toBe(c1 + 1);
    expect(set(st, "a", "2", 0, NREAD_CAS, c1 + 5)).toBe(1); // EXISTS
    expect(set(st, "a", "2", 0, NREAD_CAS, c1)).toBe(STORED);
    expect(set(st, "zz", "2", 0, NREAD_CAS, 1)).toBe(NOT_FOUND);
  });
});

describe("CacheStore memory limit", () => {
  it("evicts least recently used items first within a size class, and counts evictions", () => {
    const st = store(PAGE); // one page of memory
    const value = "x".repeat(1000);
    const perPage = st.arena.perPage[st.arena.classOf(5 + 1002)]!;
    for (let i = 0; i < perPage; i++) set(st, `k:${String(i).padStart(3, "0")}`, value);
    expect(st.count).toBe(perPage);
    expect(st.stats.evictions).toBe(0);
    expect(get(st, "k:000")).toBe(value); // now the most recently used
    set(st, "k:new", value);
    expect(st.count).toBe(perPage);
    expect(st.stats.evictions).toBe(1);
    expect(get(st, "k:001")).toBeNull(); // the oldest untouched one went
    expect(get(st, "k:000")).toBe(value);
    expect(st.arena.bytes).toBe(PAGE);
  });

  it("takes dead items off the tail as reclaimed, not evicted", () => {
    const st = store(PAGE);
    const value = "y".repeat(1000);
    const perPage = st.arena.perPage[st.arena.classOf(5 + 1002)]!;
    st.storeBytes(NREAD_SET, data("e:000", value), 5, 0, st.realtime(1), 0);
    for (let i = 1; i < perPage; i++) set(st, `e:${String(i).padStart(3, "0")}`, value);
    st.tick(T0 + 5);
    set(st, "e:new", value);
    expect(st.stats.reclaimed).toBe(1);
    expect(st.stats.evictions).toBe(0);
  });

  it("moves a page to a class that has none when memory is full", () => {
    const st = store(2 * PAGE);
    for (let i = 0; i < 6000; i++) set(st, `small:${i}`, "s".repeat(400)); // fills both pages
    expect(st.arena.bytes).toBe(2 * PAGE);
    expect(set(st, "big", "b".repeat(5000))).toBe(STORED);
    expect(get(st, "big")).toBe("b".repeat(5000));
    expect(st.arena.slabsMoved).toBe(1);
    expect(st.stats.evictions).toBeGreaterThan(0);
    expect(st.arena.bytes).toBe(2 * PAGE);
  });

  it("items larger than a chunk get buffers of their own, within the same limit", () => {
    const st = store(3 * PAGE);
    for (let i = 0; i < 8; i++) expect(set(st, `huge:${i}`, "h".repeat(600_000))).toBe(STORED);
    expect(st.arena.bytes).toBeLessThanOrEqual(3 * PAGE);
    expect(st.count).toBe(5); // 5 * 600,002 + keys <= 3 MB
    expect(get(st, "huge:7")).toBe("h".repeat(600_000));
    expect(get(st, "huge:2")).toBeNull();
    expect(st.stats.evictions).toBe(3);
  });

  it("an append that would pass the item size limit is not stored", () => {
    const st = new CacheStore({ memoryLimit: 64 << 20, itemSizeMax: 2048, unixNow: T0 });
    set(st, "k", "x".repeat(1000));
    expect(set(st, "k", "y".repeat(900), 0, NREAD_APPEND)).toBe(STORED); // 56 + 2 + 1902 <= 2048
    expect(set(st, "k", "z".repeat(100), 0, NREAD_APPEND)).toBe(3); // NOT_STORED: 2060 > 2048
    expect(get(st, "k")).toBe("x".repeat(1000) + "y".repeat(900));
  });
});

describe("CacheStore time", () => {
  it("expires items lazily, relative and absolute, and the 30-day rule", () => {
    const st = store();
    st.storeBytes(NREAD_SET, data("r", "1"), 1, 0, st.realtime(10), 0);
    st.storeBytes(NREAD_SET, data("a", "1"), 1, 0, st.realtime(T0 + 20), 0);
    st.storeBytes(NREAD_SET, data("m", "1"), 1, 0, st.realtime(60 * 60 * 24 * 30), 0);
    st.tick(T0 + 9);
    expect(get(st, "r")).toBe("1");
    st.tick(T0 + 10);
    expect(get(st, "r")).toBeNull();
    expect(st.stats.get_expired).toBe(1);
    st.tick(T0 + 20);
    expect(get(st, "a")).toBeNull();
    st.tick(T0 + 60 * 60 * 24 * 30 - 1);
    expect(get(st, "m")).toBe("1");
  });

  it("flush_all now kills items stored in this very second; a delayed one waits", () => {
    const st = store();
    set(st, "a", "1");
    st.flushAll(0);
    expect(get(st, "a")).toBeNull();
    set(st, "b", "1");
    expect(get(st, "b")).toBe("1");
    st.flushAll(10);
    st.tick(T0 + 8);
    expect(get(st, "b")).toBe("1");
    st.tick(T0 + 9);
    expect(get(st, "b")).toBeNull();
    expect(st.stats.get_flushed).toBe(2);
  });

  it("the crawler reclaims dead items nobody asks for, a bounded number per step", () => {
    const st = store();
    for (let i = 0; i < 5000; i++) st.storeBytes(NREAD_SET, data(`e:${i}`, "1"), `e:${i}`.length, 0, st.realtime(5), 0);
    for (let i = 0; i < 100; i++) set(st, `l:${i}`, "1");
    st.tick(T0 + 6);
    let reclaimed = 0;
    for (let step = 0; step < 20 && st.count > 100; step++) {
      const n = st.crawl(1000);
      expect(n).toBeLessThanOrEqual(1000);
      reclaimed += n;
    }
    expect(reclaimed).toBe(5000);
    expect(st.count).toBe(100);
    expect(st.stats.crawler_reclaimed).toBe(5000);
  });
});

/** A journal that records what it is told, as the text of each call. */
class Recorder implements Journal {
  readonly calls: string[] = [];
  commits = 0;
  set(item: JournalItem): void {
    this.calls.push(`set ${str(item.key)} ${item.flags} ${item.exptime} ${item.cas} ${str(item.value)}`);
  }
  delete(key: Uint8Array): void {
    this.calls.push(`delete ${str(key)}`);
  }
  touch(key: Uint8Array, exptime: number): void {
    this.calls.push(`touch ${str(key)} ${exptime}`);
  }
  flushAll(at: number): void {
    this.calls.push(`flush ${at}`);
  }
  commit(): void {
    this.commits++;
  }
}

describe("CacheStore journal", () => {
  it("logs the result of each mutation, not the command", () => {
    const st = store();
    const j = new Recorder();
    st.journal = j;
    set(st, "k", "ab");
    set(st, "k", "cd", 0, NREAD_APPEND);
    expect(set(st, "k", "zz", 0, NREAD_ADD)).toBe(3); // NOT_STORED: nothing logged
    const i = st.get(enc("k"), 0, 1, false);
    st.setExptime(i, st.realtime(100));
    st.replaceValue(i, enc("7"), 1);
    st.remove(st.get(enc("k"), 0, 1, false));
    st.flushAll(0);
    expect(j.calls).toEqual([
      "set k 0 0 1 ab",
      "set k 0 0 2 abcd",
      `touch k ${T0 + 100}`,
      `set k 0 ${T0 + 100} 3 7   `,
      "delete k",
      `flush ${T0}`,
    ]);
  });

  it("replays into an equal store, keeping cas uniques and expiry, and hands out higher ones after", () => {
    const a = store();
    const j = new Recorder();
    const items: JournalItem[] = [];
    a.journal = {
      ...j,
      set: (it) => items.push({ ...it, key: it.key.slice(), value: it.value.slice() }),
      delete: () => {},
      touch: () => {},
      flushAll: () => {},
      commit: () => {},
    };
    set(a, "x", "1");
    a.storeBytes(NREAD_SET, data("y", "22"), 1, 7, a.realtime(T0 + 50), 0);
    const b = store();
    for (const it of items) b.applySet(it);
    expect(get(b, "x")).toBe("1");
    expect(get(b, "y")).toBe("22");
    const y = b.get(enc("y"), 0, 1, false);
    expect(b.flags[y]).toBe(7);
    expect(b.absTime(b.exptime[y]!)).toBe(T0 + 50);
    expect(b.cas[y]).toBe(2);
    set(b, "z", "3");
    expect(b.lastCas).toBe(3);
    b.applyTouch(enc("x"), T0 - 10);
    expect(get(b, "x")).toBeNull();
    b.applyDelete(enc("y"));
    expect(get(b, "y")).toBeNull();
    b.applyFlushAll(T0);
    expect(b.count).toBe(0);
    const seen: string[] = [];
    set(b, "w", "4");
    b.forEachItem((it) => seen.push(str(it.key)));
    expect(seen).toEqual(["w"]);
  });
});

describe("CacheStore snapshot walk", () => {
  it("forEachItemFrom visits every live item once, in pieces, and a set keeps its slot", () => {
    const st = store();
    for (let i = 0; i < 3000; i++) set(st, `w:${i}`, String(i));
    st.storeBytes(NREAD_SET, data("dead", "x"), 4, 0, st.realtime(-1), 0);
    const seen = new Map<string, string>();
    let cursor = 0;
    let steps = 0;
    while (cursor >= 0) {
      cursor = st.forEachItemFrom(cursor, 500, (it) => seen.set(str(it.key), str(it.value)));
      steps++;
      if (steps === 2) set(st, "w:0", "changed"); // a set between steps: same slot, already visited
    }
    expect(steps).toBeGreaterThan(5);
    expect(seen.size).toBe(3000);
    expect(seen.get("w:2999")).toBe("2999");
    expect(seen.has("dead")).toBe(false);
    const i = st.get(enc("w:0"), 0, 3, false);
    expect(i).toBeLessThan(500); // the slot it had when the walk passed it
  });
});

describe("CacheStore under churn", () => {
  it("never returns a wrong value through evictions, page moves and large items (seeded random ops)", () => {
    let seed = 12345;
    const rnd = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 4294967296;
    };
    const st = store(4 * PAGE);
    const model = new Map<string, string>();
    const sizes = [1, 10, 50, 200, 1000, 5000, 20_000, 300_000];
    const values = new Map<string, string>();
    let hits = 0;
    for (let op = 0; op < 6000; op++) {
      const key = `k${Math.floor(rnd() * 600)}`;
      const r = rnd();
      if (r < 0.45) {
        const size = sizes[Math.floor(rnd() * (rnd() < 0.02 ? sizes.length : sizes.length - 1))]!;
        const letter = String.fromCharCode(97 + (op % 26));
        const v = values.get(`${letter}${size}`) ?? values.set(`${letter}${size}`, letter.repeat(size)).get(`${letter}${size}`)!;
        if (set(st, key, v) !== STORED) expect.fail(`set ${key} failed at op ${op}`);
        model.set(key, v);
      } else if (r < 0.85) {
        const got = get(st, key);
        if (got !== null) {
          if (got !== model.get(key)) expect.fail(`${key} read back wrong at op ${op}`);
          hits++;
        }
      } else if (r < 0.93) {
        const i = st.get(enc(key), 0, key.length, false);
        if (i >= 0) st.remove(i);
        model.delete(key);
      } else {
        const add = "+".repeat(1 + Math.floor(rnd() * 100));
        if (set(st, key, add, 0, NREAD_APPEND) === STORED) model.set(key, model.get(key)! + add);
      }
      if (st.arena.bytes > 4 * PAGE) expect.fail(`arena at ${st.arena.bytes} bytes after op ${op}`);
    }
    expect(hits).toBeGreaterThan(200);
    expect(st.stats.evictions).toBeGreaterThan(0);
    expect(st.arena.slabsMoved).toBeGreaterThan(0);
    // every key still in the store holds exactly what was written last
    for (const [k, v] of model) {
      const got = get(st, k);
      if (got !== null) expect(got).toBe(v);
    }
  }, 30_000);
});
