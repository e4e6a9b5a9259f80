// The per-class stats replies (stats items/slabs/sizes/cachedump/conns, stats reset) and lru_crawler metadump, on a session over a fresh store.

import { describe, expect, it } from "vitest";
import { CLASS_SIZES, NCLASSES } from "../store/arena.ts";
import { S_DUMP, S_LINE } from "./session.ts";
import { ITEM_FIELDS, SLAB_FIELDS } from "./slab_stats.ts";
import { T0, testContext, testSession } from "./test_session.ts";

const b = (s: string): Uint8Array => Buffer.from(s, "latin1");

/** memcached 1.6.18's `stats items` names for one class, as `memcached -t 1 -m 64` prints them. */
const MC_ITEMS =
  "number number_hot number_warm number_cold age_hot age_warm age mem_requested evicted evicted_nonzero evicted_time outofmemory tailrepairs reclaimed expired_unfetched evicted_unfetched evicted_active crawler_reclaimed crawler_items_checked lrutail_reflocked moves_to_cold moves_to_warm moves_within_lru direct_reclaims hits_to_hot hits_to_warm hits_to_cold hits_to_temp".split(
    " ",
  );
/** ... and its `stats slabs` names. */
const MC_SLABS =
  "chunk_size chunks_per_page total_pages total_chunks used_chunks free_chunks free_chunks_end get_hits cmd_set delete_hits incr_hits decr_hits cas_hits cas_badval touch_hits".split(" ");

/** A session on a fresh store; ask() feeds a request and returns what it answered. */
function server(opts: { memory?: number } = {}): { ask: (req: string) => string; ctx: ReturnType<typeof testContext>; t: ReturnType<typeof testSession> } {
  const ctx = testContext(opts);
  const t = testSession(ctx);
  let seen = 0;
  const ask = (req: string): string => {
    t.s.data(b(req));
    const all = t.out();
    const got = all.slice(seen);
    seen = all.length;
    return got;
  };
  return { ask, ctx, t };
}

/** "STAT name value" lines as a map, in order. */
function stats(reply: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of reply.split("\r\n")) {
    const r = /^STAT (\S+) (.*)$/.exec(line);
    if (r !== null) m.set(r[1]!, r[2]!);
  }
  return m;
}

/** The class number our store gives an item of `n` key + value + 2 bytes. */
function classFor(n: number): number {
  return CLASS_SIZES.findIndex((s) => s >= n) + 1;
}

const sets = (prefix: string, n: number, size: number, exptime = 0): string => {
  let r = "";
  for (let i = 0; i < n; i++) r += `set ${prefix}${i} 0 ${exptime} ${size} noreply\r\n${"v".repeat(size)}\r\n`;
  return r;
};

