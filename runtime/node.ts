// Node adapter: node:net sockets behind the Runtime contract; the process half (timers, signals, files) is process_node.ts, shared with Bun.
//
// Socket events are wired with module-level listener functions that find their wrapper through
// `this` (EventEmitter calls listeners with the emitter as `this`), so no closure is made per
// connection or per chunk. What Node (20) does, and how it meets the contract:
//   - outgoing sockets read through `onread` into one shared 64 KB buffer (the chunk is borrowed,
//     so no ArrayBuffer is made per read); net.Server has no `onread` in Node 20, so accepted
//     sockets get a fresh Buffer per 'data' event. Idle sockets hold no read buffer either way:
//     libuv allocates one only when the socket is readable.
//   - write() returning false, 'drain' and writableLength are the stream's own, with its
//     highWaterMark set to HIGH_WATER_MARK (Node's default is 16 KB).
//   - allowHalfOpen gives the half-close: 'end' on the peer's FIN, end() sends ours after the
//     queue, and the socket closes once both are done.
//   - pause() on a 'data' socket keeps reading until the readable buffer holds highWaterMark
//     bytes, then stops the handle; an `onread` socket stops at once. A FIN is not reported
//     while paused.
//   - 'close' comes on a later tick after destroy(); errors arrive as 'error' (with `code`)
//     just before it. DNS failures are ENOTFOUND/EAI_AGAIN; Node 20's autoSelectFamily may wrap
//     per-address failures in an AggregateError.
//   - SO_REUSEPORT (`reusePort` in server.listen) only exists from Node 22.12/23.1; Node 20
//     ignores the option and a second bind fails with EADDRINUSE.
//   - an exception from a handler callback is printed to stderr and the socket is closed with
//     EIO, instead of becoming an uncaughtException that ends the process.

import { chmodSync } from "node:fs";
import * as net from "node:net";
import * as tls from "node:tls";
import {
  bareHost,
  errnoOf,
  HIGH_WATER_MARK,
  listenError,
  READ_BUFFER_SIZE,
  reportException,
} from "./common.ts";
import { nodeHasReusePort, processRuntime, spawnDetachedArgv, spawnWorkerArgv, writeStderr } from "./process_node.ts";
import type {
  ConnectOptions,
  Endpoint,
  ErrnoName,
  Listener,
  ListenOptions,
  Runtime,
  Socket,
  SocketHandler,
} from "./types.ts";

const kSock = Symbol("nutcracker.socket");
const kHandler = Symbol("nutcracker.handler");

type RawSocket = net.Socket & { [kSock]?: NodeSocket };
type RawServer = net.Server & { [kHandler]?: SocketHandler };

/** Shared by every outgoing socket: filled by one read, lent to one data call, then reused. */
let sharedReadBuffer: Buffer | null = null;


/** One node:net socket behind the Socket contract. */
class NodeSocket implements Socket {
  failure = "";
  ctx: unknown = undefined;
  readonly raw: RawSocket;
  readonly handler: SocketHandler;
  remoteAddress = "";
  remotePort = 0;
  /** First error seen; handed to handler.close. */
  err: ErrnoName | null = null;
  /** handler.close has been called. */
  done = false;
  /** end() or close() was called: later writes are dropped. */
  ended = false;
  /** pause() was called and resume() not yet. */
  paused = false;
  /**
   * Events of an accepted socket not yet handed to the handler, oldest first: data chunks and
   * H_END / H_CLOSE. Filled during an accept burst, and kept past it while the socket is paused.
   */
  held: (Buffer | number)[] | null = null;
  /** In heldSockets (released at the end of the burst). */
  listed = false;

  constructor(raw: RawSocket, handler: SocketHandler) {
    this.raw = raw;
    this.handler = handler;
    raw[kSock] = this;
  }

  get bufferedAmount(): number {
    return this.raw.writableLength;
  }

  write(bytes: Uint8Array): boolean {
    if (this.ended || this.raw.destroyed) return false;
    // Node's stream returns false once writableLength reaches the socket's highWaterMark, which
    // we set to HIGH_WATER_MARK, and then emits 'drain' when the buffer is empty again.
    return this.raw.write(bytes);
  }

