// Client connections: parse requests, forward them, and write replies in request order (nc_client.c).

import type { Socket, SocketHandler, TimerHandle } from "../../runtime/types.ts";
import { RingQueue } from "../buf/ring_queue.ts";
import type { PoolConf } from "../conf/types.ts";
import { type PinSession, ReqAction, type ReqClient } from "../proto/types.ts";
import { type Context, type Flushable, LOG_INFO, LOG_NOTICE } from "./context.ts";
import { clear, type Msg, type MsgSink, msgRecv } from "./message.ts";
import type { ServerPool } from "./pool.ts";
import type { Proxy } from "./proxy.ts";
import { SP } from "../stats/table.ts";
import { reqForward } from "./request.ts";
import type { ReqOwner } from "./server.ts";

/** Most requests one client may have awaiting replies before the proxy stops reading it. */
const WINDOW = 1024;
const EMPTY = new Uint8Array(0);
const RECHECK_MS = 50;

export class ClientConn implements Flushable, MsgSink, ReqOwner, ReqClient {
  readonly id: number;
  /** The listener it came in on; its pool is read through it, so a reload can repoint it. */
  proxy: Proxy;
  readonly ctx: Context;
  readonly sock: Socket;
  dirty = false;
  closed = false;
  /** The client half-closed or sent QUIT: close once every pending reply is written. */
  eof = false;
  /** Requests in arrival order; replies leave from the head only (client out_q). */
  readonly outq = new RingQueue<Msg>();
  rmsg: Msg | null = null;
  /** Bytes of this client's requests and replies held by the proxy (max_queued_bytes). */
  queued = 0;
  /** Reading and parsing stopped for flow control; the unparsed rest waits in rmsg. */
  holding = false;
  /** With `redis_auth`, nothing but AUTH and QUIT passes until AUTH succeeds. */
  authenticated: boolean;
  /** CLIENT SETNAME's name (answered by the proxy, never sent to a server). */
  name: Uint8Array | null = null;
  /** HELLO 3 was said: replies in RESP3, requests on the servers' RESP3 connections. */
  resp3 = false;
  /** Its connections of its own (pub/sub, blocking, transactions), made on the first such request. */
  pins: PinSession | null = null;

  constructor(ctx: Context, proxy: Proxy, sock: Socket) {
    this.ctx = ctx;
    this.proxy = proxy;
    this.sock = sock;
    this.id = ctx.connId();
    this.authenticated = proxy.pool.conf.redis_auth === null;
  }

  get pool(): ServerPool {
    return this.proxy.pool;
  }

  get pinMode(): boolean {
    return this.pins !== null && this.pins.mode;
  }

  /** Answer `msg` with `reply` in its place in the reply order (a pinned session's own answer). */
  answer(msg: Msg, reply: Uint8Array): void {
    msg.reply = reply;
    msg.done = true;
    this.outq.push(msg);
    this.queued += msg.mlen + reply.length;
    this.ctx.markDirty(this);
  }

  /** Take `msg`'s place in the reply order; it is answered by its server, or done later by its session. */
  awaitReply(msg: Msg): void {
    this.outq.push(msg);
    this.queued += msg.mlen;
  }

  /** A request that awaitReply placed is answered with `reply` (a pinned session's own answer, once its servers confirmed). */
  complete(msg: Msg, reply: Uint8Array): void {
    msg.reply = reply;
    msg.done = true;
    this.queued += reply.length;
    this.ctx.markDirty(this);
  }

  /**
   * A reply nobody asked for from one of its pinned connections (a pub/sub message): written
   * whole, after every reply before it. A client that takes none while they pile up past four
   * times max_queued_bytes is closed, as redis closes a pub/sub client over its output limit.
   */
  push(rsp: Msg): void {
    if (this.closed) {
      this.ctx.msgs.put(rsp);
      return;
    }
    const m = this.ctx.msgs.get(true, this);
    m.done = true;
    m.stime = this.ctx.evtime;
    m.peer = rsp;
    rsp.peer = m;
    this.outq.push(m);
    this.queued += rsp.mlen;
    this.ctx.markDirty(this);
    if (this.queued + this.sock.bufferedAmount > 4 * this.pool.conf.max_queued_bytes) {
      this.ctx.log.warn(`c ${this.id} takes no pub/sub messages: closing it over ${4 * this.pool.conf.max_queued_bytes} bytes held`);
      this.close();
    }
  }

  get peerName(): string {
    return `${this.sock.remoteAddress}:${this.sock.remotePort}`;
  }

  get poolClients(): number {
    return this.proxy.pool.nclients;
  }

