// Client connections: parse requests, forward them, and write replies in request order (nc_client.c).

import type { Socket, SocketHandler } from "../../runtime/types.ts";
import { RingQueue } from "../buf/ring_queue.ts";
import type { PoolConf } from "../conf/types.ts";
import { ReqAction, type ReqClient } from "../proto/types.ts";
import { type Context, type Flushable, LOG_INFO, LOG_NOTICE } from "./context.ts";
import { type Msg, type MsgSink, msgRecv } from "./message.ts";
import type { ServerPool } from "./pool.ts";
import { reqForward } from "./request.ts";
import type { ReqOwner } from "./server.ts";

export class ClientConn implements Flushable, MsgSink, ReqOwner, ReqClient {
  readonly id: number;
  readonly pool: ServerPool;
  private readonly ctx: Context;
  readonly sock: Socket;
  dirty = false;
  closed = false;
  /** The client half-closed or sent QUIT: close once every pending reply is written. */
  eof = false;
  /** Requests in arrival order; replies leave from the head only (client out_q). */
  readonly outq = new RingQueue<Msg>();
  rmsg: Msg | null = null;
  /** Request bytes in flight for this client (max_queued_bytes), and whether reading is paused. */
  queued = 0;
  paused = false;
  /** With `redis_auth`, nothing but AUTH and QUIT passes until AUTH succeeds. */
  authenticated: boolean;

  constructor(ctx: Context, pool: ServerPool, sock: Socket) {
    this.ctx = ctx;
    this.pool = pool;
    this.sock = sock;
    this.id = ctx.connId();
    this.authenticated = pool.conf.redis_auth === null;
  }

  get conf(): PoolConf {
    return this.pool.conf;
  }

  recv(chunk: Uint8Array): void {
    if (this.eof) return; // after QUIT the rest of the stream is ignored, as twemproxy does
    const rmsg = this.rmsg;
    this.rmsg = null;
    this.rmsg = msgRecv(this.ctx.msgs, rmsg, true, this, chunk, this.pool.proto.parseReq, this);
    this.pressure();
  }

  /**
   * Stop reading from a client whose requests and unread replies pile up past max_queued_bytes,
   * and start again below half of it: neither a client that never reads nor a stalled backend
   * can make the proxy hold more than that per client.
   */
  pressure(): void {
    if (this.closed) return;
    const limit = this.pool.conf.max_queued_bytes;
    const load = this.queued + this.sock.bufferedAmount;
    if (!this.paused) {
      if (load > limit) {
        this.paused = true;
        this.sock.pause();
      }
    } else if (load <= limit / 2) {
      this.paused = false;
      this.sock.resume();
    }
  }

  /** A whole request (req_recv_done → req_filter → req_forward). */
  recvDone(msg: Msg): boolean {
    if (this.closed) {
      this.ctx.msgs.put(msg);
      return false;
    }
    switch (this.pool.proto.filter(msg, this)) {
      case ReqAction.CLOSE:
        this.ctx.msgs.put(msg);
        this.close();
        return false;
      case ReqAction.QUIT:
        this.ctx.msgs.put(msg);
        this.eof = true;
        this.ctx.markDirty(this);
        return false;
      case ReqAction.LOCAL:
        msg.done = true;
        this.outq.push(msg);
        this.queued += msg.mlen;
        this.ctx.markDirty(this);
        return true;
      default:
        // a noreply request gets no reply, so it takes no place in the reply order
        if (!msg.noreply) {
          this.outq.push(msg);
          this.queued += msg.mlen;
        }
        reqForward(this.ctx, this.pool, this, msg);
        return true;
    }
  }

  /** Not the protocol: twemproxy closes the client without a reply. */
  recvError(msg: Msg): void {
    if (this.ctx.log.enabled(LOG_INFO)) {
      this.ctx.log.debug(LOG_INFO, `parsed bad req ${msg.id} on c ${this.id}: closing`);
    }
    this.close();
  }

  /** One of our requests (or a fragment of one) is complete: reply, error, or local answer. */
  reqDone(msg: Msg): void {
    if (msg.noreply) {
      // failed before it was written: nobody waits for it (req_forward_error)
      this.ctx.msgs.put(msg);
      return;
    }
    const owner = msg.fragOwner;
    if (owner !== null) {
      // the last fragment completes the request: merge the parts' replies now (rsp coalesce)
      if (++owner.nfragDone < owner.frags.length) return;
      owner.reply = this.pool.proto.coalesce(owner);
      const msgs = this.ctx.msgs;
      for (const f of owner.frags) {
        if (f.peer !== null) msgs.put(f.peer);
        msgs.put(f);
      }
      owner.frags.length = 0;
      owner.done = true;
    }
    this.ctx.markDirty(this);
  }

