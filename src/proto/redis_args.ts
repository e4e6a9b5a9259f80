// Reading a request's arguments (the ones an argv-shaped command records in msg.keys) and writing RESP2/RESP3 replies the proxy builds.
//
// Only commands the proxy answers or rewrites read their arguments, so these copy: a few bytes
// once per HELLO, CLIENT or SCAN, never on the GET/SET path.

import type { PoolConf } from "../conf/types.ts";
import type { Msg } from "../core/message.ts";

const enc = new TextEncoder();
const dec = new TextDecoder("latin1");

/** How many arguments after the command name were recorded. */
export function argCount(msg: Msg): number {
  return msg.keys.length / 3;
}

/** The bytes of argument `i` (0 = the first after the command name). */
export function argBytes(msg: Msg, i: number): Uint8Array {
  const keys = msg.keys;
  let idx = keys[i * 3]!;
  let pos = keys[i * 3 + 1]!;
  const len = keys[i * 3 + 2]!;
  const out = new Uint8Array(len);
  for (let n = 0; n < len; ) {
    const m = msg.mbufs[idx]!;
    const take = Math.min(len - n, m.last - pos);
    out.set(m.buf.subarray(pos, pos + take), n);
    n += take;
    idx++;
    pos = 0;
  }
  return out;
}

/** Argument `i` as text (latin1: one char per byte), for names and numbers. */
export function argText(msg: Msg, i: number): string {
  return dec.decode(argBytes(msg, i));
}

/** Whether argument `i` is `upper`, ignoring ASCII case. */
export function argIs(msg: Msg, i: number, upper: string): boolean {
  if (i >= argCount(msg) || msg.keys[i * 3 + 2] !== upper.length) return false;
  const b = argBytes(msg, i);
  for (let j = 0; j < b.length; j++) {
    const c = b[j]!;
    if ((c >= 97 && c <= 122 ? c - 32 : c) !== upper.charCodeAt(j)) return false;
  }
  return true;
}

/** Argument `i` as redis reads an integer (string2ll): digits, an optional '-', nothing else; null otherwise. */
export function argInt(msg: Msg, i: number): bigint | null {
  const t = argText(msg, i);
  if (!/^-?(0|[1-9][0-9]*)$/.test(t) || t.length > 21) return null;
  return BigInt(t);
}

/** Replies in the client's protocol: RESP2, or RESP3 after HELLO 3. */
export class RespOut {
  private readonly parts: (string | Uint8Array)[] = [];
  readonly resp3: boolean;

  constructor(resp3: boolean) {
    this.resp3 = resp3;
  }

  raw(s: string | Uint8Array): this {
    this.parts.push(s);
    return this;
  }

  status(s: string): this {
    return this.raw(`+${s}\r\n`);
  }

  int(n: number | bigint): this {
    return this.raw(`:${n}\r\n`);
  }

  bulk(v: string | Uint8Array | null): this {
    if (v === null) return this.raw(this.resp3 ? "_\r\n" : "$-1\r\n");
    const b = typeof v === "string" ? enc.encode(v) : v;
    return this.raw(`$${b.length}\r\n`).raw(b).raw("\r\n");
  }

  array(n: number): this {
    return this.raw(`*${n}\r\n`);
  }

  /** A map of `n` pairs: `%n` in RESP3, a flat array of 2n in RESP2 (as redis answers HELLO 2). */
  map(n: number): this {
    return this.raw(this.resp3 ? `%${n}\r\n` : `*${2 * n}\r\n`);
  }

  bytes(): Uint8Array {
    let len = 0;
    const bs = this.parts.map((p) => (typeof p === "string" ? enc.encode(p) : p));
    for (const b of bs) len += b.length;
    const out = new Uint8Array(len);
    let at = 0;
    for (const b of bs) {
      out.set(b, at);
      at += b.length;
    }
    return out;
  }
}

const passwords = new WeakMap<PoolConf, Uint8Array>();

/** redis_auth's bytes, encoded once per pool configuration (AUTH and HELLO AUTH compare with them). */
export function redisPassword(conf: PoolConf): Uint8Array | null {
  const pw = conf.redis_auth;
  if (pw === null) return null;
  let bytes = passwords.get(conf);
  if (bytes === undefined) passwords.set(conf, (bytes = enc.encode(pw)));
  return bytes;
}

/** A one-line error reply. */
export function errorLine(text: string): Uint8Array {
  return enc.encode(`-${text}\r\n`);
}
