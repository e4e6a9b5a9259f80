// Server connections: connect, write queued requests, read and pair replies, fail what is pending (nc_server.c, nc_response.c).
//
// A request moves   in_q (queued, not yet written) → out_q (written, reply pending) → paired
// with its reply, which completes it in its client's out_q. Replies come back in the order the
// requests were written, so pairing is always with the head of out_q.
//
// A connection is shared (in its server's rotation), pinned to one owner (pub/sub, blocking
// commands, transactions: replies nobody asked for go to that owner), or retiring (out of the
// rotation after a topology change: it takes no new request and closes, without counting as a
// failure, once its last reply is in).

import type { ErrnoName, Socket, SocketHandler, TimerHandle } from "../../runtime/types.ts";
import { RingQueue } from "../buf/ring_queue.ts";
import { SS } from "../stats/table.ts";
import { type Context, type Flushable, LOG_INFO, LOG_NOTICE, LOG_VERB } from "./context.ts";
import { type Msg, type MsgSink, msgRecv, msgReleaseData } from "./message.ts";
import { MsgWriter } from "./msg_io.ts";
import type { Server } from "./server.ts";
import type { NodeRole } from "./shard.ts";

const writer = new MsgWriter();
const EMPTY = new Uint8Array(0);

/** Whoever owns the requests (a client connection): told when one of them is complete. */
export interface ReqOwner {
  readonly id: number;
  /** It said HELLO 3: a request sent again goes on the server's RESP3 rotation. */
  readonly resp3: boolean;
  reqDone(msg: Msg): void;
}

/** The owner of a pinned connection: gets what the server sends unasked, and hears when it is gone. */
export interface PinOwner {
  /** A reply no request was waiting for (a pub/sub message); the owner now owns `rsp`. */
  pushed(conn: ServerConn, rsp: Msg): void;
  /** The connection closed, by the server or by a failure (not by release). */
  unpinned(conn: ServerConn, err: ErrnoName | null): void;
}

export class ServerConn implements Flushable, MsgSink {
  readonly id: number;
  /** Its server; a reload may hand the connection to the server that replaces it (Server.adopt). */
  server: Server;
  private readonly ctx: Context;
  /** Set for a connection of one client's own (Server.pin). */
  readonly pinned: PinOwner | null;
  /** The server's address as configured when this connection opened (logs): a failover moves the server, not this. */
  readonly pname: string;
  /** Of the RESP3 rotation: it said HELLO 3 first (Server.conns3). */
  readonly resp3: boolean;
  sock: Socket | null = null;
  dirty = false;
  connected = false;
  closed = false;
  /** Out of the rotation: close, without counting a failure, once nothing is pending. */
  retiring = false;
  readonly inq = new RingQueue<Msg>();
  readonly outq = new RingQueue<Msg>();
  rmsg: Msg | null = null;
  /**
   * How many more queued messages may be written before the rest wait for the ROLE answer
   * (Server.checkRole); -1 once it came, or when nothing is checked.
   */
  private gate = -1;
  /** The ROLE request whose answer opens the gate. */
  private roleMsg: Msg | null = null;
  /** One timer per connection, armed for its oldest pending request's deadline. */
  private timer: TimerHandle | null = null;
  private readonly onTimer: () => void;

  constructor(server: Server, pinned: PinOwner | null, resp3: boolean) {
    this.server = server;
    this.ctx = server.ctx;
    this.pinned = pinned;
    this.resp3 = resp3;
    this.pname = server.conf.pname;
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
    // the oldest request with a deadline: an untimed one (a blocking pop) never times out
    const head = this.firstTimed();
    if (head === undefined) return;
    if (head.deadline > this.ctx.evtime) {
      this.arm(head.deadline);
      return;
    }
    this.ctx.log.error(`req ${head.id} on s ${this.id} to server '${this.pname}' timed out`);
    this.close("ETIMEDOUT");
    this.ctx.flushDirty();
  }

  private firstTimed(): Msg | undefined {
    for (const q of [this.outq, this.inq]) {
      for (let i = 0; i < q.length; i++) {
        const m = q.at(i)!;
        if (m.deadline !== 0) return m;
      }
    }
    return undefined;
  }

