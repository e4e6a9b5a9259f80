// Tests for the log's bytes: RecordBuffer encodes, LogScanner replays whole, byte by byte and at random splits, and finds every damaged tail.

import { describe, expect, it } from "vitest";
import { splits } from "../../../test/helpers/split.ts";
import { crc32, crcInit } from "./crc.ts";
import { HEADER_SIZE, header, LogScanner, MAX_RECORD, RecordBuffer } from "./format.ts";
import { b, MapTarget } from "../../../test/helpers/aof_test_target.ts";
import { hashCrc32a } from "../../hashkit/crc32.ts";

/** A log file: header, then the records `write` puts in a RecordBuffer; with each record's start offset. */
function logFile(write: (r: RecordBuffer) => void): { bytes: Uint8Array; starts: number[] } {
  const starts: number[] = [];
  const r = new RecordBuffer(16);
  const h = header();
  r.append(h, 0, h.length);
  const probe = new Proxy(r, {
    get(t, p) {
      const v = Reflect.get(t, p) as unknown;
      if (typeof v !== "function" || p === "append" || p === "clear") return v;
      return (...args: unknown[]) => {
        starts.push(t.len);
        return (v as (...a: unknown[]) => unknown).apply(t, args);
      };
    },
  });
  write(probe);
  return { bytes: r.bytes.slice(0, r.len), starts };
}

const big = new Uint8Array(70_000).map((_, i) => (i * 31) & 0xff);

function everyKind(r: RecordBuffer): void {
  r.set({ key: b("a"), flags: 0, exptime: 0, cas: 1n, value: b("1") });
  r.set({ key: b("k\x00\xff\r\n"), flags: 0xffffffff, exptime: 2_000_000_000, cas: 0xffffffffffffffffn, value: b("") });
  r.set({ key: b("big"), flags: 7, exptime: 1_700_000_000, cas: 3n, value: big });
  r.touch(b("a"), 1_800_000_000);
  r.delete(b("k\x00\xff\r\n"));
  r.flushAll(1_900_000_000);
  r.set({ key: b("x".repeat(250)), flags: 1, exptime: 0, cas: 4n, value: b("after flush") });
}

function scanAll(bytes: Uint8Array, pieces: readonly Uint8Array[] = [bytes]): { s: LogScanner; t: MapTarget } {
  const t = new MapTarget();
  const s = new LogScanner(t);
  for (const p of pieces) s.feed(p);
  s.end();
  return { s, t };
}

describe("crc32()", () => {
  it("is the standard CRC-32 (check value) and equals hashCrc32a at every length and alignment", () => {
    const nine = b("123456789");
    expect(crc32(nine, 0, 9)).toBe(0xcbf43926);
    for (let start = 0; start < 9; start++) {
      for (let n = 0; n < 70; n++) expect(crc32(big, start, start + n)).toBe(hashCrc32a(big, start, start + n));
    }
    expect(crc32(big, 0, big.length)).toBe(hashCrc32a(big, 0, big.length));
  });

  it("gives the same checksums once hash-wasm takes the long records (crcInit)", async () => {
    const long = new Uint8Array(300_000);
    for (let i = 0; i < long.length; i++) long[i] = (i * 2654435761) >>> 24;
    const before = [4095, 4096, 4097, 65_536, 299_990].flatMap((n) => [0, 1, 3, 7].map((st) => crc32(long, st, st + n)));
    await crcInit();
    const after = [4095, 4096, 4097, 65_536, 299_990].flatMap((n) => [0, 1, 3, 7].map((st) => crc32(long, st, st + n)));
    expect(after).toEqual(before);
    expect(after[8]).toBe(hashCrc32a(long, 0, 4097));
    expect(crc32(nineBytes(), 0, 9)).toBe(0xcbf43926);
  });
});

function nineBytes(): Uint8Array {
  return new TextEncoder().encode("123456789");
}

