// ma: incr/decr with flags (memcached 1.6.18's process_marithmetic_command).

import type { Session } from "./session.ts";
import { DELTA_CAS_MISMATCH, DELTA_EOM, DELTA_NON_NUMERIC, DELTA_NOT_FOUND, DELTA_OK, doAddDelta } from "./item_ops.ts";
import { metaKey, metaTtl } from "./meta_line.ts";
import { M_EX, M_HD, M_NF, M_NS, M_VA, R_MA_MODE, R_NON_NUMERIC, R_OPAQUE_TOO_LONG, R_OUT_OF_MEMORY, R_VIVIFY_OOM } from "./replies.ts";
import { NREAD_ADD, STORED } from "../store/store.ts";
import { MAX_OPAQUE, metaCheckLine, metaEchoTokens } from "./meta_flags.ts";

/** ma: incr/decr with flags (memcached's process_marithmetic_command). */
export function processMarithmetic(s: Session): void {
  const st = s.ctx.store;
  const b = s.line;
  const nt = s.nt;
  if (!metaCheckLine(s)) return;
  const of = s.of;
  s.noreply = of.noReply;
  let incr = true;
  switch (of.mode) {
    case 0:
    case 73: // I
    case 43: // +
      break;
    case 68: // D
    case 45: // -
      incr = false;
      break;
    default:
      s.outError(R_MA_MODE);
      return;
  }
  const m = s.replyLine;
  m.reset();
  let slot = -1;
  let created = false;
  let skip = false;
  let vlen = 0;
  const res = s.delta;
  const digits = res.digits;
  switch (doAddDelta(st, of.kb, of.ks, of.ke, incr, of.delta, of.deltaBig, of.reqCas, res)) {
    case DELTA_OK:
      skip = s.noreply;
      slot = res.slot;
      vlen = res.len;
      break;
    case DELTA_NON_NUMERIC:
      s.outError(R_NON_NUMERIC);
      return;
    case DELTA_EOM:
      s.outError(R_OUT_OF_MEMORY);
      return;
    case DELTA_NOT_FOUND:
      if (of.vivify) {
        const v = of.initial <= Number.MAX_SAFE_INTEGER ? String(of.initial) : of.initialBig.toString();
        vlen = v.length;
        for (let k = 0; k < vlen; k++) digits[k] = v.charCodeAt(k);
        const nkey = of.ke - of.ks;
        const d = new Uint8Array(nkey + vlen + 2);
        d.set(of.kb.subarray(of.ks, of.ke), 0);
        d.set(digits.subarray(0, vlen), nkey);
        d[nkey + vlen] = 13;
        d[nkey + vlen + 1] = 10;
        if (!st.sizeOk(nkey, 0, vlen + 2) || !st.memoryOk(nkey, vlen + 2)) {
          s.outError(R_VIVIFY_OOM);
          return;
        }
        if (st.storeBytes(NREAD_ADD, d, nkey, 0, 0, 0) === STORED) {
          created = true;
          slot = st.get(of.kb, of.ks, of.ke, false);
        } else m.put(M_NS);
      } else {
        if (incr) st.stats.incr_misses++;
        else st.stats.decr_misses++;
        m.put(M_NF);
      }
      break;
    case DELTA_CAS_MISMATCH:
      m.put(M_EX);
      break;
  }
  if (slot >= 0) {
    if (of.value) {
      m.put(M_VA);
      m.num(vlen);
    } else m.put(M_HD);
    for (let k = 2; k < nt - 1; k++) {
      const ts = s.ts(k);
      switch (b[ts]) {
        case 99: // c
          m.flag(99);
          m.num(st.cas[slot]!);
          break;
        case 116: // t
          metaTtl(m, st.exptime[slot]!, st.now);
          break;
        case 84: // T
          st.setExptime(slot, of.exptime);
          break;
        case 78: // N
          if (created) st.setExptime(slot, of.autovivExptime);
          break;
        case 79: // O
          if (s.tlen(k) > MAX_OPAQUE) {
            s.outError(R_OPAQUE_TOO_LONG);
            return;
          }
          m.byte(32);
          m.bytes(b, ts, s.te(k));
          break;
        case 107: // k
          metaKey(m, of.kb, of.ks, of.ke, of.keyBinary);
          break;
        default:
          break;
      }
    }
    if (of.value) {
      m.byte(13);
      m.byte(10);
      m.bytes(digits, 0, vlen);
    }
  } else {
    if (!metaEchoTokens(s, m)) return;
  }
  if (skip) return;
  m.byte(13);
  m.byte(10);
  s.out.bytes(m.buf, 0, m.len);
}
