// The meta commands mg ms md me (memcached 1.6.18's process_m*_command); ma is in meta_arith.ts, flag parsing in meta_flags.ts.
//
// Flags are single letters, each at most once; a reply echoes the requested ones in request order.
// Every flag memcached 1.6.18 parses is handled: b (base64 key), c f h k l O q s t v (return
// values), T N R (ttl, vivify, recache), u (no LRU bump), C F I M J D (cas compare, client flags,
// invalidate, mode, initial, delta). P and L are accepted and ignored, as in memcached (proxy
// hints). 1.6.18 has no E flag (explicit cas): like memcached, we answer it "invalid flag".

import type { Session } from "./session.ts";
import { base64Decode, base64Encode, base64Length } from "./base64.ts";
import { parseI32 } from "./numbers.ts";
import { IT_FETCHED, IT_KEY_BINARY, IT_STALE, IT_TOKEN_SENT, ITEM_HEADER, NO_MEMORY, NREAD_ADD, NREAD_APPEND, NREAD_CAS, NREAD_PREPEND, NREAD_REPLACE, NREAD_SET } from "../store/store.ts";
import { writeData } from "./item_ops.ts";
import {
  KEY_MAX_LENGTH,
  M_EN,
  M_EX,
  M_HD,
  M_ME,
  M_NF,
  M_VA,
  R_BAD_FORMAT,
  R_EN,
  R_ERROR,
  R_FLAGS_TOO_LONG,
  R_FLAGS_TOO_LONG_MG,
  R_MS_MODE,
  R_NO_MEMORY,
  R_OPAQUE_TOO_LONG,
  R_TOO_LARGE,
} from "./replies.ts";
import { refuse } from "./storage.ts";
import { metaKey, metaTtl, slabClass } from "./meta_line.ts";
import { hashMurmur } from "../../hashkit/murmur.ts";
import { MAX_OPT_TOKENS, MAX_OPAQUE, metaCheckLine, metaEchoTokens, preparse, badOpaque } from "./meta_flags.ts";

/** mg: fetch with flags (memcached's process_mget_command). */
export function processMget(s: Session): void {
  const st = s.ctx.store;
  const of = s.of;
  const stats = st.stats;
  const b = s.line;
  const nt = s.nt;
  if (nt < 3) {
    s.out.put(R_ERROR);
    return;
  }
  if (s.tlen(1) > KEY_MAX_LENGTH) {
    s.outError(R_BAD_FORMAT);
    return;
  }
  if (nt > MAX_OPT_TOKENS) {
    s.outError(R_FLAGS_TOO_LONG_MG);
    return;
  }
  if (!preparse(s, 2)) {
    s.outError(of.errstr);
    return;
  }
  s.noreply = of.noReply;
  const kb = of.kb;
  const ks = of.ks;
  const ke = of.ke;
  let i = st.get(kb, ks, ke, !of.locked && !of.noUpdate);
  let created = false;
  let won = false;
  let ttlSet = false;
  const bad = badOpaque(s);
  if (i < 0 && of.vivify) {
    const loc = st.alloc(ke - ks + 2);
    if (loc !== NO_MEMORY) {
      const d = st.arena.buf(loc);
      const at = st.arena.base(loc);
      for (let k = ks; k < ke; k++) d[at + k - ks] = kb[k]!;
      d[at + ke - ks] = 13;
      d[at + ke - ks + 1] = 10;
      i = st.link(loc, ke - ks, 2, 0, 0, 0, hashMurmur(kb, ks, ke));
      if (st.journal !== null) st.journal.set(st.journalItem(i));
      created = true;
    }
  }
  const m = s.replyLine;
  m.reset();
  if (i >= 0) {
    const nb = st.nbytes[i]!;
    if (of.value) {
      m.put(M_VA);
      m.num(nb - 2);
    } else m.put(M_HD);
    for (let k = 2; k < nt - 1; k++) {
      const ts = s.ts(k);
      switch (b[ts]) {
        case 84: // T
          ttlSet = true;
          st.setExptime(i, of.exptime);
          break;
        case 78: // N
          if (created) {
            st.setExptime(i, of.autovivExptime);
            won = true;
          }
          break;
        case 82: // R
          if ((st.iflags[i]! & IT_TOKEN_SENT) === 0 && !created && st.exptime[i] !== 0 && st.exptime[i]! < of.recacheTime) won = true;
          break;
        case 115: // s
          m.flag(115);
          m.num(nb - 2);
          break;
        case 116: // t
          metaTtl(m, st.exptime[i]!, st.now);
          break;
        case 99: // c
          m.flag(99);
          m.num(st.cas[i]!);
          break;
        case 102: // f
          m.flag(102);
          m.num(st.flags[i]!);
          break;
        case 108: // l
          m.flag(108);
          m.num((st.now - st.time[i]!) >>> 0);
          break;
        case 104: // h
          m.flag(104);
          m.byte((st.iflags[i]! & IT_FETCHED) !== 0 ? 49 : 48);
          break;
        case 79: // O
          if (k === bad) {
            s.outError(R_OPAQUE_TOO_LONG);
            return;
          }
          m.byte(32);
          m.bytes(b, ts, s.te(k));
          break;
        case 107: // k
          metaKey(m, st.buf(i), st.base(i), st.base(i) + st.nkey[i]!, (st.iflags[i]! & IT_KEY_BINARY) !== 0);
          break;
        default:
          break;
      }
    }
    const fl = st.iflags[i]!;
    if ((fl & IT_TOKEN_SENT) !== 0) m.flag(90); // Z: a token was already handed out
    if ((fl & IT_STALE) !== 0) {
      m.flag(88); // X
      if ((fl & IT_TOKEN_SENT) === 0) won = true;
    }
    if (won) {
      m.flag(87); // W: this client should recache
      st.iflags[i]! |= IT_TOKEN_SENT;
    }
    m.byte(13);
    m.byte(10);
    s.out.bytes(m.buf, 0, m.len);
    if (of.value) writeData(s.out, st, i);
    if (of.locked && !of.noUpdate) st.bump(i);
    if (ttlSet) {
      stats.cmd_touch++;
      stats.touch_hits++;
    } else {
      stats.get_hits++;
      stats.cmd_get++;
    }
    return;
  }
  stats.get_misses++;
  stats.cmd_get++;
  m.put(M_EN);
  for (let k = 2; k < nt - 1; k++) {
    const ts = s.ts(k);
    if (b[ts] === 79) {
      if (k === bad) {
        s.outError(R_OPAQUE_TOO_LONG);
        return;
      }
      m.byte(32);
      m.bytes(b, ts, s.te(k));
    } else if (b[ts] === 107) metaKey(m, kb, ks, ke, of.keyBinary);
  }
  if (s.noreply) return; // q hides a miss
  m.byte(13);
  m.byte(10);
  s.out.bytes(m.buf, 0, m.len);
}

