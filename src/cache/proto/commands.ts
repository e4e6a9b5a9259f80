// The classic text commands and the dispatch table (memcached 1.6.18's proto_text.c, command for command).
//
// Each handler reads its tokens from the session and writes memcached's exact reply, including
// its error texts, which requests noreply may silence (out_string) and which it may not
// (out_errstring), and what a malformed line does to the bytes after it. Storage commands are in
// storage.ts, meta commands in meta.ts.

import type { Session } from "./session.ts";
import { type OutBuf, ascii } from "./output.ts";
import { parseI32, parseU32, parseU64, u64Exact } from "./numbers.ts";
import type { CacheStore } from "../store/store.ts";
import { GENERAL_STATS, SETTINGS_STATS, type StatsView, statsText } from "./stats.ts";
import { processUpdate } from "./storage.ts";
import { NREAD_ADD, NREAD_APPEND, NREAD_CAS, NREAD_PREPEND, NREAD_REPLACE, NREAD_SET } from "../store/store.ts";
import { processMarithmetic } from "./meta_arith.ts";
import { processMdelete, processMe, processMget, processMset } from "./meta.ts";
import {
  DELTA_EOM,
  DELTA_NON_NUMERIC,
  DELTA_OK,
  doAddDelta,
  keyTooLong,
  setNoreplyMaybe,
  writeData,
} from "./item_ops.ts";
import {
  KEY_MAX_LENGTH,
  R_BAD_FORMAT,
  R_DELETE_USAGE,
  R_DELETED,
  R_DETAIL_USAGE,
  R_END,
  R_ERROR,
  R_INVALID_DELTA,
  R_INVALID_EXPTIME,
  R_MEMLIMIT_SMALL,
  R_MEMLIMIT_UNITS,
  R_MN,
  R_NON_NUMERIC,
  R_NOT_FOUND,
  R_OK,
  R_OUT_OF_MEMORY,
  R_RESET,
  R_SHUTDOWN,
  R_TOUCHED,
  R_VALUE,
  R_VERSION,
} from "./replies.ts";

const MAX_VERBOSITY_LEVEL = 2;

/** What the commands need from the server. */
export interface CacheContext {
  readonly store: CacheStore;
  /** memcached's `verbosity` setting (0..2); we only keep it. */
  verbosity: number;
  /** Text after "VERSION ". */
  readonly version: string;
  /** Wall clock, unix seconds. */
  unixTime(): number;
  statsView(): StatsView;
}

const W = {
  get: ascii("get"),
  gets: ascii("gets"),
  gat: ascii("gat"),
  gats: ascii("gats"),
  set: ascii("set"),
  stats: ascii("stats"),
  shutdown: ascii("shutdown"),
  add: ascii("add"),
  append: ascii("append"),
  cas: ascii("cas"),
  cache_memlimit: ascii("cache_memlimit"),
  incr: ascii("incr"),
  decr: ascii("decr"),
  delete: ascii("delete"),
  touch: ascii("touch"),
  replace: ascii("replace"),
  prepend: ascii("prepend"),
  bget: ascii("bget"),
  flush_all: ascii("flush_all"),
  version: ascii("version"),
  quit: ascii("quit"),
  verbosity: ascii("verbosity"),
  zero: ascii("0"),
  reset: ascii("reset"),
  detail: ascii("detail"),
  on: ascii("on"),
  off: ascii("off"),
  dump: ascii("dump"),
  settings: ascii("settings"),
  items: ascii("items"),
  slabs: ascii("slabs"),
  sizes: ascii("sizes"),
  conns: ascii("conns"),
  cachedump: ascii("cachedump"),
} as const;

/** memcached's WANT_TOKENS_OR: ERROR unless the line has `a` or `b` tokens (terminal included). */
function want(s: Session, a: number, b: number): boolean {
  if (s.nt === a || s.nt === b) return true;
  s.out.put(R_ERROR);
  return false;
}

