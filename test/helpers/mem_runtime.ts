// An in-memory Runtime for unit tests of src/core: scripted peers, a manual clock, and an event loop
// the test drives. Nothing here touches a socket, a real timer or the file system.
//
// Model (what runtime/types.ts promises, as runtime/node.ts keeps it):
//
//   proxy side                       test side
//   MemSocket (the core's Socket) ◄─ Peer   inbox: one peer.write() = one handler.data() call
//             outbox ──────────────► Peer   chunks: what the proxy wrote, byte for byte
//
//   - Nothing happens inside a call: connect(), dial(), write(), end(), close() and peer.* only
//     queue; step() delivers. One step is one turn of an event loop: every socket gets one I/O
//     round (its connect outcome, then bytes out, then at most one chunk in or its FIN), then the
//     defer() callbacks queued before the turn ran (setImmediate: the I/O of a turn comes first).
//     run() steps until nothing is pending. Time stands still in both; only advance() moves it,
//     firing timers in deadline order (ties in creation order) with run() after each.
//   - open comes once, before anything else; close exactly once, never inside sock.close(), with
//     null for an orderly close (both FINs, our close(), a connect we gave up), else the errno
//     (ECONNREFUSED, ECONNRESET, EPIPE after the peer closed, EIO when a handler threw).
//   - data chunks are borrowed: each is overwritten with 0xEE once handler.data returns.
//   - write() before open is queued; it returns false once bufferedAmount (bytes the peer has not
//     taken) reaches HIGH_WATER_MARK, and drain follows when the outbox empties. end() sends the
//     FIN after the queued bytes; close() drops them. Writes after end()/close() return false.
//   - pause() holds both data and the peer's FIN (Node reports no FIN while paused).
//   - a handler exception is recorded and the socket closed with EIO, as the adapters do; run()
//     then throws it, so a core bug cannot hide behind a closed connection.
//   - strings are latin1 both ways (one char = one byte), so tests compare bytes exactly.
//
// memProxy() builds the core the way src/main.ts does (parseConf, Context, ServerPool per pool,
// proxyInit), on a MemRuntime, from twemproxy YAML. Tests reach everything through it:
// `p.client()` dials a pool, `p.server(i)` is the FakeServer behind the pool's i-th server,
// `p.keyOn(i)` a key that server owns, `p.pool()` the ServerPool (to swap a router, pin a
// connection...), `p.inUse()` the msg and mbuf counts for leak checks.

import { HIGH_WATER_MARK } from "../../runtime/common.ts";
import type {
  AppendFile,
  ConnectOptions,
  Endpoint,
  ErrnoName,
  Listener,
  ListenOptions,
  LogFile,
  Runtime,
  SignalName,
  Socket,
  SocketHandler,
  TimerHandle,
} from "../../runtime/types.ts";
import { parseConf } from "../../src/conf/parse.ts";
import { Context, type CoreLogger } from "../../src/core/context.ts";
import { ServerPool } from "../../src/core/pool.ts";
import { proxyInit } from "../../src/core/proxy.ts";
import { buildContinuum, HASH_CODEC, hashKey, hashkitInit } from "../../src/hashkit/index.ts";
import { memcacheProto } from "../../src/proto/memcache_proto.ts";
import { redisProto } from "../../src/proto/redis_proto.ts";

/** One byte per char, both ways. */
export function latin1(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 0xff;
  return b;
}

function text(chunks: readonly Uint8Array[], from = 0): string {
  let s = "";
  for (let i = from; i < chunks.length; i++) {
    const c = chunks[i]!;
    for (let j = 0; j < c.length; j += 4096) s += String.fromCharCode(...c.subarray(j, j + 4096));
  }
  return s;
}

export function endpointKey(ep: Endpoint): string {
  return ep.path !== undefined ? ep.path : `${ep.host}:${ep.port}`;
}

const OPEN = 1;
const CONNECTING = 0;
const CLOSED = 2;

/** The test's end of one connection: a fake backend's accepted connection, or a dialled client. */
export class Peer {
  readonly sock: MemSocket;
  /** What the proxy wrote, as transferred (a chunk per round, cut by the window). */
  readonly chunks: Uint8Array[] = [];
  private taken = 0;
  /** Bytes the peer still accepts while not reading; Infinity while reading. */
  window = Infinity;
  /** The proxy half-closed and every byte before its FIN arrived. */
  gotFin = false;
  /** The proxy's socket is gone (its close(), an orderly close of both ends, a reset). */
  closed = false;