  /** Connect, and queue the pool's preamble (AUTH, SELECT) ahead of everything; its replies are swallowed. */
  open(): void {
    const s = this.server;
    if (this.ctx.log.enabled(LOG_VERB)) this.ctx.log.debug(LOG_VERB, `connecting s ${this.id} to server '${this.pname}'`);
    const sock = this.ctx.rt.connect({ endpoint: s.endpoint, noDelay: true, keepAlive: s.keepAlive, tls: s.pool.tls.servers }, serverHandler);
    this.ctx.connOpened();
    sock.ctx = this;
    this.sock = sock;
    const msgs = this.ctx.msgs;
    for (const bytes of this.resp3 ? s.preamble3 : s.preamble) {
      const m = msgs.get(true, null);
      writer.begin(msgs.mbufs, m).bytes(bytes);
      writer.end();
      m.swallow = true;
      this.enqueue(m);
    }
    if (s.checkRole) {
      // a group member: nothing but the preamble goes out until the node says what it is
      const m = msgs.get(true, null);
      writer.begin(msgs.mbufs, m).bytes(ROLE);
      writer.end();
      m.swallow = true;
      this.roleMsg = m;
      this.enqueue(m);
      this.gate = this.inq.length;
    }
  }

  /**
   * The ROLE answer: tell the shard, and if the node we write to says it is a replica, fail the
   * writes waiting here (as the node itself would: -READONLY) and leave the rotation, so the next
   * request checks again on a new connection.
   */
  private roleChecked(rsp: Msg): void {
    this.roleMsg = null;
    this.gate = -1;
    const bytes = new Uint8Array(rsp.mlen);
    rsp.copyTo(bytes, 0);
    const role = parseRole(bytes);
    const s = this.server;
    const g = s.shard;
    if (g !== null) g.roleSeen(s, role);
    if (g !== null && g.master === s && role === "replica") {
      const writes = s.proto.writes;
      const held: Msg[] = [];
      for (let m = this.inq.shift(); m !== undefined; m = this.inq.shift()) held.push(m);
      for (const m of held) {
        if (!m.swallow && writes[m.type] !== 0) this.failOne(m, "EROFS");
        else this.inq.push(m);
      }
      s.remove(this);
      this.retire();
      if (this.closed) return;
    }
    this.ctx.markSend(this);
  }

