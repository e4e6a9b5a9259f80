// A redis client's connections of its own: blocking commands and transactions here, pub/sub in redis_pubsub.ts (twemproxy refuses all three).
//
// A command that needs a connection of its own goes on one pinned to this client (Server.pin):
// outside the shared rotation, so a blocking pop holds nobody else's replies and MULTI's queue
// or WATCH's state is this client's only. Each request still takes its place in the client's
// reply order (ClientConn.awaitReply), and its reply pairs on the pinned connection as on any
// other. The pinned connections stay with the client for its next such command and close with it.

import type { ClientConn } from "../core/client.ts";
import type { Msg } from "../core/message.ts";
import { MsgWriter } from "../core/msg_io.ts";
import type { PinOwner, Server, ServerConn } from "../core/server.ts";
import type { ErrnoName } from "../../runtime/types.ts";
import { argCount, argInt, argIs, errorLine } from "./redis_args.ts";
import { requestCommand } from "./redis.ts";
import { CmdFanout, CmdLocal, CmdPin, CmdShape, type RedisCommand } from "./redis_commands.ts";
import { RedisSubscriptions } from "./redis_pubsub.ts";
import { OK, redisErrorReply } from "./redis_replies.ts";
import type { PinSession } from "./types.ts";

const enc = new TextEncoder();
const writer = new MsgWriter();
const MULTI = enc.encode("*1\r\n$5\r\nMULTI\r\n");
const DISCARD = enc.encode("*1\r\n$7\r\nDISCARD\r\n");
const EMPTY_ARRAY = enc.encode("*0\r\n");
const EXECABORT = errorLine("EXECABORT Transaction discarded because of previous errors.");
const CROSS_TX = errorLine("ERR keys of one transaction must live on one server of the pool: use a hash tag");
const CROSS_BLOCK = errorLine("ERR keys of a blocking command must live on one server of the pool: use a hash tag");
const NO_KEY_TX = errorLine("ERR the proxy sends a transaction to the server of its first key: this command has none");
const NO_PIN = errorLine("ERR no pinned connection left to that server (pinned_connections)");

/** The argument indexes of a blocking command's keys, or null when the count is wrong. */
function blockKeys(msg: Msg, pin: CmdPin): number[] | null {
  const n = argCount(msg);
  const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
  switch (pin) {
    case CmdPin.blockLast:
      return n >= 2 ? range(0, n - 1) : null;
    case CmdPin.blockTwo:
      return n >= 3 ? [0, 1] : null;
    case CmdPin.blockNumkeys: {
      const k = n >= 3 ? argInt(msg, 1) : null;
      return k !== null && k > 0n && Number(k) <= n - 2 ? range(2, 2 + Number(k)) : null;
    }
    case CmdPin.blockStreams: {
      for (let i = 0; i < n; i++) {
        if (!argIs(msg, i, "STREAMS")) continue;
        const rest = n - i - 1;
        return rest > 0 && rest % 2 === 0 ? range(i + 1, i + 1 + rest / 2) : null;
      }
      return null;
    }
    default:
      return null;
  }
}

/** Whether a row's recorded arguments are keys (not a keyless or argv-shaped command). */
function keyed(row: RedisCommand): boolean {
  return row.arity !== CmdShape.argz && row.arity !== CmdShape.argv && row.arity !== CmdShape.nokey;
}

export class RedisPins implements PinSession, PinOwner {
  readonly client: ClientConn;
  /** Connections for blocking commands and transactions, one per server at most. */
  private readonly cmd = new Map<Server, ServerConn>();
  readonly subs: RedisSubscriptions;
  private multi = false;
  /** A command of the open MULTI was refused: EXEC answers EXECABORT. */
  private dirty = false;
  /** The server the transaction (or WATCH) is pinned to. */
  private txServer: Server | null = null;
  /** The connection holding a WATCH died: the next transaction must not run unwatched. */
  private watchLost = false;

  constructor(client: ClientConn) {
    this.client = client;
    this.subs = new RedisSubscriptions(this);
  }