describe("stats items and stats slabs", () => {
  it("print memcached's names in its order, for the classes that hold items or pages", () => {
    expect(ITEM_FIELDS.map((f) => f[0])).toEqual(MC_ITEMS);
    expect(SLAB_FIELDS.map((f) => f[0])).toEqual(MC_SLABS);
    const { ask } = server();
    ask(sets("a", 3, 30) + sets("b", 2, 3000));
    const items = ask("stats items\r\n");
    const small = classFor(2 + 30 + 2);
    const big = classFor(2 + 3000 + 2);
    const names = [...stats(items).keys()];
    expect(names).toEqual([...MC_ITEMS.map((n) => `items:${small}:${n}`), ...MC_ITEMS.map((n) => `items:${big}:${n}`)]);
    expect(items.endsWith("END\r\n")).toBe(true);
    const slabs = stats(ask("stats slabs\r\n"));
    expect([...slabs.keys()]).toEqual([...MC_SLABS.map((n) => `${small}:${n}`), ...MC_SLABS.map((n) => `${big}:${n}`), "active_slabs", "total_malloced"]);
    expect(slabs.get("active_slabs")).toBe("2");
    expect(slabs.get("total_malloced")).toBe(String(2 << 20));
  });

  it("count items, bytes, pages and chunks per class from the store", () => {
    const { ask } = server();
    ask(sets("k", 100, 32));
    const c = classFor(3 + 32 + 2); // keys k0..k99: 2 and 3 bytes
    const it = stats(ask("stats items\r\n"));
    expect(it.get(`items:${c}:number`)).toBe("100");
    expect(it.get(`items:${c}:number_cold`)).toBe("100");
    expect(it.get(`items:${c}:number_hot`)).toBe("0");
    expect(it.get(`items:${c}:mem_requested`)).toBe(String(10 * (2 + 34) + 90 * (3 + 34)));
    const sl = stats(ask("stats slabs\r\n"));
    const per = Math.floor((1 << 20) / CLASS_SIZES[c - 1]!);
    expect(sl.get(`${c}:chunk_size`)).toBe(String(CLASS_SIZES[c - 1]));
    expect(sl.get(`${c}:chunks_per_page`)).toBe(String(per));
    expect(sl.get(`${c}:total_pages`)).toBe("1");
    expect(sl.get(`${c}:total_chunks`)).toBe(String(per));
    expect(sl.get(`${c}:used_chunks`)).toBe("100");
    expect(sl.get(`${c}:free_chunks`)).toBe(String(per - 100));
    expect(sl.get(`${c}:free_chunks_end`)).toBe("0");
    expect(sl.get(`${c}:cmd_set`)).toBe("100");
    // a delete frees a chunk, which stays with the class
    ask("delete k5\r\n");
    const after = stats(ask("stats slabs\r\n"));
    expect(after.get(`${c}:used_chunks`)).toBe("99");
    expect(after.get(`${c}:delete_hits`)).toBe("1");
  });

  it("count hits by the class of the item hit, as memcached's slab_stats", () => {
    const { ask } = server();
    ask("set s0 0 0 10\r\n1000000000\r\n" + sets("l", 1, 5000));
    ask("get s0 l0 nope\r\nget l0\r\ntouch s0 100\r\nincr s0 1\r\ndecr s0 1\r\ngets l0\r\n");
    ask("cas l0 0 0 1 999\r\nx\r\nmg l0 v\r\nmd s0\r\n");
    const s = classFor(2 + 10 + 2);
    const l = classFor(2 + 5000 + 2);
    const sl = stats(ask("stats slabs\r\n"));
    expect(sl.get(`${s}:get_hits`)).toBe("1");
    expect(sl.get(`${l}:get_hits`)).toBe("4"); // get, get, gets, mg
    expect(sl.get(`${s}:touch_hits`)).toBe("1");
    expect(sl.get(`${s}:incr_hits`)).toBe("1");
    expect(sl.get(`${s}:decr_hits`)).toBe("1");
    expect(sl.get(`${l}:cas_badval`)).toBe("1");
    expect(sl.get(`${s}:delete_hits`)).toBe("1");
    const it = stats(ask("stats items\r\n"));
    expect(it.get(`items:${l}:hits_to_cold`)).toBe("4");
    const g = stats(ask("stats\r\n"));
    expect(g.get("get_hits")).toBe("5");
    expect(g.get("cmd_set")).toBe("3");
    expect(g.get("incr_hits")).toBe("1");
  });

  it("evictions: evicted, evicted_nonzero, evicted_time and evicted_unfetched in the class evicted from", () => {
    const { ask, ctx } = server({ memory: 2 << 20 });
    const size = 100_000; // 10 per 1 MB page
    ask(sets("x", 5, size, 1000));
    ctx.clock += 30;
    ask("get x0\r\n");
    ask(sets("y", 20, size));
    const c = classFor(2 + size + 2);
    const it = stats(ask("stats items\r\n"));
    const evicted = Number(it.get(`items:${c}:evicted`));
    expect(evicted).toBe(5);
    expect(it.get(`items:${c}:number`)).toBe("20");
    expect(it.get(`items:${c}:evicted_nonzero`)).toBe("5");
    expect(it.get(`items:${c}:evicted_unfetched`)).toBe("4"); // x0 was fetched
    expect(it.get(`items:${c}:evicted_active`)).toBe("1");
    expect(it.get(`items:${c}:evicted_time`)).toBe("30");
    expect(Number(it.get(`items:${c}:direct_reclaims`))).toBeGreaterThanOrEqual(5);
    expect(stats(ask("stats\r\n")).get("evictions")).toBe("5");
  });

  it("items over 256 KB: a class of their own, each its own page", () => {
    const { ask } = server({ memory: 1 << 20 });
    const size = 300_000;
    expect(ask(`set big 0 0 ${size}\r\n${"v".repeat(size)}\r\n`)).toBe("STORED\r\n");
    const it = stats(ask("stats items\r\n"));
    expect(it.get(`items:${NCLASSES + 1}:number`)).toBe("1");
    expect(it.get(`items:${NCLASSES + 1}:mem_requested`)).toBe(String(3 + size + 2));
    const sl = stats(ask("stats slabs\r\n"));
    expect(sl.get(`${NCLASSES + 1}:chunk_size`)).toBe(String(1 << 20));
    expect(sl.get(`${NCLASSES + 1}:total_pages`)).toBe("1");
    expect(sl.get(`${NCLASSES + 1}:used_chunks`)).toBe("1");
    expect(sl.get("total_malloced")).toBe(String(3 + size + 2));
  });

  it("outofmemory when nothing can be evicted, reclaimed when the tail had expired", () => {
    // one page, one of its chunks held by a set in flight: a set of another class finds nothing to free
    const { ask, ctx } = server({ memory: 1 << 20 });
    const other = testSession(ctx);
    other.s.data(b("set a 0 0 10\r\n01234"));
    expect(ask(`set b 0 0 100\r\n${"b".repeat(100)}\r\n`)).toBe("SERVER_ERROR out of memory storing object\r\n");
    const c = classFor(1 + 100 + 2);
    expect(stats(ask("stats items\r\n")).size).toBe(0);
    // the class has no items, so only the totals tell; memcached counts it in the class all the same
    expect(ctx.store.stats.byClass.outofmemory[c - 1]).toBe(1);
    // expired items at the tail are reclaimed, not evicted
    const { ask: ask2, ctx: ctx2 } = server({ memory: 1 << 20 });
    ask2(`set e 0 1 60\r\n${"e".repeat(60)}\r\n`);
    ctx2.clock += 5;
    const per = Math.floor((1 << 20) / CLASS_SIZES[classFor(1 + 62) - 1]!);
    ask2(sets("f", per, 60)); // a page's worth more: the expired tail goes first
    const after = stats(ask2("stats items\r\n"));
    const f = classFor(1 + 62);
    expect(classFor(6 + 62)).toBe(f);
    expect(after.get(`items:${f}:reclaimed`)).toBe("1");
    expect(after.get(`items:${f}:expired_unfetched`)).toBe("1");
    expect(after.get(`items:${f}:evicted`)).toBe("0");
  });

  it("the crawler counts what it checked and reclaimed per class", () => {
    const { ask, ctx } = server();
    ask(sets("t", 10, 20, 1) + sets("keep", 1, 20));
    ctx.clock += 3;
    ctx.store.tick(ctx.clock);
    ctx.store.crawl(1 << 20);
    const c = classFor(2 + 20 + 2);
    expect(classFor(5 + 20 + 2)).toBe(c); // "keep0" too
    const it = stats(ask("stats items\r\n"));
    expect(it.get(`items:${c}:number`)).toBe("1");
    expect(it.get(`items:${c}:crawler_reclaimed`)).toBe("10");
    expect(it.get(`items:${c}:expired_unfetched`)).toBe("10");
    expect(it.get(`items:${c}:crawler_items_checked`)).toBe("11");
    expect(stats(ask("stats\r\n")).get("crawler_reclaimed")).toBe("10");
  });

  it("an empty store prints only the totals", () => {
    const { ask } = server();
    expect(ask("stats items\r\n")).toBe("END\r\n");
    expect(ask("stats slabs\r\n")).toBe("STAT active_slabs 0\r\nSTAT total_malloced 0\r\nEND\r\n");
  });
});

