// The request sequences cache_diff.test.ts plays on memcached and on our cache server (and a check of the corpus itself).

import { describe, expect, it } from "vitest";

/** Bytes to send; a function gets everything received so far (to echo a cas unique back). */
export type Step = string | Buffer | { readonly sleep: number } | ((got: Buffer) => string);

export interface Seq {
  readonly name: string;
  readonly steps: readonly Step[];
  /** How each step is written: whole, one byte per write, or seeded random pieces. */
  readonly split?: "whole" | "bytes" | "random";
  /** "idle": no marker after the last step (it leaves a request unfinished or closes). */
  readonly end?: "idle";
}

const S: Seq[] = [];
const add = (name: string, steps: Step[], more: Partial<Seq> = {}): void => {
  S.push({ name, steps, ...more });
};

/** The cas unique of the last "VALUE <key> ..." line received. */
const casOf =
  (key: string, make: (cas: string) => string) =>
  (got: Buffer): string => {
    const all = [...got.toString("latin1").matchAll(new RegExp(`VALUE ${key} \\d+ \\d+ (\\d+)\\r\\n`, "g"))];
    return make(all.length > 0 ? all[all.length - 1]![1]! : "0");
  };

const K251 = "k".repeat(251);
const K250 = "k".repeat(250);
const MAXV = 1048576 - 56 - 2 - 2; // largest value for a 1-byte key, flags 0, with -I 1m

// ---- storage commands: every mode on a missing and an existing key, with and without noreply
for (const cmd of ["set", "add", "replace", "append", "prepend"]) {
  for (const exists of [false, true]) {
    for (const noreply of [false, true]) {
      add(`${cmd} on a ${exists ? "present" : "missing"} key${noreply ? " noreply" : ""}`, [
        exists ? "set k 3 0 3\r\nold\r\n" : "",
        `${cmd} k 5 0 3${noreply ? " noreply" : ""}\r\nnew\r\n`,
        "gets k\r\n",
      ]);
    }
  }
}
add("set with every flags value form", [
  "set a 0 0 1\r\na\r\nset b 4294967295 0 1\r\nb\r\nset c 4294967296 0 1\r\nc\r\nset d 1 0 1\r\nd\r\nget a b c d\r\n",
]);
add("set value forms: empty, binary, CR and LF inside", ["set e 0 0 0\r\n\r\nset b 0 0 6\r\n\x00\x01\xff\r\n!\r\nset n 0 0 3\r\na\nb\r\nget e b n\r\n"]);
add("set replaces flags and value", ["set k 1 0 1\r\na\r\nset k 2 0 2\r\nbb\r\ngets k\r\n"]);
add("append then prepend keep the old flags", ["set k 9 0 2\r\nmm\r\nappend k 1 0 1\r\nZ\r\nprepend k 2 0 1\r\nA\r\nget k\r\n"]);
add("add on an expired key stores", ["set k 0 -1 1\r\na\r\nadd k 0 0 1\r\nb\r\nget k\r\n"]);
add("replace on a flushed key does not", ["set k 0 0 1\r\na\r\nflush_all\r\nreplace k 0 0 1\r\nb\r\nget k\r\n"]);
add("a pipeline of 50 sets and one get of all", [
  Array.from({ length: 50 }, (_, i) => `set p${i} ${i} 0 ${String(i * 7).length}\r\n${i * 7}\r\n`).join("") +
    `get ${Array.from({ length: 50 }, (_, i) => `p${i}`).join(" ")}\r\n`,
]);