  end(): void {
    if (this.ended || this.raw.destroyed) return;
    this.ended = true;
    this.raw.end();
  }

  close(): void {
    this.ended = true;
    // destroy() emits 'close' on a later tick, so handler.close never runs inside close()
    if (!this.raw.destroyed) this.raw.destroy();
  }

  pause(): void {
    this.paused = true;
    this.raw.pause();
  }

  resume(): void {
    this.paused = false;
    if (this.held === null) {
      this.raw.resume();
      return;
    }
    // what was held goes first, and not inside this call; the stream resumes once it is out
    if (burst) listHeld(this);
    else process.nextTick(releaseLater, this);
  }

  setNoDelay(on: boolean): void {
    // a unix socket has no TCP_NODELAY; Node makes this a no-op on pipes
    if (!this.raw.destroyed) this.raw.setNoDelay(on);
  }

  setKeepAlive(on: boolean, initialDelayMs: number): void {
    if (!this.raw.destroyed) this.raw.setKeepAlive(on, initialDelayMs);
  }

  /** A handler callback threw: report it and drop the connection. */
  fail(where: string, e: unknown): void {
    reportException(writeStderr, `handler.${where}`, e);
    if (this.err === null) this.err = "EIO";
    this.close();
  }
}

function sockOf(raw: RawSocket): NodeSocket {
  return raw[kSock] as NodeSocket;
}

// ---------------------------------------------------------------------------------------------
// Accept bursts
//
// libuv accepts one connection per event-loop turn since 1.45 (libuv PR #3696, "unix: don't
// accept() connections in a loop"; Node 20 ships 1.46): the listening socket stays readable and
// the next connection waits for the next turn. Every turn also serves all events of the clients
// accepted before, so when many clients connect at once and start at once (redis-benchmark's 50,
// or clients reconnecting after a restart), the last one is accepted only after dozens of full
// turns: under pipelined MGET 130-260 ms, the slowest request of the whole run. Twemproxy accepts
// until EAGAIN. So while connections keep coming (one was accepted in the current turn), the
// events of accepted sockets are held instead of handled, which makes each turn little more than
// its accept (a FIN or a close is handed over at once, after the socket's held data); the turn
// that accepts nothing hands them all over in order, as does the end of
// BURST_MAX_TURNS turns or BURST_MAX_MS, so that connections arriving without pause (a client
// that connects per request) cannot hold the others for long. Outgoing (server) sockets are never
// held, and neither is 'drain'.

/** Most loop turns an accept burst may hold the events of accepted sockets. */
const BURST_MAX_TURNS = 128;
/** Longest it may hold them, should turns be slow. */
const BURST_MAX_MS = 50;
const H_END = 1;
const H_CLOSE = 2;

/** Events of accepted sockets are being held. */
let burst = false;
/** A connection was accepted since the last burst check (one check per loop turn). */
let acceptedInTurn = false;
let burstSince = 0;
let burstTurns = 0;
/** Sockets with held events, to release when the burst ends. */
const heldSockets: NodeSocket[] = [];

function listHeld(s: NodeSocket): void {
  if (s.listed) return;
  s.listed = true;
  heldSockets.push(s);
}

function hold(s: NodeSocket, e: Buffer | number): void {
  if (s.held === null) s.held = [];
  s.held.push(e);
  if (burst) listHeld(s);
}

/** A connection was accepted: start a burst, or note that it goes on. */
function noteAccept(): void {
  acceptedInTurn = true;
  if (burst) return;
  burst = true;
  burstSince = performance.now();
  burstTurns = 0;
  setImmediate(burstCheck);
}

/** In the check phase of every turn of a burst (after that turn's poll, where accepts happen). */
function burstCheck(): void {
  if (acceptedInTurn && ++burstTurns < BURST_MAX_TURNS && performance.now() - burstSince < BURST_MAX_MS) {
    acceptedInTurn = false;
    setImmediate(burstCheck);
    return;
  }
  acceptedInTurn = false;
  burst = false;
  // release() runs handlers, which cannot hold anything now (burst is off) or accept, so the list
  // does not change under the loop
  for (let i = 0; i < heldSockets.length; i++) {
    const s = heldSockets[i]!;
    s.listed = false;
    if (s.held !== null) release(s);
  }
  heldSockets.length = 0;
}