describe("stats reset", () => {
  it("clears what memcached clears: counters and per-class counts, not items, bytes or connections", () => {
    const { ask, ctx } = server({ memory: 2 << 20 });
    ask(sets("x", 30, 100_000));
    ask("get x29\r\nget nope\r\ndelete x28\r\n");
    ctx.store.stats.curr_connections = 1;
    const before = stats(ask("stats\r\n"));
    expect(Number(before.get("evictions"))).toBeGreaterThan(0);
    expect(ask("stats reset\r\n")).toBe("RESET\r\n");
    const g = stats(ask("stats\r\n"));
    for (const k of ["evictions", "get_hits", "get_misses", "cmd_get", "cmd_set", "delete_hits", "total_items", "total_connections"]) {
      expect(g.get(k), k).toBe("0");
    }
    expect(g.get("curr_items")).toBe(before.get("curr_items"));
    expect(g.get("bytes")).toBe(before.get("bytes"));
    expect(g.get("curr_connections")).toBe("1");
    const c = classFor(3 + 100_002);
    const it = stats(ask("stats items\r\n"));
    expect(it.get(`items:${c}:number`)).toBe(before.get("curr_items"));
    expect(it.get(`items:${c}:evicted`)).toBe("0");
    expect(it.get(`items:${c}:evicted_time`)).toBe("0");
    const sl = stats(ask("stats slabs\r\n"));
    expect(sl.get(`${c}:cmd_set`)).toBe("0");
    expect(sl.get(`${c}:total_pages`)).toBe("2");
  });
});

