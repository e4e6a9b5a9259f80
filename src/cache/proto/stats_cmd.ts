// The `stats` command with its subcommands, and `lru_crawler` (memcached 1.6.18's process_stat and process_lru_crawler_command).
//
// Replies are memcached's texts and its order of checks; what they report is built by stats.ts
// (the general and settings lists), slab_stats.ts (per class) and dump.ts (metadump).

import type { Session } from "./session.ts";
import { ascii } from "./output.ts";
import { parseU32 } from "./numbers.ts";
import { GENERAL_STATS, SETTINGS_STATS, statsText } from "./stats.ts";
import { cachedumpText, itemsText, sizesDisable, sizesEnable, sizesText, slabsText } from "./slab_stats.ts";
import { dumpClasses } from "./dump.ts";
import {
  R_BAD_FORMAT,
  R_BADCLASS,
  R_CRAWLER_DISABLED,
  R_CRAWLER_SLEEP,
  R_CRAWLER_START_FAILED,
  R_DETAIL_USAGE,
  R_END,
  R_ERROR,
  R_ILLEGAL_SLAB,
  R_METADUMP_PIPELINED,
  R_OK,
  R_RESET,
  R_STATS_BAD_LINE,
} from "./replies.ts";

/** One line of `stats conns`: the listener (session null) or a connection. */
export interface ConnView {
  /** memcached prints the file descriptor; the server numbers connections as fds are numbered. */
  readonly id: number;
  /** "tcp:127.0.0.1:5000", "tcp6:[::1]:5000": the peer's, or the listener's own. */
  readonly addr: string;
  /** The listener's address, for a connection. */
  readonly listenAddr: string;
  readonly session: Session | null;
  /** The store clock at the connection's last request (the listener: at start). */
  readonly lastCmd: number;
}

/** The `lru_crawler` settings: whether the expiry crawler runs, and memcached's two knobs (kept, printed). */
export interface CrawlerSettings {
  enabled: boolean;
  sleep: number;
  tocrawl: number;
}

/** memcached's MAX_NUMBER_OF_SLAB_CLASSES. */
const MAX_CLASS_ID = 64;

const W = {
  reset: ascii("reset"),
  detail: ascii("detail"),
  on: ascii("on"),
  off: ascii("off"),
  dump: ascii("dump"),
  settings: ascii("settings"),
  items: ascii("items"),
  slabs: ascii("slabs"),
  sizes: ascii("sizes"),
  sizes_enable: ascii("sizes_enable"),
  sizes_disable: ascii("sizes_disable"),
  conns: ascii("conns"),
  cachedump: ascii("cachedump"),
  crawl: ascii("crawl"),
  metadump: ascii("metadump"),
  tocrawl: ascii("tocrawl"),
  sleep: ascii("sleep"),
  enable: ascii("enable"),
  disable: ascii("disable"),
} as const;

/** The reply to `stats conns` (memcached's process_stats_conns). */
export function connsText(conns: readonly ConnView[], current: Session, now: number): string {
  let out = "";
  for (const c of conns) {
    out += `STAT ${c.id}:addr ${c.addr}\r\n`;
    if (c.session !== null) out += `STAT ${c.id}:listen_addr ${c.listenAddr}\r\n`;
    const state = c.session === null ? "conn_listening" : c.session === current ? "conn_parse_cmd" : c.session.stateName();
    out += `STAT ${c.id}:state ${state}\r\n`;
    out += `STAT ${c.id}:secs_since_last_cmd ${now - c.lastCmd}\r\n`;
  }
  return `${out}END\r\n`;
}

/** `stats [...]`. */
export function processStat(s: Session): void {
  const ctx = s.ctx;
  const st = ctx.store;
  const out = s.out;
  if (s.nt === 2) {
    out.str(statsText(GENERAL_STATS, ctx.statsView()));
    return;
  }
  if (s.tis(1, W.reset)) {
    st.resetStats();
    out.put(R_RESET);
  } else if (s.tis(1, W.detail)) {
    if (s.nt < 4) out.put(R_DETAIL_USAGE);
    // we keep no per-prefix stats: on and off are accepted and change nothing
    else if (s.tis(2, W.on) || s.tis(2, W.off)) out.put(R_OK);
    else if (s.tis(2, W.dump)) out.put(R_END);
    else out.put(R_DETAIL_USAGE);
  } else if (s.tis(1, W.settings)) out.str(statsText(SETTINGS_STATS, ctx.statsView()));
  else if (s.tis(1, W.items)) out.str(itemsText(st));
  else if (s.tis(1, W.slabs)) out.str(slabsText(st));
  else if (s.tis(1, W.sizes)) out.str(sizesText(st));
  else if (s.tis(1, W.sizes_enable)) out.str(sizesEnable(st));
  else if (s.tis(1, W.sizes_disable)) out.str(sizesDisable(st));
  else if (s.tis(1, W.conns)) out.str(connsText(ctx.connections(), s, st.now));
  else if (s.tis(1, W.cachedump)) processCachedump(s);
  else out.put(R_ERROR);
}

function processCachedump(s: Session): void {
  if (s.nt < 5) {
    s.out.put(R_STATS_BAD_LINE);
    return;
  }
  const id = parseU32(s.line, s.ts(2), s.te(2));
  const limit = parseU32(s.line, s.ts(3), s.te(3));
  if (id < 0 || limit < 0) s.out.put(R_BAD_FORMAT);
  else if (id >= MAX_CLASS_ID) s.out.put(R_ILLEGAL_SLAB);
  else s.out.str(cachedumpText(s.ctx.store, id, limit));
}

/** `lru_crawler crawl|metadump <classes>`, `tocrawl N`, `sleep N`, `enable`, `disable`. */
export function processLruCrawler(s: Session): void {
  const cr = s.ctx.crawler;
  const out = s.out;
  if (s.nt === 4 && (s.tis(1, W.crawl) || s.tis(1, W.metadump))) {
    if (!cr.enabled) {
      out.put(R_CRAWLER_DISABLED);
      return;
    }
    if (s.tis(1, W.metadump) && out.uncommitted()) {
      // memcached hands the connection to its crawler thread and cannot send replies stacked before
      out.put(R_METADUMP_PIPELINED);
      return;
    }
    const classes = dumpClasses(s.line.subarray(s.ts(2), s.te(2)));
    if (classes === "BADCLASS") {
      out.put(R_BADCLASS);
      return;
    }
    s.ctx.store.stats.lru_crawler_starts++;
    // our crawler never stops reclaiming, so a crawl asked for has nothing more to start
    if (s.tis(1, W.crawl)) out.put(R_OK);
    else s.startDump(classes);
  } else if (s.nt === 4 && (s.tis(1, W.tocrawl) || s.tis(1, W.sleep))) {
    const n = parseU32(s.line, s.ts(2), s.te(2));
    if (n < 0) out.put(R_BAD_FORMAT);
    else if (s.tis(1, W.tocrawl)) {
      cr.tocrawl = n;
      out.put(R_OK);
    } else if (n > 1000000) out.put(R_CRAWLER_SLEEP);
    else {
      cr.sleep = n;
      out.put(R_OK);
    }
  } else if (s.nt === 3 && s.tis(1, W.enable)) {
    if (cr.enabled) out.put(R_CRAWLER_START_FAILED);
    else {
      cr.enabled = true;
      out.put(R_OK);
    }
  } else if (s.nt === 3 && s.tis(1, W.disable)) {
    cr.enabled = false;
    out.put(R_OK);
  } else out.put(R_ERROR);
}
