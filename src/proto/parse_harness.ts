// Test support for the parser suites beside it (*.test.ts): wire bytes through msgRecv as reads
// would deliver them, and what each parsed message holds, as strings. Nothing else imports it.

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