describe("stats sizes", () => {
  it("is off until sizes_enable, then counts items stored since by memcached's size in 32-byte steps", () => {
    const { ask } = server();
    ask(sets("old", 3, 10));
    expect(ask("stats sizes\r\n")).toBe("STAT sizes_status disabled\r\nEND\r\n");
    expect(ask("stats sizes_enable\r\n")).toBe("STAT sizes_status enabled\r\nEND\r\n");
    expect(ask("stats sizes\r\n")).toBe("END\r\n");
    // 56 + 2 + 1 + 12 = 71 -> 96; with flags 4 more: 56 + 2 + 1 + 4 + 102 = 165 -> 192
    ask("set n1 0 0 10\r\n0123456789\r\nset n2 0 0 10\r\n0123456789\r\nset n3 7 0 100\r\n" + "x".repeat(100) + "\r\n");
    expect(ask("stats sizes\r\n")).toBe("STAT 96 2\r\nSTAT 192 1\r\nEND\r\n");
    expect(stats(ask("stats settings\r\n")).get("track_sizes")).toBe("yes");
    // memcached takes a cas unique to mark the start
    expect(ask("gets n1\r\n")).toContain("VALUE n1 0 10 5\r\n");
    expect(ask("stats sizes_disable\r\n")).toBe("STAT sizes_status disabled\r\nEND\r\n");
    expect(ask("stats sizes\r\n")).toBe("STAT sizes_status disabled\r\nEND\r\n");
  });
});

describe("stats cachedump and stats conns", () => {
  it("cachedump lists a class most recent first, as memcached's item_cachedump", () => {
    const { ask } = server();
    ask(`set a 0 0 1\r\n1\r\nset b 0 100 40\r\n${"b".repeat(40)}\r\nset c 0 0 1\r\n3\r\nmn\r\n`);
    ask("ms eg== 1 b\r\nx\r\n"); // a binary key ("z") is left out
    const c = classFor(3);
    expect(ask(`stats cachedump ${c} 0\r\n`)).toBe(`ITEM c [1 b; 0 s]\r\nITEM a [1 b; 0 s]\r\nEND\r\n`);
    expect(ask(`stats cachedump ${classFor(43)} 0\r\n`)).toBe(`ITEM b [40 b; ${T0 + 100} s]\r\nEND\r\n`);
    expect(ask(`stats cachedump ${c} 1\r\n`)).toBe("ITEM c [1 b; 0 s]\r\nEND\r\n");
    expect(ask("stats cachedump 63 0\r\n")).toBe("END\r\n");
    expect(ask("stats cachedump 1\r\n")).toBe("CLIENT_ERROR bad command line\r\n");
    expect(ask("stats cachedump x 1\r\n")).toBe("CLIENT_ERROR bad command line format\r\n");
    expect(ask("stats cachedump 64 1\r\n")).toBe("CLIENT_ERROR Illegal slab id\r\n");
    expect(ask("stats bogus\r\n")).toBe("ERROR\r\n");
  });

  it("conns lists the listener, then each connection with its state and idle seconds", () => {
    const { ask, ctx, t } = server();
    const other = testSession(ctx);
    other.s.data(b("set x 0 0 10\r\n01234"));
    ctx.clock += 7;
    ctx.connections = () => [
      { id: 11, addr: "tcp:127.0.0.1:11211", listenAddr: "tcp:127.0.0.1:11211", session: null, lastCmd: ctx.store.now - 9 },
      { id: 12, addr: "tcp:127.0.0.1:50000", listenAddr: "tcp:127.0.0.1:11211", session: t.s, lastCmd: ctx.store.now },
      { id: 13, addr: "tcp6:[::1]:50001", listenAddr: "tcp:127.0.0.1:11211", session: other.s, lastCmd: other.s.lastCmd },
    ];
    expect(ask("stats conns\r\n")).toBe(
      "STAT 11:addr tcp:127.0.0.1:11211\r\nSTAT 11:state conn_listening\r\nSTAT 11:secs_since_last_cmd 9\r\n" +
        "STAT 12:addr tcp:127.0.0.1:50000\r\nSTAT 12:listen_addr tcp:127.0.0.1:11211\r\nSTAT 12:state conn_parse_cmd\r\nSTAT 12:secs_since_last_cmd 0\r\n" +
        "STAT 13:addr tcp6:[::1]:50001\r\nSTAT 13:listen_addr tcp:127.0.0.1:11211\r\nSTAT 13:state conn_nread\r\nSTAT 13:secs_since_last_cmd 7\r\nEND\r\n",
    );
  });
});