/** ms: the request line of a meta set (memcached's process_mset_command); the data follows. */
export function processMset(s: Session): void {
  const st = s.ctx.store;
  const of = s.of;
  const b = s.line;
  const nt = s.nt;
  if (nt < 3) {
    s.out.put(R_ERROR);
    return;
  }
  if (s.tlen(1) > KEY_MAX_LENGTH || nt === 3) {
    s.outError(R_BAD_FORMAT);
    return;
  }
  if (nt > MAX_OPT_TOKENS) {
    s.outError(R_FLAGS_TOO_LONG);
    return;
  }
  let vlen = parseI32(b, s.ts(2), s.te(2));
  if (Number.isNaN(vlen) || vlen < 0 || vlen > 2147483645) {
    s.outError(R_BAD_FORMAT);
    return;
  }
  vlen += 2;
  if (!preparse(s, 3)) {
    s.outError(of.errstr);
    s.swallow(vlen);
    return;
  }
  s.noreply = of.noReply;
  let errstr = of.errstr;
  let hasError = false;
  // stash the flags the reply echoes: O (with its bytes), k, c
  const stash = s.msStash;
  let n = 0;
  for (let k = 2; k < nt - 1; k++) {
    const ts = s.ts(k);
    const c = b[ts];
    if (c === 79) {
      const len = s.tlen(k);
      if (len > MAX_OPAQUE) {
        errstr = R_OPAQUE_TOO_LONG;
        hasError = true;
        continue;
      }
      stash[n++] = 79;
      stash[n++] = len;
      for (let j = 0; j < len; j++) stash[n++] = b[ts + j]!;
    } else if (c === 107 || c === 99) stash[n++] = c;
  }
  s.msStashLen = n;
  let comm = NREAD_SET;
  switch (of.mode) {
    case 0:
    case 83: // S
      break;
    case 69: // E
      comm = NREAD_ADD;
      break;
    case 65: // A
      comm = NREAD_APPEND;
      break;
    case 80: // P
      comm = NREAD_PREPEND;
      break;
    case 82: // R
      comm = NREAD_REPLACE;
      break;
    default:
      s.outError(R_MS_MODE);
      s.swallow(vlen);
      return;
  }
  if (of.hasCas && (comm === NREAD_SET || comm === NREAD_REPLACE)) comm = NREAD_CAS;
  if (hasError) {
    s.outError(errstr);
    s.swallow(vlen);
    return;
  }
  const nkey = of.ke - of.ks;
  if (!st.sizeOk(nkey, of.clientFlags, vlen) || !st.memoryOk(nkey, vlen)) {
    refuse(st, of.kb, of.ks, of.ke, nkey, of.clientFlags, vlen, true);
    s.outError(st.sizeOk(nkey, of.clientFlags, vlen) ? R_NO_MEMORY : R_TOO_LARGE);
    s.swallow(vlen);
    return;
  }
  s.rcmd = comm;
  s.rflags = of.clientFlags;
  s.rexptime = of.exptime;
  s.rcas = of.reqCas;
  s.rbits = of.keyBinary ? IT_KEY_BINARY : 0;
  s.rstale = of.setStale && comm === NREAD_CAS;
  s.msetRes = true;
  if (!s.startNread(of.kb, of.ks, of.ke, vlen)) {
    s.msetRes = false;
    refuse(st, of.kb, of.ks, of.ke, nkey, of.clientFlags, vlen, true);
    s.outError(R_NO_MEMORY);
    s.swallow(vlen);
  }
}

