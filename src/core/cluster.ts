// Redis Cluster behind one pool (ours; twemproxy #271, #668): key slots, the slot map, MOVED and ASK followed for the client.
//
// A `redis_cluster: true` pool routes by the cluster's own rule (CRC16 of the key, or of its
// `{tag}`, mod 16384) through a slot map read with CLUSTER SHARDS (CLUSTER SLOTS on older
// servers) at start, every `cluster_refresh` ms, and soon after a MOVED. Its requests keep their
// bytes until answered (Router.retains), so a MOVED or ASK reply is never seen by the client: the
// request goes again to the node named, ASK preceded by ASKING. TRYAGAIN and CLUSTERDOWN are tried
// again after a pause; every request is redirected at most MAX_REDIRECTS times, then its last
// error is its reply. The pool's `servers` are its masters, so keyspace-wide commands reach each.

import type { Endpoint, TimerHandle } from "../../runtime/types.ts";
import type { ServerConf } from "../conf/types.ts";
import { hashCrc16 } from "../hashkit/crc16.ts";
import { RespError, type RespValue } from "../proto/resp_value.ts";
import { type Context, LOG_NOTICE } from "./context.ts";
import { CtlConn } from "./ctl_conn.ts";
import { type Msg, msgReleaseData } from "./message.ts";
import { MsgWriter } from "./msg_io.ts";
import type { ServerPool } from "./pool.ts";
import { msgKeyHash, type Router } from "./router.ts";
import { type ReqOwner, Server, type ServerConn } from "./server.ts";
import { endpointText } from "./shard.ts";
import { RspType } from "../proto/redis.ts";

export const CLUSTER_SLOTS = 16384;
/** Redirects one request may take before its last error is its reply (a loop ends, never hangs). */
export const MAX_REDIRECTS = 5;
/** Pause before a TRYAGAIN or CLUSTERDOWN request is sent again. */
const RETRY_MS = 100;
/** A MOVED asks for a new map at most this often. */
const REFRESH_AFTER_MOVED_MS = 100;

const enc = new TextEncoder();
const writer = new MsgWriter();
const ASKING = enc.encode("*1\r\n$6\r\nASKING\r\n");
const READONLY = enc.encode("*1\r\n$8\r\nREADONLY\r\n");
const BRACES = enc.encode("{}");
const dec = new TextDecoder("latin1");

/** A node's role in the map, and how many slots it serves. */
export interface NodeInfo {
  role: "master" | "replica";
  slots: number;
}

export class ClusterRouter implements Router {
  readonly retains = true;
  private readonly ctx: Context;
  private readonly pool: ServerPool;
  /** slot → its master. */
  private readonly slots: (Server | null)[] = new Array<Server | null>(CLUSTER_SLOTS).fill(null);
  /** Every node known, by `host:port`. */
  readonly nodes = new Map<string, Server>();
  readonly info = new Map<Server, NodeInfo>();
  private readonly replicasOf = new Map<Server, Server[]>();
  private readonly readReplicas: boolean;
  private rr = 0;
  redirects = 0;
  refreshes = 0;
  private timer: TimerHandle | null = null;
  private refreshing: Promise<void> | null = null;
  private lastRefresh = 0;
  private stopped = false;

  constructor(ctx: Context, pool: ServerPool) {
    this.ctx = ctx;
    this.pool = pool;
    this.readReplicas = pool.conf.read_from !== "master";
    // the seeds serve until the first map says otherwise
    for (const s of pool.servers) {
      this.nodes.set(endpointText(s.endpoint), s);
      this.info.set(s, { role: "master", slots: 0 });
    }
  }

  /** The slot of key `k` (CRC16 of the key or of its `{tag}`, as the cluster specification defines). */
  slotOf(msg: Msg, k: number): number {
    return msgKeyHash(hashCrc16, BRACES, msg, k) & (CLUSTER_SLOTS - 1);
  }

