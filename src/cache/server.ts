// The cache server: a listener on the runtime's sockets, one Session per connection, and the expiry crawler.
//
// Everything runs on the one event loop of whichever runtime started us, so requests are
// serialized: a data block is stored when its last byte arrives, between two other requests.
// The crawler wakes every CRAWL_MS and looks at a bounded number of slots, reclaiming expired
// and flushed items that nobody asks for; lookups reclaim the ones they meet on the way.

import type { Listener, Runtime, Socket, SocketHandler, TimerHandle } from "../../runtime/types.ts";
import type { CacheContext } from "./proto/commands.ts";
import { Session } from "./proto/session.ts";
import type { StatsView } from "./proto/stats.ts";
import { CacheStore } from "./store/store.ts";
import { R_TOO_MANY_CONNS } from "./proto/replies.ts";

/** The version our `version` and `stats` report: memcached's protocol level, then ours. */
export const CACHE_VERSION = "1.6.18 (nutcracker-ts cache 0.5.0)";
const CRAWL_MS = 100;
/** Slots the crawler looks at per wake-up: ~0.2 ms of work; a million slots in ten seconds. */
const CRAWL_SLOTS = 10_000;

export interface CacheServerOptions {
  readonly host: string;
  readonly port: number;
  readonly memory: number;
  readonly maxItemSize: number;
  readonly maxConnections: number;
  readonly backlog: number;
  /** -v level: 1 logs connections, 2 also each request line. */
  readonly verbose: number;
}

export class CacheServer implements CacheContext {
  readonly rt: Runtime;
  readonly store: CacheStore;
  readonly opts: CacheServerOptions;
  verbosity = 0;
  readonly version = CACHE_VERSION;
  private listener: Listener | null = null;
  private crawlTimer: TimerHandle | null = null;
  private readonly startedAt: number;
  private readonly sessions = new Set<Session>();
  private readonly log: (line: string) => void;

  constructor(rt: Runtime, opts: CacheServerOptions, log: (line: string) => void) {
    this.rt = rt;
    this.opts = opts;
    this.log = log;
    this.verbosity = Math.min(opts.verbose, 2);
    this.startedAt = rt.unixTime();
    this.store = new CacheStore({ memoryLimit: opts.memory, itemSizeMax: opts.maxItemSize, unixNow: this.startedAt });
  }

  unixTime(): number {
    return this.rt.unixTime();
  }

  /** Bind and start the crawler; rejects with the runtime's errno-coded Error (EADDRINUSE...). */
  async listen(): Promise<Listener> {
    const l = await this.rt.listen(
      { endpoint: { host: this.opts.host, port: this.opts.port }, backlog: this.opts.backlog },
      this.handler(),
    );
    this.listener = l;
    this.scheduleCrawl();
    return l;
  }

  /** Stop accepting and crawling, and end every connection (the store stays as it is). */
  close(): void {
    this.listener?.close();
    this.listener = null;
    if (this.crawlTimer !== null) this.rt.clearTimer(this.crawlTimer);
    this.crawlTimer = null;
    for (const s of this.sessions) s.eof();
    this.sessions.clear();
  }

  private scheduleCrawl(): void {
    this.crawlTimer = this.rt.setTimer(CRAWL_MS, () => {
      this.store.tick(this.rt.unixTime());
      this.store.crawl(CRAWL_SLOTS);
      this.scheduleCrawl();
    });
  }

  statsView(): StatsView {
    const st = this.store;
    const now = this.rt.unixTime();
    let hp = 16;
    while (1 << hp < st.count) hp++;
    return {
      stats: st.stats,
      pid: this.rt.pid,
      uptime: now - this.startedAt + 2,
      unixTime: now,
      version: this.version,
      maxConnections: this.opts.maxConnections,
      limitMaxbytes: st.memoryLimit,
      currItems: st.count,
      bytes: st.itemBytes,
      hashPowerLevel: hp,
      verbosity: this.verbosity,
      port: this.opts.port,
      listenAddr: this.opts.host,
      itemSizeMax: st.itemSizeMax,
      chunkMax: st.chunkMax,
      crawlerRunning: this.crawlTimer !== null,
    };
  }

  /** One handler object for every connection of the listener. */
  private handler(): SocketHandler {
    const srv = this;
    const stats = this.store.stats;
    return {
      open(sock: Socket): void {
        stats.total_connections++;
        if (stats.curr_connections >= srv.opts.maxConnections) {
          // memcached's reply when it is over its connection limit
          stats.rejected_connections++;
          sock.ctx = null;
          sock.write(R_TOO_MANY_CONNS);
          sock.end();
          return;
        }
        stats.curr_connections++;
        sock.setNoDelay(true);
        const s = new Session(srv, sock);
        sock.ctx = s;
        srv.sessions.add(s);
        if (srv.verbosity > 0) srv.log(`cache: new client connection from ${sock.remoteAddress}:${sock.remotePort}`);
      },
      data(sock: Socket, chunk: Uint8Array): void {
        const s = sock.ctx as Session | null;
        if (s === null) return;
        if (srv.verbosity > 1) srv.log(`cache: <${sock.remotePort} ${chunk.length} bytes`);
        try {
          s.data(chunk);
        } catch (e) {
          // the journal refused a commit (a failed write or sync): nothing of this batch may be
          // acknowledged, so the connection goes without its replies
          srv.log(`cache: closing a connection: ${(e as Error).message}`);
          s.dispose();
          sock.close();
          return;
        }
        if (s.blocked) sock.pause();
      },
      drain(sock: Socket): void {
        const s = sock.ctx as Session | null;
        if (s === null) return;
        s.blocked = false;
        sock.resume();
      },
      end(sock: Socket): void {
        const s = sock.ctx as Session | null;
        if (s !== null) s.eof();
        else sock.end();
      },
      close(sock: Socket): void {
        const s = sock.ctx as Session | null;
        if (s === null) return;
        sock.ctx = null;
        s.dispose();
        stats.curr_connections--;
        srv.sessions.delete(s);
        if (srv.verbosity > 0) srv.log(`cache: connection from ${sock.remoteAddress}:${sock.remotePort} closed`);
      },
    };
  }
}
