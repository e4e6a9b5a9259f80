// Sentinel discovery for a pool with `sentinels:`: each shard's master and replicas, by polling and by +switch-master.
//
// Every sentinel_interval ms one Sentinel is asked, for every shard, GET-MASTER-ADDR-BY-NAME and
// REPLICAS (pipelined, one round trip); one that fails or is silent past the limit hands over to
// the next. The Sentinel that answered also carries one SUBSCRIBE +switch-master connection, so a
// switch is applied when Sentinel announces it rather than a poll later. With no Sentinel
// answering, the shards keep the last topology they had. predixy polls, camellia subscribes;
// this does both (../shared/REFERENCES.md).

import type { Endpoint, TimerHandle, TlsOptions } from "../../runtime/types.ts";
import type { ServerConf } from "../conf/types.ts";
import { RespError, type RespValue } from "../proto/resp_value.ts";
import { type Context, LOG_INFO } from "./context.ts";
import { CtlConn } from "./ctl_conn.ts";
import { endpointText, type Shard } from "./shard.ts";

/** Replica flags that take a replica out of the read set. */
const DOWN_FLAGS = ["s_down", "o_down", "disconnected"];

export class SentinelWatch {
  private readonly ctx: Context;
  private readonly pool: string;
  private readonly sentinels: readonly ServerConf[];
  private readonly shards: ReadonlyMap<string, Shard>;
  private readonly interval: number;
  /** How long one Sentinel may take to answer a round. */
  private readonly limit: number;
  /** The Sentinel asked first: the last one that answered. */
  private cur = 0;
  private conn: CtlConn | null = null;
  private sub: CtlConn | null = null;
  private timer: TimerHandle | null = null;
  private running: Promise<void> | null = null;
  /** Logged that none answered; cleared, with a log line, when one does again. */
  private silent = false;
  private again = false;
  /** No Sentinel has answered yet: what the first one says corrects the configured addresses. */
  private first = true;
  private stopped = false;

  /** The pool's TLS: Sentinels of TLS servers speak it too. */
  private readonly tls: TlsOptions | undefined;

  constructor(
    ctx: Context,
    pool: string,
    sentinels: readonly ServerConf[],
    shards: readonly Shard[],
    interval: number,
    timeout: number,
    tls?: TlsOptions,
  ) {
    this.tls = tls;
    this.ctx = ctx;
    this.pool = pool;
    this.sentinels = sentinels;
    this.shards = new Map(shards.map((s) => [s.name, s]));
    this.interval = Math.max(interval, 1);
    this.limit = timeout > 0 ? Math.min(timeout, 1000) : 1000;
    for (const s of shards) s.onMismatch = () => this.soon();
  }

