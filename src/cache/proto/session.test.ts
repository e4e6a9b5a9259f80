// Session: request vectors (replies as memcached 1.6.18 gives them) fed whole, byte by byte and at random splits.

import { describe, expect, it } from "vitest";
import { prng } from "../../../test/helpers/split.ts";
import type { CacheContext } from "./commands.ts";
import { S_CLOSED, Session } from "./session.ts";
import { GENERAL_STATS, type StatsView } from "./stats.ts";
import { CacheStore } from "../store/store.ts";

const T0 = 1_800_000_000;

/** A cache context on a fresh store, with a clock the test moves. */
export function testContext(opts: { memory?: number; itemSizeMax?: number } = {}): CacheContext & { clock: number } {
  const store = new CacheStore({ memoryLimit: opts.memory ?? 64 << 20, itemSizeMax: opts.itemSizeMax ?? 1 << 20, unixNow: T0 });
  const ctx = {
    store,
    verbosity: 0,
    version: "test",
    clock: T0,
    unixTime(): number {
      return ctx.clock;
    },
    statsView(): StatsView {
      return {
        stats: store.stats,
        pid: 1,
        uptime: ctx.clock - T0,
        unixTime: ctx.clock,
        version: "test",
        maxConnections: 1024,
        limitMaxbytes: store.memoryLimit,
        currItems: store.count,
        bytes: store.itemBytes,
        hashPowerLevel: 16,
        verbosity: ctx.verbosity,
        port: 11211,
        listenAddr: "127.0.0.1",
        itemSizeMax: store.itemSizeMax,
        chunkMax: store.chunkMax,
        crawlerRunning: false,
      };
    },
  };
  return ctx;
}

/** A session writing into a byte list; `ended` tells whether it closed the connection. */
export function testSession(ctx: CacheContext): { s: Session; out: () => string; ended: () => boolean } {
  const got: Uint8Array[] = [];
  let ended = false;
  const s = new Session(ctx, {
    write(b: Uint8Array): boolean {
      got.push(b.slice());
      return true;
    },
    end(): void {
      ended = true;
    },
  });
  return { s, out: () => Buffer.concat(got).toString("latin1"), ended: () => ended };
}

const b = (s: string): Uint8Array => Buffer.from(s, "latin1");

interface Vector {
  readonly name: string;
  readonly input: string;
  readonly want: string;
  readonly closes?: boolean;
  /** Replies depend on where the input is cut (memcached's flushing decides): whole only. */
  readonly wholeOnly?: boolean;
}

const ONE_MB_MAX = 1048576 - 56 - 2 - 2; // the largest value for a 1-byte key with flags 0

