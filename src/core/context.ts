// The process context: runtime, logger, buffer pools, pools of servers, and the flush list (nc_core.c).

import type { Runtime } from "../../runtime/types.ts";
import { MbufPool } from "../buf/mbuf.ts";
import { OutSlab } from "../buf/out_slab.ts";
import { clear, MsgPool } from "./message.ts";

/** What the core needs of the logger (src/log.ts), so the hot path can test a level cheaply. */
export interface CoreLogger {
  enabled(level: number): boolean;
  /** Log at `level` (twemproxy's log_debug(level, ...)). */
  debug(level: number, msg: string): void;
  error(msg: string): void;
  warn(msg: string): void;
}

export { LOG_CRIT, LOG_DEBUG, LOG_ERR, LOG_INFO, LOG_NOTICE, LOG_VERB, LOG_VVERB, LOG_WARN } from "../log.ts";

/** A connection that batches its writes until the end of the current event. */
export interface Flushable {
  dirty: boolean;
  flush(): void;
}

export class Context {
  readonly rt: Runtime;
  readonly log: CoreLogger;
  readonly msgs: MsgPool;
  /** Where every socket write's bytes are gathered. */
  readonly out = new OutSlab();
  private readonly dirty: Flushable[] = [];
  private nextConnId = 1;
  /** Connections ever opened and open now: listeners, clients and servers (stats header). */
  totalConns = 0;
  currConns = 0;
  /** Configuration reloads applied and refused (core/reload.ts), for the metrics port. */
  reloads = 0;
  reloadsFailed = 0;
  /** A worker of --workers: every listener is opened with SO_REUSEPORT (or shared by node:cluster). */
  shareListeners = false;
  /**
   * When the current event began (ms, monotonic). Every event entry point ticks it, so request
   * times and deadlines cost one clock read per event, not one per request.
   */
  evtime = 0;

  tick(): void {
    this.evtime = this.rt.now();
  }

  constructor(rt: Runtime, log: CoreLogger, mbufSize: number) {
    this.rt = rt;
    this.log = log;
    this.msgs = new MsgPool(new MbufPool(mbufSize));
  }

  connId(): number {
    return this.nextConnId++;
  }

  connOpened(): void {
    this.totalConns++;
    this.currConns++;
  }

  connClosed(): void {
    this.currConns--;
  }

  /** Queue a connection for one write at the end of this event, however many replies it gets. */
  markDirty(c: Flushable): void {
    if (!c.dirty) {
      c.dirty = true;
      this.dirty.push(c);
    }
  }

  /**
   * Queue a server connection for one write at the end of this event-loop turn (after every read
   * callback of the turn), so requests from all the clients read in one turn leave in one write,
   * as twemproxy's writev on the server's next write event sends them.
   */
  markSend(c: Flushable): void {
    if (c.dirty) return;
    c.dirty = true;
    this.sends.push(c);
    if (!this.sendScheduled) {
      this.sendScheduled = true;
      this.rt.defer(this.onTurnEnd);
    }
  }

  private readonly sends: Flushable[] = [];
  private sendScheduled = false;
  private readonly onTurnEnd = (): void => {
    this.tick();
    this.sendScheduled = false;
    const list = this.sends;
    for (let i = 0; i < list.length; i++) {
      const c = list[i]!;
      c.dirty = false;
      c.flush();
    }
    clear(list);
    // a failed write fails its requests: their clients may have replies to write now
    this.flushDirty();
  };

  /** Run at the end of every event callback: each dirty connection writes once. */
  flushDirty(): void {
    const list = this.dirty;
    // flushing may dirty further connections (a client close swallowing requests): loop by index
    for (let i = 0; i < list.length; i++) {
      const c = list[i]!;
      c.dirty = false;
      c.flush();
    }
    clear(list);
  }
}
