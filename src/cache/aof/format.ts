// The cache log's bytes: file header, record layout, the encoder (one reused buffer) and the resumable scanner.
//
// File:    header = magic "\x89NCAOF\r\n" (8 bytes; the high byte and CRLF expose a file mangled
//          by a text transfer, as PNG's do) + version u32 LE, then records back to back.
// Record:  crc32 u32 | len u32 | type u8 | payload (len - 1 bytes)        all integers little-endian
//          crc covers len, type and payload, so a damaged length is caught like damaged data.
//   SET    1  flags u32 | exptime f64 | cas u64 | keylen u16 | key | value (the rest)
//   DELETE 2  key (the rest)
//   TOUCH  3  exptime f64 | key (the rest)
//   FLUSH  4  at f64
// Times are absolute unix seconds (0 = never) as JournalItem has them; f64 keeps any integer a
// store may hand over exactly. A record is a result, never a command (see ../journal.ts).

import { crc32 } from "./crc.ts";
import type { JournalItem, JournalTarget } from "../journal.ts";

export const MAGIC = new Uint8Array([0x89, 0x4e, 0x43, 0x41, 0x4f, 0x46, 0x0d, 0x0a]);
export const VERSION = 1;
export const HEADER_SIZE = 12;
/** crc + len. */
export const RECORD_HEAD = 8;
/** Largest `len` accepted: anything above is a damaged length field, not a record. */
export const MAX_RECORD = 1 << 30;

export const REC = { SET: 1, DELETE: 2, TOUCH: 3, FLUSH: 4 } as const;

const SET_FIXED = 1 + 4 + 8 + 8 + 2;
const TOUCH_FIXED = 1 + 8;
const FLUSH_LEN = 1 + 8;

/** The file header bytes. */
export function header(): Uint8Array {
  const h = new Uint8Array(HEADER_SIZE);
  h.set(MAGIC, 0);
  new DataView(h.buffer).setUint32(8, VERSION, true);
  return h;
}

/**
 * Records encoded back to back into one growing buffer, reused after each flush, so a batch of
 * mutations costs one write and no allocation once the buffer has grown to the batch size.
 */
export class RecordBuffer {
  bytes: Uint8Array;
  len = 0;
  private view: DataView;
  private readonly initial: number;

  constructor(initial = 64 * 1024) {
    this.initial = initial;
    this.bytes = new Uint8Array(initial);
    this.view = new DataView(this.bytes.buffer);
  }

  set(item: JournalItem): void {
    const key = item.key;
    const value = item.value;
    const at = this.begin(SET_FIXED + key.length + value.length, REC.SET);
    const v = this.view;
    v.setUint32(at, item.flags >>> 0, true);
    v.setFloat64(at + 4, item.exptime, true);
    v.setBigUint64(at + 12, BigInt.asUintN(64, item.cas), true);
    v.setUint16(at + 20, key.length, true);
    this.bytes.set(key, at + 22);
    this.bytes.set(value, at + 22 + key.length);
    this.finish();
  }

  delete(key: Uint8Array): void {
    const at = this.begin(1 + key.length, REC.DELETE);
    this.bytes.set(key, at);
    this.finish();
  }

  touch(key: Uint8Array, exptime: number): void {
    const at = this.begin(TOUCH_FIXED + key.length, REC.TOUCH);
    this.view.setFloat64(at, exptime, true);
    this.bytes.set(key, at + 8);
    this.finish();
  }

  flushAll(at: number): void {
    const p = this.begin(FLUSH_LEN, REC.FLUSH);
    this.view.setFloat64(p, at, true);
    this.finish();
  }

  /** Append bytes that are already encoded records (the compaction's pending tail). */
  append(src: Uint8Array, start: number, end: number): void {
    this.reserve(end - start);
    this.bytes.set(src.subarray(start, end), this.len);
    this.len += end - start;
  }

  /** Forget the contents; a buffer grown past 16 times its first size goes back to that size. */
  clear(): void {
    this.len = 0;
    if (this.bytes.length > this.initial * 16) {
      this.bytes = new Uint8Array(this.initial);
      this.view = new DataView(this.bytes.buffer);
    }
  }

  /** Start of the record being written; `finish` seals it. */
  private start = 0;

  /** Reserve a record of body length `body`, write its head and type; returns the payload offset. */
  private begin(body: number, type: number): number {
    this.reserve(RECORD_HEAD + body);
    const s = this.len;
    this.start = s;
    this.view.setUint32(s + 4, body, true);
    this.bytes[s + 8] = type;
    this.len = s + RECORD_HEAD + body;
    return s + 9;
  }