// ---- cas
add("cas on a missing key", ["cas k 0 0 1 1\r\nx\r\n"]);
add("cas with the right unique", ["set k 0 0 1\r\na\r\ngets k\r\n", casOf("k", (c) => `cas k 7 0 1 ${c}\r\nb\r\ngets k\r\n`)]);
add("cas with a stale unique", ["set k 0 0 1\r\na\r\ngets k\r\n", casOf("k", (c) => `set k 0 0 1\r\nz\r\ncas k 0 0 1 ${c}\r\nb\r\nget k\r\n`)]);
add("cas twice with the same unique", ["set k 0 0 1\r\na\r\ngets k\r\n", casOf("k", (c) => `cas k 0 0 1 ${c}\r\nb\r\ncas k 0 0 1 ${c}\r\nc\r\nget k\r\n`)]);
add("cas with unique 0 on a present key", ["set k 0 0 1\r\na\r\ncas k 0 0 1 0\r\nb\r\n"]);
add("cas noreply: match and conflict", ["set k 0 0 1\r\na\r\ngets k\r\n", casOf("k", (c) => `cas k 0 0 1 ${c} noreply\r\nb\r\ncas k 0 0 1 ${c} noreply\r\nc\r\nget k\r\n`)]);
add("cas with a malformed unique", ["set k 0 0 1\r\na\r\ncas k 0 0 1 abc\r\nb\r\ncas k 0 0 1 -1\r\nb\r\ncas k 0 0 1 18446744073709551616\r\nb\r\n"]);
add("cas with the largest unique", ["set k 0 0 1\r\na\r\ncas k 0 0 1 18446744073709551615\r\nb\r\n"]);
add("cas with a wrong token count", ["cas k 0 0 1\r\nx\r\ncas k 0 0 1 1 noreply extra\r\nx\r\n"]);
add("gets uniques grow with every change", ["set a 0 0 1\r\n1\r\nset b 0 0 1\r\n1\r\nincr a 1\r\ntouch b 100\r\nappend b 0 0 1\r\n2\r\ngets a b\r\n"]);

// ---- incr / decr on every kind of value
const VALUES = ["0", "1", "99", "100", "18446744073709551615", "18446744073709551614", "abc", "12abc", " 12", "-1", "+5", "", "0001", "12 34"];
const OPS = ["incr k 1", "decr k 1", "incr k 18446744073709551615", "decr k 100"];
for (const v of VALUES) {
  for (const op of OPS) add(`${op} on ${JSON.stringify(v)}`, [`set k 0 0 ${v.length}\r\n${v}\r\n${op}\r\nget k\r\n`]);
}
add("incr/decr on a missing key", ["incr nope 1\r\ndecr nope 1\r\n"]);
add("incr with bad deltas", ["set k 0 0 1\r\n5\r\nincr k x\r\nincr k -1\r\nincr k 18446744073709551616\r\nincr k 1.5\r\nincr k +2\r\nget k\r\n"]);
add("incr noreply: hit, miss, non-numeric", ["set k 0 0 1\r\n5\r\nset s 0 0 1\r\nx\r\nincr k 5 noreply\r\nincr nope 1 noreply\r\nincr s 1 noreply\r\nget k\r\n"]);
add("incr grows a value past its length", ["set k 0 0 1\r\n9\r\nincr k 1\r\nincr k 990\r\ngets k\r\n"]);
add("decr shrinks in place, padded", ["set k 0 0 4\r\n1000\r\ndecr k 1\r\ndecr k 990\r\nget k\r\n"]);
add("incr keeps flags", ["set k 42 0 1\r\n1\r\nincr k 1\r\nget k\r\n"]);

// ---- get, gets, gat, gats
add("get hits, misses and repeats", ["set a 0 0 1\r\n1\r\nset b 3 0 2\r\n22\r\nget a\r\nget zz\r\nget a zz b a\r\ngets a b\r\n"]);
add("get of 40 keys (beyond 23 tokens)", [
  "set k7 0 0 1\r\n7\r\nset k33 0 0 2\r\n33\r\n",
  `get ${Array.from({ length: 40 }, (_, i) => `k${i}`).join(" ")}\r\n`,
  `gets ${Array.from({ length: 40 }, (_, i) => `k${i}`).join(" ")}\r\n`,
]);
add("get with extra spaces", ["set a 0 0 1\r\n1\r\nget   a    a  \r\n"]);
add("get without a key", ["get\r\ngets\r\ngat\r\ngat 10\r\ngats\r\n"]);
add("get with a 250-byte key", [`set ${K250} 0 0 1\r\n1\r\nget ${K250}\r\n`]);
add("get with a 251-byte key", [`get ${K251}\r\n`]);
add("get with a 251-byte key among good ones drops the stacked replies", [`set a 0 0 1\r\n1\r\nget a ${K251} a\r\n`]);
add("a get sends what is stacked before a bad get", [`set a 0 0 1\r\n1\r\nget a\r\nset b 0 0 1\r\n2\r\nget a ${K251}\r\nget b\r\n`]);
for (const exp of ["0", "100", "-1", "abc", "2592000", "2592001", "4294967297"]) {
  add(`gat ${exp} then get`, ["set k 0 0 1\r\n1\r\n", `gat ${exp} k nope\r\n`, "get k\r\n"]);
  add(`gats ${exp} then gets`, ["set k 0 0 1\r\n1\r\n", `gats ${exp} k\r\n`, "gets k\r\n"]);
}
add("bget (the ancient get)", ["set a 0 0 1\r\n1\r\nbget a\r\n"]);