/** memcached's process_command_ascii: pick the handler by the first token. */
export function dispatch(s: Session): void {
  const nt = s.nt;
  if (nt < 2 || s.tlen(0) < 2) {
    s.out.put(R_ERROR);
    return;
  }
  const b = s.line;
  const c0 = b[s.ts(0)]!;
  if (c0 === 109 && s.tlen(0) === 2) {
    // 109 = 'm': the meta commands
    switch (b[s.ts(0) + 1]) {
      case 103: // g
        processMget(s);
        return;
      case 115: // s
        processMset(s);
        return;
      case 100: // d
        processMdelete(s);
        return;
      case 110: // n
        s.out.put(R_MN);
        s.out.commit(); // mn makes memcached send what it has
        return;
      case 97: // a
        processMarithmetic(s);
        return;
      case 101: // e
        processMe(s);
        return;
      default:
        s.out.put(R_ERROR);
        return;
    }
  }
  if (c0 === 103) {
    // 'g'
    if (nt < 3) {
      s.out.put(R_ERROR);
      return;
    }
    if (s.tis(0, W.get)) processGet(s, false, false);
    else if (s.tis(0, W.gets)) processGet(s, true, false);
    else if (s.tis(0, W.gat)) processGet(s, false, true);
    else if (s.tis(0, W.gats)) processGet(s, true, true);
    else s.out.put(R_ERROR);
    return;
  }
  if (c0 === 115) {
    // 's'
    if (s.tis(0, W.set)) {
      if (want(s, 6, 7)) processUpdate(s, NREAD_SET, false);
    } else if (s.tis(0, W.stats)) processStat(s);
    else if (s.tis(0, W.shutdown)) s.out.put(R_SHUTDOWN);
    else s.out.put(R_ERROR);
    return;
  }
  if (c0 === 97) {
    // 'a'
    if (s.tis(0, W.add)) {
      if (want(s, 6, 7)) processUpdate(s, NREAD_ADD, false);
    } else if (s.tis(0, W.append)) {
      if (want(s, 6, 7)) processUpdate(s, NREAD_APPEND, false);
    } else s.out.put(R_ERROR);
    return;
  }
  if (c0 === 99) {
    // 'c'
    if (s.tis(0, W.cas)) {
      if (want(s, 7, 8)) processUpdate(s, NREAD_CAS, true);
    } else if (s.tis(0, W.cache_memlimit)) {
      if (want(s, 3, 4)) processMemlimit(s);
    } else s.out.put(R_ERROR);
    return;
  }
  if (c0 === 105) {
    // 'i'
    if (s.tis(0, W.incr)) {
      if (want(s, 4, 5)) processArithmetic(s, true);
    } else s.out.put(R_ERROR);
    return;
  }
  if (c0 === 100) {
    // 'd'
    if (s.tis(0, W.delete)) {
      if (nt < 3 || nt > 5) s.out.put(R_ERROR);
      else processDelete(s);
    } else if (s.tis(0, W.decr)) {
      if (want(s, 4, 5)) processArithmetic(s, false);
    } else s.out.put(R_ERROR);
    return;
  }
  if (c0 === 116) {
    // 't'
    if (s.tis(0, W.touch)) {
      if (want(s, 4, 5)) processTouch(s);
    } else s.out.put(R_ERROR);
    return;
  }
  if (s.tis(0, W.replace)) {
    if (want(s, 6, 7)) processUpdate(s, NREAD_REPLACE, false);
  } else if (s.tis(0, W.prepend)) {
    if (want(s, 6, 7)) processUpdate(s, NREAD_PREPEND, false);
  } else if (s.tis(0, W.bget)) {
    if (nt < 3) s.out.put(R_ERROR);
    else processGet(s, false, false);
  } else if (s.tis(0, W.flush_all)) {
    if (nt < 2 || nt > 4) s.out.put(R_ERROR);
    else processFlushAll(s);
  } else if (s.tis(0, W.version)) {
    s.out.put(R_VERSION);
    s.out.str(s.ctx.version);
    s.out.byte(13);
    s.out.byte(10);
  } else if (s.tis(0, W.quit)) {
    s.quit();
  } else if (s.tis(0, W.verbosity)) {
    if (want(s, 3, 4)) processVerbosity(s);
  } else {
    // an HTTP request line: memcached hangs up instead of answering
    const k = nt - 2;
    const ts = s.ts(k);
    if (s.te(k) - ts >= 5 && b[ts] === 72 && b[ts + 1] === 84 && b[ts + 2] === 84 && b[ts + 3] === 80 && b[ts + 4] === 47) s.close();
    else s.out.put(R_ERROR);
  }
}