  private finish(): void {
    const s = this.start;
    this.view.setUint32(s, crc32(this.bytes, s + 4, this.len), true);
  }

  private reserve(n: number): void {
    const need = this.len + n;
    if (need <= this.bytes.length) return;
    let cap = this.bytes.length * 2;
    while (cap < need) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.bytes.subarray(0, this.len));
    this.bytes = b;
    this.view = new DataView(b.buffer);
  }
}

/** What is wrong where the valid part of a log ends. */
export interface Damage {
  /** File offset of the first byte that is not part of a valid record. */
  readonly offset: number;
  readonly kind: "torn" | "corrupt";
  /** Why, for the message: "bad checksum", "12 of its 57 bytes are there"... */
  readonly detail: string;
}

const S_HEADER = 0;
const S_RECORDS = 1;
/** After damage whose length was readable: count the intact records that follow (they are lost too). */
const S_COUNT = 2;
const S_STOP = 3;

/**
 * Resumable scanner of a log: feed() it the file in pieces of any size, then end(). Valid records
 * are applied to `target` in order until the first damaged one; `offset` is then where the good
 * part ends. Keys and values handed to the target are copies it may keep.
 */
export class LogScanner {
  /** End of the last valid record (the whole header counts as valid). */
  offset = 0;
  /** Records applied. */
  records = 0;
  /** Intact records after the damage, lost with it (counted while their lengths chain). */
  lostAfter = 0;
  damage: Damage | null = null;
  /** Set when the header is not ours: no repair may touch such a file. */
  foreign: string | null = null;
  /** Largest flush_all time replayed (a pending delayed flush must survive compaction). */
  lastFlushAt = 0;

  private state = S_HEADER;
  private readonly target: JournalTarget;
  /** Bytes of a record (or header) cut by a piece boundary, gathered here. */
  private part = new Uint8Array(256);
  private partLen = 0;
  /** File offset where the record being scanned in COUNT state starts. */
  private at = 0;

  constructor(target: JournalTarget) {
    this.target = target;
  }

  /** Scan `chunk`, the next bytes of the file; it is only read during the call. */
  feed(chunk: Uint8Array): void {
    const n = chunk.length;
    let i = 0;
    while (i < n && this.state !== S_STOP) {
      if (this.partLen > 0) {
        // a unit cut by a piece boundary: complete it in `part`, then scan it from there
        i += this.gather(chunk, i, n);
        const want = this.need(this.part, 0, this.partLen);
        if (this.partLen < want) return;
        this.unit(this.part, 0);
        this.partLen = 0;
      } else if (n - i < this.need(chunk, i, n)) {
        this.put(chunk, i, n - i);
        return;
      } else {
        i += this.unit(chunk, i);
      }
    }
  }

  /** The file is over: a unit still incomplete is a torn tail. */
  end(): void {
    if (this.state === S_STOP || this.partLen === 0) return;
    if (this.state === S_HEADER) {
      for (let k = 0; k < this.partLen && k < MAGIC.length; k++) {
        if (this.part[k] !== MAGIC[k]) {
          this.foreign = "not a cache log (bad magic number)";
          this.state = S_STOP;
          return;
        }
      }
      this.damage = { offset: 0, kind: "torn", detail: `${this.partLen} of its ${HEADER_SIZE} bytes are there` };
    } else if (this.state === S_RECORDS) {
      const detail =
        this.partLen < RECORD_HEAD
          ? `${this.partLen} of its ${RECORD_HEAD} head bytes are there`
          : `${this.partLen} of its ${this.need(this.part, 0, this.partLen)} bytes are there`;
      this.damage = { offset: this.offset, kind: "torn", detail };
    }
    this.state = S_STOP;
  }

  /** The header was read and is ours (false for an empty file). */
  get headerSeen(): boolean {
    return this.offset >= HEADER_SIZE;
  }

  /** Bytes the unit starting at `b[i]` needs in all (`RECORD_HEAD` while its length is unread). */
  private need(b: Uint8Array, i: number, n: number): number {
    if (this.state === S_HEADER) return HEADER_SIZE;
    if (n - i < RECORD_HEAD) return RECORD_HEAD;
    const len = readU32(b, i + 4);
    // a damaged length must not make us wait for a gigabyte: unit() judges it
    if (len === 0 || len > MAX_RECORD) return RECORD_HEAD;
    return RECORD_HEAD + len;
  }