  get holding(): boolean {
    for (const c of this.cmd.values()) if (c.outq.length + c.inq.length > 0) return true;
    return false;
  }

  get mode(): boolean {
    return this.multi || (this.subs.subscribed && !this.client.resp3);
  }

  request(msg: Msg): void {
    const row = requestCommand(msg)!;
    const pin = row.pin ?? CmdPin.none;
    if (this.subs.subscribed && !this.client.resp3) return this.subs.whileSubscribed(msg, row, pin);
    if (this.multi) return this.inMulti(msg, row, pin);
    switch (pin) {
      case CmdPin.subscribe:
      case CmdPin.unsubscribe:
      case CmdPin.psubscribe:
      case CmdPin.punsubscribe:
      case CmdPin.ssubscribe:
      case CmdPin.sunsubscribe:
        return this.subs.request(msg, pin);
      case CmdPin.multi:
        if (argCount(msg) !== 0) return this.arity(msg, row);
        this.multi = true;
        this.dirty = this.watchLost;
        this.watchLost = false;
        if (this.txServer !== null) this.internal(this.txServer, MULTI);
        return this.client.answer(msg, OK);
      case CmdPin.exec:
      case CmdPin.discard:
        return this.client.answer(msg, errorLine(`ERR ${row.name} without MULTI`));
      case CmdPin.watch:
        return this.watch(msg, row);
      case CmdPin.unwatch: {
        if (argCount(msg) !== 0) return this.arity(msg, row);
        const s = this.txServer;
        this.txServer = null;
        return s === null ? this.client.answer(msg, OK) : this.send(s, msg);
      }
      default:
        return this.block(msg, row, pin);
    }
  }

  /** A blocking command: on this client's connection to the server of its keys, never cut by `timeout`. */
  private block(msg: Msg, row: RedisCommand, pin: CmdPin): void {
    const keys = blockKeys(msg, pin);
    if (keys === null) return this.arity(msg, row);
    const s = this.serverOf(msg, keys);
    if (s === undefined) return this.client.answer(msg, CROSS_BLOCK);
    if (s === null) return this.fail(msg, "ECONNREFUSED");
    msg.untimed = true;
    this.send(s, msg);
  }

  private watch(msg: Msg, row: RedisCommand): void {
    const n = argCount(msg);
    if (n === 0) return this.arity(msg, row);
    const s = this.serverOf(
      msg,
      Array.from({ length: n }, (_, i) => i),
    );
    if (s === undefined || (this.txServer !== null && s !== this.txServer)) return this.client.answer(msg, CROSS_TX);
    if (s === null) return this.fail(msg, "ECONNREFUSED");
    this.txServer = s;
    this.send(s, msg);
  }

  /** Inside MULTI: everything goes to the transaction's server, which the first key decides. */
  private inMulti(msg: Msg, row: RedisCommand, pin: CmdPin): void {
    switch (pin) {
      case CmdPin.multi:
        return this.client.answer(msg, errorLine("ERR MULTI calls can not be nested"));
      case CmdPin.watch:
        return this.client.answer(msg, errorLine("ERR WATCH inside MULTI is not allowed"));
      case CmdPin.exec:
      case CmdPin.discard: {
        const s = this.txServer;
        const abort = pin === CmdPin.exec && this.dirty;
        this.multi = false;
        this.dirty = false;
        this.txServer = null;
        if (s === null) return this.client.answer(msg, abort ? EXECABORT : pin === CmdPin.exec ? EMPTY_ARRAY : OK);
        if (!abort) return this.send(s, msg);
        this.internal(s, DISCARD);
        return this.client.answer(msg, EXECABORT);
      }
      default:
        break;
    }
    if (row.local === CmdLocal.reset) {
      this.reset();
      return this.client.answer(msg, enc.encode("+RESET\r\n"));
    }
    // what cannot be queued on one server is refused here, and the transaction is then aborted
    if (row.fanout !== CmdFanout.one || pin !== CmdPin.none) return this.refuse(msg, errorLine(`ERR ${row.name} is not supported inside MULTI by the proxy`));
    const nkeys = keyed(row) ? msg.keys.length / 3 : 0;
    let s = this.txServer;
    if (nkeys > 0) {
      const k = this.serverOf(
        msg,
        Array.from({ length: nkeys }, (_, i) => i),
      );
      if (k === null) return this.refuse(msg, redisErrorReply("ECONNREFUSED"));
      if (k === undefined || (s !== null && k !== s)) return this.refuse(msg, CROSS_TX);
      if (s === null) {
        s = k;
        this.txServer = s;
        this.internal(s, MULTI);
      }
    }
    if (s === null) return this.refuse(msg, NO_KEY_TX);
    this.send(s, msg);
  }