  constructor(sock: MemSocket) {
    this.sock = sock;
  }

  /** All bytes received so far. */
  text(): string {
    return text(this.chunks);
  }

  /** Bytes received since the last take(). */
  take(): string {
    const s = text(this.chunks, this.taken);
    this.taken = this.chunks.length;
    return s;
  }

  /** Forget what was received so far (chunks and take() start afresh). */
  discard(): void {
    this.chunks.length = 0;
    this.taken = 0;
  }

  /** Send bytes to the proxy: one handler.data call, after open, while it is not paused. */
  write(data: string | Uint8Array): void {
    if (this.sock.peerFin || this.closed) throw new Error("Cannot write: the peer has already ended this connection");
    this.sock.inbox.push(typeof data === "string" ? latin1(data) : data.slice());
  }

  /** Send `data` one byte per chunk (every split point at once). */
  writeBytewise(data: string): void {
    for (const ch of data) this.write(ch);
  }

  /** Half-close (FIN): the proxy sees end after the bytes before it; it may still write. */
  end(): void {
    this.sock.peerFin = true;
  }

  /** Full close: a FIN, and the proxy's later writes fail with EPIPE. */
  close(): void {
    this.sock.peerFin = true;
    this.sock.peerGone = true;
  }

  /** Abort (RST): the proxy gets close(ECONNRESET) on the next round; undelivered bytes are lost. */
  reset(): void {
    this.sock.peerRst = true;
  }

  /** Stop reading: the proxy's bytes pile up in its bufferedAmount beyond `window` more bytes. */
  stopReading(window = 0): void {
    this.window = window;
  }

  startReading(): void {
    this.window = Infinity;
  }

  /** The peer would read EOF: a FIN, or the connection is gone. */
  get eof(): boolean {
    return this.gotFin || this.closed;
  }
}

/** What a fake backend does with connection attempts; `blackhole` never answers the SYN. */
export type ConnectMode = "accept" | "refuse" | "blackhole" | "unresolvable";

/** A scripted backend at one address. Its connections are Peers, newest last. */
export class FakeServer {
  readonly addr: string;
  mode: ConnectMode = "accept";
  readonly peers: Peer[] = [];
  /** Connection attempts, refused ones included. */
  attempts = 0;
  /** Called as each connection is accepted (before the proxy's open), e.g. to script answers. */
  onAccept: ((p: Peer) => void) | null = null;

  constructor(addr: string) {
    this.addr = addr;
  }

  /** The newest connection. */
  get peer(): Peer {
    const p = this.peers[this.peers.length - 1];
    if (p === undefined) throw new Error(`Cannot get a peer: nothing connected to "${this.addr}"`);
    return p;
  }

  /** Everything every connection received, concatenated. */
  received(): string {
    return this.peers.map((p) => p.text()).join("");
  }

  /** Connections still open. */
  get live(): Peer[] {
    return this.peers.filter((p) => !p.closed);
  }
}

/** The core's Socket; `peer` is the test's end. */
export class MemSocket implements Socket {
  failure = "";
  ctx: unknown = undefined;
  readonly rt: MemRuntime;
  readonly handler: SocketHandler;
  readonly peer: Peer;
  /** The backend it dials; null for a socket accepted by a listener (always opens). */
  readonly target: FakeServer | null;
  remoteAddress: string;
  remotePort: number;
  state = CONNECTING;
  /** Bytes from the peer not yet delivered. */
  readonly inbox: Uint8Array[] = [];
  peerFin = false;
  peerGone = false;
  peerRst = false;
  private endSeen = false;
  /** Bytes written and not yet taken by the peer; `outOff` into the first. */
  private readonly outbox: Uint8Array[] = [];
  private outOff = 0;
  private buffered = 0;
  private needDrain = false;
  private finQueued = false;
  /** end() or close() was called: later writes are dropped. */
  private ended = false;
  private closing = false;
  err: ErrnoName | null = null;
  paused = false;
  noDelay = false;
  keepAlive = false;

  constructor(rt: MemRuntime, handler: SocketHandler, target: FakeServer | null, remote: Endpoint) {
    this.rt = rt;
    this.handler = handler;
    this.target = target;
    this.remoteAddress = remote.path ?? remote.host ?? "";
    this.remotePort = remote.port ?? 0;
    this.peer = new Peer(this);
  }

