// Gauges read off the live queues when a snapshot or a scrape is taken, so they cost nothing per request.

import type { ServerPool } from "../core/pool.ts";
import { SP, SS } from "./table.ts";

/** Set `pool`'s client_connections and each server's connection and queue gauges to their values now. */
export function refreshGauges(pool: ServerPool): void {
  pool.stats[SP.client_connections] = pool.nclients;
  for (const server of pool.servers) {
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