describe("lru_crawler metadump", () => {
  it("writes memcached's line per live item: URL-encoded key, absolute times, cas, fetched, class, memcached's size", () => {
    const { ask, ctx } = server();
    ask(`set a%b 0 0 2\r\nxy\r\nset k~.-_Z9 5 100 50\r\n${"c".repeat(50)}\r\nset gone 0 1 1\r\nz\r\nget a%b\r\n`);
    ctx.clock += 2; // "gone" expired
    const got = ask("lru_crawler metadump all\r\n");
    const lines = got.split("\n");
    expect(lines.pop()).toBe("");
    expect(lines.pop()).toBe("END\r");
    expect(lines.sort()).toEqual([
      `key=a%25b exp=-1 la=${T0} cas=1 fetch=yes cls=${classFor(3 + 4)} size=${56 + 3 + 1 + 4}`,
      `key=k~.-_Z9 exp=${T0 + 100} la=${T0} cas=2 fetch=no cls=${classFor(7 + 52)} size=${56 + 7 + 1 + 4 + 52}`,
    ]);
    expect(ask("lru_crawler metadump hash\r\n")).toBe(got);
    expect(ask(`lru_crawler metadump ${classFor(7)},,63\r\n`)).toBe(`${lines[0]}\nEND\r\n`);
    expect(ask("lru_crawler metadump 0\r\n")).toBe("BADCLASS invalid class id\r\n");
    expect(ask("lru_crawler metadump 64\r\n")).toBe("BADCLASS invalid class id\r\n");
    expect(ask("lru_crawler metadump 1,x\r\n")).toBe("BADCLASS invalid class id\r\n");
    expect(ask("lru_crawler metadump\r\n")).toBe("ERROR\r\n");
    expect(ask("lru_crawler metadump all noreply\r\n")).toBe("ERROR\r\n");
  });

  it("refuses to start behind stacked replies, as memcached; a get or mn sends them first", () => {
    const { ask } = server();
    expect(ask("version\r\nlru_crawler metadump all\r\n")).toBe("VERSION test\r\nERROR cannot pipeline other commands before metadump\r\n");
    expect(ask("get a\r\nlru_crawler metadump all\r\n")).toBe("END\r\nEND\r\n");
    expect(ask("mn\r\nlru_crawler metadump all\r\n")).toBe("MN\r\nEND\r\n");
  });

  it("a dump bigger than a step goes on in steps; the requests after it run after its END", () => {
    const { ask, t } = server();
    ask(sets("key", 5000, 10));
    const first = ask("lru_crawler metadump all\r\nget key1\r\nset late 0 0 1\r\n");
    expect(t.s.state).toBe(S_DUMP);
    expect(first.split("\n").length).toBeLessThan(5000);
    expect(ask("1\r\n")).toBe(""); // input waits for the END
    let rest = "";
    let steps = 0;
    while (t.s.dumpStep()) {
      rest += ask("");
      steps++;
    }
    rest += ask("");
    expect(t.s.state).toBe(S_LINE);
    expect(steps).toBeGreaterThan(0);
    const all = first + rest;
    expect(all.split("\n").filter((l) => l.startsWith("key=")).length).toBe(5000);
    expect(all.endsWith("END\r\nVALUE key1 0 10\r\nvvvvvvvvvv\r\nEND\r\nSTORED\r\n")).toBe(true);
  });

  it("the other lru_crawler commands answer as memcached's", () => {
    const { ask, ctx } = server();
    expect(ask("lru_crawler crawl all\r\n")).toBe("OK\r\n");
    expect(ask("lru_crawler crawl 99\r\n")).toBe("BADCLASS invalid class id\r\n");
    expect(ask("lru_crawler sleep 2000000\r\n")).toBe("CLIENT_ERROR sleep must be one second or less\r\n");
    expect(ask("lru_crawler sleep 50\r\nlru_crawler tocrawl 7\r\n")).toBe("OK\r\nOK\r\n");
    expect(ask("lru_crawler tocrawl x\r\n")).toBe("CLIENT_ERROR bad command line format\r\n");
    expect(ask("lru_crawler enable\r\n")).toBe("ERROR failed to start lru crawler thread\r\n");
    expect(ask("lru_crawler disable\r\n")).toBe("OK\r\n");
    expect(ctx.crawler.enabled).toBe(false);
    expect(ask("lru_crawler metadump all\r\n")).toBe("CLIENT_ERROR lru crawler disabled\r\n");
    const set = stats(ask("stats settings\r\n"));
    expect([set.get("lru_crawler"), set.get("lru_crawler_sleep"), set.get("lru_crawler_tocrawl")]).toEqual(["no", "50", "7"]);
    expect(ask("lru_crawler enable\r\nlru_crawler bogus\r\nlru_crawler\r\n")).toBe("OK\r\nERROR\r\nERROR\r\n");
  });
});
