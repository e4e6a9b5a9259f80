// Prometheus text exposition (format 0.0.4) of the stats counters, latency histograms and command counts.
//
// Built fresh on each scrape from the same arrays the stats JSON reads; nothing here runs per
// request. Names: `nutcracker_` prefix, counters end in `_total`, labels `pool` and `server` carry
// twemproxy's names (escaped: they may hold quotes, backslashes and newlines).

import type { Context } from "../core/context.ts";
import type { ServerPool } from "../core/pool.ts";
import { compareServerNames } from "../hashkit/server_name.ts";
import { memberAddr, memberState, refreshGauges, statsMembers } from "./gauges.ts";
import { POOL_FIELDS, SERVER_FIELDS, SP, SS, STATS_POOL_CODEC, STATS_SERVER_CODEC, type StatsField } from "./table.ts";

/** The `le` edges of the latency histogram, in us: powers of two from 16 us to 2^24 us (16.8 s). */
export const PROM_LE_US: readonly number[] = Array.from({ length: 21 }, (_, i) => 2 ** (i + 4));

/** A label value with `\`, `"` and newline escaped, as the text format asks. */
export function promEscape(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** HELP text escaping: only `\` and newline. */
function helpEscape(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/** A sample value: integers as written, others in JS shortest form (Go's ParseFloat reads both). */
function num(v: number): string {
  return Number.isFinite(v) ? String(v) : v > 0 ? "+Inf" : v < 0 ? "-Inf" : "NaN";
}

function family(name: string, type: "counter" | "gauge" | "histogram", help: string): string {
  return `# HELP ${name} ${helpEscape(help)}\n# TYPE ${name} ${type}\n`;
}

const promType = (f: StatsField): "counter" | "gauge" => (f.kind === "counter" ? "counter" : "gauge");

/**
 * The exposition text for `pools` now. `startedAt` is the process start (unix seconds), for
 * the uptime gauge.
 *
 * @example
 * ```ts
 * prometheusText(ctx, pools, t0);
 * // # HELP nutcracker_uptime_seconds Seconds since the proxy started
 * // # TYPE nutcracker_uptime_seconds gauge
 * // nutcracker_uptime_seconds 42 ...
 * ```
 */
