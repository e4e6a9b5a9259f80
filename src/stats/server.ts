// The stats port (nc_stats.c): one line of twemproxy's JSON per connection, then close.
//
// Counters are plain numbers bumped on the hot path (core/); gauges (connections, queue depths)
// are read off the live queues when the snapshot is taken, so they cost nothing per request. A
// snapshot is taken every `-i` milliseconds, as twemproxy aggregates, and served as is.

import type { Listener, SocketHandler } from "../../runtime/types.ts";
import type { Context } from "../core/context.ts";
import type { ServerPool } from "../core/pool.ts";
import { compareServerNames } from "../hashkit/server_name.ts";
import { POOL_FIELDS, SERVER_FIELDS, SP, SS } from "./table.ts";

const enc = new TextEncoder();

/** twemproxy's JSON for the pools now: header, then each pool and its servers, sorted by name. */
export function statsJson(ctx: Context, pools: readonly ServerPool[], startedAt: number): string {
  const rt = ctx.rt;
  const now = rt.unixTime();
  let out =
    `{"service":"nutcracker", "source":${JSON.stringify(rt.hostname())}, "version":"0.5.0", ` +
    `"uptime":${Math.floor(now - startedAt)}, "timestamp":${Math.floor(now)}, ` +
    `"total_connections":${ctx.totalConns}, "curr_connections":${ctx.currConns}`;
  const sorted = [...pools].sort((a, b) => compareServerNames(a.conf.name, b.conf.name));
  // separators exactly as nc_stats.c writes them: ", " before the first pool and server, "," after
  for (const [pi, pool] of sorted.entries()) {
    const ps = pool.stats;
    ps[SP.client_connections] = pool.nclients;
    out += `${pi === 0 ? ", " : ","}${JSON.stringify(pool.conf.name)}: {`;
    out += POOL_FIELDS.map((f) => `"${f}":${ps[SP[f]]}`).join(", ");
    for (const [si, server] of pool.servers.entries()) {
      const ss = server.stats;
      let conns = 0;
      let inq = 0;
      let inqBytes = 0;
      let outq = 0;
      let outqBytes = 0;
      for (const c of server.conns) {
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
      out += `${si === 0 ? ", " : ","}${JSON.stringify(server.conf.name)}: {`;
      out += SERVER_FIELDS.map((f) => `"${f}":${ss[SS[f]]}`).join(", ");
      out += "}";
    }
    out += "}";
  }
  return `${out}}\n`;
}

/** Listen on `-a`:`-s` and answer every connection with the latest snapshot (stats_start). */
export async function statsInit(
  ctx: Context,
  pools: readonly ServerPool[],
  addr: string,
  port: number,
  intervalMs: number,
): Promise<Listener> {
  const startedAt = ctx.rt.unixTime();
  let snapshot = enc.encode(statsJson(ctx, pools, startedAt));
  const aggregate = (): void => {
    snapshot = enc.encode(statsJson(ctx, pools, startedAt));
    ctx.rt.setTimer(intervalMs, aggregate);
  };
  ctx.rt.setTimer(intervalMs, aggregate);
  const handler: SocketHandler = {
    open(sock) {
      sock.write(snapshot);
      sock.end();
    },
    data() {},
    drain() {},
    end(sock) {
      sock.close();
    },
    close() {},
  };
  return ctx.rt.listen({ endpoint: { host: addr, port }, backlog: 512 }, handler);
}