  get bufferedAmount(): number {
    return this.buffered;
  }

  write(bytes: Uint8Array): boolean {
    if (this.ended || this.state === CLOSED) return false;
    // ownership passed to us: keep the reference, as the adapters do (a caller that reuses it shows)
    this.outbox.push(bytes);
    this.buffered += bytes.length;
    if (this.buffered < HIGH_WATER_MARK) return true;
    this.needDrain = true;
    return false;
  }

  end(): void {
    if (this.ended || this.state === CLOSED) return;
    this.ended = true;
    this.finQueued = true;
  }

  close(): void {
    this.ended = true;
    if (this.state !== CLOSED) this.closing = true;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }

  setNoDelay(on: boolean): void {
    this.noDelay = on;
  }

  setKeepAlive(on: boolean): void {
    this.keepAlive = on;
  }

  /** One I/O round; returns whether anything happened. */
  pump(): boolean {
    if (this.state === CLOSED) return false;
    if (this.closing) return this.finish();
    if (this.peerRst) {
      this.err ??= "ECONNRESET";
      return this.finish();
    }
    if (this.state === CONNECTING) {
      const mode = this.target?.mode ?? "accept";
      if (mode === "blackhole") return false;
      if (mode === "refuse" || mode === "unresolvable") {
        this.err = mode === "refuse" ? "ECONNREFUSED" : "EHOSTDOWN";
        return this.finish();
      }
      this.state = OPEN;
      if (this.target !== null) {
        this.target.peers.push(this.peer);
        this.target.onAccept?.(this.peer);
      }
      this.call(0, null);
      return true;
    }
    let did = false;
    if (this.outbox.length > 0) {
      if (this.peerGone) {
        this.err ??= "EPIPE";
        return this.finish();
      }
      did = this.transfer();
      if (this.outbox.length === 0 && this.needDrain && !this.closing) {
        this.needDrain = false;
        this.call(2, null);
      }
    }
    if (this.finQueued && this.outbox.length === 0 && !this.peer.gotFin) {
      this.peer.gotFin = true;
      did = true;
    }
    if (!this.paused && !this.closing) {
      const chunk = this.inbox.shift();
      if (chunk !== undefined) {
        this.call(1, chunk);
        chunk.fill(0xee); // borrowed: the core must have copied what it keeps
        did = true;
      } else if (this.peerFin && !this.endSeen) {
        this.endSeen = true;
        this.call(3, null);
        did = true;
      }
    }
    // both FINs are through: the adapters then report an orderly close
    if (!this.closing && this.endSeen && this.peer.gotFin) {
      this.closing = true;
      did = true;
    }
    return did;
  }

  /** Move queued bytes to the peer, as much as its window takes. */
  private transfer(): boolean {
    const peer = this.peer;
    let moved = 0;
    while (this.outbox.length > 0 && peer.window > 0) {
      const c = this.outbox[0]!;
      const take = Math.min(c.length - this.outOff, peer.window);
      peer.chunks.push(c.slice(this.outOff, this.outOff + take));
      if (peer.window !== Infinity) peer.window -= take;
      moved += take;
      this.outOff += take;
      if (this.outOff === c.length) {
        this.outbox.shift();
        this.outOff = 0;
      }
    }
    this.buffered -= moved;
    return moved > 0;
  }

  private finish(): true {
    this.state = CLOSED;
    this.closing = false;
    this.ended = true;
    this.outbox.length = 0;
    this.buffered = 0;
    this.inbox.length = 0;
    this.peer.closed = true;
    this.rt.forget(this);
    try {
      this.handler.close(this, this.err);
    } catch (e) {
      this.rt.exceptions.push(e);
    }
    return true;
  }

  /** 0 open, 1 data, 2 drain, 3 end; an exception closes the socket with EIO (runtime/node.ts). */
  private call(kind: number, chunk: Uint8Array | null): void {
    try {
      if (kind === 0) this.handler.open(this);
      else if (kind === 1) this.handler.data(this, chunk!);
      else if (kind === 2) this.handler.drain(this);
      else this.handler.end(this);
    } catch (e) {
      this.rt.exceptions.push(e);
      this.err ??= "EIO";
      this.close();
    }
  }
}

