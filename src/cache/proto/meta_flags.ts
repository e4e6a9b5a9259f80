// Meta command flags: memcached 1.6.18's _meta_flag_preparse into a session's MetaFlags, and the checks md and ma share.

import type { Session } from "./session.ts";
import { base64Decode } from "./base64.ts";
import { parseI32, parseU32, parseU64, u64Exact } from "./numbers.ts";
import {
  KEY_MAX_LENGTH,
  R_BAD_DELTA,
  R_BAD_FORMAT,
  R_BAD_INITIAL,
  R_BAD_TOKEN,
  R_DECODE_KEY,
  R_DUPLICATE,
  R_ERROR,
  R_FLAGS_TOO_LONG,
  R_INVALID_FLAG,
  R_INVALID_OR_DUP,
  R_M_LENGTH,
  R_OPAQUE_TOO_LONG,
} from "./replies.ts";
import { type LineBuf, metaKey } from "./meta_line.ts";

/** memcached's MFLAG_MAX_OPT_LENGTH / MFLAG_MAX_OPAQUE_LENGTH. */
export const MAX_OPT_TOKENS = 20;
export const MAX_OPAQUE = 32;

const EMPTY = new Uint8Array(0);

/**
 * memcached's struct _meta_flags: what preparse() read from a meta request's flags. Each session
 * has one, reused for every request (memcached's is a local of the command), so a request
 * allocates nothing.
 */
export class MetaFlags {
  hasError = false;
  noUpdate = false;
  locked = false;
  vivify = false;
  value = false;
  setStale = false;
  noReply = false;
  hasCas = false;
  newTtl = false;
  keyBinary = false;
  mode = 0;
  exptime = 0;
  autovivExptime = 0;
  recacheTime = 0;
  clientFlags = 0;
  reqCas = 0;
  delta = 1;
  deltaBig = 1n;
  initial = 0;
  initialBig = 0n;
  errstr: Uint8Array = R_BAD_FORMAT;
  // the key after preparse: kb[ks..ke) (the line, or the decoded key in keyBuf)
  kb: Uint8Array = EMPTY;
  ks = 0;
  ke = 0;
  /** A base64 key (b flag) decoded; also me's. */
  readonly keyBuf = new Uint8Array(256);
  /** Flags met so far in this request, by byte. */
  readonly seen = new Uint8Array(127);
}