/** "VALUE key flags bytes [cas]\r\n" + data for slot `i`. */
function writeValue(out: OutBuf, st: CacheStore, i: number, withCas: boolean): void {
  const buf = st.buf(i);
  const at = st.base(i);
  const nb = st.nbytes[i]!;
  out.put(R_VALUE);
  out.bytes(buf, at, at + st.nkey[i]!);
  out.byte(32);
  out.num(st.flags[i]!);
  out.byte(32);
  out.num(nb - 2);
  if (withCas) {
    out.byte(32);
    out.num(st.cas[i]!);
  }
  out.byte(13);
  out.byte(10);
  writeData(out, st, i);
}

/** get, gets, gat, gats (and bget): memcached's process_get_command. */
function processGet(s: Session, returnCas: boolean, touch: boolean): void {
  const st = s.ctx.store;
  const stats = st.stats;
  const out = s.out;
  let kt = 1;
  let exptime = 0;
  if (touch) {
    const x = parseI32(s.line, s.ts(1), s.te(1));
    if (Number.isNaN(x)) {
      s.outString(R_INVALID_EXPTIME);
      return;
    }
    exptime = st.realtime(x);
    kt = 2;
  }
  for (;;) {
    while (s.tlen(kt) !== 0) {
      const ks = s.ts(kt);
      const ke = s.te(kt);
      if (ke - ks > KEY_MAX_LENGTH) {
        // memcached drops every reply it has not sent yet, this command's and earlier ones'
        out.truncate();
        s.outString(R_BAD_FORMAT);
        return;
      }
      const i = st.get(s.line, ks, ke, true);
      if (i >= 0) {
        if (touch) {
          st.setExptime(i, exptime);
          stats.cmd_touch++;
          stats.touch_hits++;
        } else {
          stats.get_hits++;
          stats.cmd_get++;
        }
        writeValue(out, st, i, returnCas);
      } else if (touch) {
        stats.cmd_touch++;
        stats.touch_misses++;
      } else {
        stats.get_misses++;
        stats.cmd_get++;
      }
      kt++;
    }
    const rest = s.ts(kt);
    if (rest < 0) break;
    s.tokenize(rest); // more than 23 tokens: go on with the rest of the line
    kt = 0;
  }
  out.put(R_END);
  out.commit(); // a get makes memcached send what it has
}

function processTouch(s: Session): void {
  setNoreplyMaybe(s);
  const st = s.ctx.store;
  if (keyTooLong(s)) return;
  const ks = s.ts(1);
  const ke = s.te(1);
  const x = parseI32(s.line, s.ts(2), s.te(2));
  if (Number.isNaN(x)) {
    s.outString(R_INVALID_EXPTIME);
    return;
  }
  const exptime = st.realtime(x);
  const i = st.get(s.line, ks, ke, true);
  st.stats.cmd_touch++;
  if (i >= 0) {
    st.setExptime(i, exptime);
    st.stats.touch_hits++;
    s.outString(R_TOUCHED);
  } else {
    st.stats.touch_misses++;
    s.outString(R_NOT_FOUND);
  }
}

