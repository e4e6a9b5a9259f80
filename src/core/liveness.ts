// Host ejection in one place: failure counting, ejection, return by time or by probe (nc_server.c server_failure/server_ok).
//
// Servers carry the state (failureCount, nextRetry); this class holds the policy that reads and
// changes it, and tells the pool's router when the set of live servers changed. Every timer it
// starts is kept, so a pool that is replaced (reload) cancels them all with stop().

import type { Socket, SocketHandler, TimerHandle } from "../../runtime/types.ts";
import type { PoolConf } from "../conf/types.ts";
import { SP, SS } from "../stats/table.ts";
import type { Context } from "./context.ts";
import type { Server } from "./server.ts";

export class Liveness {
  private readonly ctx: Context;
  private readonly conf: PoolConf;
  private readonly poolStats: Float64Array;
  /** Called when a server left or rejoined the live set: the router rebuilds. */
  private readonly changed: () => void;
  /**
   * When the next ejected server is due back by time (ms, monotonic); 0 when none (next_rebuild).
   * The router rebuilds from live() once the clock passes it, reading the clock only while it is set.
   */
  nextReturn = 0;
  private readonly timers = new Set<TimerHandle>();
  private readonly probes = new Set<Socket>();
  private stopped = false;

  constructor(ctx: Context, conf: PoolConf, poolStats: Float64Array, changed: () => void) {
    this.ctx = ctx;
    this.conf = conf;
    this.poolStats = poolStats;
    this.changed = changed;
  }

  /** A connection to `s` closed (any reason): count it, and eject at the limit (server_failure). */
  failure(s: Server): void {
    const pc = this.conf;
    if (!pc.auto_eject_hosts || this.stopped) return;
    if (++s.failureCount < pc.server_failure_limit) return;
    s.failureCount = 0;
    s.nextRetry = this.ctx.rt.now() + pc.server_retry_timeout;
    this.poolStats[SP.server_ejects]!++;
    s.stats[SS.server_ejected_at] = Math.floor(this.ctx.rt.unixTime() * 1e6);
    this.ctx.log.warn(`ejecting server '${s.conf.pname}' from pool '${pc.name}' for ${pc.server_retry_timeout} ms`);
    if (pc.health_check) this.later(pc.server_retry_timeout, s);
    this.changed();
  }

  /** A reply came back: the server is healthy again (server_ok). */
  ok(s: Server): void {
    s.failureCount = 0;
  }

  /**
   * The servers a continuum is built from: all but the ejected ones (every one with fail_fast,
   * whose ejected servers fail their keys instead of moving them). Without health_check, an
   * ejected server whose retry time passed is put back blindly, as twemproxy does.
   */
  live(servers: readonly Server[]): Server[] {
    const now = this.ctx.rt.now();
    const out: Server[] = [];
    let next = 0;
    const failFast = this.conf.fail_fast;
    const probed = this.conf.health_check;
    for (const s of servers) {
      // with health_check a server comes back when its probe answers, not by time
      if (!probed && s.nextRetry !== 0 && s.nextRetry <= now) s.nextRetry = 0;
      if (s.nextRetry === 0 || failFast) out.push(s);
      if (!probed && s.nextRetry !== 0 && (next === 0 || s.nextRetry < next)) next = s.nextRetry;
    }
    this.nextReturn = next;
    return out;
  }

  /** Cancel every timer and probe: the pool is being replaced or the process stops. */
  stop(): void {
    this.stopped = true;
    for (const t of this.timers) this.ctx.rt.clearTimer(t);
    this.timers.clear();
    for (const p of this.probes) p.close();
    this.probes.clear();
  }

  private later(ms: number, s: Server): void {
    const t = this.ctx.rt.setTimer(ms, () => {
      this.timers.delete(t);
      this.probe(s);
    });
    this.timers.add(t);
  }

  /**
   * health_check: connect and send the protocol's probe; a good answer puts the server back,
   * anything else (refusal, error, silence past the timeout) keeps it out another retry period.
   */
  probe(s: Server): void {
    if (this.stopped || s.probing || s.nextRetry === 0) return;
    s.probing = true;
    const pc = this.conf;
    const sock = this.ctx.rt.connect({ endpoint: s.endpoint, noDelay: true, tls: s.pool.tls.servers }, probeHandler);
    const limit = pc.timeout > 0 ? pc.timeout : 1000;
    const timer = this.ctx.rt.setTimer(limit, () => sock.close());
    this.timers.add(timer);
    this.probes.add(sock);
    sock.ctx = {
      server: s,
      done: (ok: boolean) => {
        this.ctx.rt.clearTimer(timer);
        this.timers.delete(timer);
        this.probes.delete(sock);
        s.probing = false;
        (sock.ctx as ProbeState).done = null;
        if (this.stopped) return;
        if (ok) {
          s.nextRetry = 0;
          s.failureCount = 0;
          this.ctx.log.warn(`server '${s.conf.pname}' answered its health check: back in pool '${pc.name}'`);
          this.changed();
        } else {
          // still down: look again after another retry period
          s.nextRetry = this.ctx.rt.now() + pc.server_retry_timeout;
          this.later(pc.server_retry_timeout, s);
        }
      },
    } satisfies ProbeState;
  }
}

interface ProbeState {
  readonly server: Server;
  done: ((ok: boolean) => void) | null;
}

/** Health-check sockets: one probe out, one answer judged, then closed. */
const probeHandler: SocketHandler = {
  open(sock) {
    sock.write((sock.ctx as ProbeState).server.proto.probe.slice());
  },
  data(sock, chunk) {
    const p = sock.ctx as ProbeState;
    p.done?.(p.server.proto.probeOk(chunk));
    sock.close();
  },
  drain() {},
  end(sock) {
    sock.close();
  },
  close(sock) {
    (sock.ctx as ProbeState).done?.(false);
  },
};