/** memcached's _meta_flag_preparse from token `start` into `s.of`: false when the request must fail (with of.errstr). */
export function preparse(s: Session, start: number): boolean {
  const st = s.ctx.store;
  const b = s.line;
  const of = s.of;
  const keyBuf = of.keyBuf;
  const seen = of.seen;
  of.hasError = false;
  of.noUpdate = of.locked = of.vivify = of.value = of.setStale = of.noReply = of.hasCas = of.newTtl = of.keyBinary = false;
  of.mode = 0;
  of.exptime = of.autovivExptime = of.recacheTime = 0;
  of.clientFlags = 0;
  of.reqCas = 0;
  of.delta = 1;
  of.deltaBig = 1n;
  of.initial = 0;
  of.initialBig = 0n;
  of.errstr = R_BAD_FORMAT;
  of.kb = b;
  of.ks = s.ts(1);
  of.ke = s.te(1);
  seen.fill(0);
  for (let i = start; s.tlen(i) !== 0; i++) {
    const ts = s.ts(i);
    const te = s.te(i);
    const o = b[ts]!;
    if (o >= 127 || seen[o] !== 0) {
      of.errstr = R_DUPLICATE;
      return false;
    }
    seen[o] = 1;
    switch (o) {
      case 98: {
        // b: the key is base64
        const n = base64Decode(b, s.ts(1), s.te(1), keyBuf);
        if (n === 0) {
          of.errstr = R_DECODE_KEY;
          of.hasError = true;
        }
        of.kb = keyBuf;
        of.ks = 0;
        of.ke = n;
        of.keyBinary = true;
        break;
      }
      case 78: // N
      case 84: // T
      case 82: {
        // R
        of.locked = true;
        if (o === 78) of.vivify = true;
        const x = parseI32(b, ts + 1, te);
        if (Number.isNaN(x)) {
          of.errstr = R_BAD_TOKEN;
          of.hasError = true;
        } else if (o === 78) of.autovivExptime = st.realtime(x);
        else if (o === 84) {
          of.exptime = st.realtime(x);
          of.newTtl = true;
        } else of.recacheTime = st.realtime(x);
        break;
      }
      case 108: // l
      case 104: // h
        of.locked = true; // the LRU bump waits until the reply shows the old state
        break;
      case 79: // O
      case 80: // P
      case 76: // L
      case 107: // k
      case 115: // s
      case 116: // t
      case 99: // c
      case 102: // f
        break;
      case 118: // v
        of.value = true;
        break;
      case 117: // u
        of.noUpdate = true;
        break;
      case 113: // q
        of.noReply = true;
        break;
      case 70: {
        // F
        const f = parseU32(b, ts + 1, te);
        if (f < 0) of.hasError = true;
        else of.clientFlags = f;
        break;
      }
      case 67: {
        // C
        const c = parseU64(b, ts + 1, te);
        if (c < 0) {
          of.errstr = R_BAD_TOKEN;
          of.hasError = true;
        } else {
          of.reqCas = c;
          of.hasCas = true;
        }
        break;
      }
      case 77: // M
        if (te - ts !== 2) {
          of.errstr = R_M_LENGTH;
          of.hasError = true;
        } else of.mode = b[ts + 1]!;
        break;
      case 74: {
        // J
        const j = parseU64(b, ts + 1, te);
        if (j < 0) {
          of.errstr = R_BAD_INITIAL;
          of.hasError = true;
        } else {
          of.initial = j;
          of.initialBig = u64Exact(b, ts + 1, te, j);
        }
        break;
      }
      case 68: {
        // D
        const d = parseU64(b, ts + 1, te);
        if (d < 0) {
          of.errstr = R_BAD_DELTA;
          of.hasError = true;
        } else {
          of.delta = d;
          of.deltaBig = u64Exact(b, ts + 1, te, d);
        }
        break;
      }
      case 73: // I
        of.setStale = true;
        break;
      default:
        of.errstr = R_INVALID_FLAG;
        return false;
    }
  }
  return !of.hasError;
}

/** Index of the first O token longer than memcached allows, or nt (none). */
export function badOpaque(s: Session): number {
  for (let i = 2; i < s.nt - 1; i++) {
    if (s.line[s.ts(i)] === 79 && s.tlen(i) > MAX_OPAQUE) return i;
  }
  return s.nt;
}

/**
 * The checks md and ma open with in memcached (proto_text.c): token count, key length, flag
 * count, then the flags themselves; false when a reply has been stacked and the command is over.
 */
export function metaCheckLine(s: Session): boolean {
  const nt = s.nt;
  if (nt < 3) {
    s.out.put(R_ERROR);
    return false;
  }
  if (s.tlen(1) > KEY_MAX_LENGTH) {
    s.outString(R_BAD_FORMAT);
    return false;
  }
  if (nt > MAX_OPT_TOKENS) {
    s.outString(R_FLAGS_TOO_LONG);
    return false;
  }
  if (!preparse(s, 2)) {
    s.outError(R_INVALID_OR_DUP);
    return false;
  }
  return true;
}

/**
 * Echo the request's O (opaque) and k (key) flags onto the reply line `m`, as md and ma do;
 * false when an opaque is too long (the error is stacked and the command is over).
 */
export function metaEchoTokens(s: Session, m: LineBuf): boolean {
  const b = s.line;
  const of = s.of;
  for (let k = 2; k < s.nt - 1; k++) {
    const ts = s.ts(k);
    if (b[ts] === 79) {
      if (s.tlen(k) > MAX_OPAQUE) {
        s.outError(R_OPAQUE_TOO_LONG);
        return false;
      }
      m.byte(32);
      m.bytes(b, ts, s.te(k));
    } else if (b[ts] === 107) metaKey(m, of.kb, of.ks, of.ke, of.keyBinary);
  }
  return true;
}