  private refuse(msg: Msg, reply: Uint8Array): void {
    this.dirty = true;
    this.client.answer(msg, reply);
  }

  /** The one server all of `args` (indexes into msg.keys) hash to; undefined for several, null for none live. */
  private serverOf(msg: Msg, args: readonly number[]): Server | null | undefined {
    const router = this.client.pool.router;
    let s: Server | null | undefined;
    for (const k of args) {
      const t = router.route(msg, k);
      if (t === null) return null;
      if (s === undefined) s = t;
      else if (t !== s) return undefined;
    }
    return s ?? null;
  }

  /** This client's connection to `s` for commands (made when first needed), or null at the pool's limit. */
  conn(s: Server, map: Map<Server, ServerConn> = this.cmd): ServerConn | null {
    const c = map.get(s);
    if (c !== undefined && !c.closed) return c;
    const n = s.pin(this, this.client.resp3);
    if (n === null) map.delete(s);
    else map.set(s, n);
    return n;
  }

  /** Forward `msg` on this client's connection to `s`, in its place in the reply order. */
  send(s: Server, msg: Msg, map?: Map<Server, ServerConn>): void {
    const c = this.conn(s, map);
    if (c === null) return this.client.answer(msg, NO_PIN);
    this.client.awaitReply(msg);
    c.enqueue(msg);
  }

  /** A command of the proxy's own on the connection to `s` (MULTI when the first key is known, DISCARD), its reply dropped. */
  private internal(s: Server, bytes: Uint8Array): void {
    const c = this.conn(s);
    if (c === null) {
      this.dirty = true;
      return;
    }
    const msgs = this.client.ctx.msgs;
    const m = msgs.get(true, null);
    writer.begin(msgs.mbufs, m).bytes(bytes);
    writer.end();
    m.swallow = true;
    c.enqueue(m);
  }

  private fail(msg: Msg, err: ErrnoName): void {
    this.client.answer(msg, redisErrorReply(err));
  }

  private arity(msg: Msg, row: RedisCommand): void {
    this.client.answer(msg, errorLine(`ERR wrong number of arguments for '${row.name.toLowerCase()}' command`));
  }

  /** RESET while pinned: leave MULTI and every subscription, drop the pinned connections. */
  reset(): void {
    this.multi = false;
    this.dirty = false;
    this.watchLost = false;
    this.txServer = null;
    this.closed();
  }

  pushed(conn: ServerConn, rsp: Msg): void {
    this.subs.pushed(conn, rsp);
  }

  unpinned(conn: ServerConn, _err: ErrnoName | null): void {
    if (this.subs.owns(conn)) {
      // its subscriptions are gone: the client must know, and a library resubscribes on reconnect
      this.client.close();
      return;
    }
    if (this.cmd.get(conn.server) === conn) this.cmd.delete(conn.server);
    // a transaction or WATCH on it is lost with it: EXEC must not run unwatched
    if (this.txServer === conn.server) {
      if (this.multi) this.dirty = true;
      else {
        this.watchLost = true;
        this.txServer = null;
      }
    }
  }

  closed(): void {
    for (const c of this.cmd.values()) c.release();
    this.cmd.clear();
    this.subs.releaseAll();
  }
}