interface MemTimer {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
  active: boolean;
}

class MemListener implements Listener {
  readonly endpoint: Endpoint;
  readonly handler: SocketHandler;
  closed = false;

  constructor(endpoint: Endpoint, handler: SocketHandler) {
    this.endpoint = endpoint;
    this.handler = handler;
  }

  close(): void {
    this.closed = true;
  }
}

function unsupported(what: string): never {
  throw new Error(`Cannot ${what}: the in-memory runtime has no files`);
}

/** The Runtime; see the file header for the model. */
export class MemRuntime implements Runtime {
  readonly name = "node";
  readonly args: readonly string[] = [];
  readonly pid = 4242;
  /** Monotonic clock (ms); starts far from 0, which the core uses as "unset". */
  private clock = 1_000_000;
  private readonly epoch = 1_700_000_000;
  private readonly sockets: MemSocket[] = [];
  private readonly listeners = new Map<string, MemListener>();
  private readonly servers = new Map<string, FakeServer>();
  private timers: MemTimer[] = [];
  private timerSeq = 0;
  private immediates: (() => void)[] = [];
  private nextPort = 40000;
  private readonly signals = new Map<SignalName, ((sig: SignalName) => void)[]>();
  /** Exceptions thrown by handlers, timers and deferred callbacks. */
  readonly exceptions: unknown[] = [];
  private thrown = 0;
  stdout = "";
  stderr = "";
  readonly files = new Map<string, string>();

  // ---- the Runtime contract ----

  listen(opts: ListenOptions, handler: SocketHandler): Promise<Listener> {
    let ep = opts.endpoint;
    if (ep.path === undefined && ep.port === 0) ep = { host: ep.host, port: this.nextPort++ };
    const key = endpointKey(ep);
    const old = this.listeners.get(key);
    if (old !== undefined && !old.closed) {
      return Promise.reject(Object.assign(new Error(`Cannot listen on "${key}": EADDRINUSE`), { code: "EADDRINUSE" }));
    }
    const l = new MemListener(ep, handler);
    this.listeners.set(key, l);
    return Promise.resolve(l);
  }

  connect(opts: ConnectOptions, handler: SocketHandler): Socket {
    const srv = this.server(endpointKey(opts.endpoint));
    srv.attempts++;
    const s = new MemSocket(this, handler, srv, opts.endpoint);
    s.noDelay = opts.noDelay === true;
    s.keepAlive = opts.keepAlive === true;
    this.sockets.push(s);
    return s;
  }

  now(): number {
    return this.clock;
  }

  unixTime(): number {
    return Math.floor(this.epoch + this.clock / 1000);
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    // Node runs a timer of less than 1 ms after 1 ms
    const t: MemTimer = { at: this.clock + Math.max(1, ms), seq: this.timerSeq++, fn, active: true };
    this.timers.push(t);
    return { _timer: t };
  }

  clearTimer(h: TimerHandle): void {
    (h._timer as MemTimer).active = false;
  }

  defer(fn: () => void): void {
    this.immediates.push(fn);
  }

  onSignal(sig: SignalName, fn: (sig: SignalName) => void): void {
    const list = this.signals.get(sig) ?? [];
    list.push(fn);
    this.signals.set(sig, list);
  }

  env(): string | undefined {
    return undefined;
  }

  hostname(): string {
    return "mem";
  }

  exit(code: number): never {
    throw new Error(`exit(${code}) called`);
  }

  writeStdout(t: string): void {
    this.stdout += t;
  }

  writeStderr(t: string): void {
    this.stderr += t;
  }

  readTextFile(path: string): string {
    const t = this.files.get(path);
    if (t === undefined) throw Object.assign(new Error(`Cannot read "${path}": ENOENT`), { code: "ENOENT" });
    return t;
  }

  writeTextFile(path: string, t: string): void {
    this.files.set(path, t);
  }

  removeFile(path: string): void {
    this.files.delete(path);
  }

  openLog(): LogFile {
    return { write: (t) => void (this.stderr += t), reopen() {}, close() {} };
  }

  readFileBytes(path: string): Uint8Array {
    return latin1(this.readTextFile(path));
  }

  fileSize(path: string): number {
    return this.files.get(path)?.length ?? -1;
  }

  openAppendFile(): AppendFile {
    return unsupported("open an append file");
  }

