// Item operations shared by the classic and the meta commands: value output, incr/decr, noreply.

import type { Session } from "./session.ts";
import type { OutBuf } from "./output.ts";
import { SHARE_MIN } from "./output.ts";
import { addDelta, parseU64, u64Exact, writeDecimal } from "./numbers.ts";
import { type CacheStore, ITEM_HEADER, IT_SHARED } from "../store/store.ts";
import { KEY_MAX_LENGTH, R_BAD_FORMAT } from "./replies.ts";

const NOREPLY = new Uint8Array([110, 111, 114, 101, 112, 108, 121]); // "noreply"

/**
 * Whether the key (token 1) is over memcached's KEY_MAX_LENGTH; if so "bad command line format"
 * is stacked (noreply hides it, as memcached's out_string).
 */
export function keyTooLong(s: Session): boolean {
  if (s.tlen(1) <= KEY_MAX_LENGTH) return false;
  s.outString(R_BAD_FORMAT);
  return true;
}

/** memcached's set_noreply_maybe: the last real token is "noreply". */
export function setNoreplyMaybe(s: Session): boolean {
  if (s.tis(s.nt - 2, NOREPLY)) s.noreply = true;
  return s.noreply;
}

/**
 * The value of slot `i` with its "\r\n": copied, or, for a large item with a buffer of its own,
 * shared (a chunk of a page is never shared: the page is reused once the item goes).
 */
export function writeData(out: OutBuf, st: CacheStore, i: number): void {
  const buf = st.buf(i);
  const at = st.base(i) + st.nkey[i]!;
  const nb = st.nbytes[i]!;
  if (nb >= SHARE_MIN && st.ownBuffer(i)) {
    out.share(buf.subarray(at, at + nb));
    st.iflags[i]! |= IT_SHARED;
  } else {
    out.bytes(buf, at, at + nb);
  }
}

/** Results of doAddDelta (memcached's delta_result_type). */
export const DELTA_OK = 0;
export const DELTA_NON_NUMERIC = 1;
export const DELTA_NOT_FOUND = 3;
export const DELTA_CAS_MISMATCH = 4;
/** No memory for a value that grew (memcached's EOM). */
export const DELTA_EOM = 5;

/**
 * Where doAddDelta leaves a DELTA_OK: the new value's digits (`digits[0..len)`, what incr/decr
 * reply) and the item's slot. Each session has one (memcached's do_add_delta writes into a buffer
 * of its caller), so a request allocates nothing.
 */
export class DeltaResult {
  /** 2^64 - 1 has 20 digits. */
  readonly digits = new Uint8Array(24);
  len = 0;
  slot = -1;
}

/**
 * memcached's do_add_delta on key `kb[ks..ke)`: incr (wrapping at 2^64) or decr (stopping at 0)
 * the item's decimal value; refuses empty, too-large (chunked) and non-numeric values and, with
 * `reqCas` != 0, a different cas. Returns a DELTA_* code; on DELTA_OK the value is in `res`.
 */
export function doAddDelta(
  st: CacheStore,
  kb: Uint8Array,
  ks: number,
  ke: number,
  incr: boolean,
  d: number,
  dBig: bigint,
  reqCas: number,
  res: DeltaResult,
): number {
  const i = st.get(kb, ks, ke, false);
  if (i < 0) return DELTA_NOT_FOUND;
  const nkey = st.nkey[i]!;
  const nb = st.nbytes[i]!;
  if (nb <= 2 || ITEM_HEADER + nkey + 1 + (st.flags[i] === 0 ? 0 : 4) + nb > st.chunkMax) return DELTA_NON_NUMERIC;
  if (reqCas !== 0 && st.cas[i] !== reqCas) return DELTA_CAS_MISMATCH;
  const at = st.base(i) + nkey;
  const buf = st.buf(i);
  const v = parseU64(buf, at, at + nb);
  if (v < 0) return DELTA_NON_NUMERIC;
  const r = addDelta(v, u64Exact(buf, at, at + nb, v), d, dBig, incr);
  if (incr) st.stats.incr_hits++;
  else st.stats.decr_hits++;
  const digits = res.digits;
  let len: number;
  if (typeof r === "number") len = writeDecimal(digits, 0, r);
  else {
    const t = r.toString();
    for (let k = 0; k < t.length; k++) digits[k] = t.charCodeAt(k);
    len = t.length;
  }
  res.len = len;
  res.slot = st.replaceValue(i, digits, len);
  return res.slot < 0 ? DELTA_EOM : DELTA_OK;
}