// ---- touch
for (const exp of ["0", "100", "-1", "x", "2592001"]) add(`touch ${exp}`, ["set k 0 0 1\r\n1\r\n", `touch k ${exp}\r\ntouch nope ${exp}\r\n`, "get k\r\n"]);
add("touch noreply and wrong counts", ["set k 0 0 1\r\n1\r\ntouch k 10 noreply\r\ntouch k\r\ntouch k 1 2 3\r\ntouch k noreply\r\nget k\r\n"]);
add("touch with a 251-byte key", [`touch ${K251} 10\r\ntouch ${K251} 10 noreply\r\n`]);

// ---- delete
add("delete forms", ["set n 0 0 1\r\n1\r\ndelete n 0\r\ndelete n\r\nset n 0 0 1\r\n1\r\ndelete n noreply\r\ndelete n 0 noreply\r\nget n\r\n"]);
add("delete usage errors", ["delete n 1\r\ndelete n x\r\ndelete n 0 x\r\ndelete n 1 noreply\r\ndelete\r\ndelete a b c d\r\n"]);
add("delete with a 251-byte key", [`delete ${K251}\r\ndelete ${K251} noreply\r\n`]);

// ---- flush_all, verbosity, version, stats, quit
add("flush_all forms", ["flush_all\r\nflush_all 0\r\nflush_all noreply\r\nflush_all abc\r\nflush_all -1\r\nflush_all 0 noreply\r\nflush_all 1 2 3\r\n"]);
add("flush_all empties the cache and new sets live", ["set a 0 0 1\r\n1\r\nflush_all\r\nget a\r\nset a 0 0 1\r\n2\r\nget a\r\n"]);
add("flush_all noreply empties too", ["set a 0 0 1\r\n1\r\nflush_all noreply\r\nget a\r\n"]);
add("flush_all with an absolute time in the past", ["set a 0 0 1\r\n1\r\nflush_all 2592001\r\nget a\r\n"]);
add("verbosity forms", ["verbosity\r\nverbosity 1\r\nverbosity x\r\nverbosity 1 noreply\r\nverbosity 5\r\nverbosity 1 2 3\r\nverbosity -1\r\n"]);
add("version", ["version\r\nversion extra\r\n"]);
add("stats names", ["set a 0 0 1\r\n1\r\nget a\r\nstats\r\n"]);
add("stats settings names", ["stats settings\r\n"]);
add("stats reset and detail", ["stats reset\r\nstats detail\r\nstats detail on\r\nstats detail dump\r\nstats detail off\r\nstats detail bogus\r\nstats bogus\r\n"]);
add("quit", ["set a 0 0 1\r\n1\r\nquit\r\nget a\r\n"], { end: "idle" });
add("quit after a get sends the get", ["get a\r\nquit extra\r\nget a\r\n"], { end: "idle" });
add("shutdown is not enabled", ["shutdown\r\nshutdown graceful\r\n"]);
add("cache_memlimit forms", ["cache_memlimit 64\r\ncache_memlimit 4\r\ncache_memlimit 2000000000\r\ncache_memlimit x\r\ncache_memlimit\r\ncache_memlimit 64 noreply\r\n"]);