  route(msg: Msg, k: number): Server | null {
    return this.routeSlot(msg, this.slotOf(msg, k));
  }

  routeSlot(msg: Msg, slot: number): Server | null {
    const m = this.slots[slot] ?? this.pool.servers[0] ?? null;
    if (m === null || !this.readReplicas || this.pool.proto.writes[msg.type] !== 0) return m;
    const reps = this.replicasOf.get(m);
    if (reps === undefined || reps.length === 0) return m;
    const p = this.pool.conf.read_from;
    if (p === "master") return m;
    this.rr++;
    if (p === "any") {
      const i = this.rr % (reps.length + 1);
      return i === reps.length ? m : reps[i]!;
    }
    // replica, prefer_replica, prefer_master: a replica (a node down fails like any server's)
    return p === "prefer_master" ? m : reps[this.rr % reps.length]!;
  }

  rebuild(): void {}

  /**
   * A reply of `-MOVED`, `-ASK`, `-TRYAGAIN` or `-CLUSTERDOWN` to `req` on `conn`: send it again
   * where the cluster says and return true, or false when the reply is the client's.
   */
  redirected(conn: ServerConn, req: Msg, rsp: Msg): boolean {
    if (rsp.type !== RspType.ERROR || req.redirects >= MAX_REDIRECTS) return false;
    const text = errorHead(rsp);
    const space = text.indexOf(" ");
    const word = space < 0 ? text : text.slice(0, space);
    let target: Server | null = null;
    let asking = false;
    if (word === "MOVED" || word === "ASK") {
      const [, slotText, addr] = text.split(" ");
      const ep = parseAddr(addr ?? "");
      const slot = Number(slotText);
      if (ep === null || !(slot >= 0 && slot < CLUSTER_SLOTS)) return false;
      target = this.node(ep);
      if (word === "MOVED") {
        this.moveSlot(slot, target);
        this.refreshSoon();
      } else asking = true;
    } else if (word !== "TRYAGAIN" && word !== "CLUSTERDOWN") return false;
    req.redirects++;
    this.redirects++;
    this.ctx.msgs.put(rsp);
    req.peer = null;
    const owner = req.owner as ReqOwner;
    if (target === null) {
      // the same node, a little later (a slot being migrated, a failover in progress)
      const again = conn.server;
      this.ctx.rt.setTimer(RETRY_MS, () => {
        this.ctx.tick();
        if (req.swallow) {
          msgReleaseData(this.ctx.msgs, req);
          this.ctx.msgs.put(req);
        } else again.conn(owner.resp3).enqueue(req);
        this.ctx.flushDirty();
      });
      return true;
    }
    const c = target.conn(owner.resp3);
    if (asking) c.enqueue(this.internal(ASKING));
    c.enqueue(req);
    return true;
  }

  private internal(bytes: Uint8Array): Msg {
    const msgs = this.ctx.msgs;
    const m = msgs.get(true, null);
    writer.begin(msgs.mbufs, m).bytes(bytes);
    writer.end();
    m.swallow = true;
    return m;
  }

  /** The node at `ep`, made on first sight. */
  private node(ep: Endpoint): Server {
    const key = endpointText(ep);
    let s = this.nodes.get(key);
    if (s === undefined) {
      const conf: ServerConf = { pname: `${key}:1`, name: key, named: false, endpoint: ep, weight: 1, line: 0 };
      s = new Server(this.ctx, this.pool, conf);
      this.nodes.set(key, s);
      this.info.set(s, { role: "master", slots: 0 });
    }
    return s;
  }

  private moveSlot(slot: number, to: Server): void {
    const from = this.slots[slot];
    if (from === to) return;
    if (from !== null && from !== undefined) this.info.get(from)!.slots--;
    this.slots[slot] = to;
    const i = this.info.get(to)!;
    i.slots++;
    i.role = "master";
    if (!this.pool.servers.includes(to)) this.pool.servers.push(to);
  }