describe("LogScanner", () => {
  const { bytes, starts } = logFile(everyKind);

  it("replays every record kind with its fields", () => {
    const { s, t } = scanAll(bytes);
    expect(s.damage).toBeNull();
    expect(s.records).toBe(7);
    expect(s.offset).toBe(bytes.length);
    expect(s.lastFlushAt).toBe(1_900_000_000);
    expect(t.ops[0]).toMatch(/^set a 0 0 1 1:/);
    expect(t.ops[1]).toMatch(/^set k\x00\xff\r\n 4294967295 2000000000 18446744073709551615 0:/);
    expect(t.ops.slice(3, 6)).toEqual(["touch a 1800000000", "delete k\x00\xff\r\n", "flush_all 1900000000"]);
    const bigItem = t.items.get("big");
    expect(bigItem?.value).toEqual(big);
    expect(bigItem?.flags).toBe(7);
    expect(t.items.get("a")?.exptime).toBe(1_800_000_000);
    expect(t.items.get("x".repeat(250))?.cas).toBe(4n);
  });

  it("gives the target copies, not views of the file", () => {
    const { t } = scanAll(bytes);
    const v = t.items.get("big")?.value as Uint8Array;
    expect(v.buffer).not.toBe(bytes.buffer);
    expect(v.byteLength).toBe(v.buffer.byteLength);
  });

  it("replays the same whole, byte by byte and at random splits", () => {
    const whole = scanAll(bytes).t.ops;
    for (const [name, pieces] of splits(bytes, 8)) {
      const { s, t } = scanAll(bytes, pieces);
      expect(t.ops, name).toEqual(whole);
      expect(s.damage, name).toBeNull();
      expect(s.offset, name).toBe(bytes.length);
    }
  });

  it("reports a torn tail at every byte of the last record, whole and split", () => {
    const last = starts[starts.length - 1] as number;
    const before = scanAll(bytes.subarray(0, last)).t.ops;
    for (let cut = last + 1; cut < bytes.length; cut++) {
      const part = bytes.subarray(0, cut);
      // byte by byte over the cut record (the 70 KB one before it is fed by the other tests)
      const bytewise = [part.subarray(0, last), ...[...part.subarray(last)].map((x) => Uint8Array.of(x))];
      for (const [name, pieces] of [["whole", [part]], ["byte by byte", bytewise]] as const) {
        const { s, t } = scanAll(part, pieces);
        expect(s.damage, `cut ${cut} ${name}`).toEqual({
          offset: last,
          kind: "torn",
          detail: cut - last < 8 ? `${cut - last} of its 8 head bytes are there` : `${cut - last} of its ${bytes.length - last} bytes are there`,
        });
        expect(s.offset).toBe(last);
        expect(t.ops).toEqual(before);
      }
    }
  });

  it("reports a torn header, and nothing for an empty file", () => {
    for (let cut = 1; cut < HEADER_SIZE; cut++) {
      const { s } = scanAll(bytes.subarray(0, cut));
      expect(s.damage).toEqual({ offset: 0, kind: "torn", detail: `${cut} of its 12 bytes are there` });
      expect(s.foreign).toBeNull();
    }
    const empty = scanAll(new Uint8Array(0)).s;
    expect([empty.damage, empty.foreign, empty.headerSeen]).toEqual([null, null, false]);
    expect(scanAll(bytes.subarray(0, HEADER_SIZE)).s.headerSeen).toBe(true);
  });

  it("finds a flipped byte anywhere: corrupt from that record on, the header is foreign", () => {
    for (let at = 0; at < bytes.length; at += at < 2000 ? 1 : 97) {
      const bad = bytes.slice();
      bad[at] = (bad[at] as number) ^ 0xff;
      const { s, t } = scanAll(bad);
      if (at < HEADER_SIZE) {
        expect(s.foreign, `flip at ${at}`).not.toBeNull();
        expect(t.ops).toEqual([]);
        continue;
      }
      let rec = starts.length - 1;
      while ((starts[rec] as number) > at) rec--;
      const start = starts[rec] as number;
      expect(s.damage?.offset, `flip at ${at}`).toBe(start);
      expect(s.damage?.kind).not.toBeUndefined();
      expect(s.records).toBe(rec);
      // a readable length chains to the records after it, which are counted as lost
      if (at - start >= 8 || at - start < 4) expect(s.lostAfter, `flip at ${at}`).toBe(starts.length - 1 - rec);
    }
  });

  it("does not wait for a gigabyte when a length field is damaged", () => {
    const { bytes: one, starts: st } = logFile((r) => r.set({ key: b("k"), flags: 0, exptime: 0, cas: 0n, value: b("v") }));
    const bad = one.slice();
    new DataView(bad.buffer).setUint32((st[0] as number) + 4, MAX_RECORD + 1, true);
    const { s } = scanAll(bad, [...bad].map((x) => Uint8Array.of(x)));
    expect(s.damage).toEqual({ offset: st[0], kind: "corrupt", detail: `impossible length ${MAX_RECORD + 1}` });
  });

  it("calls a record with a valid checksum but an unknown type corrupt", () => {
    const r = new RecordBuffer(16);
    const h = header();
    r.append(h, 0, h.length);
    r.flushAll(5);
    const bad = r.bytes.slice(0, r.len);
    bad[HEADER_SIZE + 8] = 9;
    new DataView(bad.buffer).setUint32(HEADER_SIZE, crc32(bad, HEADER_SIZE + 4, bad.length), true);
    expect(scanAll(bad).s.damage).toEqual({ offset: HEADER_SIZE, kind: "corrupt", detail: "unknown type 9" });
  });

  it("refuses another version and another file", () => {
    const v2 = header();
    v2[8] = 2;
    expect(scanAll(v2).s.foreign).toBe("log format version 2 is not supported (this program reads 1)");
    expect(scanAll(b("set a 0 0 1\r\n")).s.foreign).toBe("not a cache log (bad magic number)");
    expect(scanAll(b("hello")).s.foreign).toBe("not a cache log (bad magic number)");
  });
});

describe("RecordBuffer", () => {
  it("reuses its memory and shrinks back after a huge batch", () => {
    const r = new RecordBuffer(1024);
    r.set({ key: b("k"), flags: 0, exptime: 0, cas: 0n, value: new Uint8Array(100_000) });
    expect(r.bytes.length).toBeGreaterThanOrEqual(100_000);
    r.clear();
    expect(r.bytes.length).toBe(1024);
    r.delete(b("k"));
    const mem = r.bytes;
    r.clear();
    r.delete(b("k"));
    expect(r.bytes).toBe(mem);
  });
});
