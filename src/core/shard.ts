// Replica groups: a shard's master and replicas, which member serves a request, and how a failover moves the master.
//
// The ring is built over the shards' masters (the `servers:` lines, by name), so a key lands on
// the same shard as in the same pool without groups. A master is one Server whose address moves
// on a failover (Server.setEndpoint), so its counters, its ejection state and its place on the
// ring stay; replicas are Servers outside the ring, replaced as Sentinel lists them.

import type { Endpoint } from "../../runtime/types.ts";
import { READ_FROM, type ReadFrom, type ServerConf } from "../conf/types.ts";
import type { Context } from "./context.ts";
import { LOG_NOTICE } from "./context.ts";
import type { Msg } from "./message.ts";
import type { ServerPool } from "./pool.ts";
import type { Liveness } from "./liveness.ts";
import { ContinuumRouter, type Router } from "./router.ts";
import { Server } from "./server.ts";

/** read_from as a number, for the per-request switch. */
const POLICY: Readonly<Record<ReadFrom, number>> = Object.fromEntries(READ_FROM.map((p, i) => [p, i])) as Record<ReadFrom, number>;
const P_MASTER = POLICY.master;
const P_PREFER_MASTER = POLICY.prefer_master;
const P_REPLICA = POLICY.replica;
const P_PREFER_REPLICA = POLICY.prefer_replica;

/** `host:port` (or the socket path) of an endpoint, as Sentinel and the logs write it. */
export function endpointText(ep: Endpoint): string {
  return ep.path !== undefined ? ep.path : ep.host.includes(":") ? `[${ep.host}]:${ep.port}` : `${ep.host}:${ep.port}`;
}

export function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  return a.path === b.path && a.host === b.host && a.port === b.port;
}

/** What a node said it is on a new connection (ROLE), or that nobody asked yet. */
export type NodeRole = "master" | "replica" | "unknown";

export class Shard {
  /** The `servers:` name: the Sentinel master name, and what the ring hashes. */
  readonly name: string;
  /** The ring's server for this shard; its endpoint is the current master's. */
  readonly master: Server;
  /** Current replicas; a new array on every change, so a pick in progress never sees it move. */
  replicas: Server[] = [];
  /** Times the master moved to another address. */
  failovers = 0;
  private readonly ctx: Context;
  private readonly pool: ServerPool;
  private readonly policy: number;
  /**
   * Round robin over the members for reads: advanced once per request (not per key, so a split
   * MGET's keys of this shard go to one member), whatever else takes message ids.
   */
  private rr = 0;
  private lastId = -1;
  /** Told when a node's ROLE contradicts what we route to it (Sentinel polls at once). */
  onMismatch: (() => void) | null = null;

  constructor(ctx: Context, pool: ServerPool, master: Server, policy: ReadFrom) {
    this.ctx = ctx;
    this.pool = pool;
    this.name = master.conf.name;
    this.master = master;
    this.policy = POLICY[policy];
    master.shard = this;
  }

  /** The member that serves `msg`: the master for a write, else the read policy's choice; null when none may. */
  pick(msg: Msg, write: boolean): Server | null {
    const p = this.policy;
    const m = this.master;
    if (write || p === P_MASTER) return m;
    if (msg.id !== this.lastId) {
      this.lastId = msg.id;
      this.rr++;
    }
    if (p === P_PREFER_MASTER) return this.up(m) ? m : (this.anyUp(this.replicas) ?? m);
    if (p === P_REPLICA) return this.anyUp(this.replicas);
    if (p === P_PREFER_REPLICA) return this.anyUp(this.replicas) ?? m;
    // any: master and replicas alike
    const r = this.replicas;
    const n = r.length + 1;
    for (let i = 0, at = this.rr % n; i < n; i++, at = (at + 1) % n) {
      const s = at === r.length ? m : r[at]!;
      if (this.up(s)) return s;
    }
    return m;
  }

  /**
   * A member up for reads, from the round robin's place on (Shard.rr): the keys of one request
   * that share this shard go to one member, and requests spread over all.
   */
  private anyUp(list: readonly Server[]): Server | null {
    const n = list.length;
    for (let i = 0, at = this.rr % n; i < n; i++, at = (at + 1) % n) {
      const s = list[at]!;
      if (this.up(s)) return s;
    }
    return null;
  }

  private up(s: Server): boolean {
    if (s.downUntil === 0) return true;
    if (this.ctx.evtime < s.downUntil) return false;
    s.downUntil = 0;
    return true;
  }

  /** A member's connection failed: reads skip it for server_retry_timeout (writes still go to the master). */
  memberFailed(s: Server): void {
    s.downUntil = this.ctx.rt.now() + this.pool.conf.server_retry_timeout;
  }