/**
 * Hand `s`'s held events to its handler in order. A pause() (flow control) stops the data and the
 * EOF until resume(), as the stream would; a close after them drops them, as a destroyed stream
 * does; what was read after our own close() is dropped too.
 */
function release(s: NodeSocket): void {
  const h = s.held!;
  for (let i = 0; i < h.length; i++) {
    const e = h[i]!;
    if (e === H_CLOSE) {
      s.held = null;
      deliverClose(s);
      return;
    }
    if (s.raw.destroyed) continue;
    if (s.paused) {
      if (h.indexOf(H_CLOSE, i) >= 0) {
        s.held = null;
        deliverClose(s);
      } else {
        h.splice(0, i);
      }
      return;
    }
    if (e === H_END) deliverEnd(s);
    else deliverData(s, e as Buffer);
  }
  s.held = null;
  // resume() left the stream paused while held events were out
  if (!s.paused && !s.raw.destroyed && s.raw.isPaused()) s.raw.resume();
}

/** resume() of a socket with held events, on the next tick (handlers never run inside resume()). */
function releaseLater(s: NodeSocket): void {
  if (burst) {
    if (s.held !== null) listHeld(s);
    return;
  }
  if (s.held !== null && !s.paused) release(s);
}

/** 'data' of accepted sockets: a fresh Buffer per read (Node never reuses its memory). */
function onData(this: RawSocket, chunk: Buffer): void {
  const s = sockOf(this);
  if (burst || s.held !== null) {
    hold(s, chunk);
    return;
  }
  try {
    s.handler.data(s, chunk);
  } catch (e) {
    s.fail("data", e);
  }
}

function deliverData(s: NodeSocket, chunk: Buffer): void {
  try {
    s.handler.data(s, chunk);
  } catch (e) {
    s.fail("data", e);
  }
}

/**
 * 'end' of accepted sockets: at once, after what is held of the socket. A burst holds data only:
 * holding a FIN would put off the close that answers it, and a client that connects next would
 * be opened while the one that left is still counted (the cache server's --conn-limit did so).
 */
function onAcceptedEnd(this: RawSocket): void {
  const s = sockOf(this);
  if (s.held === null) deliverEnd(s);
  else {
    s.held.push(H_END);
    release(s);
  }
}

/** 'close' of accepted sockets: at once, after what is held, unless a pause holds that back (then dropped). */
function onAcceptedClose(this: RawSocket): void {
  const s = sockOf(this);
  if (s.held === null) deliverClose(s);
  else {
    s.held.push(H_CLOSE);
    release(s);
  }
}

/**
 * onread callback of outgoing sockets: `buf` is the shared read buffer. The chunk is a plain
 * Uint8Array view, not a Buffer: Buffer#slice makes a view where Uint8Array#slice copies, and a
 * handler that "copies" a borrowed chunk with slice() would otherwise keep memory the next read
 * overwrites (the contract test caught exactly that).
 */
function onSharedRead(this: RawSocket, n: number, buf: Buffer): boolean {
  const s = sockOf(this);
  try {
    s.handler.data(s, new Uint8Array(buf.buffer, buf.byteOffset, n));
  } catch (e) {
    s.fail("data", e);
  }
  return true;
}

function onEnd(this: RawSocket): void {
  const s = sockOf(this);
  // after an error (a TLS alert is read as one) the close that follows carries it: no half-close first
  if (s.err !== null) return;
  deliverEnd(s);
}

function deliverEnd(s: NodeSocket): void {
  try {
    s.handler.end(s);
  } catch (e) {
    s.fail("end", e);
  }
}

function onDrain(this: RawSocket): void {
  const s = sockOf(this);
  try {
    s.handler.drain(s);
  } catch (e) {
    s.fail("drain", e);
  }
}

function onError(this: RawSocket, err: Error): void {
  const s = sockOf(this);
  if (s.err !== null) return;
  const code = (err as { code?: unknown }).code;
  // what is not an errno on a TLS socket is its handshake or its certificate: say which
  if (this instanceof tls.TLSSocket && errnoOf(err, "EPROTO") === "EPROTO") {
    s.err = "EPROTO";
    s.failure = `TLS: ${err.message}${typeof code === "string" ? ` (${code})` : ""}`;
    return;
  }
  s.err = errnoOf(err, "EIO");
}