  /** The first round (resolves once a Sentinel answered or all were tried), then one every interval. */
  async start(): Promise<void> {
    await this.poll();
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) this.ctx.rt.clearTimer(this.timer);
    this.timer = null;
    this.conn?.close();
    this.sub?.close();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.ctx.rt.setTimer(this.interval, () => {
      this.timer = null;
      void this.poll().then(() => this.schedule());
    });
  }

  /** A node contradicted its role: ask now rather than at the next tick (one round at a time). */
  private soon(): void {
    if (this.running !== null) this.again = true;
    else void this.poll();
  }

  private poll(): Promise<void> {
    if (this.running === null) {
      this.running = this.round().finally(() => {
        this.running = null;
        if (this.again && !this.stopped) {
          this.again = false;
          void this.poll();
        }
      });
    }
    return this.running;
  }

  private async round(): Promise<void> {
    const n = this.sentinels.length;
    let last = "";
    for (let tries = 0; tries < n && !this.stopped; tries++) {
      const i = (this.cur + tries) % n;
      const ep = this.sentinels[i]!.endpoint;
      try {
        await this.ask(ep);
        if (this.silent) this.ctx.log.warn(`pool '${this.pool}': sentinel ${endpointText(ep)} answers again`);
        this.silent = false;
        if (i !== this.cur) this.sub?.close();
        this.cur = i;
        this.subscribe(ep);
        return;
      } catch (e) {
        last = `${endpointText(ep)}: ${(e as Error).message}`;
        if (this.ctx.log.enabled(LOG_INFO)) this.ctx.log.debug(LOG_INFO, `pool '${this.pool}': sentinel ${last}`);
        this.conn?.close();
        this.conn = null;
      }
    }
    if (!this.silent && !this.stopped) {
      this.ctx.log.warn(
        `pool '${this.pool}': no sentinel answered (last, ${last}); keeping the last known masters and replicas`,
      );
      this.silent = true;
    }
  }

  /** One round trip to the Sentinel at `ep`: every shard's master and replicas, applied only if all came. */
  private async ask(ep: Endpoint): Promise<void> {
    if (this.conn === null || this.conn.closed) this.conn = new CtlConn(this.ctx, ep, null, null, this.tls);
    const c = this.conn;
    const calls: Promise<RespValue>[] = [];
    for (const name of this.shards.keys()) {
      calls.push(c.call(["SENTINEL", "GET-MASTER-ADDR-BY-NAME", name], this.limit));
      calls.push(c.call(["SENTINEL", "REPLICAS", name], this.limit));
    }
    const replies = await Promise.all(calls);
    if (this.stopped) return;
    let k = 0;
    for (const shard of this.shards.values()) {
      const master = replies[k++]!;
      const replicas = replies[k++]!;
      if (master instanceof RespError) throw new Error(master.message);
      const addr = addrOf(master);
      if (addr === null) {
        // this Sentinel does not watch the shard: another may
        throw new Error(`does not know master '${shard.name}'`);
      }
      shard.setMaster(addr, `sentinel ${endpointText(ep)}`, !this.first);
      if (Array.isArray(replicas)) shard.setReplicas(liveReplicas(replicas));
    }
    this.first = false;
  }

  /** Keep one +switch-master subscription, on the Sentinel that answered last. */
  private subscribe(ep: Endpoint): void {
    if (this.stopped || (this.sub !== null && !this.sub.closed)) return;
    const sub = new CtlConn(
      this.ctx,
      ep,
      (v) => this.pushed(v),
      (c) => {
        if (this.sub === c) this.sub = null;
      },
      this.tls,
    );
    this.sub = sub;
    // the subscription's confirmation and messages all arrive as pushes
    sub.call(["SUBSCRIBE", "+switch-master"], this.limit).then(
      (v) => this.pushed(v),
      () => {},
    );
  }

  /** `message +switch-master "<name> <old-ip> <old-port> <new-ip> <new-port>"`. */
  private pushed(v: RespValue): void {
    if (!Array.isArray(v) || v[0] !== "message" || v[1] !== "+switch-master" || typeof v[2] !== "string") return;
    const [name, , , ip, port] = v[2].split(" ");
    const shard = this.shards.get(name ?? "");
    const p = Number(port);
    if (shard === undefined || ip === undefined || !(p > 0 && p < 65536)) return;
    shard.setMaster({ host: ip, port: p }, "+switch-master");
  }
}

/** `[ip, port]` from GET-MASTER-ADDR-BY-NAME; null for nil (an unknown name). */
function addrOf(v: RespValue): Endpoint | null {
  if (!Array.isArray(v) || v.length < 2) return null;
  const port = Number(v[1]);
  return typeof v[0] === "string" && port > 0 && port < 65536 ? { host: v[0], port } : null;
}

/** The replicas of a SENTINEL REPLICAS reply (each a flat field/value list) whose flags do not say they are down. */
function liveReplicas(list: readonly RespValue[]): Endpoint[] {
  const out: Endpoint[] = [];
  for (const r of list) {
    if (!Array.isArray(r)) continue;
    const f = new Map<string, string>();
    for (let i = 0; i + 1 < r.length; i += 2) f.set(String(r[i]), String(r[i + 1]));
    const flags = (f.get("flags") ?? "").split(",");
    const port = Number(f.get("port"));
    if (DOWN_FLAGS.some((d) => flags.includes(d)) || !(port > 0 && port < 65536)) continue;
    out.push({ host: f.get("ip") ?? "", port });
  }
  return out;
}
