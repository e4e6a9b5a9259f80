// Server connections: connect, write queued requests, read and pair replies, fail what is pending (nc_server.c).
//
// A request moves   in_q (queued, not yet written) → out_q (written, reply pending) → paired
// with its reply, which completes it in its client's out_q. Replies come back in the order the
// requests were written, so pairing is always with the head of out_q.

import type { ErrnoName, Socket, SocketHandler, TimerHandle } from "../../runtime/types.ts";
import { RingQueue } from "../buf/ring_queue.ts";
import type { ServerConf } from "../conf/types.ts";
import type { Proto } from "../proto/types.ts";
import { type Context, type Flushable, LOG_INFO, LOG_NOTICE, LOG_VERB } from "./context.ts";
import { type Msg, type MsgSink, msgRecv, msgReleaseData } from "./message.ts";
import { MsgWriter } from "./msg_io.ts";
import type { ServerPool } from "./pool.ts";
import { SERVER_FIELDS, SP, SS } from "../stats/table.ts";

const writer = new MsgWriter();
const EMPTY = new Uint8Array(0);

/** Whoever owns the requests (a client connection): told when one of them is complete. */
export interface ReqOwner {
  readonly id: number;
  reqDone(msg: Msg): void;
}

/** One backend of a pool, with up to `server_connections` connections. */
export class Server {
  readonly conf: ServerConf;
  readonly index: number;
  readonly conns: ServerConn[] = [];
  private rr = 0;
  readonly ctx: Context;
  readonly pool: ServerPool;
  readonly proto: Proto;
  readonly maxConns: number;
  readonly keepAlive: boolean;
  /** Request timeout in ms, or 0 for none (`timeout: -1`). */
  readonly timeout: number;
  readonly preamble: readonly Uint8Array[];
  /** Consecutive failures (server_failure), and when an ejected server is due back (monotonic ms). */
  failureCount = 0;
  nextRetry = 0;
  /** Server counters, indexed by stats/table.ts SS. */
  readonly stats = new Float64Array(SERVER_FIELDS.length);

  constructor(ctx: Context, pool: ServerPool, conf: ServerConf, index: number) {
    this.ctx = ctx;
    this.pool = pool;
    this.proto = pool.proto;
    this.preamble = pool.proto.serverPreamble(pool.conf);
    this.maxConns = pool.conf.server_connections;
    this.keepAlive = pool.conf.tcpkeepalive;
    this.timeout = pool.conf.timeout > 0 ? pool.conf.timeout : 0;
    this.conf = conf;
    this.index = index;
  }

  /** A connection to it closed (any reason): count it, and eject at the limit (server_failure). */
  failure(): void {
    const pc = this.pool.conf;
    if (!pc.auto_eject_hosts) return;
    if (++this.failureCount < pc.server_failure_limit) return;
    this.failureCount = 0;
    this.nextRetry = this.ctx.rt.now() + pc.server_retry_timeout;
    this.pool.stats[SP.server_ejects]!++;
    this.stats[SS.server_ejected_at] = Math.floor(this.ctx.rt.unixTime() * 1e6);
    this.ctx.log.warn(
      `ejecting server '${this.conf.pname}' from pool '${pc.name}' for ${pc.server_retry_timeout} ms`,
    );
    if (pc.health_check) this.ctx.rt.setTimer(pc.server_retry_timeout, () => this.probe());
    this.pool.rebuild();
  }

  private probing = false;

  /**
   * health_check: connect and send the protocol's probe; a good answer puts the server back,
   * anything else (refusal, error, silence past the timeout) keeps it out another retry period.
   */
  probe(): void {
    const pc = this.pool.conf;
    if (this.probing || this.nextRetry === 0) return;
    this.probing = true;
    const sock = this.ctx.rt.connect({ endpoint: this.conf.endpoint, noDelay: true }, probeHandler);
    sock.ctx = this;
    const limit = pc.timeout > 0 ? pc.timeout : 1000;
    const timer = this.ctx.rt.setTimer(limit, () => sock.close());
    this.probeDone = (ok: boolean) => {
      this.ctx.rt.clearTimer(timer);
      this.probing = false;
      this.probeDone = null;
      if (ok) {
        this.nextRetry = 0;
        this.failureCount = 0;
        this.ctx.log.warn(`server '${this.conf.pname}' answered its health check: back in pool '${pc.name}'`);
        this.pool.rebuild();
      } else {
        // still down: look again after another retry period
        this.nextRetry = this.ctx.rt.now() + pc.server_retry_timeout;
        this.ctx.rt.setTimer(pc.server_retry_timeout, () => this.probe());
      }
    };
  }
  probeDone: ((ok: boolean) => void) | null = null;

  /** A reply came back: the server is healthy again (server_ok). */
  ok(): void {
    this.failureCount = 0;
  }

  /** A connection for the next request: a new one while under the limit, else round robin (server_conn). */
  conn(): ServerConn {
    const conns = this.conns;
    if (conns.length < this.maxConns) {
      const c = new ServerConn(this);
      conns.push(c);
      c.connect();
      this.sendPreamble(c);
      return c;
    }
    const c = conns[this.rr % conns.length]!;
    this.rr = (this.rr + 1) % conns.length;
    return c;
  }