const VECTORS: readonly Vector[] = [
  { name: "set then get", input: "set k 0 0 3\r\n100\r\nget k\r\n", want: "STORED\r\nVALUE k 0 3\r\n100\r\nEND\r\n" },
  {
    name: "decr pads in place; incr grows back",
    input: "set k 0 0 3\r\n100\r\ndecr k 1\r\nget k\r\nincr k 1\r\nget k\r\n",
    want: "STORED\r\n99\r\nVALUE k 0 3\r\n99 \r\nEND\r\n100\r\nVALUE k 0 3\r\n100\r\nEND\r\n",
  },
  {
    name: "incr wraps at 2^64, decr stops at 0",
    input: "set n 0 0 20\r\n18446744073709551615\r\nincr n 1\r\nset m 0 0 1\r\n5\r\ndecr m 9\r\nincr m 18446744073709551615\r\n",
    want: "STORED\r\n0\r\nSTORED\r\n0\r\n18446744073709551615\r\n",
  },
  {
    name: "incr on non-numeric, empty, signed values; bad deltas",
    input: "set s 0 0 4\r\n12ab\r\nincr s 1\r\nset e 0 0 0\r\n\r\nincr e 1\r\nset m 0 0 3\r\n-12\r\nincr m 1\r\nincr m x\r\nincr m -1\r\nincr m 18446744073709551616\r\nincr zz 1\r\n",
    want:
      "STORED\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\nSTORED\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\nSTORED\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n" +
      "CLIENT_ERROR invalid numeric delta argument\r\nCLIENT_ERROR invalid numeric delta argument\r\nCLIENT_ERROR invalid numeric delta argument\r\nNOT_FOUND\r\n",
  },
  {
    name: "bad data chunk: the rest is read as a command",
    input: "set k 0 0 1\r\nabc\r\nget k\r\n",
    want: "CLIENT_ERROR bad data chunk\r\nERROR\r\nEND\r\n",
  },
  { name: "noreply hides a bad data chunk too", input: "set k 0 0 1 noreply\r\nabc\r\n", want: "ERROR\r\n" },
  {
    name: "numbers as strtol reads them: wrap, sign, whitespace",
    input: "set a 4294967297 0 1\r\nb\r\ngets a\r\nset a 0 0 4294967297\r\nb\r\nset s 0 0 +2\r\nab\r\nset s +0 -0 2\r\nab\r\nset s 0x1 0 2\r\nab\r\n",
    want: "STORED\r\nVALUE a 1 1 1\r\nb\r\nEND\r\nSTORED\r\nSTORED\r\nSTORED\r\nCLIENT_ERROR bad command line format\r\nERROR\r\n",
  },
  {
    name: "negative length and flags: no data swallowed",
    input: "set a 0 0 -1\r\nset a -1 0 1\r\nb\r\n",
    want: "CLIENT_ERROR bad command line format\r\nCLIENT_ERROR bad command line format\r\nERROR\r\n",
  },
  {
    name: "key of 251 bytes: refused, data read as a command",
    input: `set ${"k".repeat(251)} 0 0 1\r\nx\r\nset ${"k".repeat(250)} 0 0 1\r\nx\r\n`,
    want: "CLIENT_ERROR bad command line format\r\nERROR\r\nSTORED\r\n",
  },
  {
    name: "append, prepend keep flags and exptime; add/replace/cas rules",
    input:
      "set s 0 0 2\r\nab\r\nappend s 5 5 2\r\ncd\r\nprepend s 0 0 2\r\nzz\r\ngets s\r\nappend nope 0 0 1\r\nx\r\nreplace nope 0 0 1\r\nx\r\nadd s 0 0 1\r\nx\r\nreplace s 3 0 1\r\nx\r\ngets s\r\n" +
      "cas s 0 0 1 5\r\ny\r\ncas s 0 0 1 4\r\ny\r\ncas s 0 0 1 5\r\nz\r\ncas q 0 0 1 1\r\nq\r\ncas s 0 0 1 0\r\nq\r\n",
    want:
      "STORED\r\nSTORED\r\nSTORED\r\nVALUE s 0 6 3\r\nzzabcd\r\nEND\r\nNOT_STORED\r\nNOT_STORED\r\nNOT_STORED\r\nSTORED\r\nVALUE s 3 1 4\r\nx\r\nEND\r\n" +
      "EXISTS\r\nSTORED\r\nSTORED\r\nNOT_FOUND\r\nEXISTS\r\n",
  },
  {
    name: "wrong token counts answer ERROR",
    input: "cas s 0 0 1\r\nincr\r\nincr a\r\ntouch a\r\ndelete\r\ndelete a b c d\r\nget\r\nverbosity\r\nflush_all 1 2 3\r\nset s 0 0 2 noreply x\r\n",
    want: "ERROR\r\nERROR\r\nERROR\r\nERROR\r\nERROR\r\nERROR\r\nERROR\r\nERROR\r\nERROR\r\nERROR\r\n",
  },
  {
    name: "delete forms",
    input: "set n 0 0 1\r\n1\r\ndelete n 0\r\ndelete n 1\r\ndelete n noreply\r\ndelete n 0 noreply\r\ndelete n x y\r\ndelete n\r\n",
    want: "STORED\r\nDELETED\r\nCLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\nCLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\nNOT_FOUND\r\n",
  },
  {
    name: "flush_all, verbosity forms",
    input: "flush_all\r\nflush_all 0\r\nflush_all noreply\r\nflush_all abc\r\nflush_all -1\r\nverbosity 1\r\nverbosity x\r\nverbosity 1 noreply\r\n",
    want: "OK\r\nOK\r\nCLIENT_ERROR invalid exptime argument\r\nOK\r\nOK\r\nCLIENT_ERROR bad command line format\r\n",
  },
  {
    name: "touch, gat, gats",
    input: "set q 0 0 1\r\nx\r\ntouch q 10\r\ntouch q x\r\ntouch zz 10\r\ngat 10 q zz\r\ngats 10 q\r\ngat q\r\ngat x q\r\n",
    want:
      "STORED\r\nTOUCHED\r\nCLIENT_ERROR invalid exptime argument\r\nNOT_FOUND\r\nVALUE q 0 1\r\nx\r\nEND\r\nVALUE q 0 1 1\r\nx\r\nEND\r\n" +
      "CLIENT_ERROR invalid exptime argument\r\nCLIENT_ERROR invalid exptime argument\r\n",
  },
  {
    name: "negative and past-absolute exptimes expire at once; 30 days is relative",
    input: "set x 0 -1 1\r\nx\r\nget x\r\nset z 0 2592000 1\r\nz\r\nget z\r\nset w 0 2592001 1\r\nw\r\nget w\r\n",
    want: "STORED\r\nEND\r\nSTORED\r\nVALUE z 0 1\r\nz\r\nEND\r\nSTORED\r\nEND\r\n",
  },
  {
    name: "lines: bare \\n, lone \\r\\n, NUL cuts, \\r inside a token",
    input: "\r\nx\r\n\nget a\x00b\r\nset s 0 0 2\r\r\nab\r\nset t 0 0 2\nab\r\n",
    want: "ERROR\r\nERROR\r\nERROR\r\nEND\r\nSTORED\r\nSTORED\r\n",
  },
  {
    name: "a get of 40 keys (past the 23-token tokenizer limit)",
    input: `set k7 0 0 1\r\n7\r\nset k33 0 0 2\r\n33\r\nget ${Array.from({ length: 40 }, (_, i) => `k${i}`).join(" ")}\r\n`,
    want: "STORED\r\nSTORED\r\nVALUE k7 0 1\r\n7\r\nVALUE k33 0 2\r\n33\r\nEND\r\n",
  },
  {
    name: "meta: ms flags and modes",
    input: "ms m 2\r\nhi\r\nms m 2 c k O5 T0 F7\r\nhi\r\nms m S2\r\nhi\r\nms m 2 MX\r\nhi\r\nms m 2 MA\r\nzz\r\nmg m v f\r\nms m 2 C1\r\nxx\r\nms nn 2 ME q\r\nxx\r\nms nn 2 ME\r\nxx\r\nmn\r\n",
    want: "HD\r\nHD c2 km O5\r\nCLIENT_ERROR bad command line format\r\nERROR\r\nCLIENT_ERROR invalid mode for ms M token\r\nHD\r\nVA 4 f7\r\nhizz\r\nEX\r\nNS\r\nMN\r\n",
  },
  {
    name: "meta: md and ma",
    input:
      "ms m 1\r\nx\r\nmd m\r\nmd m\r\nmd m q\r\nmd m k O9\r\nms m 1\r\nx\r\nmd m C1\r\nmd m x\r\n" +
      "ma c\r\nma c N0 J10\r\nma c\r\nma c v\r\nma c MD D100 v t c\r\nma c M+ D5 q\r\nma c v k O1\r\nma zz q\r\nmn\r\n",
    want:
      "HD\r\nHD\r\nNF\r\nNF\r\nNF km O9\r\nHD\r\nEX\r\nCLIENT_ERROR invalid or duplicate flag\r\n" +
      "NF\r\nHD\r\nHD\r\nVA 2\r\n12\r\nVA 1 t-1 c6\r\n0\r\nVA 1 kc O1\r\n6\r\nNF\r\nMN\r\n",
  },
  {
    name: "meta: flag errors, base64 keys",
    input:
      "mg\r\nms k\r\nms k 1 Z\r\nx\r\nms k 1 F\r\nx\r\nmg k Q\r\nmg k v v\r\nms k 1 b\r\nx\r\nms Zm9v 1 b k\r\nx\r\nmg Zm9v b k v\r\nmg foo k v\r\nmg !!! b\r\nmn\r\n",
    want:
      "ERROR\r\nCLIENT_ERROR bad command line format\r\nCLIENT_ERROR invalid flag\r\nCLIENT_ERROR bad command line format\r\nCLIENT_ERROR invalid flag\r\nCLIENT_ERROR duplicate flag\r\n" +
      "CLIENT_ERROR error decoding key\r\nHD kZm9v b\r\nVA 1 kZm9v b\r\nx\r\nVA 1 kZm9v b\r\nx\r\nCLIENT_ERROR error decoding key\r\nMN\r\n",
  },
  {
    name: "meta: vivify, recache, stale, win tokens",
    input: "mg nv N30 v c t s\r\nmg nv N30 v c t s\r\nmg nv R30 t\r\nmd nv I T5\r\nmg nv c t v\r\nmg nv c t v\r\nme nv\r\n",
    want: "VA 0 c1 t30 s0 W\r\n\r\nVA 0 c1 t30 s0 Z\r\n\r\nHD t30 Z\r\nHD\r\nVA 0 c2 t5 X W\r\n\r\nVA 0 c2 t5 Z X\r\n\r\nME nv exp=-5 la=0 cas=2 fetch=yes cls=1 size=61\r\n",
  },
  {
    name: "the largest value for -I 1m is stored, one byte more is refused and swallowed",
    input: `set k 0 0 ${ONE_MB_MAX}\r\n${"x".repeat(ONE_MB_MAX)}\r\nset k 0 0 ${ONE_MB_MAX + 1}\r\n${"x".repeat(ONE_MB_MAX + 1)}\r\nget k\r\n`,
    want: "STORED\r\nSERVER_ERROR object too large for cache\r\nEND\r\n",
  },
  {
    name: "a get with a key too long drops the replies not yet sent",
    input: `set b 0 0 1\r\nb\r\nget a ${"k".repeat(251)}\r\n`,
    want: "CLIENT_ERROR bad command line format\r\n",
    wholeOnly: true,
  },
  { name: "an HTTP request line closes without the stacked replies", input: "GET a\r\nfoo bar HTTP/1.1\r\n", want: "", closes: true, wholeOnly: true },
  { name: "a long line that is not a get closes", input: `set a 0 0 1\r\nb\r\n${"x".repeat(3000)}`, want: "", closes: true, wholeOnly: true },
  { name: "a long get line does not", input: `get ${"x".repeat(3000)}`, want: "" },
  { name: "quit sends what is stacked, then closes", input: "get a\r\nquit extra\r\nget a\r\n", want: "END\r\n", closes: true },
];

