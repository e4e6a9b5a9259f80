// A server pool: its config, its servers, and the key → server choice (nc_server.c server_pool_*).

import type { PoolConf } from "../conf/types.ts";
import { buildContinuum, HASH_CODEC, hashKey } from "../hashkit/index.ts";
import type { Continuum, HashFn } from "../hashkit/types.ts";
import type { Proto } from "../proto/types.ts";
import { LatencyHistogram } from "../stats/histogram.ts";
import { POOL_FIELDS } from "../stats/table.ts";
import { type Context, LOG_INFO } from "./context.ts";
import type { Msg } from "./message.ts";
import { Server } from "./server.ts";

export class ServerPool {
  readonly conf: PoolConf;
  readonly proto: Proto;
  readonly servers: Server[];
  /** Servers the continuum was built from: all but the ejected ones. */
  private live: Server[];
  private continuum: Continuum;
  /** When an ejected server is due back (ms, monotonic); 0 when none is out (next_rebuild). */
  private nextRebuild = 0;
  private readonly ctx: Context;
  /** Client connections open now, and those turned away over `client_connections`. */
  nclients = 0;
  rejected = 0;
  /** Pool counters, indexed by stats/table.ts SP. */
  readonly stats = new Float64Array(POOL_FIELDS.length);
  /** Proxy-side latency of every reply written, request read to reply written (ours). */
  readonly latency = new LatencyHistogram();
  /** Requests parsed, by message type (proto.commandNames). */
  readonly commands: Float64Array;
  private readonly hash: HashFn;
  /** Where a key that spans mbufs is gathered before hashing. */
  private scratch = new Uint8Array(256);

  constructor(ctx: Context, conf: PoolConf, proto: Proto) {
    this.ctx = ctx;
    this.conf = conf;
    this.proto = proto;
    this.hash = HASH_CODEC[conf.hash].fn;
    this.commands = new Float64Array(proto.commandNames.length);
    this.servers = conf.servers.map(
      (s, i) => new Server(ctx, this, s, i),
    );
    this.live = this.servers;
    this.continuum = buildContinuum(conf.distribution, this.live.map((s) => s.conf));
  }

  /** The server key `k` of the request routes to (server_pool_idx), or null when none is live. */
  serverFor(msg: Msg, k: number): Server | null {
    if (this.nextRebuild !== 0 && this.ctx.rt.now() > this.nextRebuild) this.rebuild();
    const live = this.live;
    const s = live.length <= 1 ? live[0] : live[this.continuum.dispatch(this.keyHash(msg, k))];
    // fail_fast keeps ejected servers in the continuum: their keys fail instead of moving
    if (s === undefined || (s.nextRetry !== 0 && this.conf.fail_fast)) return null;
    return s;
  }

  /**
   * Rebuild the continuum from the servers not ejected (ketama_update/modula_update): an ejected
   * server's keys move to the others until its retry time, when it is put back blindly.
   */
  rebuild(): void {
    const now = this.ctx.rt.now();
    const live: Server[] = [];
    let next = 0;
    const failFast = this.conf.fail_fast;
    const probed = this.conf.health_check;
    for (const s of this.servers) {
      // with health_check a server comes back when its probe answers (Server.probe), not by time
      if (!probed && s.nextRetry !== 0 && s.nextRetry <= now) s.nextRetry = 0;
      if (s.nextRetry === 0 || failFast) live.push(s);
      if (!probed && s.nextRetry !== 0 && (next === 0 || s.nextRetry < next)) next = s.nextRetry;
    }
    this.nextRebuild = next;
    this.live = live;
    this.continuum = buildContinuum(this.conf.distribution, live.map((s) => s.conf));
    if (this.ctx.log.enabled(LOG_INFO)) {
      this.ctx.log.debug(LOG_INFO, `pool '${this.conf.name}' has ${live.length} of ${this.servers.length} servers live`);
    }
  }

  /** Hash of key `k` with hash_tag applied; a key cut across mbufs is gathered first. */
  keyHash(msg: Msg, k: number): number {
    const keys = msg.keys;
    if (keys.length <= k * 3) return 0;
    let idx = keys[k * 3]!;
    let pos = keys[k * 3 + 1]!;
    const len = keys[k * 3 + 2]!;
    const first = msg.mbufs[idx]!;
    if (pos + len <= first.last) return hashKey(this.hash, this.conf.hash_tag, first.buf, pos, pos + len);
    if (this.scratch.length < len) this.scratch = new Uint8Array(len * 2);
    const s = this.scratch;
    for (let n = 0; n < len; ) {
      const m = msg.mbufs[idx]!;
      const take = Math.min(len - n, m.last - pos);
      s.set(m.buf.subarray(pos, pos + take), n);
      n += take;
      idx++;
      pos = 0;
    }
    return hashKey(this.hash, this.conf.hash_tag, s, 0, len);
  }

  preconnect(): void {
    for (const s of this.servers) s.preconnect();
  }
}