  /** Queue a request for this server (req_forward → enqueue_inq). */
  enqueue(msg: Msg): void {
    if (msg.owner !== null) {
      // the proxy's own AUTH/SELECT/sentinels are not the clients' requests
      const st = this.server.stats;
      st[SS.requests]!++;
      st[SS.request_bytes]! += msg.mlen;
    }
    const tmo = this.server.timeout;
    if (tmo > 0 && !msg.noreply && !msg.untimed) {
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
    let n = inq.length;
    if (this.gate >= 0) {
      if (n > this.gate) n = this.gate;
      this.gate -= n;
    }
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
        // its bytes are not needed again, unless its router may send it once more (Router.retains)
        if (!msg.retain) msgReleaseData(pool, msg);
        this.outq.push(msg);
      }
    }
    this.sock!.write(out);
  }

  /** A reply arrived: pair it with the oldest written request (rsp_recv_done → rsp_forward). */
  recvDone(rsp: Msg): boolean {
    const server = this.server;
    if (server.proto.isFailure(rsp)) {
      this.ctx.log.error(`server '${this.pname}' on s ${this.id} failing: closing`);
      this.ctx.msgs.put(rsp);
      this.close("EINVAL");
      return false;
    }
    let req = this.outq.shift();
    if (req !== undefined && req.quiet && server.proto.isSentinelReply(rsp)) {
      // the quiet request got no reply: it is done with nothing to send, and this answers the sentinel
      req.done = true;
      req.reply = EMPTY;
      if (req.swallow) this.ctx.msgs.put(req);
      else (req.owner as ReqOwner).reqDone(req);
      req = this.outq.shift();
    }
    if (req === undefined) {
      if (this.pinned !== null) {
        // a pinned connection's server speaks unasked (pub/sub): the owner takes it
        this.pinned.pushed(this, rsp);
        return true;
      }
      // a reply nobody asked for: the stream is out of step, so drop the connection
      this.ctx.log.error(`unexpected rsp ${rsp.id} on s ${this.id} from server '${this.pname}'`);
      this.ctx.msgs.put(rsp);
      this.close("EINVAL");
      return false;
    }
    // a cluster's redirect (MOVED, ASK...): the router sends it on, the client never sees it
    if (req.retain && !req.swallow && server.pool.router.redirected?.(this, req, rsp) === true) return this.idleCheck();
    if (req.swallow) {
      if (req === this.roleMsg) this.roleChecked(rsp);
      this.ctx.msgs.put(rsp);
      this.ctx.msgs.put(req);
    } else {
      server.ok();
      const st = server.stats;
      st[SS.responses]!++;
      st[SS.response_bytes]! += rsp.mlen;
      req.peer = rsp;
      rsp.peer = req;
      req.done = true;
      (req.owner as ReqOwner).reqDone(req);
    }
    return this.idleCheck();
  }

  /** A retiring connection with nothing left pending closes now (false: stop reading it). */
  private idleCheck(): boolean {
    if (this.retiring && this.outq.length === 0 && this.inq.length === 0) {
      this.close(null, false);
      return false;
    }
    return true;
  }

  recvError(rsp: Msg): void {
    this.ctx.log.error(`parsed bad rsp ${rsp.id} on s ${this.id} from server '${this.pname}'`);
    this.close("EINVAL");
  }

  /** Leave the rotation (a topology change): close now if idle, else once the last reply is in. */
  retire(): void {
    this.retiring = true;
    if (this.outq.length === 0 && this.inq.length === 0) this.close(null, false);
  }

  /** Close a pinned connection its owner no longer needs: what is pending is dropped, and it is no failure. */
  release(): void {
    for (const q of [this.outq, this.inq]) for (let i = 0; i < q.length; i++) q.at(i)!.swallow = true;
    this.close(null, false);
  }

  /**
   * Tear down and fail every pending request with `err` (server_close). `failed`: the server's
   * doing (counted in its stats and by the ejection policy); false for a retirement or a release.
   */
  close(err: ErrnoName | null, failed = true): void {
    if (this.closed) return;
    // a retired connection's end is the old address's affair (a failover, a reload), not the server's
    if (this.retiring) failed = false;
    this.closed = true;
    this.connected = false;
    const ctx = this.ctx;
    if (ctx.log.enabled(LOG_INFO)) {
      ctx.log.debug(LOG_INFO, `close s ${this.id} to server '${this.pname}'${err ? ` (${err})` : ""}`);
    }
    if (this.timer !== null) {
      ctx.rt.clearTimer(this.timer);
      this.timer = null;
    }
    this.server.remove(this);
    if (this.pinned !== null) this.server.npinned--;
    if (failed) {
      const st = this.server.stats;
      if (err === null) st[SS.server_eof]!++;
      else if (err === "ETIMEDOUT") st[SS.server_timedout]!++;
      else st[SS.server_err]!++;
    }
    if (this.sock !== null) this.ctx.connClosed();
    if (failed) this.server.failure();
    this.failQueue(this.outq, err);
    this.failQueue(this.inq, err);
    if (this.rmsg !== null) {
      ctx.msgs.put(this.rmsg);
      this.rmsg = null;
    }
    const sock = this.sock;
    this.sock = null;
    if (sock !== null) sock.close();
    if (failed && this.pinned !== null) this.pinned.unpinned(this, err);
  }

  private failQueue(q: RingQueue<Msg>, err: ErrnoName | null): void {
    for (let msg = q.shift(); msg !== undefined; msg = q.shift()) {
      if (msg.swallow) this.ctx.msgs.put(msg);
      else this.failOne(msg, err);
    }
  }

  private failOne(msg: Msg, err: ErrnoName | null): void {
    msgReleaseData(this.ctx.msgs, msg);
    msg.done = true;
    msg.error = true;
    msg.err = err;
    (msg.owner as ReqOwner).reqDone(msg);
  }
}

const ROLE = new TextEncoder().encode("*1\r\n$4\r\nROLE\r\n");

/** The role in a ROLE reply (`*3 $6 master ...`, `*5 $5 slave ...`); anything else, an error included, is unknown. */
export function parseRole(reply: Uint8Array): NodeRole {
  let text = "";
  for (let i = 0; i < reply.length && i < 32; i++) text += String.fromCharCode(reply[i]!);
  const m = /^\*\d+\r\n\$\d+\r\n([a-z]+)\r\n/.exec(text);
  if (m === null) return "unknown";
  return m[1] === "master" ? "master" : m[1] === "slave" ? "replica" : "unknown";
}

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
      ctx.log.debug(LOG_NOTICE, `connected on s ${c.id} to server '${c.pname}'`);
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
    if (err !== null && !c.closed) {
      c.server.ctx.log.error(`server '${c.pname}' on s ${c.id}: ${err}${sock.failure !== "" ? ` (${sock.failure})` : ""}`);
    }
    c.close(err);
    c.server.ctx.flushDirty();
  },
};