// ---- malformed input
add("unknown commands", ["foo\r\nfoo bar\r\nGET a\r\nSet a 0 0 1\r\nx\r\nm\r\nmz a\r\nsets a\r\ndeletes a\r\nincrs a 1\r\nt\r\nx\r\n"]);
add("empty and short lines", ["\r\n\n \r\n  \r\na\r\n\r\r\n"]);
add("NUL in a line ends it", ["set a 0 0 1\r\n1\r\nget a\x00 b c\r\nget \x00a\r\n"]);
add("tabs are not separators", ["set\ta 0 0 1\r\n1\r\nset a\t0 0 1\r\nx\r\n"]);
add("CR inside tokens", ["set a 0 0 1\r\r\n1\r\nset b\r 0 0 1\r\n1\r\nget a b\r\n"]);
add("bare LF line ends", ["set a 0 0 1\n1\r\nget a\n"]);
add("set with a 251-byte key: the data is read as a command", [`set ${K251} 0 0 1\r\nx\r\nset ${K251} 0 0 1 noreply\r\nx\r\n`]);
add("set with 250-byte keys in every command", [
  `set ${K250} 0 0 1\r\n5\r\nappend ${K250} 0 0 1\r\n6\r\nincr ${K250} 1\r\ntouch ${K250} 10\r\ngets ${K250}\r\ndelete ${K250}\r\n`,
]);
add("negative and huge lengths", ["set a 0 0 -1\r\nset a 0 0 2147483648\r\nset a 0 0 4294967297\r\nb\r\nget a\r\n"]);
add("malformed numbers in set", ["set a x 0 1\r\n1\r\nset a 0 x 1\r\n1\r\nset a 0 0 x\r\n1\r\nset a -1 0 1\r\n1\r\nset a 0x1 0 1\r\n1\r\n"]);
add("numbers strtol accepts", ["set a +1 -0 +1\r\n1\r\nset b 0 0 1\t\r\n1\r\nget a b\r\n"]);
add("set with too many tokens", ["set a 0 0 1 noreply x\r\n1\r\nset a\r\nset a 0\r\nset a 0 0\r\n"]);
add("bad data chunk, longer", ["set a 0 0 1\r\nabc\r\nget a\r\n"]);
add("bad data chunk, missing CR", ["set a 0 0 2\r\nab\nget a\r\n"]);
add("bad data chunk noreply", ["set a 0 0 1 noreply\r\nabc\r\nget a\r\n"]);
add("bad data chunk on append", ["set a 0 0 1\r\n1\r\nappend a 0 0 1\r\n23\r\nget a\r\n"]);
add("an HTTP request closes the connection", ["GET / HTTP/1.1\r\nHost: x\r\n\r\n"], { end: "idle" });
add("an HTTP request after stacked replies drops them", ["set a 0 0 1\r\n1\r\nfoo HTTP/1.0\r\n"], { end: "idle" });
add("a long line that is not a get closes", [`set a 0 0 1\r\n1\r\n${"x".repeat(3000)}`], { end: "idle" });
add("a long get line does not close", [`get ${"x".repeat(3000)}`], { end: "idle" });
add("a long get line completed later", [`get ${"abc ".repeat(800)}`, "a\r\n"]);
add("leading spaces before a long get", [`${" ".repeat(50)}get ${"y".repeat(3000)}\r\n`]);

// ---- meta: mg
add("mg flags on a hit", ["set k 7 0 5\r\nhello\r\n", "mg k\r\nmg k v\r\nmg k s v\r\nmg k f s c k t v\r\nmg k O123 k s\r\nmg k q\r\nmg k q v\r\n"]);
add("mg flags on a miss", ["mg k\r\nmg k v\r\nmg k v q\r\nmg k k O9\r\nmg k O9 q\r\nmg k s t c f\r\n", "mn\r\n"]);
add("mg T touches, t reports in order", ["set k 0 0 1\r\n1\r\n", "mg k t T100 t\r\nmg k T0 t\r\nmg k T-1\r\nmg k\r\n"]);
add("mg h and l before and after a fetch", ["set k 0 0 1\r\n1\r\nmg k h l\r\nmg k h l\r\nmg k h u\r\nmg k h\r\n"]);
add("mg N vivifies and hands out one win token", ["mg k N30 c t s v\r\nmg k N30 c t s v\r\nmg k v\r\nmg k R30 t\r\n"]);
add("mg R recache win below the ttl", ["set k 0 100 1\r\n1\r\nmg k R200 t c\r\nmg k R200 t c\r\nmg k R50 t\r\n"]);
add("md I marks stale; mg reports X and W", ["set k 0 0 1\r\n1\r\nmd k I T30\r\nmg k c t v\r\nmg k c t v\r\nms k 1 I\r\n2\r\nmg k v c\r\n"]);
add("mg u does not bump", ["set k 0 0 1\r\n1\r\nmg k u h\r\nmg k u h\r\nmg k h\r\n"]);
add("mg errors", [
  `mg\r\nmg ${K251}\r\nmg k Q\r\nmg k v v\r\nmg k T\r\nmg k Tx\r\nmg k N\r\nmg k R\r\nmg k O${"x".repeat(32)}\r\nmg k O${"x".repeat(31)}\r\n`,
  "mg k 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19\r\nmg k 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18\r\n",
]);
add("mg with an opaque too long on a hit", ["set k 0 0 1\r\n1\r\n", `mg k T30 O${"x".repeat(40)}\r\nmg k t\r\n`]);
add("mg with base64 keys", ["ms Zm9v 1 b\r\nx\r\nmg Zm9v b k v\r\nmg foo k v\r\nmg Zm9v!! b k\r\nmg !!! b\r\nmg Zm9 b\r\nmg YmFy b k\r\n"]);
add("mg with a binary key", ["ms AAEC/w== 2 b\r\nhi\r\nmg AAEC/w== b v k\r\nme AAEC/w== b\r\n"]);