  /** Write the complete replies at the head of out_q, in order, as one write (rsp_send_next). */
  flush(): void {
    if (this.closed) return;
    const q = this.outq;
    const proto = this.pool.proto;
    let n = 0;
    let total = 0;
    for (let m = q.at(0); m !== undefined && m.done; m = q.at(++n)) {
      total += m.error ? proto.errorReply(m.err).length : m.reply !== null ? m.reply.length : m.peer!.mlen;
    }
    if (n > 0) {
      const out = new Uint8Array(total);
      let at = 0;
      const msgs = this.ctx.msgs;
      for (let i = 0; i < n; i++) {
        const m = q.shift()!;
        this.queued -= m.mlen;
        if (m.error) {
          const e = proto.errorReply(m.err);
          out.set(e, at);
          at += e.length;
        } else if (m.reply !== null) {
          out.set(m.reply, at);
          at += m.reply.length;
        } else {
          at = m.peer!.copyTo(out, at);
          msgs.put(m.peer!);
        }
        msgs.put(m);
      }
      this.sock.write(out);
      this.pressure();
    }
    if (this.eof && q.length === 0) {
      // FIN after the replies; the adapter reports the full close, where cleanup happens
      this.sock.end();
    }
  }

  /** Close now: pending requests are swallowed when their replies arrive (client_close). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pool.nclients--;
    const msgs = this.ctx.msgs;
    const q = this.outq;
    for (let m = q.shift(); m !== undefined; m = q.shift()) {
      if (m.done) {
        if (m.peer !== null) msgs.put(m.peer);
        msgs.put(m);
      } else if (m.frags.length > 0) {
        // done parts go now; pending ones are swallowed by their servers, detached from m
        for (const f of m.frags) {
          if (f.done) {
            if (f.peer !== null) msgs.put(f.peer);
            msgs.put(f);
          } else {
            f.swallow = true;
            f.fragOwner = null;
          }
        }
        m.frags.length = 0;
        msgs.put(m);
      } else {
        m.swallow = true;
      }
    }
    if (this.rmsg !== null) {
      msgs.put(this.rmsg);
      this.rmsg = null;
    }
    this.sock.close();
  }
}

/** Build the handler for one pool's listener: one object shared by all of its clients. */
export function clientHandler(ctx: Context, pool: ServerPool): SocketHandler {
  return {
    open(sock) {
      const c = new ClientConn(ctx, pool, sock);
      sock.ctx = c;
      const limit = pool.conf.client_connections;
      if (++pool.nclients > limit && limit > 0) {
        // twemproxy parses client_connections and ignores it; we turn the extra client away
        pool.rejected++;
        if (ctx.log.enabled(LOG_NOTICE)) ctx.log.debug(LOG_NOTICE, `client connections exceed limit ${limit} on p '${pool.conf.listen.pname}'`);
        c.close();
        return;
      }
      sock.setNoDelay(true);
      if (pool.conf.tcpkeepalive) sock.setKeepAlive(true, 0);
      if (ctx.log.enabled(LOG_NOTICE)) {
        ctx.log.debug(LOG_NOTICE, `accepted c ${c.id} on p '${pool.conf.listen.pname}' from '${sock.remoteAddress}'`);
      }
    },
    data(sock, chunk) {
      const c = sock.ctx as ClientConn;
      c.recv(chunk);
      ctx.flushDirty();
    },
    drain(sock) {
      (sock.ctx as ClientConn).pressure();
    },
    end(sock) {
      const c = sock.ctx as ClientConn;
      // half-close: answer what was asked, then close (nc_request.c req_recv_next on eof)
      if (c.rmsg !== null) {
        ctx.msgs.put(c.rmsg);
        c.rmsg = null;
      }
      c.eof = true;
      ctx.markDirty(c);
      ctx.flushDirty();
    },
    close(sock) {
      const c = sock.ctx as ClientConn | undefined;
      if (c === undefined) return;
      if (ctx.log.enabled(LOG_NOTICE)) ctx.log.debug(LOG_NOTICE, `close c ${c.id} on p '${pool.conf.listen.pname}'`);
      c.close();
      ctx.flushDirty();
    },
  };
}
