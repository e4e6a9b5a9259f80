// Gauges read off the live queues when a snapshot or a scrape is taken, so they cost nothing per request.

import type { ServerPool } from "../core/pool.ts";
import type { Server } from "../core/server.ts";
import { endpointText } from "../core/shard.ts";
import { SP, SS } from "./table.ts";

/** One server entry of the stats: a plain pool's servers; a group pool's shards (masters) each followed by its replicas. */
export interface StatsMember {
  readonly name: string;
  readonly server: Server;
  /** Group pools only: what the member is and whether reads may use it. */
  readonly role: "master" | "replica" | null;
  readonly shard: string | null;
  /** A cluster node's slots (redis_cluster pools), else null. */
  readonly slots: number | null;
}

export function statsMembers(pool: ServerPool): StatsMember[] {
  if (pool.cluster !== null) {
    return pool.cluster.members().map(({ server, info }) => ({ name: server.conf.name, server, role: info.role, shard: null, slots: info.slots }));
  }
  if (pool.shards === null) return pool.servers.map((s) => ({ name: s.conf.name, server: s, role: null, shard: null, slots: null }));
  const out: StatsMember[] = [];
  for (const g of pool.shards) {
    out.push({ name: g.name, server: g.master, role: "master", shard: g.name, slots: null });
    for (const r of g.replicas) out.push({ name: r.conf.name, server: r, role: "replica", shard: g.name, slots: null });
  }
  return out;
}

/** A group member's state: ejected from the ring, skipped by reads after a failure, or up. */
export function memberState(s: Server, now: number): "ejected" | "down" | "up" {
  if (s.nextRetry !== 0) return "ejected";
  return s.downUntil !== 0 && now < s.downUntil ? "down" : "up";
}

export function memberAddr(s: Server): string {
  return endpointText(s.endpoint);
}

/** Set `pool`'s client_connections and each server's connection and queue gauges to their values now. */
export function refreshGauges(pool: ServerPool): void {
  pool.stats[SP.client_connections] = pool.nclients;
  for (const { server } of statsMembers(pool)) {
    const ss = server.stats;
    let conns = 0;
    let inq = 0;
    let inqBytes = 0;
    let outq = 0;
    let outqBytes = 0;
    for (const c of [...server.conns, ...server.conns3]) {
      if (c.connected) conns++;
      for (let i = 0; i < c.inq.length; i++) inqBytes += c.inq.at(i)!.mlen;
      for (let i = 0; i < c.outq.length; i++) outqBytes += c.outq.at(i)!.mlen;
      inq += c.inq.length;
      outq += c.outq.length;
    }
    ss[SS.server_connections] = conns;
    ss[SS.in_queue] = inq;
    ss[SS.in_queue_bytes] = inqBytes;
    ss[SS.out_queue] = outq;
    ss[SS.out_queue_bytes] = outqBytes;
  }
}
