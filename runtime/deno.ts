// Deno adapter: Deno.listen/Deno.connect with an accept loop, a per-connection read loop and a write queue.
//
// Deno only offers completion-style I/O (`await conn.read(buf)`), so the adapter turns it into
// the push contract: each connection runs one read loop that calls handler.data with a view of
// its buffer, and one write loop while bytes are queued. What Deno observably does (2.9):
//   - a pending read holds its buffer, and an idle connection always has a read pending. So a
//     connection reads into a small buffer of its own (READ_SMALL_SIZE, allocated at its first
//     read) and switches to a pooled 64 KB buffer only after a read filled the small one; the
//     big buffer goes back to the pool after the first read that does not fill it, so an idle
//     connection never parks on 64 KB.
//   - write() may take part of the buffer and there is no writev: queued chunks are joined into
//     one write (WRITE_GATHER_MAX) so a burst of small replies costs one op.
//   - closeWrite() is the half-close and reading goes on; close() makes a pending read reject
//     with Interrupted, which is ours and not reported.
//   - errors carry `code` (ECONNREFUSED...) except a failed name lookup, a plain Error
//     "failed to lookup address information", mapped to EHOSTDOWN.
//   - Deno.listen's `reusePort` is an unstable API: without --unstable-net the process exits
//     ("The `--unstable-net` flag must be provided"), so it is only passed when the unstable net
//     APIs are present (Deno.listenDatagram exists only then).
//   - a unix listener removes its socket file on close(); an existing file gives AddrInUse.
//   - TLS (connectTls, startTls, listenTls) and what Deno cannot do there: runtime/tls_deno.ts.

import {
  bareHost,
  ChunkQueue,
  errnoOf,
  HIGH_WATER_MARK,
  listenError,
  READ_BUFFER_SIZE,
  READ_SMALL_SIZE,
  reportException,
  WRITE_GATHER_MAX,
} from "./common.ts";
import { denoProcessRuntime, writeStderr } from "./process_deno.ts";
import { connectTls, listenTls, tlsEnded, tlsErrno } from "./tls_deno.ts";
import type { ConnectOptions, Endpoint, ErrnoName, Listener, ListenOptions, Runtime, Socket, SocketHandler } from "./types.ts";

// The part of lib.deno this file uses, so that it type-checks without Deno's own types.
interface DenoAddr {
  readonly transport: string;
  readonly hostname?: string;
  readonly port?: number;
  readonly path?: string;
}
export interface DenoConn {
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
  closeWrite(): Promise<void>;
  close(): void;
  readonly remoteAddr: DenoAddr;
  setNoDelay?(noDelay?: boolean): void;
  setKeepAlive?(keepAlive?: boolean): void;
}
export interface DenoListener {
  accept(): Promise<DenoConn>;
  close(): void;
  readonly addr: DenoAddr;
}
interface DenoTcpListenOptions {
  hostname: string;
  port: number;
  transport?: "tcp";
  tcpBacklog?: number;
  reusePort?: boolean;
}
declare const Deno: {
  listen(o: DenoTcpListenOptions): DenoListener;
  listen(o: { transport: "unix"; path: string }): DenoListener;
  connect(o: { hostname: string; port: number; transport?: "tcp" }): Promise<DenoConn>;
  connect(o: { transport: "unix"; path: string }): Promise<DenoConn>;
  readonly listenDatagram?: unknown;
  chmodSync(path: string, mode: number): void;
};

/** Free 64 KB read buffers, lent to connections while they read full buffers. */
const bigPool: Uint8Array[] = [];
const BIG_POOL_KEEP = 16;

function takeBig(): Uint8Array {
  return bigPool.pop() ?? new Uint8Array(READ_BUFFER_SIZE);
}

function releaseBig(b: Uint8Array): void {
  if (bigPool.length < BIG_POOL_KEEP) bigPool.push(b);
}