  /** Queue the pool's preamble (AUTH, SELECT) ahead of everything; its replies are swallowed. */
  private sendPreamble(c: ServerConn): void {
    const pre = this.preamble;
    if (pre.length === 0) return;
    const msgs = this.ctx.msgs;
    for (const bytes of pre) {
      const m = msgs.get(true, null);
      writer.begin(msgs.mbufs, m).bytes(bytes);
      writer.end();
      m.swallow = true;
      c.enqueue(m);
    }
  }

  /** Open every connection now (`preconnect: true`). */
  preconnect(): void {
    while (this.conns.length < this.maxConns) this.conn();
  }

  remove(c: ServerConn): void {
    const i = this.conns.indexOf(c);
    if (i >= 0) this.conns.splice(i, 1);
  }
}

export class ServerConn implements Flushable, MsgSink {
  readonly id: number;
  readonly server: Server;
  private readonly ctx: Context;
  sock: Socket | null = null;
  dirty = false;
  connected = false;
  closed = false;
  readonly inq = new RingQueue<Msg>();
  readonly outq = new RingQueue<Msg>();
  rmsg: Msg | null = null;
  /** One timer per connection, armed for its oldest pending request's deadline. */
  private timer: TimerHandle | null = null;
  private readonly onTimer: () => void;

  constructor(server: Server) {
    this.server = server;
    this.ctx = server.ctx;
    this.id = this.ctx.connId();
    this.onTimer = () => this.timedOut();
  }

  /**
   * Requests on one connection share one timeout and queue in order, so the oldest pending one
   * always has the earliest deadline: one timer per connection does the work of twemproxy's
   * rbtree, at O(1) per request.
   */
  private arm(deadline: number): void {
    if (this.timer === null) this.timer = this.ctx.rt.setTimer(Math.max(1, deadline - this.ctx.evtime), this.onTimer);
  }

  private timedOut(): void {
    this.ctx.tick();
    this.timer = null;
    if (this.closed) return;
    const head = this.outq.peek() ?? this.inq.peek();
    if (head === undefined) return;
    if (head.deadline === 0) return;
    if (head.deadline > this.ctx.evtime) {
      this.arm(head.deadline);
      return;
    }
    this.ctx.log.error(`req ${head.id} on s ${this.id} to server '${this.server.conf.pname}' timed out`);
    this.close("ETIMEDOUT");
    this.ctx.flushDirty();
  }

  connect(): void {
    const s = this.server;
    if (this.ctx.log.enabled(LOG_VERB)) this.ctx.log.debug(LOG_VERB, `connecting s ${this.id} to server '${s.conf.pname}'`);
    const sock = this.ctx.rt.connect({ endpoint: s.conf.endpoint, noDelay: true, keepAlive: s.keepAlive }, serverHandler);
    this.ctx.connOpened();
    sock.ctx = this;
    this.sock = sock;
  }

  /** Queue a request for this server (req_forward → enqueue_inq). */
  enqueue(msg: Msg): void {
    msg.server = this;
    if (msg.owner !== null) {
      // the proxy's own AUTH/SELECT/sentinels are not the clients' requests
      const st = this.server.stats;
      st[SS.requests]!++;
      st[SS.request_bytes]! += msg.mlen;
    }
    const tmo = this.server.timeout;
    if (tmo > 0 && !msg.noreply) {
      msg.deadline = this.ctx.evtime + tmo;
      this.arm(msg.deadline);
    }
    this.inq.push(msg);
    if (msg.quiet) this.enqueueSentinel();
    if (this.connected) this.ctx.markSend(this);
  }

  /** After a quiet request, a no-op whose swallowed answer marks where the quiet one ended. */
  private enqueueSentinel(): void {
    const bytes = this.server.proto.quietSentinel;
    if (bytes === null) return;
    const msgs = this.ctx.msgs;
    const m = msgs.get(true, null);
    writer.begin(msgs.mbufs, m).bytes(bytes);
    writer.end();
    m.swallow = true;
    this.inq.push(m);
  }

  /** Write every queued request in one write (req_send_next/req_send_done). */
  flush(): void {
    const inq = this.inq;
    const n = inq.length;
    if (!this.connected || this.closed || n === 0) return;
    let total = 0;
    for (let i = 0; i < n; i++) total += inq.at(i)!.mlen;
    const out = this.ctx.out.take(total);
    let at = 0;
    const pool = this.ctx.msgs;
    for (let i = 0; i < n; i++) {
      const msg = inq.shift()!;
      at = msg.copyTo(out, at);
      // a noreply request is done once written: the server will not answer it
      if (msg.noreply) pool.put(msg);
      else {
        msgReleaseData(pool, msg);
        this.outq.push(msg);
      }
    }
    this.sock!.write(out);
  }