  renameFile(): void {
    unsupported("rename a file");
  }

  truncateFile(): void {
    unsupported("truncate a file");
  }

  syncDir(): void {
    unsupported("sync a directory");
  }

  spawnDetached(): number {
    return unsupported("spawn a process");
  }

  spawnWorker(): never {
    return unsupported("spawn a worker");
  }

  onPrimaryGone(): void {}

  cpuCount(): number {
    return 1;
  }

  // ---- the test's controls ----

  /** The fake backend at `addr` ("host:port" or a path); made on first use, accepting. */
  server(addr: string): FakeServer {
    let s = this.servers.get(addr);
    if (s === undefined) {
      s = new FakeServer(addr);
      this.servers.set(addr, s);
    }
    return s;
  }

  /** Connect a client to the listener at `addr`; the proxy's handler.open comes on the next step. */
  dial(addr: string): Peer {
    const l = this.listeners.get(addr);
    if (l === undefined || l.closed) throw new Error(`Cannot dial "${addr}": nothing listens there`);
    const s = new MemSocket(this, l.handler, null, { host: "127.0.0.1", port: this.nextPort++ });
    this.sockets.push(s);
    return s.peer;
  }

  /** Deliver `sig` to the handlers installed with onSignal (a kill from outside), then run(). */
  signal(sig: SignalName): void {
    for (const fn of this.signals.get(sig) ?? []) this.guard(() => fn(sig));
    this.run();
  }

  /** Signals the program raised on itself (Runtime.raise), in order. */
  readonly raised: SignalName[] = [];

  /** Die by `sig` with its default action: here that throws, except for the ignored SIGPIPE. */
  raise(sig: SignalName): void {
    this.signals.delete(sig);
    this.raised.push(sig);
    if (sig !== "SIGPIPE") throw new Error(`Process killed by ${sig}`);
  }

  forget(s: MemSocket): void {
    const i = this.sockets.indexOf(s);
    if (i >= 0) this.sockets.splice(i, 1);
  }

  /** Sockets not yet closed. */
  get openSockets(): number {
    return this.sockets.length;
  }

  /** Timers armed and not yet fired or cleared. */
  get activeTimers(): number {
    return this.timers.filter((t) => t.active).length;
  }

  /** One event-loop turn: an I/O round per socket, then the deferred callbacks queued before it. */
  step(): boolean {
    let did = false;
    for (const s of this.sockets.slice()) did = s.pump() || did;
    const imm = this.immediates;
    this.immediates = [];
    for (const fn of imm) this.guard(fn);
    return did || imm.length > 0;
  }

  /** Step until nothing is pending; throws what handlers threw meanwhile. Returns the steps taken. */
  run(maxSteps = 100_000): number {
    let n = 0;
    while (this.step()) {
      if (++n >= maxSteps) throw new Error(`Cannot settle: still busy after ${maxSteps} steps`);
    }
    this.rethrow();
    return n;
  }

  /** Move the clock `ms` forward, firing due timers in order, each at its own deadline. */
  advance(ms: number): void {
    const target = this.clock + ms;
    this.run();
    for (;;) {
      let next: MemTimer | null = null;
      for (const t of this.timers) {
        if (t.active && t.at <= target && (next === null || t.at < next.at || (t.at === next.at && t.seq < next.seq))) next = t;
      }
      if (next === null) break;
      next.active = false;
      this.clock = Math.max(this.clock, next.at);
      this.guard(next.fn);
      this.run();
    }
    this.timers = this.timers.filter((t) => t.active);
    this.clock = target;
    this.run();
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.exceptions.push(e);
    }
  }

  private rethrow(): void {
    if (this.exceptions.length === this.thrown) return;
    const e = this.exceptions[this.thrown];
    this.thrown = this.exceptions.length;
    throw new Error(`A callback threw on the in-memory runtime: ${String(e)}`, { cause: e });
  }
}

/** A CoreLogger that keeps every line. */
export class MemLog implements CoreLogger {
  readonly lines: string[] = [];
  level: number;

  constructor(level: number) {
    this.level = level;
  }

  enabled(level: number): boolean {
    return level <= this.level;
  }

  debug(level: number, msg: string): void {
    if (level <= this.level) this.lines.push(msg);
  }

  error(msg: string): void {
    this.lines.push(`[error] ${msg}`);
  }