  /** The first map, before the pool serves; then one every cluster_refresh ms. */
  async start(): Promise<void> {
    await this.refresh();
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.ctx.rt.setTimer(Math.max(this.pool.conf.cluster_refresh, 100), () => {
      this.timer = null;
      void this.refresh().then(() => this.schedule());
    });
  }

  private refreshSoon(): void {
    if (this.refreshing !== null || this.ctx.rt.now() - this.lastRefresh < REFRESH_AFTER_MOVED_MS) return;
    void this.refresh();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) this.ctx.rt.clearTimer(this.timer);
  }

  /** Read the slot map from a live node (the masters first, then the other nodes and seeds). */
  refresh(): Promise<void> {
    if (this.refreshing === null) {
      this.refreshing = this.readMap().finally(() => {
        this.refreshing = null;
        this.lastRefresh = this.ctx.rt.now();
      });
    }
    return this.refreshing;
  }

  private async readMap(): Promise<void> {
    const candidates = [...new Set([...this.pool.servers, ...this.nodes.values()])];
    const limit = this.pool.conf.timeout > 0 ? Math.min(this.pool.conf.timeout, 1000) : 1000;
    for (const s of candidates) {
      if (this.stopped) return;
      const c = new CtlConn(this.ctx, s.endpoint, null, null, this.pool.tls.servers);
      try {
        let v = await c.call(["CLUSTER", "SHARDS"], limit);
        let map = v instanceof RespError ? null : fromShards(v, this.pool.tls.servers !== undefined);
        if (map === null) {
          v = await c.call(["CLUSTER", "SLOTS"], limit);
          map = v instanceof RespError ? null : fromSlots(v);
        }
        if (map !== null && map.length > 0) {
          this.apply(map);
          this.refreshes++;
          return;
        }
      } catch {
        // that node is not answering: the next one
      } finally {
        c.close();
      }
    }
    this.ctx.log.warn(`pool '${this.pool.conf.name}': no cluster node answered CLUSTER SHARDS or SLOTS; keeping the slot map`);
  }

  /** Install a map read from the cluster: every slot's master, the replicas, the masters as the pool's servers. */
  private apply(map: readonly ShardMap[]): void {
    const next: (Server | null)[] = new Array<Server | null>(CLUSTER_SLOTS).fill(null);
    const masters: Server[] = [];
    const seen = new Set<Server>();
    this.replicasOf.clear();
    for (const sh of map) {
      const m = this.node(sh.master);
      masters.push(m);
      seen.add(m);
      this.info.set(m, { role: "master", slots: 0 });
      const reps = sh.replicas.map((ep) => this.node(ep));
      for (const r of reps) {
        seen.add(r);
        this.info.set(r, { role: "replica", slots: 0 });
        if (this.readReplicas && !r.preamble.includes(READONLY)) r.preamble = [...r.preamble, READONLY];
      }
      this.replicasOf.set(m, reps);
      for (const [a, b] of sh.ranges) for (let i = a; i <= b && i < CLUSTER_SLOTS; i++) next[i] = m;
    }
    let moved = 0;
    for (let i = 0; i < CLUSTER_SLOTS; i++) {
      if (next[i] !== this.slots[i]) moved++;
      this.slots[i] = next[i]!;
      const s = next[i];
      if (s !== null && s !== undefined) this.info.get(s)!.slots++;
    }
    // nodes gone from the cluster: their connections close once answered
    for (const [key, s] of this.nodes) {
      if (seen.has(s)) continue;
      s.retireAll();
      this.nodes.delete(key);
      this.info.delete(s);
    }
    this.pool.servers.splice(0, this.pool.servers.length, ...masters);
    if (moved > 0 && this.ctx.log.enabled(LOG_NOTICE)) {
      this.ctx.log.debug(LOG_NOTICE, `pool '${this.pool.conf.name}': cluster map of ${masters.length} masters, ${moved} slots moved`);
    }
  }

  /** Every node with its role and slots, masters first (stats). */
  members(): { server: Server; info: NodeInfo }[] {
    return [...this.info].map(([server, info]) => ({ server, info })).sort((a, b) => (a.info.role === b.info.role ? 0 : a.info.role === "master" ? -1 : 1));
  }
}