/** Cuttings of `input`: whole, byte by byte, and seeded random pieces. */
function cuttings(input: Uint8Array, wholeOnly: boolean): [string, Uint8Array[]][] {
  const out: [string, Uint8Array[]][] = [["whole", [input]]];
  if (wholeOnly) return out;
  if (input.length < 20_000) {
    const each: Uint8Array[] = [];
    for (let i = 0; i < input.length; i++) each.push(input.subarray(i, i + 1));
    out.push(["byte by byte", each]);
  }
  for (let seed = 1; seed <= 4; seed++) {
    const rnd = prng(seed);
    const parts: Uint8Array[] = [];
    for (let i = 0; i < input.length; ) {
      const n = 1 + Math.floor(rnd() * Math.min(input.length > 20_000 ? 65536 : 64, input.length - i));
      parts.push(input.subarray(i, i + n));
      i += n;
    }
    out.push([`random split seed ${seed}`, parts]);
  }
  return out;
}

describe("Session replies as memcached 1.6.18", () => {
  for (const v of VECTORS) {
    for (const [how, parts] of cuttings(b(v.input), v.wholeOnly === true)) {
      it(`${v.name} (${how})`, () => {
        const ctx = testContext();
        const { s, out, ended } = testSession(ctx);
        for (const p of parts) s.data(p);
        expect(JSON.stringify(out())).toBe(JSON.stringify(v.want));
        expect(ended()).toBe(v.closes === true);
        if (v.closes === true) expect(s.state).toBe(S_CLOSED);
      });
    }
  }
});

