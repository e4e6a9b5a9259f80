// A redis client's subscriptions through the proxy: each channel on the server its name hashes to, patterns on every server, counts the client's own.
//
// SUBSCRIBE and PUBLISH route a channel as a key (the pool's hash, hash_tag and distribution), so
// a publisher and a subscriber always meet on one server. The subscribe family is sent on the
// client's pinned connections without a reply of its own to wait for (`noreply`): what a server
// sends back is all pushes. Confirmations are counted against the request that asked for them
// and answered by the proxy, in request order, with the client's own totals (a server only knows
// its share); messages go to the client whole as they come.

import type { Msg } from "../core/message.ts";
import { MsgCursor, MsgWriter } from "../core/msg_io.ts";
import type { ServerPool } from "../core/pool.ts";
import type { Server, ServerConn } from "../core/server.ts";
import { argBytes, argCount, errorLine } from "./redis_args.ts";
import { CmdLocal, CmdPin, type RedisCommand } from "./redis_commands.ts";
import type { RedisPins } from "./redis_pinned.ts";
import { redisErrorReply } from "./redis_replies.ts";

const enc = new TextEncoder();
const latin1 = new TextDecoder("latin1");
const writer = new MsgWriter();
const cursor = new MsgCursor();
const NO_PIN = errorLine("ERR no pinned connection left to that server (pinned_connections)");

/** A pub/sub request still owed confirmations by its servers; `reply` is what the client gets once they are in. */
interface Waiting {
  readonly msg: Msg;
  readonly reply: Uint8Array;
  left: number;
}

/** Confirmations one connection owes one request. */
interface Owed {
  readonly w: Waiting;
  left: number;
}

const NAMES: Partial<Record<CmdPin, string>> = {
  [CmdPin.subscribe]: "subscribe",
  [CmdPin.unsubscribe]: "unsubscribe",
  [CmdPin.psubscribe]: "psubscribe",
  [CmdPin.punsubscribe]: "punsubscribe",
  [CmdPin.ssubscribe]: "ssubscribe",
  [CmdPin.sunsubscribe]: "sunsubscribe",
};
const CONFIRMS: ReadonlySet<string> = new Set(Object.values(NAMES));

const bytesOf = (name: string): Uint8Array => Uint8Array.from(name, (c) => c.charCodeAt(0));

export class RedisSubscriptions {
  private readonly pins: RedisPins;
  /** Channel (as latin1 text: its bytes exactly) → the server it is subscribed on. */
  private readonly channels = new Map<string, Server>();
  private readonly patterns = new Set<string>();
  private readonly shardChannels = new Map<string, Server>();
  private readonly conns = new Map<Server, ServerConn>();
  private readonly owed = new Map<ServerConn, Owed[]>();
  /** The pool whose subscribed-clients gauge counts this client. */
  private countedIn: ServerPool | null = null;

  constructor(pins: RedisPins) {
    this.pins = pins;
  }

  get subscribed(): boolean {
    return this.channels.size + this.patterns.size + this.shardChannels.size > 0;
  }

  owns(conn: ServerConn): boolean {
    return this.conns.get(conn.server) === conn;
  }

  /** RESP2 subscribed mode: the subscribe family, PING, RESET; everything else is refused, as redis does. */
  whileSubscribed(msg: Msg, row: RedisCommand, pin: CmdPin): void {
    const client = this.pins.client;
    if (NAMES[pin] !== undefined) return this.request(msg, pin);
    if (row.local === CmdLocal.ping && argCount(msg) <= 1) {
      const arg = argCount(msg) === 1 ? argBytes(msg, 0) : new Uint8Array(0);
      return client.answer(msg, concat([enc.encode(`*2\r\n$4\r\npong\r\n$${arg.length}\r\n`), arg, enc.encode("\r\n")]));
    }
    if (row.local === CmdLocal.reset) {
      this.pins.reset();
      return client.answer(msg, enc.encode("+RESET\r\n"));
    }
    client.answer(
      msg,
      errorLine(
        `ERR Can't execute '${row.name.toLowerCase()}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`,
      ),
    );
  }

  /** SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, SSUBSCRIBE, SUNSUBSCRIBE. */
  request(msg: Msg, pin: CmdPin): void {
    const client = this.pins.client;
    const n = argCount(msg);
    const adding = pin === CmdPin.subscribe || pin === CmdPin.psubscribe || pin === CmdPin.ssubscribe;
    if (adding && n === 0) {
      return client.answer(msg, errorLine(`ERR wrong number of arguments for '${NAMES[pin]}' command`));
    }
    const names = n > 0 ? Array.from({ length: n }, (_, i) => latin1.decode(argBytes(msg, i))) : this.all(pin);
    // where each name goes: its server for a channel, every server for a pattern, none when there is nothing to undo
    const pool = client.pool;
    const router = pool.router;
    const targets: (readonly Server[])[] = [];
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      if (pin === CmdPin.psubscribe) targets.push(pool.servers);
      else if (pin === CmdPin.punsubscribe) targets.push(this.patterns.has(name) ? pool.servers : []);
      else if (adding) {
        const s = router.route(msg, i);
        if (s === null) return client.answer(msg, redisErrorReply("ECONNREFUSED"));
        targets.push([s]);
      } else {
        const s = (pin === CmdPin.sunsubscribe ? this.shardChannels : this.channels).get(name);
        targets.push(s === undefined ? [] : [s]);
      }
    }
    const byServer = new Map<Server, number[]>();
    for (let i = 0; i < names.length; i++) {
      for (const s of targets[i]!) {
        const list = byServer.get(s);
        if (list === undefined) byServer.set(s, [i]);
        else list.push(i);
      }
    }
    for (const s of byServer.keys()) if (this.pins.conn(s, this.conns) === null) return client.answer(msg, NO_PIN);

