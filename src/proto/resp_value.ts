// RESP replies as plain values, for the proxy's own control connections (Sentinel); never on the request path.
//
// The reader keeps the bytes it has not consumed and parses a value only once all of it is in,
// so it resumes across any split; control replies are small, and re-reading a partial one from
// its start costs nothing that matters.

/** An error reply (`-ERR ...`, RESP3 `!`). */
export class RespError {
  readonly message: string;
  constructor(message: string) {
    this.message = message;
  }
}

/** Simple and bulk strings are text; integers and doubles numbers; nil null; arrays, sets and pushes arrays; maps flat [k, v, ...] arrays. */
export type RespValue = string | number | boolean | null | RespError | RespValue[];

const dec = new TextDecoder();
const INCOMPLETE = Symbol("incomplete");

/** RESP2 and RESP3 commands as bytes: an array of bulk strings. */
export function respCommand(args: readonly string[]): Uint8Array {
  const enc = new TextEncoder();
  let out = `*${args.length}\r\n`;
  for (const a of args) out += `$${enc.encode(a).length}\r\n${a}\r\n`;
  return enc.encode(out);
}

export class RespReader {
  private buf = new Uint8Array(256);
  private start = 0;
  private end = 0;
  private pos = 0;
  /** Bytes that are not RESP: the connection is out of step and must be dropped. */
  bad = false;

  push(chunk: Uint8Array): void {
    if (this.end + chunk.length > this.buf.length) {
      const live = this.end - this.start;
      if (live + chunk.length > this.buf.length) {
        const next = new Uint8Array((live + chunk.length) * 2);
        next.set(this.buf.subarray(this.start, this.end), 0);
        this.buf = next;
      } else this.buf.copyWithin(0, this.start, this.end);
      this.start = 0;
      this.end = live;
    }
    this.buf.set(chunk, this.end);
    this.end += chunk.length;
  }

  /** The next whole value, or undefined until its last byte is in (or once `bad`). */
  next(): RespValue | undefined {
    if (this.bad || this.start === this.end) return undefined;
    this.pos = this.start;
    const v = this.value();
    if (v === INCOMPLETE) return undefined;
    this.start = this.pos;
    if (this.start === this.end) this.start = this.end = 0;
    return v;
  }

  /** The line from pos to its CRLF, or INCOMPLETE; pos moves past the CRLF. */
  private line(): string | typeof INCOMPLETE {
    const b = this.buf;
    for (let i = this.pos; i + 1 < this.end; i++) {
      if (b[i] === 13 && b[i + 1] === 10) {
        const s = dec.decode(b.subarray(this.pos, i));
        this.pos = i + 2;
        return s;
      }
    }
    return INCOMPLETE;
  }

  /** A length or integer line: digits with an optional sign, else the stream is not RESP. */
  private int(head: string): number {
    if (!/^[-+]?\d+$/.test(head)) {
      this.bad = true;
      return Number.NaN;
    }
    return Number(head);
  }

  private value(): RespValue | typeof INCOMPLETE {
    if (this.pos >= this.end) return INCOMPLETE;
    const type = this.buf[this.pos++]!;
    const head = this.line();
    if (head === INCOMPLETE) return INCOMPLETE;
    switch (type) {
      case 0x2b: // +
        return head;
      case 0x2d: // -
        return new RespError(head);
      case 0x3a: // :
      case 0x28: {
        // ( (big number)
        const n = this.int(head);
        return this.bad ? INCOMPLETE : n;
      }
      case 0x2c: {
        // , (double): inf, -inf and nan as RESP3 spells them
        const n = head === "inf" ? Infinity : head === "-inf" ? -Infinity : Number(head);
        if (Number.isNaN(n) && head !== "nan") {
          this.bad = true;
          return INCOMPLETE;
        }
        return n;
      }
      case 0x23: // #
        return head === "t";
      case 0x5f: // _
        return null;
      case 0x24: // $
      case 0x21: // ! (blob error)
      case 0x3d: {
        // = (verbatim)
        const n = this.int(head);
        if (this.bad) return INCOMPLETE;
        if (n < 0) return null;
        if (this.pos + n + 2 > this.end) return INCOMPLETE;
        if (this.buf[this.pos + n] !== 13 || this.buf[this.pos + n + 1] !== 10) {
          this.bad = true;
          return INCOMPLETE;
        }
        const s = dec.decode(this.buf.subarray(this.pos, this.pos + n));
        this.pos += n + 2;
        return type === 0x21 ? new RespError(s) : s;
      }
      case 0x2a: // *
      case 0x7e: // ~
      case 0x3e: // >
      case 0x25: {
        // % (map: its pairs, flat)
        const n = this.int(head);
        if (this.bad) return INCOMPLETE;
        if (n < 0) return null;
        const count = type === 0x25 ? n * 2 : n;
        const out: RespValue[] = [];
        for (let i = 0; i < count; i++) {
          const v = this.value();
          if (v === INCOMPLETE) return INCOMPLETE;
          out.push(v);
        }
        return out;
      }
      default:
        this.bad = true;
        return INCOMPLETE;
    }
  }
}
