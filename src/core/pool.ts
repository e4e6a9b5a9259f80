// A server pool: its configuration, its servers, its counters, and the router and ejection policy it routes with (nc_server.c server_pool_*).

import type { PoolConf } from "../conf/types.ts";
import type { Proto } from "../proto/types.ts";
import { LatencyHistogram } from "../stats/histogram.ts";
import { POOL_FIELDS } from "../stats/table.ts";
import type { Context } from "./context.ts";
import { Liveness } from "./liveness.ts";
import type { Msg } from "./message.ts";
import { ContinuumRouter, type Router } from "./router.ts";
import { ClusterRouter } from "./cluster.ts";
import { loadTls, type PoolTls } from "./tls.ts";
import { SentinelWatch } from "./sentinel.ts";
import { Server } from "./server.ts";
import { sameEndpoint, type Shard, shardsInit } from "./shard.ts";

export class ServerPool {
  readonly conf: PoolConf;
  readonly proto: Proto;
  readonly servers: Server[];
  /** Ejection and return of the pool's servers; tells the router when its live set changed. */
  readonly liveness: Liveness;
  /** key → server; replaced whole by setRouter (a failover, a cluster map), rebuilt on ejections. */
  router: Router;
  /** The replica groups, one per server (ours: `sentinels:`, `replicas:`); null for a plain pool. */
  readonly shards: Shard[] | null = null;
  /** Discovery of the groups' members (`sentinels:`). */
  readonly watch: SentinelWatch | null = null;
  /** The slot map of a `redis_cluster` pool; its servers are then the cluster's masters. */
  readonly cluster: ClusterRouter | null = null;
  /** TLS to the servers and on the listener, files read (core/tls.ts). */
  readonly tls: PoolTls;
  /** Clients subscribed to a channel or pattern now (redis_pubsub.ts). */
  subscribed = 0;
  /** Client connections open now, and those turned away over `client_connections`. */
  nclients = 0;
  rejected = 0;
  /** Pool counters, indexed by stats/table.ts SP. */
  readonly stats: Float64Array;
  /** Proxy-side latency of every reply written, request read to reply written (ours). */
  readonly latency: LatencyHistogram;
  /** Requests parsed, by message type (proto.commandNames). */
  readonly commands: Float64Array;

  /**
   * `carry`: the pool this one replaces (a reload); its counters, histogram and the counters of
   * its servers of the same name go on here, so the stats ports count across the swap.
   */
  constructor(ctx: Context, conf: PoolConf, proto: Proto, carry?: ServerPool) {
    this.conf = conf;
    this.proto = proto;
    // a file that cannot be read fails the start (or the reload) here, before any connection
    this.tls = loadTls(ctx.rt, conf);
    if (this.tls.servers?.verify === false) {
      ctx.log.warn(`pool '${conf.name}': tls_verify is false: the servers' certificates are not checked`);
    }
    this.stats = carry?.stats ?? new Float64Array(POOL_FIELDS.length);
    this.latency = carry?.latency ?? new LatencyHistogram();
    this.commands = carry?.commands ?? new Float64Array(proto.commandNames.length);
    this.liveness = new Liveness(ctx, conf, this.stats, () => this.router.rebuild());
    this.servers = conf.servers.map((s) => new Server(ctx, this, s, carry?.servers.find((o) => o.conf.name === s.name)));
    if (conf.redis_cluster) {
      this.cluster = new ClusterRouter(ctx, this);
      this.router = this.cluster;
    } else if (conf.sentinels.length > 0 || conf.replicas.length > 0) {
      const g = shardsInit(ctx, this, this.liveness);
      this.shards = g.shards;
      this.router = g.router;
      if (conf.sentinels.length > 0) {
        this.watch = new SentinelWatch(ctx, conf.name, conf.sentinels, g.shards, conf.sentinel_interval, conf.timeout, this.tls.servers);
      }
    } else this.router = new ContinuumRouter(ctx, conf, this.servers, this.liveness);
  }

  /**
   * Take over `prev`'s connections to every server that stays, same name and address, when
   * nothing that a connection carries changed (protocol, AUTH, SELECT, keepalive, ROLE checks):
   * a reload keeps them open and what is pending on them is answered as if nothing happened.
   */
  adopt(prev: ServerPool): void {
    const a = prev.conf;
    const b = this.conf;
    if (a.redis !== b.redis || a.redis_auth !== b.redis_auth || a.redis_db !== b.redis_db || a.tcpkeepalive !== b.tcpkeepalive) return;
    if ((prev.shards === null) !== (this.shards === null)) return;
    for (const s of this.servers) {
      const o = prev.servers.find((x) => x.conf.name === s.conf.name && sameEndpoint(x.endpoint, s.endpoint));
      if (o !== undefined) s.adopt(o);
    }
  }

  /** Learn the groups' members before serving (a first Sentinel round), then keep watching. */
  async discover(): Promise<void> {
    await this.watch?.start();
    await this.cluster?.start();
  }

  /** The server key `k` of the request routes to (server_pool_idx), or null when none is live. */
  serverFor(msg: Msg, k: number): Server | null {
    return this.router.route(msg, k);
  }

  /** Route with another router from the next request on; what is in flight finishes where it is. */
  setRouter(r: Router): void {
    this.router = r;
  }

  preconnect(): void {
    for (const s of this.servers) s.preconnect();
    for (const g of this.shards ?? []) g.preconnect();
  }

  /**
   * Stop the pool (it was replaced, or the process stops): cancel its timers and probes, and
   * close its server connections once what is pending on them is answered, without counting
   * those closes as failures.
   */
  stop(): void {
    this.liveness.stop();
    this.watch?.stop();
    this.cluster?.stop();
    for (const s of this.cluster?.nodes.values() ?? []) s.retireAll();
    for (const s of this.servers) s.retireAll();
    for (const g of this.shards ?? []) g.stop();
  }
}
