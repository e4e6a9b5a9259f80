// Routing: which server a request's key goes to, behind one interface (nc_server.c server_pool_idx, ketama/modula/random).
//
// A topology change (an ejection, a failover that moves a master, a reload, a cluster slot move)
// reaches the core as one of two things: the router's live set changes (rebuild), or the pool
// gets another router (ServerPool.setRouter). Requests already forwarded stay on the connections
// they were written to; only the next request sees the new choice.

import type { PoolConf } from "../conf/types.ts";
import { buildContinuum, HASH_CODEC, hashKey } from "../hashkit/index.ts";
import type { Continuum, HashFn } from "../hashkit/types.ts";
import { type Context, LOG_INFO } from "./context.ts";
import type { Liveness } from "./liveness.ts";
import type { Msg } from "./message.ts";
import type { Server, ServerConn } from "./server.ts";

export interface Router {
  /** The server key `k` of `msg` goes to, or null when none can take it (all ejected...). */
  route(msg: Msg, k: number): Server | null;
  /** The set of live servers changed: rebuild what maps keys to them. */
  rebuild(): void;
  /**
   * Whether requests keep their bytes until their reply arrives, so this router can send one
   * again (a redirect, a failover retry); false keeps the path that drops them once written.
   */
  readonly retains: boolean;
  /**
   * A reply to a retained request that may say "not here" (a cluster's MOVED, ASK, TRYAGAIN):
   * true when the router sent the request on and the reply is dropped.
   */
  redirected?(conn: ServerConn, req: Msg, rsp: Msg): boolean;
  /**
   * What a split request's keys are grouped by, when not by server: a cluster's slot, since a
   * node refuses one request whose keys are in several slots.
   */
  slotOf?(msg: Msg, k: number): number;
  /** With slotOf: where a request of `msg`'s kind for `slot` goes (route() without hashing again). */
  routeSlot?(msg: Msg, slot: number): Server | null;
}

/** twemproxy's routing: the pool's hash and hash_tag over a ketama, modula or random continuum of the live servers. */
export class ContinuumRouter implements Router {
  readonly retains = false;
  private readonly ctx: Context;
  private readonly conf: PoolConf;
  private readonly servers: readonly Server[];
  private readonly liveness: Liveness;
  private readonly hash: HashFn;
  private readonly failFast: boolean;
  private readonly tag: Uint8Array | null;
  /** Servers the continuum was built from: all but the ejected ones. */
  private live: Server[];
  private continuum: Continuum;

  constructor(ctx: Context, conf: PoolConf, servers: readonly Server[], liveness: Liveness) {
    this.ctx = ctx;
    this.conf = conf;
    this.servers = servers;
    this.liveness = liveness;
    this.hash = HASH_CODEC[conf.hash].fn;
    this.failFast = conf.fail_fast;
    this.tag = conf.hash_tag;
    this.live = servers.slice();
    this.continuum = buildContinuum(conf.distribution, this.live.map((s) => s.conf));
  }

  route(msg: Msg, k: number): Server | null {
    // this runs for every key of every request: the clock is read only while a server is out
    const lv = this.liveness;
    if (lv.nextReturn !== 0 && this.ctx.rt.now() > lv.nextReturn) this.rebuild();
    const live = this.live;
    const s = live.length <= 1 ? live[0] : live[this.continuum.dispatch(msgKeyHash(this.hash, this.tag, msg, k))];
    // fail_fast keeps ejected servers in the continuum: their keys fail instead of moving
    if (s === undefined || (s.nextRetry !== 0 && this.failFast)) return null;
    return s;
  }

  /** Rebuild the continuum from the servers not ejected (ketama_update/modula_update). */
  rebuild(): void {
    const live = this.liveness.live(this.servers);
    this.live = live;
    this.continuum = buildContinuum(this.conf.distribution, live.map((s) => s.conf));
    if (this.ctx.log.enabled(LOG_INFO)) {
      this.ctx.log.debug(LOG_INFO, `pool '${this.conf.name}' has ${live.length} of ${this.servers.length} servers live`);
    }
  }
}

/** Where a key that spans mbufs is gathered before hashing (one request at a time). */
let scratch = new Uint8Array(256);

/** Hash of key `k` of `msg` (msg.keys triples) with `tag` applied; a key cut across mbufs is gathered first. */
export function msgKeyHash(fn: HashFn, tag: Uint8Array | null, msg: Msg, k: number): number {
  const keys = msg.keys;
  if (keys.length <= k * 3) return 0;
  let idx = keys[k * 3]!;
  let pos = keys[k * 3 + 1]!;
  const len = keys[k * 3 + 2]!;
  const first = msg.mbufs[idx]!;
  if (pos + len <= first.last) return hashKey(fn, tag, first.buf, pos, pos + len);
  if (scratch.length < len) scratch = new Uint8Array(len * 2);
  const s = scratch;
  for (let n = 0; n < len; ) {
    const m = msg.mbufs[idx]!;
    const take = Math.min(len - n, m.last - pos);
    s.set(m.buf.subarray(pos, pos + take), n);
    n += take;
    idx++;
    pos = 0;
  }
  return hashKey(fn, tag, s, 0, len);
}
