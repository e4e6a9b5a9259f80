// The cache server: a listener on the runtime's sockets, one Session per connection, and the expiry crawler.
//
// Everything runs on the one event loop of whichever runtime started us, so requests are
// serialized: a data block is stored when its last byte arrives, between two other requests.
// The crawler wakes every CRAWL_MS and looks at a bounded number of slots, reclaiming expired
// and flushed items that nobody asks for; lookups reclaim the ones they meet on the way.
// A metadump too big for one step is driven from here, a step per turn of the event loop (or
// per drain when the client reads slowly), its connection's input paused until the END.

import type { Listener, Runtime, Socket, SocketHandler, TimerHandle } from "../../runtime/types.ts";
import type { CacheContext } from "./proto/commands.ts";
import { S_CLOSED, S_DUMP, Session } from "./proto/session.ts";
import type { StatsView } from "./proto/stats.ts";
import type { ConnView, CrawlerSettings } from "./proto/stats_cmd.ts";
import { CacheStore } from "./store/store.ts";
import { R_TOO_MANY_CONNS } from "./proto/replies.ts";

/** The version our `version` and `stats` report: memcached's protocol level, then ours. */
export const CACHE_VERSION = "1.6.18 (nutcracker-ts cache 0.5.0)";
const CRAWL_MS = 100;
/** Slots the crawler looks at per wake-up: ~0.2 ms of work; a million slots in ten seconds. */
const CRAWL_SLOTS = 10_000;
/** memcached -t 1's listening socket is fd 11 and its connections take the lowest free fd after it; our numbers do the same. */
const LISTENER_ID = 11;

/** "tcp:host:port", or "tcp6:[host]:port" (memcached's get_conn_text). */
function connText(host: string, port: number): string {
  return host.includes(":") ? `tcp6:[${host}]:${port}` : `tcp:${host}:${port}`;
}

/** A connection's session, with what `stats conns` shows of it. */
class ServerSession extends Session {
  id = 0;
  addr = "";
  /** A metadump step is scheduled. */
  pumpTimer: TimerHandle | null = null;
}

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
  /** Open connections by id (stats conns' numbers); index LISTENER_ID and below stay empty. */
  private readonly conns: (ServerSession | null)[] = new Array<ServerSession | null>(LISTENER_ID + 1).fill(null);
  private readonly log: (line: string) => void;
  readonly crawler: CrawlerSettings = { enabled: true, sleep: 100, tocrawl: 0 };
  /** The store clock when the listener opened. */
  private listenedAt = 0;

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
    this.listenedAt = this.store.now;
    this.scheduleCrawl();
    return l;
  }

  /** Stop accepting and crawling, and end every connection (the store stays as it is). */
  close(): void {
    this.listener?.close();
    this.listener = null;
    if (this.crawlTimer !== null) this.rt.clearTimer(this.crawlTimer);
    this.crawlTimer = null;
    for (const s of this.conns) {
      if (s === null) continue;
      this.unpump(s);
      s.eof();
    }
    this.conns.fill(null);
  }

  private scheduleCrawl(): void {
    this.crawlTimer = this.rt.setTimer(CRAWL_MS, () => {
      if (this.crawler.enabled) {
        this.store.tick(this.rt.unixTime());
        this.store.crawl(CRAWL_SLOTS);
      }
      this.scheduleCrawl();
    });
  }

  connections(): readonly ConnView[] {
    const ep = this.listener?.endpoint;
    const listenAddr = connText(this.opts.host, ep?.port ?? this.opts.port);
    const out: ConnView[] = [];
    if (this.listener !== null) out.push({ id: LISTENER_ID, addr: listenAddr, listenAddr, session: null, lastCmd: this.listenedAt });
    for (const s of this.conns) if (s !== null) out.push({ id: s.id, addr: s.addr, listenAddr, session: s, lastCmd: s.lastCmd });
    return out;
  }

  /** The lowest free connection number after the listener's, as a new fd would be. */
  private connId(): number {
    let id = LISTENER_ID + 1;
    while (id < this.conns.length && this.conns[id] !== null) id++;
    return id;
  }

  /**
   * A journal that refused a commit (a failed write or sync) means nothing of this batch may be
   * acknowledged, so the connection goes without its replies.
   */
  private fail(s: ServerSession, sock: Socket, e: unknown): void {
    this.log(`cache: closing a connection: ${(e as Error).message}`);
    this.unpump(s);
    s.dispose();
    sock.close();
  }

  /** A metadump under way: reading waits for its END, and its next step is scheduled unless the socket is full. */
  private dumping(s: ServerSession, sock: Socket): void {
    sock.pause();
    if (!s.blocked) this.pump(s, sock);
  }

  /** The next metadump step, on the next turn of the event loop. */
  private pump(s: ServerSession, sock: Socket): void {
    if (s.pumpTimer !== null) return;
    s.pumpTimer = this.rt.setTimer(0, () => {
      s.pumpTimer = null;
      try {
        s.dumpStep();
      } catch (e) {
        this.fail(s, sock, e);
        return;
      }
      if (s.state === S_DUMP) this.dumping(s, sock);
      else if (s.state !== S_CLOSED && !s.blocked) sock.resume(); // the END is out: read again
    });
  }

  private unpump(s: ServerSession): void {
    if (s.pumpTimer !== null) this.rt.clearTimer(s.pumpTimer);
    s.pumpTimer = null;
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
      port: this.listener?.endpoint.port ?? this.opts.port,
      listenAddr: this.opts.host,
      itemSizeMax: st.itemSizeMax,
      chunkMax: st.chunkMax,
      crawlerRunning: this.crawlTimer !== null && this.crawler.enabled,
      crawler: this.crawler,
      slabsMoved: st.arena.slabsMoved,
      trackSizes: st.sizesCasMin >= 0,
      oldestLive: st.oldestLive,
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
        const s = new ServerSession(srv, sock);
        s.id = srv.connId();
        s.addr = connText(sock.remoteAddress, sock.remotePort);
        s.lastCmd = srv.store.now;
        sock.ctx = s;
        srv.conns[s.id] = s;
        if (srv.verbosity > 0) srv.log(`cache: new client connection from ${sock.remoteAddress}:${sock.remotePort}`);
      },
      data(sock: Socket, chunk: Uint8Array): void {
        const s = sock.ctx as ServerSession | null;
        if (s === null) return;
        if (srv.verbosity > 1) srv.log(`cache: <${sock.remotePort} ${chunk.length} bytes`);
        try {
          s.data(chunk);
        } catch (e) {
          srv.fail(s, sock, e);
          return;
        }
        if (s.blocked) sock.pause();
        if (s.state === S_DUMP) srv.dumping(s, sock);
      },
      drain(sock: Socket): void {
        const s = sock.ctx as ServerSession | null;
        if (s === null) return;
        s.blocked = false;
        if (s.state === S_DUMP) srv.pump(s, sock);
        else sock.resume();
      },
      end(sock: Socket): void {
        const s = sock.ctx as Session | null;
        if (s !== null) s.eof();
        else sock.end();
      },
      close(sock: Socket): void {
        const s = sock.ctx as ServerSession | null;
        if (s === null) return;
        sock.ctx = null;
        srv.unpump(s);
        s.dispose();
        stats.curr_connections--;
        srv.conns[s.id] = null;
        if (srv.verbosity > 0) srv.log(`cache: connection from ${sock.remoteAddress}:${sock.remotePort} closed`);
      },
    };
  }
}