// ---- meta: ms
add("ms basics and returned flags", ["ms k 2\r\nhi\r\nms k 2 c k O5 T0 F7\r\nhi\r\nmg k v f c\r\nms k 2 q\r\nhi\r\nms k 0\r\n\r\nmg k v s\r\n"]);
for (const mode of ["E", "A", "P", "R", "S", "X", "e", "EE", ""]) {
  for (const exists of [false, true]) add(`ms M${mode} on a ${exists ? "present" : "missing"} key`, [exists ? "set k 3 0 3\r\nold\r\n" : "", `ms k 3 M${mode} c\r\nnew\r\n`, "mg k v f c\r\n"]);
}
add("ms C: match, mismatch, missing", ["ms k 1\r\na\r\nmg k c\r\n", (g) => `ms k 1 C${/ c(\d+)/.exec(g.toString())?.[1] ?? 0} c\r\nb\r\nms k 1 C1\r\nc\r\nms nope 1 C5\r\nd\r\nmg k v\r\n`]);
add("ms C with append mode", ["ms k 1\r\na\r\nms k 1 MA C1\r\nb\r\nmg k c\r\n", (g) => `ms k 1 MA C${/ c(\d+)/.exec(g.toString())?.[1] ?? 0}\r\nb\r\nmg k v\r\n`]);
add("ms I with a lower cas marks stale", ["ms k 1\r\na\r\nms k 1 C1 I\r\nb\r\nmg k v c\r\n"]);
add("ms T and F", ["ms k 1 T100 F99\r\na\r\nmg k t f v\r\nms k 1 T-1\r\na\r\nmg k v\r\n"]);
add("ms errors swallow the data", ["ms k 1 Z\r\nx\r\nms k 1 F\r\nx\r\nms k 1 Fx\r\nx\r\nms k 1 b\r\nx\r\nms k 1 v v\r\nx\r\nms k 1 MXY\r\nx\r\nms k 1 C\r\nx\r\n"]);
add("ms errors that do not swallow", ["ms\r\nms k\r\nms k x\r\nx\r\nms k -1\r\nms k 1.5\r\nx\r\n", `ms ${K251} 1\r\nx\r\n`]);
add("ms with too many flags", ["ms k 1 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18\r\nx\r\n"]);
add("ms opaque too long swallows", [`ms k 1 O${"x".repeat(40)} k\r\nx\r\nmg k\r\n`]);
add("ms bad data chunk with q shows the error", ["ms k 1 q\r\nabc\r\nmg k v\r\n"]);
add("ms too large", [`ms k ${MAXV + 1} c\r\n${"x".repeat(MAXV + 1)}\r\nmg k\r\n`]);