/** md: delete or invalidate (memcached's process_mdelete_command). */
export function processMdelete(s: Session): void {
  const st = s.ctx.store;
  const of = s.of;
  if (!metaCheckLine(s)) return;
  s.noreply = of.noReply;
  const m = s.replyLine;
  m.reset();
  m.put(M_NF); // the status is filled in below, as memcached does
  if (!metaEchoTokens(s, m)) return;
  const i = st.get(of.kb, of.ks, of.ke, false);
  let skip = false;
  if (i >= 0) {
    if (of.hasCas && st.cas[i] !== of.reqCas) {
      st.stats.delete_misses++;
      m.buf.set(M_EX, 0);
    } else {
      if (of.setStale) {
        if (of.newTtl) st.exptime[i] = of.exptime;
        st.iflags[i] = (st.iflags[i]! | IT_STALE) & ~IT_TOKEN_SENT;
        st.changed(i);
      } else {
        st.stats.delete_hits++;
        st.remove(i);
      }
      skip = s.noreply;
      m.buf.set(M_HD, 0);
    }
  } else {
    st.stats.delete_misses++;
  }
  if (skip) return;
  m.byte(13);
  m.byte(10);
  s.out.bytes(m.buf, 0, m.len);
}

/** me: an item's metadata, as memcached prints it for debugging (process_meta_command). */
export function processMe(s: Session): void {
  const st = s.ctx.store;
  const b = s.line;
  if (s.nt < 3 || s.tlen(1) > KEY_MAX_LENGTH) {
    s.outString(R_BAD_FORMAT);
    return;
  }
  let kb = b;
  let ks = s.ts(1);
  let ke = s.te(1);
  if (s.nt >= 4 && s.tlen(2) === 1 && b[s.ts(2)] === 98) {
    const keyBuf = s.of.keyBuf;
    const n = base64Decode(b, ks, ke, keyBuf);
    if (n === 0) {
      s.outString(R_BAD_FORMAT);
      return;
    }
    kb = keyBuf;
    ks = 0;
    ke = n;
  }
  const i = st.get(kb, ks, ke, false);
  st.stats.cmd_meta++;
  if (i < 0) {
    s.outString(R_EN);
    return;
  }
  const m = s.replyLine;
  m.reset();
  m.put(M_ME);
  const nkey = st.nkey[i]!;
  if ((st.iflags[i]! & IT_KEY_BINARY) !== 0) {
    m.room(base64Length(nkey));
    m.len = base64Encode(st.buf(i), st.base(i), st.base(i) + nkey, m.buf, m.len);
  } else m.bytes(st.buf(i), st.base(i), st.base(i) + nkey);
  const exp = st.exptime[i]!;
  const ntotal = ITEM_HEADER + nkey + 1 + (st.flags[i] === 0 ? 0 : 4) + st.nbytes[i]!;
  m.str(" exp=");
  m.int(exp === 0 ? -1 : (st.now - exp) | 0);
  m.str(" la=");
  m.num(st.now - st.time[i]!);
  m.str(" cas=");
  m.num(st.cas[i]!);
  m.str((st.iflags[i]! & IT_FETCHED) !== 0 ? " fetch=yes cls=" : " fetch=no cls=");
  m.num(slabClass(ntotal));
  m.str(" size=");
  m.num(ntotal);
  m.byte(13);
  m.byte(10);
  s.out.bytes(m.buf, 0, m.len);
}