  get poolServers(): number {
    return this.proxy.pool.servers.length;
  }

  get conf(): PoolConf {
    return this.pool.conf;
  }

  get lenient(): boolean {
    return this.pool.conf.error_replies;
  }

  recv(chunk: Uint8Array): void {
    if (this.eof) return; // after QUIT the rest of the stream is ignored, as twemproxy does
    const rmsg = this.rmsg;
    this.rmsg = null;
    this.rmsg = msgRecv(this.ctx.msgs, rmsg, true, this, chunk, this.pool.proto.parseReq, this);
  }

  /**
   * Flow control: a client whose requests and replies held here (plus replies its socket has not
   * sent) pass max_queued_bytes, or with WINDOW requests awaiting replies, is not read or parsed
   * further until that falls to half. Neither a client that never reads nor a stalled backend can
   * then make the proxy hold more than the limit plus the replies of one window per client.
   */
  private overloaded(): boolean {
    return this.queued + this.sock.bufferedAmount > this.pool.conf.max_queued_bytes || this.outq.length >= WINDOW;
  }

  /** Re-check flow control after replies left or the socket drained; resume parsing when low. */
  pressure(): void {
    if (!this.holding || this.closed) return;
    if (this.queued + this.sock.bufferedAmount > this.pool.conf.max_queued_bytes / 2 || this.outq.length >= WINDOW / 2) return;
    this.holding = false;
    this.sock.resume();
    const rmsg = this.rmsg;
    if (rmsg !== null) {
      this.rmsg = null;
      this.rmsg = msgRecv(this.ctx.msgs, rmsg, true, this, EMPTY, this.pool.proto.parseReq, this);
    }
  }

  private accepted(): boolean {
    if (!this.overloaded()) return true;
    this.holding = true;
    this.sock.pause();
    // replies and drains re-check pressure; the timer is the backstop should neither come
    if (this.recheck === null) this.recheck = this.ctx.rt.setTimer(RECHECK_MS, this.onRecheck);
    return false;
  }

  private recheck: TimerHandle | null = null;
  private readonly onRecheck = (): void => {
    this.ctx.tick();
    this.recheck = null;
    if (!this.holding || this.closed) return;
    this.pressure();
    if (this.holding) this.recheck = this.ctx.rt.setTimer(RECHECK_MS, this.onRecheck);
    this.ctx.flushDirty();
  };

  /** Bytes of the reply a done request will write. */
  private replyLen(m: Msg): number {
    return m.error ? this.pool.proto.errorReply(m.err).length : m.reply !== null ? m.reply.length : m.peer!.mlen;
  }

  /** A whole request (req_recv_done → req_filter → req_forward). */
  recvDone(msg: Msg): boolean {
    if (this.closed) {
      this.ctx.msgs.put(msg);
      return false;
    }
    msg.stime = this.ctx.evtime;
    const pool = this.proxy.pool;
    pool.commands[msg.type]!++;
    switch (pool.proto.filter(msg, this)) {
      case ReqAction.CLOSE:
        this.ctx.msgs.put(msg);
        this.close();
        return false;
      case ReqAction.QUIT:
        this.ctx.msgs.put(msg);
        this.eof = true;
        this.ctx.markDirty(this);
        return false;
      case ReqAction.PINNED:
        (this.pins ??= pool.proto.pinSession!(this)).request(msg);
        return this.accepted();
      case ReqAction.LOCAL:
        msg.done = true;
        this.outq.push(msg);
        this.queued += msg.mlen + msg.reply!.length;
        this.ctx.markDirty(this);
        return this.accepted();
      default:
        // a noreply request gets no reply, so it takes no place in the reply order
        if (!msg.noreply) {
          this.outq.push(msg);
          this.queued += msg.mlen;
        }
        reqForward(this.ctx, pool, this, msg);
        return this.accepted();
    }
  }