    // the state changes now, so what the client sends next already sees it; the reply waits for the servers
    const parts: Uint8Array[] = [];
    for (let i = 0; i < names.length; i++) parts.push(this.apply(pin, names[i]!, targets[i]![0] ?? null));
    if (names.length === 0) parts.push(this.confirm(NAMES[pin]!, null, this.count(pin)));
    this.gauge();
    const w: Waiting = { msg, reply: concat(parts), left: 0 };
    for (const [s, idx] of byServer) {
      const conn = this.pins.conn(s, this.conns)!;
      conn.enqueue(this.part(pin, names, idx));
      const q = this.owed.get(conn);
      const o = { w, left: idx.length };
      if (q === undefined) this.owed.set(conn, [o]);
      else q.push(o);
      w.left += idx.length;
    }
    if (w.left === 0) return client.answer(msg, w.reply);
    client.awaitReply(msg);
  }

  /** Names an UNSUBSCRIBE or PUNSUBSCRIBE without arguments undoes: all of the client's. */
  private all(pin: CmdPin): string[] {
    if (pin === CmdPin.punsubscribe) return [...this.patterns];
    return [...(pin === CmdPin.sunsubscribe ? this.shardChannels : this.channels).keys()];
  }

  /** Record one name's (un)subscription; its confirmation with the client's count after it. */
  private apply(pin: CmdPin, name: string, server: Server | null): Uint8Array {
    switch (pin) {
      case CmdPin.subscribe:
        this.channels.set(name, server!);
        break;
      case CmdPin.ssubscribe:
        this.shardChannels.set(name, server!);
        break;
      case CmdPin.psubscribe:
        this.patterns.add(name);
        break;
      case CmdPin.unsubscribe:
        this.channels.delete(name);
        break;
      case CmdPin.sunsubscribe:
        this.shardChannels.delete(name);
        break;
      default:
        this.patterns.delete(name);
    }
    return this.confirm(NAMES[pin]!, name, this.count(pin));
  }

  /** redis's count in a confirmation: channels and patterns together, shard channels apart. */
  private count(pin: CmdPin): number {
    return pin === CmdPin.ssubscribe || pin === CmdPin.sunsubscribe ? this.shardChannels.size : this.channels.size + this.patterns.size;
  }

  private confirm(kind: string, name: string | null, count: number): Uint8Array {
    const resp3 = this.pins.client.resp3;
    const head = `${resp3 ? ">" : "*"}3\r\n$${kind.length}\r\n${kind}\r\n`;
    if (name === null) return enc.encode(`${head}${resp3 ? "_" : "$-1"}\r\n:${count}\r\n`);
    const b = bytesOf(name);
    return concat([enc.encode(`${head}$${b.length}\r\n`), b, enc.encode(`\r\n:${count}\r\n`)]);
  }

  /** The request for one server: the command with the names that go there; its answers are pushes. */
  private part(pin: CmdPin, names: readonly string[], idx: readonly number[]): Msg {
    const cmd = NAMES[pin]!.toUpperCase();
    const chunks: Uint8Array[] = [enc.encode(`*${idx.length + 1}\r\n$${cmd.length}\r\n${cmd}\r\n`)];
    for (const i of idx) {
      const b = bytesOf(names[i]!);
      chunks.push(enc.encode(`$${b.length}\r\n`), b, enc.encode("\r\n"));
    }
    const client = this.pins.client;
    const msgs = client.ctx.msgs;
    const m = msgs.get(true, client);
    writer.begin(msgs.mbufs, m).bytes(concat(chunks));
    writer.end();
    m.noreply = true;
    return m;
  }

  /** Something a subscribed connection sent: a confirmation is counted, anything else (a message) goes to the client. */
  pushed(conn: ServerConn, rsp: Msg): void {
    const client = this.pins.client;
    if (!CONFIRMS.has(pushKind(rsp))) return client.push(rsp);
    client.ctx.msgs.put(rsp);
    const q = this.owed.get(conn);
    const o = q?.[0];
    if (o === undefined) return; // a confirmation nobody waits for (a server's own unsubscribe)
    if (--o.left === 0) q!.shift();
    if (--o.w.left > 0) return;
    client.complete(o.w.msg, o.w.reply);
    if (!this.subscribed && [...this.owed.values()].every((l) => l.length === 0)) this.releaseAll();
  }

  /** Keep the pool's subscribed-clients gauge in step with this client. */
  private gauge(): void {
    const now = this.subscribed ? this.pins.client.pool : null;
    if (now === this.countedIn) return;
    if (this.countedIn !== null) this.countedIn.subscribed--;
    if (now !== null) now.subscribed++;
    this.countedIn = now;
  }

  releaseAll(): void {
    for (const c of this.conns.values()) c.release();
    this.conns.clear();
    this.owed.clear();
    this.channels.clear();
    this.patterns.clear();
    this.shardChannels.clear();
    this.gauge();
  }
}

/** A push's first element (`message`, `subscribe`...), or "" when it is not an array of bulks. */
function pushKind(rsp: Msg): string {
  const c = cursor.reset(rsp);
  const t = c.next();
  if (t !== 0x2a && t !== 0x3e) return "";
  c.skipLine();
  if (c.next() !== 0x24) return "";
  const len = c.readInt();
  if (len < 0 || len > 16) return "";
  let s = "";
  for (let i = 0; i < len; i++) s += String.fromCharCode(c.next());
  return s;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