// ---- meta: md, ma, mn, me
add("md forms", ["ms m 1\r\nx\r\nmd m\r\nmd m\r\nmd m q\r\nmd m k O9\r\nms m 1\r\nx\r\nmd m q\r\nmg m\r\n"]);
add("md C", ["ms m 1\r\nx\r\nmd m C1\r\nmg m c\r\n", (g) => `md m C${/ c(\d+)/.exec(g.toString())?.[1] ?? 0} k\r\nmg m\r\n`]);
add("md errors", [`md\r\nmd ${K251}\r\nmd m x\r\nmd m k k\r\nmd m O${"x".repeat(40)}\r\nmd m 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19\r\n`]);
add("md b", ["ms Zm9v 1 b\r\nx\r\nmd Zm9v b k\r\nmd Zm9v b k\r\n"]);
add("ma forms", ["ma c\r\nma c N0 J10\r\nma c\r\nma c v\r\nma c MD D100 v t c\r\nma c M+ D5 q\r\nma c v k O1\r\nma zz q\r\nma zz k O2\r\n"]);
add("ma modes", ["ms c 2\r\n10\r\nma c MI v\r\nma c M+ v\r\nma c MD v\r\nma c M- v\r\nma c MX v\r\nma c Mx v\r\n"]);
add("ma wraps and floors", ["ms c 20\r\n18446744073709551615\r\nma c v\r\nma c MD D5 v\r\nma c D18446744073709551615 v\r\n"]);
add("ma on non-numeric and with bad numbers", ["ms s 1\r\nx\r\nma s\r\nma s q\r\nma c Dx\r\nma c J\r\nma c N\r\nma c C\r\nma c D-1\r\n"]);
add("ma N with T and t", ["ma v N100 J7 T50 t v c\r\nma v t v\r\n"]);
add("ma C", ["ms c 1\r\n1\r\nma c C1 v\r\nmg c c\r\n", (g) => `ma c C${/ c(\d+)/.exec(g.toString())?.[1] ?? 0} v c\r\n`]);
add("ma b", ["ma Zm9v b N0 J5 v k\r\nmg foo v k\r\n"]);
add("mn and me", ["mn\r\nmn extra\r\nme\r\nme nope\r\nset k 0 0 2\r\nhi\r\nme k\r\nme k b\r\nme c3o= b\r\n", `me ${K251}\r\n`]);
add("me on a bigger item and one with flags", ["set k 5 0 300\r\n" + "x".repeat(300) + "\r\nme k\r\nset j 0 0 3000\r\n" + "y".repeat(3000) + "\r\nme j\r\n"]);

// ---- 1 MB values
const big = (n: number, c = "v"): string => c.repeat(n);
add("the largest value under -I 1m", [`set k 0 0 ${MAXV}\r\n${big(MAXV)}\r\n`, "get k\r\n"]);
add("one byte more is too large", [`set k 0 0 ${MAXV + 1}\r\n${big(MAXV + 1)}\r\n`, "get k\r\n"]);
add("with flags the limit is 4 bytes lower", [`set k 1 0 ${MAXV - 4}\r\n${big(MAXV - 4)}\r\nset j 1 0 ${MAXV - 3}\r\n${big(MAXV - 3)}\r\n`, "get k j\r\n"]);
add("a too-large set deletes the old value; add does not", ["set a 0 0 1\r\n1\r\nset b 0 0 1\r\n2\r\n", `set a 0 0 ${2 << 20}\r\n${big(2 << 20)}\r\nadd b 0 0 ${2 << 20}\r\n${big(2 << 20)}\r\n`, "get a b\r\n"]);
add("too large noreply", [`set a 0 0 ${MAXV + 1} noreply\r\n${big(MAXV + 1)}\r\nget a\r\n`]);
add("appending past the limit is not stored", [`set k 0 0 ${MAXV - 10}\r\n${big(MAXV - 10)}\r\nappend k 0 0 10\r\n0123456789\r\nappend k 0 0 1\r\nx\r\n`, "mg k s\r\n"]);
add("incr on a value of 600 KB is non-numeric", [`set k 0 0 600000\r\n${"0".repeat(599999)}1\r\nincr k 1\r\nset j 0 0 1000\r\n${"0".repeat(999)}1\r\nincr j 1\r\nget j\r\n`]);
add("gets of two 1 MB values in one reply", [`set a 0 0 ${MAXV}\r\n${big(MAXV, "a")}\r\nset b 0 0 ${MAXV}\r\n${big(MAXV, "b")}\r\n`, "gets a b\r\n"]);
add("ms and mg of 1 MB", [`ms k ${MAXV} c\r\n${big(MAXV, "m")}\r\n`, "mg k v s\r\n"]);
add("1 MB values at random splits", [`set k 0 0 ${MAXV}\r\n${big(MAXV, "r")}\r\nget k\r\n`], { split: "random" });