  /** Copy into `part` what the current unit still lacks from `chunk[i..n)`; returns bytes taken. */
  private gather(chunk: Uint8Array, i: number, n: number): number {
    let taken = 0;
    if (this.state !== S_HEADER && this.partLen < RECORD_HEAD) {
      // the length is not known yet: complete the head first, then take what it asks for
      taken = Math.min(n - i, RECORD_HEAD - this.partLen);
      this.put(chunk, i, taken);
      if (this.partLen < RECORD_HEAD) return taken;
    }
    const k = Math.min(n - i - taken, this.need(this.part, 0, this.partLen) - this.partLen);
    this.put(chunk, i + taken, k);
    return taken + k;
  }

  private put(src: Uint8Array, i: number, k: number): void {
    if (this.partLen + k > this.part.length) {
      let cap = this.part.length * 2;
      while (cap < this.partLen + k) cap *= 2;
      const p = new Uint8Array(cap);
      p.set(this.part.subarray(0, this.partLen));
      this.part = p;
    }
    this.part.set(src.subarray(i, i + k), this.partLen);
    this.partLen += k;
  }

  /** Scan one whole unit at `b[i..]` (header or record); returns its size. */
  private unit(b: Uint8Array, i: number): number {
    if (this.state === S_HEADER) {
      this.checkHeader(b, i);
      if (this.foreign === null) this.offset = HEADER_SIZE;
      return HEADER_SIZE;
    }
    const len = readU32(b, i + 4);
    const start = this.state === S_COUNT ? this.at : this.offset;
    if (len === 0 || len > MAX_RECORD) {
      this.fail(start, "corrupt", `impossible length ${len}`, false);
      return RECORD_HEAD;
    }
    const size = RECORD_HEAD + len;
    if (readU32(b, i) !== crc32(b, i + 4, i + size)) {
      this.fail(start, "corrupt", "bad checksum", true);
      this.at = start + size;
      return size;
    }
    if (this.state === S_COUNT) {
      this.lostAfter++;
      this.at = start + size;
      return size;
    }
    const why = this.apply(b, i + RECORD_HEAD, i + size);
    if (why !== null) {
      this.fail(start, "corrupt", why, true);
      this.at = start + size;
      return size;
    }
    this.records++;
    this.offset = start + size;
    return size;
  }

  /** First damage: stop applying; keep counting the records after it when their lengths chain. */
  private fail(offset: number, kind: "torn" | "corrupt", detail: string, canSkip: boolean): void {
    if (this.damage === null) {
      this.damage = { offset, kind, detail };
      this.state = canSkip ? S_COUNT : S_STOP;
    } else {
      this.state = S_STOP;
    }
  }

  private checkHeader(b: Uint8Array, i: number): void {
    for (let k = 0; k < MAGIC.length; k++) {
      if (b[i + k] !== MAGIC[k]) {
        this.foreign = "not a cache log (bad magic number)";
        this.state = S_STOP;
        return;
      }
    }
    const version = readU32(b, i + 8);
    if (version !== VERSION) {
      this.foreign = `log format version ${version} is not supported (this program reads ${VERSION})`;
      this.state = S_STOP;
      return;
    }
    this.state = S_RECORDS;
  }

  /** Decode the record body `b[s..e)` and apply it; returns why it is invalid, or null. */
  private apply(b: Uint8Array, s: number, e: number): string | null {
    const type = b[s];
    const len = e - s;
    const v = new DataView(b.buffer, b.byteOffset + s, len);
    switch (type) {
      case REC.SET: {
        if (len < SET_FIXED) return "too short for a set";
        const keyLen = v.getUint16(21, true);
        if (SET_FIXED + keyLen > len) return "key longer than the record";
        const k = s + SET_FIXED;
        this.target.applySet({
          key: b.slice(k, k + keyLen),
          flags: v.getUint32(1, true),
          exptime: v.getFloat64(5, true),
          cas: v.getBigUint64(13, true),
          value: b.slice(k + keyLen, e),
        });
        return null;
      }
      case REC.DELETE:
        this.target.applyDelete(b.slice(s + 1, e));
        return null;
      case REC.TOUCH:
        if (len < TOUCH_FIXED) return "too short for a touch";
        this.target.applyTouch(b.slice(s + TOUCH_FIXED, e), v.getFloat64(1, true));
        return null;
      case REC.FLUSH: {
        if (len !== FLUSH_LEN) return "wrong size for a flush_all";
        const at = v.getFloat64(1, true);
        if (at > this.lastFlushAt) this.lastFlushAt = at;
        this.target.applyFlushAll(at);
        return null;
      }
      default:
        return `unknown type ${type}`;
    }
  }
}

function readU32(b: Uint8Array, i: number): number {
  return (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
}
