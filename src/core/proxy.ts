// Proxy listeners: one per pool, accepting clients into that pool (nc_proxy.c).

import type { Listener } from "../../runtime/types.ts";
import { clientHandler } from "./client.ts";
import { type Context, LOG_NOTICE } from "./context.ts";
import type { ServerPool } from "./pool.ts";

/** Bind the pool's `listen:` address; rejects with an errno-coded Error (EADDRINUSE...). */
export async function proxyInit(ctx: Context, pool: ServerPool): Promise<Listener> {
  const c = pool.conf;
  const listener = await ctx.rt.listen(
    { endpoint: c.listen.endpoint, backlog: c.backlog, mode: c.listen.mode ?? undefined, reusePort: c.reuseport },
    clientHandler(ctx, pool),
  );
  if (ctx.log.enabled(LOG_NOTICE)) {
    ctx.log.debug(
      LOG_NOTICE,
      `listening on '${c.listen.pname}' in ${pool.proto.name} pool '${c.name}' with ${pool.servers.length} servers`,
    );
  }
  if (c.preconnect) pool.preconnect();
  return listener;
}