  warn(msg: string): void {
    this.lines.push(`[warn] ${msg}`);
  }

  /** Lines matching `re`. */
  grep(re: RegExp): string[] {
    return this.lines.filter((l) => re.test(l));
  }
}

export interface MemProxyOptions {
  /** -m: mbuf size (twemproxy's minimum is 512; small sizes cut messages across mbufs). */
  readonly mbufSize?: number;
  /** -v: log level (default 11, so every log line is formatted and kept). */
  readonly verbosity?: number;
}

/** The core of one nutcracker process on a MemRuntime. */
export class MemProxy {
  readonly rt: MemRuntime;
  readonly ctx: Context;
  readonly log: MemLog;
  readonly pools: ServerPool[];
  readonly listeners: Listener[];

  constructor(rt: MemRuntime, ctx: Context, log: MemLog, pools: ServerPool[], listeners: Listener[]) {
    this.rt = rt;
    this.ctx = ctx;
    this.log = log;
    this.pools = pools;
    this.listeners = listeners;
  }

  /** The pool called `name` (default: the first). */
  pool(name?: string): ServerPool {
    const p = name === undefined ? this.pools[0] : this.pools.find((x) => x.conf.name === name);
    if (p === undefined) throw new Error(`Cannot find pool "${name}"`);
    return p;
  }

  /** A new client of a pool; its open is delivered by the next run(). */
  client(pool?: string): Peer {
    const i = this.pools.indexOf(this.pool(pool));
    return this.rt.dial(endpointKey(this.listeners[i]!.endpoint));
  }

  /** The fake backend behind server `i` of a pool (in conf order). */
  server(i: number, pool?: string): FakeServer {
    const s = this.pool(pool).conf.servers[i];
    if (s === undefined) throw new Error(`Cannot find server ${i}`);
    return this.rt.server(endpointKey(s.endpoint));
  }

  /**
   * The `nth` key `<prefix><number>` that server `i` owns with every server live, by the pool's
   * hash and distribution (hashkit is the oracle; a wrong answer shows as bytes at the wrong peer).
   */
  keyOn(i: number, prefix = "k", nth = 0, pool?: string): string {
    const c = this.pool(pool).conf;
    const ring = buildContinuum(c.distribution, c.servers);
    const fn = HASH_CODEC[c.hash].fn;
    let found = 0;
    for (let n = 0; n < 100_000; n++) {
      const key = `${prefix}${n}`;
      const b = latin1(key);
      const at = c.servers.length <= 1 ? 0 : ring.dispatch(hashKey(fn, c.hash_tag, b, 0, b.length));
      if (at === i && found++ === nth) return key;
    }
    throw new Error(`Cannot find a key for server ${i}`);
  }

  /** Messages and mbufs taken from the free lists and not returned. */
  inUse(): { msgs: number; mbufs: number } {
    return { msgs: this.ctx.msgs.inUse, mbufs: this.ctx.msgs.mbufs.inUse };
  }
}

/** Parse `yaml` as nutcracker.yml and start every pool on `rt` (src/main.ts start, minus stats). */
export async function memProxy(yaml: string, opts: MemProxyOptions = {}, rt = new MemRuntime()): Promise<MemProxy> {
  await hashkitInit();
  const log = new MemLog(opts.verbosity ?? 11);
  const ctx = new Context(rt, log, opts.mbufSize ?? 16384);
  const pools: ServerPool[] = [];
  const listeners: Listener[] = [];
  for (const conf of parseConf(yaml, "mem.yml")) {
    const pool = new ServerPool(ctx, conf, conf.redis ? redisProto : memcacheProto);
    pools.push(pool);
    listeners.push(await proxyInit(ctx, pool));
    ctx.connOpened();
  }
  rt.run();
  return new MemProxy(rt, ctx, log, pools, listeners);
}

// ---- wire helpers ----

/** A RESP request: `*N` then one bulk string per argument. */
export function resp(...args: string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${a.length}\r\n${a}\r\n`).join("")}`;
}

/** A RESP bulk reply, or the nil bulk for null. */
export function bulk(v: string | null): string {
  return v === null ? "$-1\r\n" : `$${v.length}\r\n${v}\r\n`;
}

/** A RESP array of bulk replies. */
export function array(...vs: (string | null)[]): string {
  return `*${vs.length}\r\n${vs.map(bulk).join("")}`;
}