  /** Not the protocol: twemproxy closes the client without a reply. */
  recvError(msg: Msg): void {
    this.pool.stats[SP.client_err]!++;
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
      const proto = this.pool.proto;
      for (const f of owner.frags) if (!f.error && proto.partRefused(owner, f.peer!)) reqRefused(this.ctx, f);
      owner.reply = proto.coalesce(owner);
      const msgs = this.ctx.msgs;
      let failed = false;
      for (const f of owner.frags) {
        failed ||= f.error;
        if (f.peer !== null) msgs.put(f.peer);
        msgs.put(f);
      }
      clear(owner.frags);
      owner.done = true;
      if (failed && this.pool.proto.failClosesClient(owner)) owner.quit = true;
      this.queued += owner.reply.length;
    } else {
      // nutcracker splits every multi-key request, so one that went whole is judged as its part
      if (msg.multikey && !msg.error && this.pool.proto.partRefused(msg, msg.peer!)) reqRefused(this.ctx, msg);
      // observed in 0.5.0, which splits every multi-key request of a pool of several servers:
      // a failed part closes the client; a single-server pool closes it too, unless the connect
      // was refused at once (or the name did not resolve)
      if (msg.error && this.pool.proto.failClosesClient(msg)) {
        const immediate = msg.err === "ECONNREFUSED" || msg.err === "EHOSTDOWN";
        if (!immediate || (msg.multikey && this.pool.servers.length > 1)) msg.quit = true;
      }
      this.queued += this.replyLen(msg);
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
    let last = false;
    for (let m = q.at(0); m !== undefined && m.done && !last; m = q.at(++n)) {
      total += this.replyLen(m);
      last = m.quit; // the proxy closes the client after this reply
    }
    if (n > 0) {
      const out = this.ctx.out.take(total);
      let at = 0;
      const msgs = this.ctx.msgs;
      const latency = this.pool.latency;
      const now = this.ctx.evtime;
      for (let i = 0; i < n; i++) {
        const m = q.shift()!;
        latency.record((now - m.stime) * 1000);
        this.queued -= m.mlen + this.replyLen(m);
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
      if (last) {
        this.close(true);
        return;
      }
      this.pressure();
    }
    if (this.eof && q.length === 0) {
      // FIN after the replies; the adapter reports the full close, where cleanup happens
      this.sock.end();
    }
  }

  /**
   * Close now: pending requests are swallowed when their replies arrive (client_close). With
   * `graceful`, what was written still goes out before the FIN.
   */
  close(graceful = false): void {
    if (this.closed) return;
    this.closed = true;
    this.eof = true;
    this.ctx.connClosed();
    if (this.recheck !== null) this.ctx.rt.clearTimer(this.recheck);
    this.pool.nclients--;
    this.proxy.clients.delete(this);
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
        clear(m.frags);
        msgs.put(m);
      } else {
        m.swallow = true;
      }
    }
    if (this.rmsg !== null) {
      msgs.put(this.rmsg);
      this.rmsg = null;
    }
    // after the loop above marked what is pending as swallowed: releasing the pinned connections frees it
    this.pins?.closed();
    if (graceful) this.sock.end();
    else this.sock.close();
  }
}

/** A request whose server answered what its command cannot merge: it fails with EINVAL, its reply dropped. */
function reqRefused(ctx: Context, msg: Msg): void {
  msg.error = true;
  msg.err = "EINVAL";
  ctx.msgs.put(msg.peer!);
  msg.peer = null;
}

/** The handler of one pool's listener: one object shared by all of its clients. */
export function clientHandler(ctx: Context, proxy: Proxy): SocketHandler {
  return {
    open(sock) {
      const pool = proxy.pool;
      const c = new ClientConn(ctx, proxy, sock);
      sock.ctx = c;
      ctx.connOpened();
      proxy.clients.add(c);
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
      ctx.tick();
      const c = sock.ctx as ClientConn;
      c.recv(chunk);
      ctx.flushDirty();
    },
    drain(sock) {
      ctx.tick();
      // resuming may parse and forward held requests: flush what that queued
      (sock.ctx as ClientConn).pressure();
      ctx.flushDirty();
    },
    end(sock) {
      ctx.tick();
      const c = sock.ctx as ClientConn;
      // half-close: answer what was asked, then close (nc_request.c req_recv_next on eof)
      if (c.rmsg !== null) {
        ctx.msgs.put(c.rmsg);
        c.rmsg = null;
      }
      c.eof = true;
      c.pool.stats[SP.client_eof]!++;
      // a blocking pop (or a MULTI) left waiting would take a value nobody reads: redis frees such a client on EOF
      if (c.pins !== null && c.pins.holding) {
        c.close();
        ctx.flushDirty();
        return;
      }
      ctx.markDirty(c);
      ctx.flushDirty();
    },
    close(sock, err) {
      ctx.tick();
      const c = sock.ctx as ClientConn | undefined;
      if (c === undefined) return;
      if (err !== null && !c.closed) c.pool.stats[SP.client_err]!++;
      if (ctx.log.enabled(LOG_NOTICE)) ctx.log.debug(LOG_NOTICE, `close c ${c.id} on p '${c.pool.conf.listen.pname}'`);
      c.close();
      ctx.flushDirty();
    },
  };
}