interface ShardMap {
  readonly ranges: [number, number][];
  readonly master: Endpoint;
  readonly replicas: Endpoint[];
}

function parseAddr(addr: string): Endpoint | null {
  const i = addr.lastIndexOf(":");
  if (i <= 0) return null;
  const port = Number(addr.slice(i + 1).split("@")[0]);
  const host = addr.slice(0, i).replace(/^\[|\]$/g, "");
  return port > 0 && port < 65536 ? { host, port } : null;
}

/** The error text of a reply, without its `-` and line end (a short head is enough for a redirect). */
function errorHead(rsp: Msg): string {
  const b = new Uint8Array(rsp.mlen);
  rsp.copyTo(b, 0);
  const text = dec.decode(b.subarray(0, Math.min(rsp.mlen, 128)));
  const end = text.indexOf("\r");
  return text.slice(1, end < 0 ? undefined : end);
}

/**
 * CLUSTER SHARDS: [ "slots", [a, b, ...], "nodes", [ {id, port, tls-port, ip, endpoint, role, health...}, ... ] ] per shard.
 * A node with TLS names both its ports (each only when non-zero): a TLS pool takes `tls-port`.
 */
function fromShards(v: RespValue, tls: boolean): ShardMap[] | null {
  if (!Array.isArray(v)) return null;
  const out: ShardMap[] = [];
  for (const sh of v) {
    const f = pairs(sh);
    const slots = f.get("slots");
    const nodes = f.get("nodes");
    if (!Array.isArray(slots) || !Array.isArray(nodes)) return null;
    const ranges: [number, number][] = [];
    for (let i = 0; i + 1 < slots.length; i += 2) ranges.push([Number(slots[i]), Number(slots[i + 1])]);
    let master: Endpoint | null = null;
    const replicas: Endpoint[] = [];
    for (const n of nodes) {
      const g = pairs(n);
      const port = Number((tls ? g.get("tls-port") ?? g.get("port") : g.get("port") ?? g.get("tls-port")));
      const host = String(g.get("ip") ?? g.get("endpoint") ?? "");
      if (!(port > 0) || host === "" || g.get("health") === "fail") continue;
      if (g.get("role") === "master") master = { host, port };
      else replicas.push({ host, port });
    }
    if (master !== null && ranges.length > 0) out.push({ ranges, master, replicas });
  }
  return out;
}

/** CLUSTER SLOTS: [ [a, b, [ip, port, id], [ip, port, id]...], ... ]. */
function fromSlots(v: RespValue): ShardMap[] | null {
  if (!Array.isArray(v)) return null;
  const byMaster = new Map<string, ShardMap>();
  for (const r of v) {
    if (!Array.isArray(r) || r.length < 3) continue;
    const [a, b, m, ...reps] = r;
    const ep = (x: RespValue): Endpoint | null => (Array.isArray(x) && x.length >= 2 ? { host: String(x[0]), port: Number(x[1]) } : null);
    const master = ep(m!);
    if (master === null) continue;
    const key = endpointText(master);
    let sh = byMaster.get(key);
    if (sh === undefined) {
      sh = { ranges: [], master, replicas: reps.map(ep).filter((e): e is Endpoint => e !== null) };
      byMaster.set(key, sh);
    }
    sh.ranges.push([Number(a), Number(b)]);
  }
  return [...byMaster.values()];
}

/** A flat field/value list (RESP2 map) as a Map. */
function pairs(v: RespValue): Map<string, RespValue> {
  const m = new Map<string, RespValue>();
  if (Array.isArray(v)) for (let i = 0; i + 1 < v.length; i += 2) m.set(String(v[i]), v[i + 1]!);
  return m;
}