/** One Deno connection (or a connect under way) behind the Socket contract. */
export class DenoSocket implements Socket {
  failure = "";
  ctx: unknown = undefined;
  readonly handler: SocketHandler;
  conn: DenoConn | null = null;
  remoteAddress = "";
  remotePort = 0;
  readonly queue = new ChunkQueue();
  /** A write op is in flight. */
  writing = false;
  needDrain = false;
  endWanted = false;
  finSent = false;
  /** The read loop is running (a read may be pending). */
  reading = false;
  paused = false;
  peerEnded = false;
  /** close() was called or the socket failed: nothing more is reported but handler.close. */
  closing = false;
  done = false;
  err: ErrnoName | null = null;
  /** This connection's own small read buffer, made at its first read. */
  small: Uint8Array | null = null;
  /** A pooled 64 KB buffer, held only while reads fill their buffer. */
  big: Uint8Array | null = null;
  /** A read that completed while paused: its buffer and length (-1 for EOF), kept for resume(). */
  heldBuf: Uint8Array | null = null;
  heldN = 0;
  noDelay: boolean | null = null;
  keepAlive = false;
  /** Over TLS: its errors are named by runtime/tls_deno.ts. */
  tls = false;

  constructor(handler: SocketHandler) {
    this.handler = handler;
  }

  get bufferedAmount(): number {
    return this.queue.bytes;
  }

  write(bytes: Uint8Array): boolean {
    if (this.endWanted || this.closing || this.done) return false;
    const q = this.queue;
    q.push(bytes);
    if (!this.writing && this.conn !== null) void writeLoop(this, this.conn);
    if (q.bytes >= HIGH_WATER_MARK) {
      this.needDrain = true;
      return false;
    }
    return true;
  }

  end(): void {
    if (this.endWanted || this.closing || this.done) return;
    this.endWanted = true;
    if (this.conn !== null && !this.writing && this.queue.length === 0) void sendFin(this, this.conn);
  }

  close(): void {
    if (this.closing || this.done) return;
    teardown(this);
    // reported on a microtask: handler.close never runs inside sock.close()
    queueMicrotask(() => deliverClose(this, this.err));
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    const conn = this.conn;
    if (conn !== null && !this.reading && !this.closing && !this.peerEnded) void readLoop(this, conn);
  }

  setNoDelay(on: boolean): void {
    this.noDelay = on;
    const c = this.conn;
    if (c !== null && c.setNoDelay !== undefined && !this.closing) c.setNoDelay(on);
  }

  setKeepAlive(on: boolean, _initialDelayMs: number): void {
    // Deno's setKeepAlive has no idle time: the system default applies
    this.keepAlive = on;
    const c = this.conn;
    if (c !== null && c.setKeepAlive !== undefined && !this.closing) c.setKeepAlive(on);
  }

  /** Connected (or accepted): take over `conn` and apply what was asked before. */
  attach(conn: DenoConn): void {
    this.conn = conn;
    const a = conn.remoteAddr;
    if (a.transport === "unix") {
      if (this.remoteAddress === "") this.remoteAddress = a.path ?? "";
    } else {
      this.remoteAddress = a.hostname ?? "";
      this.remotePort = a.port ?? 0;
    }
    if (this.noDelay !== null && conn.setNoDelay !== undefined) conn.setNoDelay(this.noDelay);
    if (this.keepAlive && conn.setKeepAlive !== undefined) conn.setKeepAlive(true);
  }

  /** Begin I/O once the owner has seen the socket. */
  start(conn: DenoConn): void {
    if (this.closing) return;
    // handler.open may have written already, which started the write loop
    if (!this.writing) {
      if (this.queue.length > 0) void writeLoop(this, conn);
      else if (this.endWanted && !this.finSent) void sendFin(this, conn);
    }
    if (!this.paused && !this.reading) void readLoop(this, conn);
  }

  /** A handler callback threw: report it and drop the connection. */
  fail(where: string, e: unknown): void {
    reportException(writeStderr, `handler.${where}`, e);
    if (this.err === null) this.err = "EIO";
    this.close();
  }
}

/** Stop everything and give the buffers back; the caller reports handler.close. */
function teardown(s: DenoSocket): void {
  s.closing = true;
  s.queue.clear();
  s.small = null;
  s.heldBuf = null;
  // a read may still be pending on s.big: it goes to the collector rather than the pool
  s.big = null;
  const c = s.conn;
  if (c !== null) {
    try {
      c.close();
    } catch {
      // already closed (BadResource)
    }
  }
}

export function deliverClose(s: DenoSocket, err: ErrnoName | null): void {
  if (s.done) return;
  s.done = true;
  try {
    s.handler.close(s, err);
  } catch (e) {
    reportException(writeStderr, "handler.close", e);
  }
}

