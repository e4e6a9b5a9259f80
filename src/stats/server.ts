// The stats port (nc_stats.c): one line of twemproxy's JSON per connection, then close.
//
// Counters are plain numbers bumped on the hot path (core/); gauges (connections, queue depths)
// are read off the live queues when the snapshot is taken, so they cost nothing per request. A
// snapshot is taken every `-i` milliseconds, as twemproxy aggregates, and served as is.

import type { Endpoint, Listener, SocketHandler } from "../../runtime/types.ts";
import type { Context } from "../core/context.ts";
import type { ServerPool } from "../core/pool.ts";
import type { PoolRegistry } from "../core/proxy.ts";
import type { LatencyHistogram } from "./histogram.ts";
import { compareServerNames } from "../hashkit/server_name.ts";
import { memberAddr, memberState, refreshGauges, statsMembers } from "./gauges.ts";
import { IntervalPercentiles } from "./histogram.ts";
import { POOL_FIELDS, SERVER_FIELDS, SP, SS } from "./table.ts";

const enc = new TextEncoder();

/**
 * Our keys in each pool object, after twemproxy's pool keys and before its servers. Plain numbers:
 * collectors take an object value for a server and skip numbers they do not know (telegraf,
 * newrelic's and diamond's twemproxy plugins), so old collectors read this JSON unchanged.
 */
export const POOL_EXTRA_FIELDS = ["latency_p50_us", "latency_p99_us", "latency_p999_us", "subscribed_clients", "pinned_connections"] as const;

/**
 * twemproxy's JSON for the pools now: header, then each pool and its servers, sorted by name.
 * `windows[i]` holds the last interval's latency percentiles of `pools[i]`; without it none are written.
 */
export function statsJson(
  ctx: Context,
  pools: readonly ServerPool[],
  startedAt: number,
  windows?: readonly IntervalPercentiles[],
): string {
  const rt = ctx.rt;
  const now = rt.unixTime();
  let out =
    `{"service":"nutcracker", "source":${JSON.stringify(rt.hostname())}, "version":"0.5.0", ` +
    `"uptime":${Math.floor(now - startedAt)}, "timestamp":${Math.floor(now)}, ` +
    `"total_connections":${ctx.totalConns}, "curr_connections":${ctx.currConns}`;
  const order = pools.map((_, i) => i).sort((a, b) => compareServerNames(pools[a]!.conf.name, pools[b]!.conf.name));
  // separators exactly as nc_stats.c writes them: ", " before the first pool and server, "," after
  for (const [pi, idx] of order.entries()) {
    const pool = pools[idx]!;
    refreshGauges(pool);
    const ps = pool.stats;
    out += `${pi === 0 ? ", " : ","}${JSON.stringify(pool.conf.name)}: {`;
    out += POOL_FIELDS.map((f) => `"${f}":${ps[SP[f]]}`).join(", ");
    const w = windows?.[idx];
    // ours: a cluster pool's redirects followed and slot maps read
    if (w !== undefined && pool.cluster !== null) out += `, "redirects":${pool.cluster.redirects}, "slot_map_reads":${pool.cluster.refreshes}`;
    if (w !== undefined) {
      out += `, "latency_p50_us":${w.p50}, "latency_p99_us":${w.p99}, "latency_p999_us":${w.p999}`;
      // ours: clients subscribed now, and connections pinned to clients (pub/sub, blocking, MULTI)
      out += `, "subscribed_clients":${pool.subscribed}, "pinned_connections":${pool.servers.reduce((n, s) => n + s.npinned, 0)}`;
    }
    const mono = rt.now();
    for (const [si, m] of statsMembers(pool).entries()) {
      const ss = m.server.stats;
      out += `${si === 0 ? ", " : ","}${JSON.stringify(m.name)}: {`;
      out += SERVER_FIELDS.map((f) => `"${f}":${ss[SS[f]]}`).join(", ");
      if (m.role !== null) {
        // a replica group's member (ours): only pools with groups have these keys
        out += `, "role":"${m.role}", "addr":${JSON.stringify(memberAddr(m.server))}, "state":"${memberState(m.server, mono)}"`;
        if (m.slots !== null) out += `, "slots":${m.slots}`;
        else if (m.role === "master") out += `, "failovers":${m.server.shard!.failovers}`;
      }
      out += "}";
    }
    out += "}";
  }
  return `${out}}\n`;
}

/** Listen on `-a`:`-s` (a worker: its private socket) and answer every connection with the latest snapshot (stats_start). */
export async function statsInit(
  ctx: Context,
  registry: PoolRegistry,
  endpoint: Endpoint,
  intervalMs: number,
): Promise<Listener> {
  const startedAt = ctx.rt.unixTime();
  // one window per histogram, which a pool replaced by a reload hands on with its counters
  const byHistogram = new WeakMap<LatencyHistogram, IntervalPercentiles>();
  const windowOf = (p: ServerPool): IntervalPercentiles => {
    let w = byHistogram.get(p.latency);
    if (w === undefined) byHistogram.set(p.latency, (w = new IntervalPercentiles(p.latency)));
    return w;
  };
  const take = (): Uint8Array => {
    const pools = registry.pools;
    const windows = pools.map(windowOf);
    for (const w of windows) w.take();
    return enc.encode(statsJson(ctx, pools, startedAt, windows));
  };
  let snapshot = take();
  const aggregate = (): void => {
    snapshot = take();
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
  return ctx.rt.listen({ endpoint, backlog: 512 }, handler);
}
