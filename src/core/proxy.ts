// Proxy listeners: one per pool, accepting clients into that pool, and the registry of pools the stats ports read (nc_proxy.c).

import type { Endpoint, Listener } from "../../runtime/types.ts";
import { type ClientConn, clientHandler } from "./client.ts";
import { type Context, LOG_NOTICE } from "./context.ts";
import type { ServerPool } from "./pool.ts";

/**
 * One pool's listener and the clients it accepted. Clients read their pool through `pool` here,
 * so a reload repoints every client of a listener at once (swap) while they stay connected.
 */
export class Proxy implements Listener {
  pool: ServerPool;
  readonly clients = new Set<ClientConn>();
  private listener: Listener | null = null;

  constructor(pool: ServerPool) {
    this.pool = pool;
  }

  get endpoint(): Endpoint {
    return this.listener!.endpoint;
  }

  /** Serve `next` from the next request on; the caller stops the pool it replaces. */
  swap(next: ServerPool): ServerPool {
    const prev = this.pool;
    next.nclients = prev.nclients;
    next.rejected = prev.rejected;
    this.pool = next;
    return prev;
  }

  /** Take over `old`'s clients (a reload moved the pool's listen address): they stay connected. */
  adoptClients(old: Proxy): void {
    for (const c of old.clients) {
      c.proxy = this;
      this.clients.add(c);
    }
    old.clients.clear();
  }

  bind(listener: Listener): void {
    this.listener = listener;
  }

  close(): void {
    this.listener?.close();
  }
}

/**
 * The pools the stats and metrics ports report, in configuration order. It outlives any one pool
 * object: a reload replaces entries (ServerPool's `carry` keeps their counters going).
 */
export class PoolRegistry {
  readonly pools: ServerPool[] = [];

  add(pool: ServerPool): void {
    this.pools.push(pool);
  }

  remove(pool: ServerPool): void {
    const i = this.pools.indexOf(pool);
    if (i >= 0) this.pools.splice(i, 1);
  }

  replace(prev: ServerPool, next: ServerPool): void {
    const i = this.pools.indexOf(prev);
    if (i >= 0) this.pools[i] = next;
    else this.pools.push(next);
  }
}

/** Bind the pool's `listen:` address; rejects with an errno-coded Error (EADDRINUSE...). */
export async function proxyInit(ctx: Context, pool: ServerPool, preconnect = true): Promise<Proxy> {
  const c = pool.conf;
  const proxy = new Proxy(pool);
  proxy.bind(
    await ctx.rt.listen(
      { endpoint: c.listen.endpoint, backlog: c.backlog, mode: c.listen.mode ?? undefined, reusePort: c.reuseport || ctx.shareListeners, tls: pool.tls.listen },
      clientHandler(ctx, proxy),
    ),
  );
  if (ctx.log.enabled(LOG_NOTICE)) {
    ctx.log.debug(
      LOG_NOTICE,
      `listening on '${c.listen.pname}' in ${pool.proto.name} pool '${c.name}' with ${pool.servers.length} servers`,
    );
  }
  // a reload preconnects once the new pool has adopted the old one's connections
  if (c.preconnect && preconnect) pool.preconnect();
  return proxy;
}