  /** A reply arrived: pair it with the oldest written request (rsp_recv_done → rsp_forward). */
  recvDone(rsp: Msg): boolean {
    if (this.server.proto.isFailure(rsp)) {
      this.ctx.log.error(`server '${this.server.conf.pname}' on s ${this.id} failing: closing`);
      this.ctx.msgs.put(rsp);
      this.close("EINVAL");
      return false;
    }
    let req = this.outq.shift();
    if (req !== undefined && req.quiet && this.server.proto.isSentinelReply(rsp)) {
      // the quiet request got no reply: it is done with nothing to send, and this answers the sentinel
      req.done = true;
      req.reply = EMPTY;
      if (req.swallow) this.ctx.msgs.put(req);
      else (req.owner as ReqOwner).reqDone(req);
      req = this.outq.shift();
    }
    if (req === undefined) {
      // a reply nobody asked for: the stream is out of step, so drop the connection
      this.ctx.log.error(`unexpected rsp ${rsp.id} on s ${this.id} from server '${this.server.conf.pname}'`);
      this.ctx.msgs.put(rsp);
      this.close("EINVAL");
      return false;
    }
    if (req.swallow) {
      this.ctx.msgs.put(rsp);
      this.ctx.msgs.put(req);
      return true;
    }
    this.server.ok();
    const st = this.server.stats;
    st[SS.responses]!++;
    st[SS.response_bytes]! += rsp.mlen;
    req.peer = rsp;
    rsp.peer = req;
    req.done = true;
    (req.owner as ReqOwner).reqDone(req);
    return true;
  }

  recvError(rsp: Msg): void {
    this.ctx.log.error(`parsed bad rsp ${rsp.id} on s ${this.id} from server '${this.server.conf.pname}'`);
    this.close("EINVAL");
  }

  /** Tear down and fail every pending request with `err` (server_close). */
  close(err: ErrnoName | null): void {
    if (this.closed) return;
    this.closed = true;
    this.connected = false;
    const ctx = this.ctx;
    if (ctx.log.enabled(LOG_INFO)) {
      ctx.log.debug(LOG_INFO, `close s ${this.id} to server '${this.server.conf.pname}'${err ? ` (${err})` : ""}`);
    }
    if (this.timer !== null) {
      ctx.rt.clearTimer(this.timer);
      this.timer = null;
    }
    this.server.remove(this);
    const st = this.server.stats;
    if (err === null) st[SS.server_eof]!++;
    else if (err === "ETIMEDOUT") st[SS.server_timedout]!++;
    else st[SS.server_err]!++;
    if (this.sock !== null) this.ctx.connClosed();
    this.server.failure();
    this.failQueue(this.outq, err);
    this.failQueue(this.inq, err);
    if (this.rmsg !== null) {
      ctx.msgs.put(this.rmsg);
      this.rmsg = null;
    }
    const sock = this.sock;
    this.sock = null;
    if (sock !== null) sock.close();
  }

  private failQueue(q: RingQueue<Msg>, err: ErrnoName | null): void {
    const msgs = this.ctx.msgs;
    for (let msg = q.shift(); msg !== undefined; msg = q.shift()) {
      if (msg.swallow) {
        msgs.put(msg);
        continue;
      }
      msgReleaseData(msgs, msg);
      msg.done = true;
      msg.error = true;
      msg.err = err;
      (msg.owner as ReqOwner).reqDone(msg);
    }
  }
}

/** Health-check sockets: one probe out, one answer judged, then closed. */
const probeHandler: SocketHandler = {
  open(sock) {
    sock.write((sock.ctx as Server).proto.probe.slice());
  },
  data(sock, chunk) {
    const s = sock.ctx as Server;
    const ok = s.proto.probeOk(chunk);
    s.probeDone?.(ok);
    sock.close();
  },
  drain() {},
  end(sock) {
    sock.close();
  },
  close(sock) {
    (sock.ctx as Server).probeDone?.(false);
  },
};

function connOf(sock: Socket): ServerConn {
  return sock.ctx as ServerConn;
}

/** One handler object for every server socket. */
export const serverHandler: SocketHandler = {
  open(sock) {
    const c = connOf(sock);
    c.server.ctx.tick();
    if (c.closed) return;
    c.connected = true;
    const ctx = c.server.ctx;
    if (ctx.log.enabled(LOG_NOTICE)) {
      ctx.log.debug(LOG_NOTICE, `connected on s ${c.id} to server '${c.server.conf.pname}'`);
    }
    ctx.markSend(c);
  },
  data(sock, chunk) {
    const c = connOf(sock);
    if (c.closed) return;
    const ctx = c.server.ctx;
    ctx.tick();
    const rmsg = c.rmsg;
    c.rmsg = null;
    c.rmsg = msgRecv(ctx.msgs, rmsg, false, c, chunk, c.server.proto.parseRsp, c);
    ctx.flushDirty();
  },
  drain() {},
  end(sock) {
    // a server that half-closes will not answer what is pending
    const c = connOf(sock);
    c.server.ctx.tick();
    c.close(null);
    c.server.ctx.flushDirty();
  },
  close(sock, err) {
    const c = connOf(sock);
    c.server.ctx.tick();
    if (err !== null && !c.closed) c.server.ctx.log.error(`server '${c.server.conf.pname}' on s ${c.id}: ${err}`);
    c.close(err);
    c.server.ctx.flushDirty();
  },
};