/** A read or write failed with `e`: close now and report its errno (`fallback` if it has none). */
function failWith(s: DenoSocket, e: unknown, fallback: ErrnoName): void {
  if (s.closing || s.done) return;
  if (s.err === null) s.err = s.tls ? tlsErrno(s, e, fallback) : errnoOf(e, fallback);
  teardown(s);
  deliverClose(s, s.err);
}

/** Both directions are finished: close and report an orderly close. */
function finish(s: DenoSocket): void {
  if (s.closing || s.done) return;
  teardown(s);
  deliverClose(s, s.err);
}

/** Lend `n` bytes of `buf` to handler.data, then size the next read. False: stop reading. */
function dispatch(s: DenoSocket, buf: Uint8Array, n: number): boolean {
  try {
    s.handler.data(s, buf.subarray(0, n));
  } catch (e) {
    s.fail("data", e);
    return false;
  }
  if (s.closing) return false;
  if (n === buf.length) {
    // a full buffer: more is probably waiting, read the rest in big steps
    if (s.big === null) s.big = takeBig();
  } else if (s.big !== null) {
    releaseBig(s.big);
    s.big = null;
  }
  return true;
}

export function onEof(s: DenoSocket): void {
  s.peerEnded = true;
  if (s.big !== null) {
    releaseBig(s.big);
    s.big = null;
  }
  s.small = null;
  try {
    s.handler.end(s);
  } catch (e) {
    s.fail("end", e);
    return;
  }
  if (s.finSent && !s.closing && !s.writing) finish(s);
}

async function readLoop(s: DenoSocket, conn: DenoConn): Promise<void> {
  s.reading = true;
  try {
    if (s.heldBuf !== null || s.heldN < 0) {
      // resume(): hand over what was read while paused, but not inside the resume() call
      await undefined;
      if (s.closing || s.paused) return;
      const buf = s.heldBuf;
      const n = s.heldN;
      s.heldBuf = null;
      s.heldN = 0;
      if (n < 0) {
        onEof(s);
        return;
      }
      if (buf !== null && !dispatch(s, buf, n)) return;
    }
    while (!s.paused && !s.closing) {
      let buf = s.big;
      if (buf === null) {
        buf = s.small;
        if (buf === null) buf = s.small = new Uint8Array(READ_SMALL_SIZE);
      }
      const n = await conn.read(buf);
      if (s.closing) return;
      if (n === 0) continue;
      if (s.paused) {
        // pause() came while the read was pending: keep the bytes (or the EOF) for resume()
        s.heldBuf = n === null ? null : buf;
        s.heldN = n === null ? -1 : n;
        return;
      }
      if (n === null) {
        onEof(s);
        return;
      }
      if (!dispatch(s, buf, n)) return;
    }
  } catch (e) {
    if (!s.closing && !(s.tls && tlsEnded(s, e))) failWith(s, e, "ECONNRESET");
  } finally {
    s.reading = false;
  }
}

async function writeLoop(s: DenoSocket, conn: DenoConn): Promise<void> {
  s.writing = true;
  const q = s.queue;
  try {
    while (q.length > 0) {
      const n = await conn.write(q.gather(WRITE_GATHER_MAX));
      if (s.closing) return;
      q.consume(n);
    }
  } catch (e) {
    if (!s.closing) failWith(s, e, "EPIPE");
    return;
  } finally {
    s.writing = false;
  }
  if (s.endWanted && !s.finSent) {
    void sendFin(s, conn);
  }
  if (s.needDrain && !s.closing) {
    s.needDrain = false;
    try {
      s.handler.drain(s);
    } catch (e) {
      s.fail("drain", e);
    }
  }
}

async function sendFin(s: DenoSocket, conn: DenoConn): Promise<void> {
  s.finSent = true;
  try {
    await conn.closeWrite();
  } catch (e) {
    if (!s.closing) failWith(s, e, "EPIPE");
    return;
  }
  if (s.peerEnded) finish(s);
}

export function tcpListenOptions(host: string, port: number, opts: ListenOptions): DenoTcpListenOptions {
  const o: DenoTcpListenOptions = { hostname: host, port, transport: "tcp", tcpBacklog: opts.backlog };
  if (opts.reusePort === true && typeof Deno.listenDatagram === "function") o.reusePort = true;
  return o;
}