function processArithmetic(s: Session, incr: boolean): void {
  setNoreplyMaybe(s);
  const st = s.ctx.store;
  if (keyTooLong(s)) return;
  const ks = s.ts(1);
  const ke = s.te(1);
  const d = parseU64(s.line, s.ts(2), s.te(2));
  if (d < 0) {
    s.outString(R_INVALID_DELTA);
    return;
  }
  const res = s.delta;
  switch (doAddDelta(st, s.line, ks, ke, incr, d, u64Exact(s.line, s.ts(2), s.te(2), d), 0, res)) {
    case DELTA_OK:
      if (!s.noreply) {
        s.out.bytes(res.digits, 0, res.len);
        s.out.byte(13);
        s.out.byte(10);
      }
      break;
    case DELTA_NON_NUMERIC:
      s.outString(R_NON_NUMERIC);
      break;
    case DELTA_EOM:
      s.outString(R_OUT_OF_MEMORY);
      break;
    default:
      if (incr) st.stats.incr_misses++;
      else st.stats.decr_misses++;
      s.outString(R_NOT_FOUND);
  }
}

function processDelete(s: Session): void {
  const nt = s.nt;
  if (nt > 3) {
    const holdIsZero = s.tis(2, W.zero);
    const setsNoreply = setNoreplyMaybe(s);
    const valid = (nt === 4 && (holdIsZero || setsNoreply)) || (nt === 5 && holdIsZero && setsNoreply);
    if (!valid) {
      s.outString(R_DELETE_USAGE);
      return;
    }
  }
  if (keyTooLong(s)) return;
  const ks = s.ts(1);
  const ke = s.te(1);
  const st = s.ctx.store;
  const i = st.get(s.line, ks, ke, false);
  if (i >= 0) {
    st.stats.delete_hits++;
    st.remove(i);
    s.outString(R_DELETED);
  } else {
    st.stats.delete_misses++;
    s.outString(R_NOT_FOUND);
  }
}

function processVerbosity(s: Session): void {
  setNoreplyMaybe(s);
  const level = parseU32(s.line, s.ts(1), s.te(1));
  if (level < 0) {
    s.outString(R_BAD_FORMAT);
    return;
  }
  s.ctx.verbosity = Math.min(level, MAX_VERBOSITY_LEVEL);
  s.outString(R_OK);
}

function processFlushAll(s: Session): void {
  setNoreplyMaybe(s);
  const st = s.ctx.store;
  st.stats.cmd_flush++;
  let exptime = 0;
  if (s.nt !== (s.noreply ? 3 : 2)) {
    exptime = parseI32(s.line, s.ts(1), s.te(1));
    if (Number.isNaN(exptime)) {
      s.outString(R_INVALID_EXPTIME);
      return;
    }
  }
  st.flushAll(exptime);
  s.outString(R_OK);
}

function processMemlimit(s: Session): void {
  setNoreplyMaybe(s);
  const mb = parseU32(s.line, s.ts(1), s.te(1));
  if (mb < 0) s.outString(R_ERROR);
  else if (mb < 8) s.outString(R_MEMLIMIT_SMALL);
  else if (mb > 1000000000) s.outString(R_MEMLIMIT_UNITS);
  else {
    s.ctx.store.setMemoryLimit(mb * 1024 * 1024);
    s.outString(R_OK);
  }
}

function processStat(s: Session): void {
  const ctx = s.ctx;
  if (s.nt === 2) {
    s.out.str(statsText(GENERAL_STATS, ctx.statsView()));
    return;
  }
  if (s.tis(1, W.reset)) {
    ctx.store.stats.reset();
    s.out.put(R_RESET);
  } else if (s.tis(1, W.detail)) {
    if (s.nt < 4) s.out.put(R_DETAIL_USAGE);
    // we keep no per-prefix stats: on and off are accepted and change nothing
    else if (s.tis(2, W.on) || s.tis(2, W.off)) s.out.put(R_OK);
    else if (s.tis(2, W.dump)) s.out.put(R_END);
    else s.out.put(R_DETAIL_USAGE);
  } else if (s.tis(1, W.settings)) {
    s.out.str(statsText(SETTINGS_STATS, ctx.statsView()));
  } else if (s.tis(1, W.items) || s.tis(1, W.slabs) || s.tis(1, W.sizes) || s.tis(1, W.conns) || s.tis(1, W.cachedump)) {
    s.out.put(R_END); // we have no slab classes to report
  } else {
    s.out.put(R_ERROR);
  }
}