  /** A new connection's ROLE said `role`; a master that says replica takes no writes (ServerConn). */
  roleSeen(s: Server, role: NodeRole): void {
    const was = s.role;
    s.role = role;
    const wrong = s === this.master ? role === "replica" : role === "master";
    if (wrong && was !== role) {
      this.ctx.log.warn(
        `pool '${this.pool.conf.name}' shard '${this.name}': ${endpointText(s.endpoint)} says it is a ${role}, ` +
          `routed to as a ${s === this.master ? "master" : "replica"}`,
      );
    }
    if (wrong) this.onMismatch?.();
  }

  /**
   * The master is now at `ep` (a Sentinel switch or poll): new requests go there at once; what
   * the old address has pending is answered there or fails, and its connections close without
   * counting as failures (Server.setEndpoint).
   */
  setMaster(ep: Endpoint, why: string, failover = true): void {
    const m = this.master;
    if (sameEndpoint(m.endpoint, ep)) return;
    const from = endpointText(m.endpoint);
    // the first answer only corrects the configured address: no failover
    if (failover) this.failovers++;
    m.setEndpoint(ep);
    m.role = "unknown";
    m.downUntil = 0;
    // the node it moved to was a replica: it is one no more
    const promoted = this.replicas.find((r) => sameEndpoint(r.endpoint, ep));
    if (promoted !== undefined) this.setReplicas(this.replicas.filter((r) => r !== promoted).map((r) => r.endpoint));
    if (m.nextRetry !== 0) {
      // an ejected master that moved is a new node: back on the ring
      m.nextRetry = 0;
      m.failureCount = 0;
      this.pool.router.rebuild();
    }
    if (this.ctx.log.enabled(LOG_NOTICE)) {
      this.ctx.log.debug(
        LOG_NOTICE,
        `pool '${this.pool.conf.name}' shard '${this.name}' master switched from ${from} to ${endpointText(ep)} (${why})`,
      );
    }
  }

  /** The replicas are now `eps` (minus the master's address): unchanged ones keep their connections and counters. */
  setReplicas(eps: readonly Endpoint[]): void {
    const keep: Server[] = [];
    for (const ep of eps) {
      if (sameEndpoint(ep, this.master.endpoint) || keep.some((r) => sameEndpoint(r.endpoint, ep))) continue;
      keep.push(this.replicas.find((r) => sameEndpoint(r.endpoint, ep)) ?? this.newReplica(ep));
    }
    for (const r of this.replicas) if (!keep.includes(r)) r.retireAll();
    if (keep.length !== this.replicas.length || keep.some((r, i) => r !== this.replicas[i])) this.replicas = keep;
  }

  private newReplica(ep: Endpoint): Server {
    const text = endpointText(ep);
    const conf: ServerConf = { pname: `${text}:1`, name: `${this.name}/${text}`, named: true, endpoint: ep, weight: 1, line: 0 };
    const s = new Server(this.ctx, this.pool, conf);
    s.shard = this;
    s.checkRole = true;
    return s;
  }

  /** Open every replica's connections too (`preconnect: true`). */
  preconnect(): void {
    for (const r of this.replicas) r.preconnect();
  }

  stop(): void {
    for (const r of this.replicas) r.retireAll();
  }
}

/**
 * Routing for a pool of replica groups: the ring picks the shard as ContinuumRouter does for any
 * pool, then the shard picks the member by the command's row (write or read) and read_from.
 */
export class GroupRouter implements Router {
  readonly retains = false;
  private readonly ring: ContinuumRouter;
  /** Per message type: 1 for a command that writes (Proto.writes). */
  private readonly writes: Uint8Array;

  constructor(ctx: Context, pool: ServerPool, liveness: Liveness) {
    this.ring = new ContinuumRouter(ctx, pool.conf, pool.servers, liveness);
    this.writes = pool.proto.writes;
  }

  route(msg: Msg, k: number): Server | null {
    const s = this.ring.route(msg, k);
    return s === null ? null : s.shard!.pick(msg, this.writes[msg.type] !== 0);
  }

  rebuild(): void {
    this.ring.rebuild();
  }
}

/** Make each server of `pool` a shard, with its static replicas (`replicas:`); the router to route them with. */
export function shardsInit(ctx: Context, pool: ServerPool, liveness: Liveness): { shards: Shard[]; router: GroupRouter } {
  const conf = pool.conf;
  const shards = pool.servers.map((s) => {
    s.checkRole = true;
    return new Shard(ctx, pool, s, conf.read_from);
  });
  for (const g of shards) g.setReplicas(conf.replicas.filter((r) => r.name === g.name).map((r) => r.endpoint));
  return { shards, router: new GroupRouter(ctx, pool, liveness) };
}