// ---- the same things cut differently
const PIPELINE =
  "set a 0 0 1\r\n1\r\nset b 5 0 3\r\nabc\r\nget a b zz\r\nincr a 41\r\ndecr a 2\r\nappend b 0 0 2\r\nde\r\ngets a b\r\n" +
  "touch a 100\r\ndelete zz\r\ndelete b\r\nadd b 0 0 1\r\nx\r\nreplace b 0 0 1\r\ny\r\nget b\r\nms m 3 T0 c\r\nxyz\r\nmg m v s f\r\n" +
  "ma n N0 J3 v\r\nmd m q\r\nmg m q\r\nmn\r\nset a 0 0 1 noreply\r\n9\r\nget a\r\nverbosity 1\r\nflush_all 0\r\nget a b\r\n";
for (const split of ["whole", "bytes", "random"] as const) add(`a mixed pipeline, ${split}`, [PIPELINE], { split });
for (const split of ["bytes", "random"] as const) {
  add(`errors in a pipeline, ${split}`, ["set a 0 0 1\r\nabc\r\nset\r\nfoo\r\nget\r\nincr a x\r\nmg a Q\r\nms a 1 Z\r\nq\r\n\r\nget a\r\n"], { split });
  add(`bad data then recovery, ${split}`, ["set a 0 0 3\r\nabcd\r\nset b 0 0 2\r\nhi\r\nget a b\r\n"], { split });
  add(`40-key get, ${split}`, [`set k9 0 0 1\r\n9\r\nget ${Array.from({ length: 40 }, (_, i) => `k${i}`).join(" ")}\r\n`], { split });
  add(`meta with flags, ${split}`, ["ms k 5 c k O7 T0 F3\r\nhello\r\nmg k v s t c f k O8\r\nma n N0 J9 v c t\r\nmd k k O1\r\nmg k k O2\r\n"], { split });
  add(`noreply storm, ${split}`, ["set a 0 0 1 noreply\r\n1\r\nadd a 0 0 1 noreply\r\n2\r\nincr a 5 noreply\r\ndelete zz noreply\r\ntouch a 5 noreply\r\nget a\r\n"], { split });
}
add("a data block arriving one byte at a time", ["set k 0 0 30\r\n" + "0123456789".repeat(3) + "\r\nget k\r\n"], { split: "bytes" });

// ---- time: expiry, touch, delayed flush (sleeps; each check is >= 1 s away from a second boundary of either clock)
add("relative expiry", ["set k 0 2 1\r\n1\r\nset p 0 0 1\r\n1\r\nget k p\r\n", { sleep: 2600 }, "get k p\r\nadd k 0 0 1\r\n2\r\nget k\r\n"]);
add("touch and gat extend, touch -1 ends", ["set a 0 2 1\r\n1\r\nset b 0 2 1\r\n1\r\nset c 0 100 1\r\n1\r\ntouch a 100\r\ngat 100 b\r\ntouch c -1\r\n", { sleep: 2600 }, "get a b c\r\n"]);
add("a delayed flush_all waits, then kills what was stored before it", ["set a 0 0 1\r\n1\r\nflush_all 3\r\nget a\r\n", { sleep: 3600 }, "get a\r\nset a 0 0 1\r\n2\r\nget a\r\n"]);
add("mg T and ma T expire", ["set a 0 0 1\r\n1\r\nmg a T2\r\nma n N0 J1 T2 v\r\nmg a t\r\n", { sleep: 2600 }, "mg a v\r\nmg n v\r\n"]);
add("an absolute exptime ahead", [() => `set k 0 ${Math.floor(Date.now() / 1000) + 100} 1\r\n1\r\nget k\r\nmg k v\r\n`]); // (not t: memcached's clock lags the wall clock by up to a second)

export const SEQUENCES: readonly Seq[] = S;

describe("cache diff corpus", () => {
  it("has at least 200 sequences with distinct names", () => {
    expect(SEQUENCES.length).toBeGreaterThanOrEqual(200);
    expect(new Set(SEQUENCES.map((s) => s.name)).size).toBe(SEQUENCES.length);
  });
});
