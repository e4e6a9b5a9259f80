// set add replace append prepend cas, and the end of every data block (memcached's process_update_command, complete_nread_ascii).

import type { Session } from "./session.ts";
import { parseI32, parseU32, parseU64 } from "./numbers.ts";
import { EXISTS, IT_KEY_BINARY, NOT_FOUND, NREAD_SET, STORED, type CacheStore } from "../store/store.ts";
import { keyTooLong, setNoreplyMaybe } from "./item_ops.ts";
import {
  M_EX,
  M_HD,
  M_NF,
  M_NS,
  R_BAD_CHUNK,
  R_BAD_FORMAT,
  R_EXISTS,
  R_NO_MEMORY,
  R_NOT_FOUND,
  R_NOT_STORED,
  R_STORED,
  R_TOO_LARGE,
} from "./replies.ts";
import { metaKey } from "./meta_line.ts";

const INT_MAX = 2147483647;

/**
 * The request line of a storage command: check it, then either start reading the data block or
 * refuse it (swallowing the block when memcached does: only once the length was understood).
 */
export function processUpdate(s: Session, comm: number, handleCas: boolean): void {
  setNoreplyMaybe(s);
  const st = s.ctx.store;
  const b = s.line;
  if (keyTooLong(s)) return;
  const ks = s.ts(1);
  const ke = s.te(1);
  const flags = parseU32(b, s.ts(2), s.te(2));
  const exptimeIn = parseI32(b, s.ts(3), s.te(3));
  const vlen = parseI32(b, s.ts(4), s.te(4));
  if (flags < 0 || Number.isNaN(exptimeIn) || Number.isNaN(vlen)) {
    s.outString(R_BAD_FORMAT);
    return;
  }
  const exptime = st.realtime(exptimeIn);
  let reqCas = 0;
  if (handleCas) {
    reqCas = parseU64(b, s.ts(5), s.te(5));
    if (reqCas < 0) {
      s.outString(R_BAD_FORMAT);
      return;
    }
  }
  if (vlen < 0 || vlen > INT_MAX - 2) {
    s.outString(R_BAD_FORMAT);
    return;
  }
  const nbytes = vlen + 2;
  const nkey = ke - ks;
  if (!st.sizeOk(nkey, flags, nbytes) || !st.memoryOk(nkey, nbytes)) {
    refuse(st, b, ks, ke, nkey, flags, nbytes, comm === NREAD_SET);
    s.outString(st.sizeOk(nkey, flags, nbytes) ? R_NO_MEMORY : R_TOO_LARGE);
    s.swallow(nbytes);
    return;
  }
  s.rcmd = comm;
  s.rflags = flags;
  s.rexptime = exptime;
  s.rcas = reqCas;
  s.rbits = 0;
  s.rstale = false;
  s.msetRes = false;
  if (!s.startNread(b, ks, ke, nbytes)) {
    refuse(st, b, ks, ke, nkey, flags, nbytes, comm === NREAD_SET);
    s.outString(R_NO_MEMORY);
    s.swallow(nbytes);
  }
}

/**
 * An item that cannot be stored: count it, and (for set, or always for ms) remove the old
 * value so a failed write never leaves stale data behind, as memcached does.
 */
export function refuse(st: CacheStore, kb: Uint8Array, ks: number, ke: number, nkey: number, flags: number, nbytes: number, dropOld: boolean): void {
  if (!st.sizeOk(nkey, flags, nbytes)) st.stats.store_too_large++;
  else st.stats.store_no_memory++;
  if (dropOld) {
    const i = st.get(kb, ks, ke, false);
    if (i >= 0) st.remove(i);
  }
}

/** The data block is in: check its "\r\n", store it, reply (memcached's complete_nread_ascii). */
export function completeNread(s: Session): void {
  const st = s.ctx.store;
  st.stats.cmd_set++;
  const d = s.rbuf;
  const end = s.rend;
  const mset = s.msetRes;
  s.msetRes = false;
  if (d[end - 2] !== 13 || d[end - 1] !== 10) {
    st.release(s.rloc);
    if (mset) s.noreply = false; // meta commands always see their errors
    s.outString(R_BAD_CHUNK);
  } else {
    if (mset) st.lastCas = 0;
    const ret = st.storeItem(s.rcmd, s.rloc, s.rnkey, s.rnbytes, s.rflags, s.rexptime, s.rcas, s.rstale, s.rbits);
    if (mset) finalizeMset(s, ret);
    else if (ret === STORED) s.outString(R_STORED);
    else if (ret === EXISTS) s.outString(R_EXISTS);
    else if (ret === NOT_FOUND) s.outString(R_NOT_FOUND);
    else s.outString(R_NOT_STORED);
  }
  s.rbuf = EMPTY;
}

const EMPTY = new Uint8Array(0);

/** The ms reply: status, then the O, k and c flags in request order (memcached's _finalize_mset). */
function finalizeMset(s: Session, ret: number): void {
  if (ret === STORED && s.noreply) return; // q hides only the nominal reply
  const st = s.ctx.store;
  const m = s.replyLine;
  m.reset();
  m.put(ret === STORED ? M_HD : ret === EXISTS ? M_EX : ret === NOT_FOUND ? M_NF : M_NS);
  const stash = s.msStash;
  for (let i = 0; i < s.msStashLen; ) {
    const f = stash[i]!;
    if (f === 79) {
      // 'O': opaque token, length-prefixed
      const n = stash[i + 1]!;
      m.byte(32);
      m.bytes(stash, i + 2, i + 2 + n);
      i += 2 + n;
    } else if (f === 107) {
      metaKey(m, s.rbuf, s.rend - s.rnbytes - s.rnkey, s.rend - s.rnbytes, (s.rbits & IT_KEY_BINARY) !== 0);
      i++;
    } else {
      m.byte(32);
      m.byte(99); // "c" + the cas this store gave the item (0 when it stored nothing)
      m.num(ret === STORED ? st.lastCas : 0);
      i++;
    }
  }
  m.byte(13);
  m.byte(10);
  s.out.bytes(m.buf, 0, m.len);
}
