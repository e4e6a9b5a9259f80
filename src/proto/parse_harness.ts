// Test support for the parser suites beside it (*.test.ts): wire bytes through msgRecv as reads
// would deliver them, what each parsed message holds as strings, and the suites every parser
// runs (each vector whole, byte by byte and at seeded random splits, in small and large mbufs;
// STYLE rule 9). Nothing else imports it.

import { expect, it } from "vitest";
import { splits } from "../../test/helpers/split.ts";
import { MbufPool } from "../buf/mbuf.ts";
import { type Msg, type MsgParser, MsgPool, type MsgSink, msgRecv } from "../core/message.ts";

// latin1 keeps every byte as one char, so binary data round-trips through strings in tests
const latin1 = new TextDecoder("latin1");

/** One char per byte: the inverse of latin1(). */
export const bytes = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
export const latin1Text = (b: Uint8Array): string => latin1.decode(b);

/** What a test reads of a parsed message. */
export interface Parsed {
  bytes: string;
  type: number;
  /** The type's name, through RunOptions.typeName (for readable failures). */
  name: string;
  /** The bytes of each (mbuf index, offset, length) triple of msg.keys. */
  keys: string[];
  reqError: number;
  noreply: boolean;
  quit: boolean;
  integer: number;
}

/** Bytes of a (mbuf index, offset, length) triple, which may run across mbufs. */
function slice(msg: Msg, idx: number, pos: number, len: number): string {
  const out = new Uint8Array(len);
  for (let j = 0; j < len; j++) {
    while (pos >= msg.mbufs[idx]!.last) {
      idx++;
      pos = 0;
    }
    out[j] = msg.mbufs[idx]!.buf[pos++]!;
  }
  return latin1.decode(out);
}

export interface RunOptions {
  /** The messages are requests (the pool hands out request msgs). */
  request: boolean;
  mbufSize: number;
  /** The owner answers what it does not support instead of closing (error_replies). */
  lenient?: boolean;
  typeName?: (type: number) => string;
}

/** Run `chunks` through msgRecv; collect the messages, or the error that ended the run. */
export function parseChunks(chunks: Uint8Array[], parse: MsgParser, o: RunOptions): { msgs: Parsed[]; error: boolean; pool: MsgPool } {
  const pool = new MsgPool(new MbufPool(o.mbufSize));
  const msgs: Parsed[] = [];
  let error = false;
  const sink: MsgSink = {
    recvDone(msg: Msg) {
      const out = new Uint8Array(msg.mlen);
      msg.copyTo(out, 0);
      const keys: string[] = [];
      for (let i = 0; i < msg.keys.length; i += 3) keys.push(slice(msg, msg.keys[i]!, msg.keys[i + 1]!, msg.keys[i + 2]!));
      const { type, reqError, noreply, quit, integer } = msg;
      const name = o.typeName?.(type) ?? String(type);
      msgs.push({ bytes: latin1.decode(out), type, name, keys, reqError, noreply, quit, integer });
      pool.put(msg);
      return true;
    },
    recvError() {
      error = true;
    },
  };
  const owner = { id: 1, lenient: o.lenient ?? false };
  let rmsg: Msg | null = null;
  for (const c of chunks) {
    if (error) break;
    rmsg = msgRecv(pool, rmsg, o.request, owner, c, parse, sink);
  }
  if (rmsg !== null) pool.put(rmsg);
  return { msgs, error, pool };
}

/** Parse `wire` into one message of `pool`, kept (the caller puts it back). */
export function parseOne(pool: MsgPool, wire: string, parse: MsgParser, request: boolean, lenient = false): Msg {
  let out: Msg | null = null;
  const sink: MsgSink = {
    recvDone(msg) {
      out = msg;
      return false;
    },
    recvError() {},
  };
  msgRecv(pool, null, request, { id: 1, lenient }, bytes(wire), parse, sink);
  if (out === null) throw new Error(`Cannot parse test vector: "${wire}"`);
  return out;
}

/** A megabyte value, for vectors that cross many mbufs. */
export const MB = "v".repeat(1024 * 1024);
/** A data block holding CRLF, NUL, 0xff and a fake END: only its declared length ends it. */
export const BINARY = "a\r\nb\r\n\0\xff\r\nEND\r\n";

/** Both mbuf sizes the suites run with: 512 makes the boundary and repair paths run. */
export const MBUF_SIZES = [512, 16384] as const;

export type Run = (chunks: Uint8Array[], mbufSize: number) => { msgs: Parsed[]; error: boolean; pool: MsgPool };

/** A wire vector: it parses to one message, or (error) the parse fails. */
export interface Vector {
  name: string;
  wire: string;
  error?: boolean;
}

/** One test per vector, cutting and mbuf size: one message that `check` accepts, or the error. */
export function testVectors<V extends Vector>(
  vectors: readonly V[],
  run: Run,
  check: (m: Parsed, v: V, chunks: Uint8Array[], mbufSize: number) => void,
): void {
  for (const v of vectors) {
    // fewer random cuttings for the megabyte vectors: byte by byte already makes a million reads
    const seeds = v.wire.length > 100_000 ? 1 : 3;
    for (const [how, chunks] of splits(bytes(v.wire), seeds)) {
      for (const mbufSize of MBUF_SIZES) {
        it(`parses ${v.name} (${how}, mbuf ${mbufSize})`, () => {
          const { msgs, error, pool } = run(chunks, mbufSize);
          expect(pool.inUse).toBe(0);
          expect(pool.mbufs.inUse).toBe(0);
          if (v.error === true) {
            expect(error).toBe(true);
            expect(msgs).toHaveLength(0);
            return;
          }
          expect(error).toBe(false);
          expect(msgs).toHaveLength(1);
          expect(msgs[0]!.bytes === v.wire).toBe(true); // not toBe: a failed 1 MB diff is unreadable
          check(msgs[0]!, v, chunks, mbufSize);
        });
      }
    }
  }
}

/**
 * The vectors that parse (those under 100 kB), back to back, at ten random cuttings: each message
 * comes out in order, as `project` sees it, equal to what `expected` says of its vector.
 */
export function testPipeline<V extends Vector>(
  what: string,
  vectors: readonly V[],
  run: Run,
  project: (m: Parsed) => unknown,
  expected: (v: V) => unknown,
): void {
  const small = vectors.filter((v) => v.error !== true && v.wire.length < 100_000);
  const wire = bytes(small.map((v) => v.wire).join(""));
  for (const mbufSize of MBUF_SIZES) {
    it(`parses a pipeline of ${small.length} ${what} at every split (mbuf ${mbufSize})`, () => {
      for (const [how, chunks] of splits(wire, 10)) {
        const { msgs, error, pool } = run(chunks, mbufSize);
        expect(error, how).toBe(false);
        expect(pool.mbufs.inUse).toBe(0);
        expect(msgs.map(project)).toEqual(small.map(expected));
      }
    });
  }
}

/** Each of `wires`, read whole, is not complete yet: no message, no error, no mbuf kept. */
export function expectWaits(run: Run, wires: readonly string[]): void {
  for (const wire of wires) {
    const { msgs, error, pool } = run([bytes(wire)], 512);
    expect(error, wire).toBe(false);
    expect(msgs, wire).toHaveLength(0);
    expect(pool.mbufs.inUse).toBe(0);
  }
}

/** Each of `wires` fails as soon as it cannot match, though no line end ever comes. */
export function expectFails(run: Run, wires: readonly string[]): void {
  for (const wire of wires) {
    const { msgs, error } = run([bytes(wire)], 512);
    expect(error, wire).toBe(true);
    expect(msgs).toHaveLength(0);
  }
}