export function prometheusText(ctx: Context, pools: readonly ServerPool[], startedAt: number): string {
  const rt = ctx.rt;
  const sorted = [...pools].sort((a, b) => compareServerNames(a.conf.name, b.conf.name));
  for (const p of sorted) refreshGauges(p);
  const plabel = sorted.map((p) => `pool="${promEscape(p.conf.name)}"`);
  let out = family("nutcracker_info", "gauge", "Version and host of the proxy (the stats JSON header), always 1");
  out += `nutcracker_info{version="0.5.0",source="${promEscape(rt.hostname())}",runtime="${rt.name}"} 1\n`;
  out += family("nutcracker_uptime_seconds", "gauge", "Seconds since the proxy started");
  out += `nutcracker_uptime_seconds ${Math.floor(rt.unixTime() - startedAt)}\n`;
  out += family("nutcracker_connections_total", "counter", "Connections ever opened: listeners, clients and servers (total_connections)");
  out += `nutcracker_connections_total ${ctx.totalConns}\n`;
  out += family("nutcracker_curr_connections", "gauge", "Connections open now: listeners, clients and servers (curr_connections)");
  out += `nutcracker_curr_connections ${ctx.currConns}\n`;
  out += family("nutcracker_reloads_total", "counter", "Configuration reloads applied (SIGUSR2, POST /reload, --watch)");
  out += `nutcracker_reloads_total ${ctx.reloads}\n`;
  out += family("nutcracker_reloads_failed_total", "counter", "Configuration reloads refused: the file did not pass -t, or a new listen address could not be bound");
  out += `nutcracker_reloads_failed_total ${ctx.reloadsFailed}\n`;

  for (const f of POOL_FIELDS) {
    const d = STATS_POOL_CODEC[f];
    out += family(d.prom, promType(d), `${d.description} (${f})`);
    for (const [i, p] of sorted.entries()) out += `${d.prom}{${plabel[i]}} ${num(p.stats[SP[f]]!)}\n`;
  }
  for (const f of SERVER_FIELDS) {
    const d = STATS_SERVER_CODEC[f];
    // twemproxy keeps the ejection time in microseconds; Prometheus timestamps are seconds
    const scale = d.kind === "timestamp" ? 1e-6 : 1;
    const help = d.kind === "timestamp" ? "timestamp when server was ejected in seconds since epoch, 0 if never" : d.description;
    out += family(d.prom, promType(d), `${help} (${f})`);
    for (const [i, p] of sorted.entries()) {
      for (const m of statsMembers(p)) {
        out += `${d.prom}{${plabel[i]},server="${promEscape(m.name)}"} ${num(m.server.stats[SS[f]]! * scale)}\n`;
      }
    }
  }
  out += groupFamilies(sorted, plabel, rt.now());
  out += family("nutcracker_server_pinned_connections", "gauge", "Connections to the server pinned to one client each (pub/sub, blocking commands, MULTI)");
  for (const [i, p] of sorted.entries()) {
    for (const m of statsMembers(p)) out += `nutcracker_server_pinned_connections{${plabel[i]},server="${promEscape(m.name)}"} ${m.server.npinned}\n`;
  }
  out += family("nutcracker_pool_subscribed_clients", "gauge", "Clients subscribed to a channel or pattern now");
  for (const [i, p] of sorted.entries()) out += `nutcracker_pool_subscribed_clients{${plabel[i]}} ${p.subscribed}\n`;

  // only the commands a pool has seen: ~250 redis names per pool would mostly be zeros
  out += family("nutcracker_commands_total", "counter", "Requests parsed, by command");
  for (const [i, p] of sorted.entries()) {
    const names = p.proto.commandNames;
    for (let t = 0; t < p.commands.length; t++) {
      const n = p.commands[t]!;
      if (n !== 0) out += `nutcracker_commands_total{${plabel[i]},command="${promEscape(names[t] ?? "unknown")}"} ${num(n)}\n`;
    }
  }

  // bucket edges are exact histogram edges; a latency on an edge counts in the bucket above it
  const h = "nutcracker_request_duration_seconds";
  out += family(h, "histogram", "Proxy-side time from request read to reply written");
  for (const [i, p] of sorted.entries()) {
    const lat = p.latency;
    for (const us of PROM_LE_US) out += `${h}_bucket{${plabel[i]},le="${us / 1e6}"} ${num(lat.countBelow(us))}\n`;
    out += `${h}_bucket{${plabel[i]},le="+Inf"} ${num(lat.count)}\n`;
    out += `${h}_sum{${plabel[i]}} ${num(lat.sum / 1e6)}\n`;
    out += `${h}_count{${plabel[i]}} ${num(lat.count)}\n`;
  }
  return out;
}

/** Replica groups (ours): each member's role and state, and each shard's failovers; nothing for plain pools. */
function groupFamilies(pools: readonly ServerPool[], plabel: readonly string[], now: number): string {
  if (pools.every((p) => p.shards === null && p.cluster === null)) return "";
  let out = family("nutcracker_server_role", "gauge", "A replica group member: 1, labelled with its shard, role, address and state");
  for (const [i, p] of pools.entries()) {
    for (const m of statsMembers(p)) {
      if (m.role === null) continue;
      const l = `server="${promEscape(m.name)}",shard="${promEscape(m.shard ?? "")}",role="${m.role}",addr="${promEscape(memberAddr(m.server))}"`;
      out += `nutcracker_server_role{${plabel[i]},${l},state="${memberState(m.server, now)}"} 1\n`;
    }
  }
  out += family("nutcracker_cluster_slots", "gauge", "Slots a cluster node serves as master");
  for (const [i, p] of pools.entries()) {
    for (const m of statsMembers(p)) if (m.slots !== null) out += `nutcracker_cluster_slots{${plabel[i]},server="${promEscape(m.name)}"} ${m.slots}\n`;
  }
  out += family("nutcracker_cluster_redirects_total", "counter", "MOVED, ASK, TRYAGAIN and CLUSTERDOWN replies the proxy followed instead of the client");
  for (const [i, p] of pools.entries()) if (p.cluster !== null) out += `nutcracker_cluster_redirects_total{${plabel[i]}} ${p.cluster.redirects}\n`;
  out += family("nutcracker_shard_failovers_total", "counter", "Times a shard's master moved to another address");
  for (const [i, p] of pools.entries()) {
    for (const g of p.shards ?? []) out += `nutcracker_shard_failovers_total{${plabel[i]},shard="${promEscape(g.name)}"} ${g.failovers}\n`;
  }
  return out;
}