describe("Session flushing", () => {
  it("holds replies while a data block is incomplete, and a close drops them", () => {
    const { s, out, ended } = testSession(testContext());
    s.data(b("set a 0 0 1\r\na\r\nset b 0 0 5\r\nbb"));
    expect(out()).toBe(""); // memcached sends nothing while it waits for the rest of b's data
    s.data(b("bbb\r\n"));
    expect(out()).toBe("STORED\r\nSTORED\r\n");
    s.data(b("set c 0 0 5\r\nc"));
    s.eof();
    expect(out()).toBe("STORED\r\nSTORED\r\n");
    expect(ended()).toBe(true);
  });

  it("a connection that goes in the middle of a data block gives its memory back", () => {
    const ctx = testContext();
    const { s } = testSession(ctx);
    s.data(b("set big 0 0 100\r\nhalf"));
    const reserved = (): number => ctx.store.arena.owners.reduce((n, o) => n + (o === null ? 0 : o.filter((x) => x === -2).length), 0);
    expect(reserved()).toBe(1);
    s.eof();
    expect(reserved()).toBe(0);
    const t = testSession(ctx);
    t.s.data(b("set other 0 0 100\r\nhalf"));
    t.s.dispose(); // the socket went without an EOF
    expect(reserved()).toBe(0);
    expect(ctx.store.count).toBe(0);
  });

  it("a get sends what is stacked, so a later close keeps it", () => {
    const { s, out } = testSession(testContext());
    s.data(b(`set a 0 0 1\r\na\r\nget a\r\nset b 0 0 1\r\nb\r\nfoo HTTP/1.0\r\n`));
    expect(out()).toBe("STORED\r\nVALUE a 0 1\r\na\r\nEND\r\n");
  });

  it("rewrites a number in place, padded, as memcached does", () => {
    const { s, out } = testSession(testContext());
    const v = "0".repeat(20_000 - 1) + "7";
    s.data(b(`set n 0 0 ${v.length}\r\n${v}\r\nget n\r\nincr n 1\r\nget n\r\n`));
    expect(out()).toBe(`STORED\r\nVALUE n 0 20000\r\n${v}\r\nEND\r\n8\r\nVALUE n 0 20000\r\n8${" ".repeat(19_999)}\r\nEND\r\n`);
  });

  it("sends a large item's own buffer without a copy, and then never rewrites it in place (memcached would)", () => {
    const { s, out } = testSession(testContext());
    const v = "0".repeat(300_000 - 1) + "7";
    s.data(b(`set n 0 0 ${v.length}\r\n${v}\r\nget n\r\nincr n 1\r\nget n\r\n`));
    expect(out()).toBe(`STORED\r\nVALUE n 0 300000\r\n${v}\r\nEND\r\n8\r\nVALUE n 0 1\r\n8\r\nEND\r\n`);
  });

  it("stats lists memcached's names in its order", () => {
    const { s, out } = testSession(testContext());
    s.data(b("stats\r\n"));
    const names = out()
      .split("\r\n")
      .filter((l) => l.startsWith("STAT "))
      .map((l) => l.split(" ")[1]);
    expect(names).toEqual(GENERAL_STATS.map((r) => r[0]));
    expect(out().endsWith("END\r\n")).toBe(true);
  });
});