function onClose(this: RawSocket): void {
  deliverClose(sockOf(this));
}

function deliverClose(s: NodeSocket): void {
  if (s.done) return;
  s.done = true;
  s.ended = true;
  try {
    s.handler.close(s, s.err);
  } catch (e) {
    reportException(writeStderr, "handler.close", e);
  }
}

function onConnect(this: RawSocket): void {
  const s = sockOf(this);
  if (this.remoteAddress !== undefined) {
    s.remoteAddress = this.remoteAddress;
    s.remotePort = this.remotePort ?? 0;
  }
  try {
    s.handler.open(s);
  } catch (e) {
    s.fail("open", e);
  }
}

function onConnection(this: RawServer, raw: RawSocket): void {
  const handler = this[kHandler] as SocketHandler;
  const s = new NodeSocket(raw, handler);
  s.remoteAddress = raw.remoteAddress ?? "";
  s.remotePort = raw.remotePort ?? 0;
  raw.on("data", onData);
  raw.on("end", onAcceptedEnd);
  raw.on("drain", onDrain);
  raw.on("error", onError);
  raw.on("close", onAcceptedClose);
  noteAccept();
  try {
    handler.open(s);
  } catch (e) {
    s.fail("open", e);
  }
}

function onServerError(this: RawServer, err: Error): void {
  // after listen() resolved, accept(2) failures (EMFILE...) arrive here; twemproxy logs and goes on
  writeStderr(`nutcracker: accept failed: ${errnoOf(err, "EIO")}\n`);
}

function listen(opts: ListenOptions, handler: SocketHandler): Promise<Listener> {
  const ep = opts.endpoint;
  const t = opts.tls;
  return new Promise<Listener>((resolve, reject) => {
    const server: RawServer =
      t === undefined
        ? net.createServer({ allowHalfOpen: true, highWaterMark: HIGH_WATER_MARK })
        : tls.createServer({
          allowHalfOpen: true,
          highWaterMark: HIGH_WATER_MARK,
          cert: t.cert,
          key: t.key,
          ca: t.ca,
          // with a CA, a client must show a certificate it signed
          requestCert: t.ca !== undefined,
          rejectUnauthorized: t.ca !== undefined,
        } as tls.TlsOptions);
    server[kHandler] = handler;
    const failed = (err: Error): void => reject(listenError(err, ep));
    server.once("error", failed);
    server.once("listening", () => {
      server.off("error", failed);
      server.on("error", onServerError);
      // a TLS client is the handler's once its handshake is done; one that fails it never was
      if (t === undefined) server.on("connection", onConnection);
      else {
        server.on("secureConnection", onConnection);
        server.on("tlsClientError", ignoreTlsClientError);
      }
      let endpoint: Endpoint;
      if (ep.path !== undefined) {
        if (opts.mode !== undefined) {
          try {
            chmodSync(ep.path, opts.mode);
          } catch (e) {
            server.close();
            reject(listenError(e, ep));
            return;
          }
        }
        endpoint = { path: ep.path };
      } else {
        const addr = server.address() as net.AddressInfo;
        endpoint = { host: ep.host, port: addr.port };
      }
      resolve({
        endpoint,
        close() {
          // libuv unlinks a unix socket path when the server handle closes
          server.close();
        },
      });
    });
    try {
      if (ep.path !== undefined) {
        server.listen({ path: ep.path, backlog: opts.backlog });
      } else {
        // `reusePort` exists from Node 22.12/23.1; older versions ignore the unknown option
        server.listen({
          host: bareHost(ep.host),
          port: ep.port,
          backlog: opts.backlog,
          reusePort: opts.reusePort === true,
        } as net.ListenOptions);
      }
    } catch (e) {
      reject(listenError(e, ep));
    }
  });
}

function ignoreTlsClientError(): void {}

/** When the caller gives no handshake limit. */
const HANDSHAKE_MS = 1000;

function onSecureConnect(this: RawSocket): void {
  this.setTimeout(0);
  onConnect.call(this);
}

