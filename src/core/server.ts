// One backend of a pool: its address, its shared connections and the ones pinned to a client (nc_server.c).

import type { Endpoint } from "../../runtime/types.ts";
import type { ServerConf } from "../conf/types.ts";
import type { Proto } from "../proto/types.ts";
import { SERVER_FIELDS } from "../stats/table.ts";
import type { Context } from "./context.ts";
import type { ServerPool } from "./pool.ts";
import { endpointText, type NodeRole, type Shard } from "./shard.ts";
import { type PinOwner, ServerConn } from "./server_conn.ts";

export { type PinOwner, type ReqOwner, ServerConn, serverHandler } from "./server_conn.ts";

/** One backend of a pool, with up to `server_connections` shared connections. */
export class Server {
  /** As configured; a failover replaces it with one whose pname is the new address (logs, stats). */
  conf: ServerConf;
  /**
   * Where connections go. It starts as the configured address and may be moved while the proxy
   * runs (a Sentinel failover): setEndpoint.
   */
  endpoint: Endpoint;
  /** The shared rotation (server_conn); pinned and retiring connections are not in it. */
  readonly conns: ServerConn[] = [];
  /**
   * The rotation of connections that said HELLO 3, for clients that did (redis): opened on the
   * first such request, up to `server_connections` too.
   */
  readonly conns3: ServerConn[] = [];
  private rr = 0;
  readonly ctx: Context;
  readonly pool: ServerPool;
  readonly proto: Proto;
  readonly maxConns: number;
  readonly keepAlive: boolean;
  /** Request timeout in ms, or 0 for none (`timeout: -1`). */
  readonly timeout: number;
  /** Sent first on every new connection; a cluster replica read from gets READONLY added. */
  preamble: readonly Uint8Array[];
  readonly preamble3: readonly Uint8Array[];
  /** Consecutive failures (server_failure), and when an ejected server is due back (monotonic ms). */
  failureCount = 0;
  nextRetry = 0;
  /** A health-check probe is out (core/liveness.ts). */
  probing = false;
  /** The replica group it is a member of (ours: `sentinels:`, `replicas:`), or null. */
  shard: Shard | null = null;
  /** Every new connection asks ROLE before its first request (members of a group). */
  checkRole = false;
  /** What ROLE said last. */
  role: NodeRole = "unknown";
  /** A group member whose connection failed: reads skip it until then (monotonic ms); 0 when up. */
  downUntil = 0;
  /** Pinned connections open now (Server.pin), at most `pinned_connections`. */
  npinned = 0;
  /** Server counters, indexed by stats/table.ts SS; carried over from the server this one replaces. */
  readonly stats: Float64Array;

  constructor(ctx: Context, pool: ServerPool, conf: ServerConf, carry?: Server) {
    this.ctx = ctx;
    this.pool = pool;
    this.proto = pool.proto;
    this.preamble = pool.proto.serverPreamble(pool.conf, false);
    this.preamble3 = pool.proto.serverPreamble(pool.conf, true);
    this.maxConns = pool.conf.server_connections;
    this.keepAlive = pool.conf.tcpkeepalive;
    this.timeout = pool.conf.timeout > 0 ? pool.conf.timeout : 0;
    this.conf = conf;
    this.endpoint = conf.endpoint;
    this.stats = carry?.stats ?? new Float64Array(SERVER_FIELDS.length);
  }

  /** A connection to it closed for a reason of the server's (not a retirement): the ejection policy counts it. */
  failure(): void {
    const g = this.shard;
    if (g !== null) g.memberFailed(this);
    // a replica is not on the ring: reads go round it, nothing to eject
    if (g === null || g.master === this) this.pool.liveness.failure(this);
  }

  /** A reply came back: the server is healthy again (server_ok). */
  ok(): void {
    this.pool.liveness.ok(this);
  }

  /** A connection for the next request: a new one while under the limit, else round robin (server_conn). */
  conn(resp3 = false): ServerConn {
    const conns = resp3 ? this.conns3 : this.conns;
    if (conns.length < this.maxConns) {
      const c = new ServerConn(this, null, resp3);
      conns.push(c);
      c.open();
      return c;
    }
    const c = conns[this.rr % conns.length]!;
    this.rr = (this.rr + 1) % conns.length;
    return c;
  }

  /**
   * A connection of `owner`'s own, outside the shared rotation and the `server_connections`
   * limit: replies nobody asked for (pub/sub pushes) go to the owner, and closing it with
   * ServerConn.release is not a failure of the server. Null when `pinned_connections` of them
   * are open already.
   */
  pin(owner: PinOwner, resp3 = false): ServerConn | null {
    if (this.npinned >= this.pool.conf.pinned_connections) return null;
    this.npinned++;
    const c = new ServerConn(this, owner, resp3);
    c.open();
    return c;
  }

  /**
   * Move the server to another address: the connections to the old one leave the rotation and
   * close once what is pending on them is answered, without counting as failures; the next
   * request opens a connection to the new address.
   */
  setEndpoint(ep: Endpoint): void {
    this.endpoint = ep;
    // retired first, so their close is logged with the address they had
    this.retireAll();
    this.conf = { ...this.conf, endpoint: ep, pname: `${endpointText(ep)}:${this.conf.weight}` };
  }

  /**
   * Take over `o`'s shared connections (a reload: same server, same address): they serve this
   * server from now on, up to its `server_connections`; any above that retire.
   */
  adopt(o: Server): void {
    for (const [from, to] of [
      [o.conns, this.conns],
      [o.conns3, this.conns3],
    ] as const) {
      for (const c of from.splice(0, from.length)) {
        c.server = this;
        if (to.length < this.maxConns) to.push(c);
        else c.retire();
      }
    }
  }

  /** Take every shared connection out of the rotation and let each close once idle. */
  retireAll(): void {
    const conns = [...this.conns.splice(0, this.conns.length), ...this.conns3.splice(0, this.conns3.length)];
    for (const c of conns) c.retire();
    this.rr = 0;
  }

  /** Open every connection now (`preconnect: true`). */
  preconnect(): void {
    while (this.conns.length < this.maxConns) this.conn();
  }

  remove(c: ServerConn): void {
    const conns = c.resp3 ? this.conns3 : this.conns;
    const i = conns.indexOf(c);
    if (i >= 0) conns.splice(i, 1);
  }
}