function listen(opts: ListenOptions, handler: SocketHandler): Promise<Listener> {
  const ep = opts.endpoint;
  if (opts.tls !== undefined) return listenTls(opts, handler);
  let l: DenoListener;
  let endpoint: Endpoint;
  try {
    if (ep.path !== undefined) {
      l = Deno.listen({ transport: "unix", path: ep.path });
      if (opts.mode !== undefined) {
        try {
          Deno.chmodSync(ep.path, opts.mode);
        } catch (e) {
          l.close();
          throw e;
        }
      }
      endpoint = { path: ep.path };
    } else {
      l = Deno.listen(tcpListenOptions(bareHost(ep.host), ep.port, opts));
      endpoint = { host: ep.host, port: l.addr.port ?? ep.port };
    }
  } catch (e) {
    return Promise.reject(listenError(e, ep));
  }
  const state = { closed: false };
  void acceptLoop(l, handler, state, adoptAccepted);
  return Promise.resolve({
    endpoint,
    close() {
      if (state.closed) return;
      state.closed = true;
      try {
        l.close();
      } catch {
        // already closed
      }
    },
  });
}

/** Accept until closed; each connection goes to `accepted` (adoptAccepted, or TLS's handshake first). */
export async function acceptLoop(l: DenoListener, handler: SocketHandler, state: { closed: boolean }, accepted: (conn: DenoConn, handler: SocketHandler) => void): Promise<void> {
  for (;;) {
    let conn: DenoConn;
    try {
      conn = await l.accept();
    } catch (e) {
      if (state.closed) return;
      const name = (e as { name?: unknown }).name;
      if (name === "BadResource" || name === "Interrupted") return;
      // EMFILE and friends: twemproxy logs and retries; pause so the loop does not spin
      writeStderr(`nutcracker: accept failed: ${errnoOf(e, "EIO")}\n`);
      await new Promise((r) => setTimeout(r, 10));
      continue;
    }
    if (state.closed) {
      conn.close();
      return;
    }
    accepted(conn, handler);
  }
}

/** An accepted connection (`tls`: one whose handshake is done) becomes the handler's socket. */
export function adoptAccepted(conn: DenoConn, handler: SocketHandler, tls = false): void {
  const s = new DenoSocket(handler);
  s.tls = tls;
  try {
    s.attach(conn);
    handler.open(s);
  } catch (e) {
    s.fail("open", e);
  }
  s.start(conn);
}

function connect(opts: ConnectOptions, handler: SocketHandler): Socket {
  if (opts.tls !== undefined) return connectTls(opts, handler);
  const ep = opts.endpoint;
  const s = new DenoSocket(handler);
  if (opts.noDelay !== undefined) s.noDelay = opts.noDelay;
  if (opts.keepAlive === true) s.keepAlive = true;
  let p: Promise<DenoConn>;
  try {
    if (ep.path !== undefined) {
      s.remoteAddress = ep.path;
      p = Deno.connect({ transport: "unix", path: ep.path });
    } else {
      // Deno resolves the name on every connect (getaddrinfo, no cache)
      p = Deno.connect({ hostname: bareHost(ep.host), port: ep.port });
    }
  } catch (e) {
    s.closing = true;
    const err = errnoOf(e, "EINVAL");
    queueMicrotask(() => deliverClose(s, err));
    return s;
  }
  p.then(
    (conn) => {
      // nothing may throw out of here: the promise from then() would reject unhandled
      if (s.closing || s.done) {
        try {
          conn.close();
        } catch {
          // already closed
        }
        return;
      }
      try {
        s.attach(conn);
        s.start(conn);
        s.handler.open(s);
      } catch (e) {
        s.fail("open", e);
      }
    },
    (e: unknown) => {
      if (s.closing || s.done) return;
      s.closing = true;
      deliverClose(s, errnoOf(e, "ECONNREFUSED"));
    },
  );
  return s;
}

/**
 * The Deno runtime: the sockets and listeners above, the rest from runtime/process_deno.ts.
 */
export function createDenoRuntime(): Runtime {
  return { ...denoProcessRuntime(), name: "deno", listen, connect };
}