/** A TLS connect: node:tls does the handshake, then it is a socket like the others (read by 'data'). */
function connectTls(opts: ConnectOptions, handler: SocketHandler): Socket {
  const ep = opts.endpoint;
  const t = opts.tls!;
  const host = ep.path === undefined ? bareHost(ep.host) : undefined;
  const raw = tls.connect({
    ...(ep.path !== undefined ? { path: ep.path } : { host, port: ep.port }),
    allowHalfOpen: true,
    highWaterMark: HIGH_WATER_MARK,
    ca: t.ca,
    cert: t.cert,
    key: t.key,
    // SNI takes names only; the certificate is still checked against the address
    servername: t.serverName ?? (host !== undefined && net.isIP(host) === 0 ? host : undefined),
    rejectUnauthorized: t.verify !== false,
  } as unknown as tls.ConnectionOptions) as unknown as RawSocket;
  const s = new NodeSocket(raw, handler);
  if (ep.path !== undefined) s.remoteAddress = ep.path;
  raw.setNoDelay(opts.noDelay === true);
  if (opts.keepAlive === true) raw.setKeepAlive(true);
  // a plain-text server never answers the ClientHello: give up after the limit, saying so
  raw.setTimeout(t.handshakeMs ?? HANDSHAKE_MS, () => {
    if (s.err === null) {
      s.err = "EPROTO";
      s.failure = `TLS: no handshake within ${t.handshakeMs ?? HANDSHAKE_MS} ms (is the server speaking TLS?)`;
    }
    raw.destroy();
  });
  raw.once("secureConnect", onSecureConnect);
  raw.on("data", onData);
  raw.on("end", onEnd);
  raw.on("drain", onDrain);
  raw.on("error", onError);
  raw.on("close", onClose);
  return s;
}

function connect(opts: ConnectOptions, handler: SocketHandler): Socket {
  if (opts.tls !== undefined) return connectTls(opts, handler);
  const ep = opts.endpoint;
  if (sharedReadBuffer === null) sharedReadBuffer = Buffer.allocUnsafe(READ_BUFFER_SIZE);
  const raw: RawSocket = new net.Socket({
    allowHalfOpen: true,
    highWaterMark: HIGH_WATER_MARK,
    onread: { buffer: sharedReadBuffer, callback: onSharedRead },
    noDelay: opts.noDelay === true,
    keepAlive: opts.keepAlive === true,
  } as net.SocketConstructorOpts);
  const s = new NodeSocket(raw, handler);
  raw.on("connect", onConnect);
  raw.on("end", onEnd);
  raw.on("drain", onDrain);
  raw.on("error", onError);
  raw.on("close", onClose);
  try {
    // net resolves host names with dns.lookup on every connect (no cache); ENOTFOUND and
    // EAI_AGAIN arrive as 'error' and map to EHOSTDOWN
    if (ep.path !== undefined) {
      s.remoteAddress = ep.path;
      raw.connect({ path: ep.path });
    } else {
      raw.connect({ host: bareHost(ep.host), port: ep.port });
    }
  } catch (e) {
    // a bad port throws here; report it through handler.close like any failed connect
    s.err = errnoOf(e, "EINVAL");
    raw.destroy();
  }
  return s;
}

/**
 * The Node runtime. `defer` is setImmediate: it runs after every I/O callback of the current
 * poll phase, so writes caused by one batch of events coalesce (queueMicrotask would run after
 * each single callback).
 */
export function createNodeRuntime(): Runtime {
  return {
    ...processRuntime(),
    name: "node",
    listen,
    connect,
    args: process.argv.slice(2),
    spawnDetached(args: readonly string[]): number {
      // node [flags] script args: same executable, same flags, same entry (dist/nutcracker.mjs)
      const script = process.argv[1];
      const self = script === undefined ? [process.execPath] : [process.execPath, ...process.execArgv, script];
      return spawnDetachedArgv([...self, ...args]);
    },
    spawnWorker(args, exited) {
      const script = process.argv[1];
      const self = script === undefined ? [process.execPath] : [process.execPath, ...process.execArgv, script];
      // without SO_REUSEPORT the workers share listeners through node:cluster (it needs a script)
      return spawnWorkerArgv(self, args, exited, !nodeHasReusePort() && script !== undefined);
    },
  };
}

