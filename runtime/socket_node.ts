// A node:net socket behind the Socket contract, its event listeners and the accept bursts; what Node does and how this meets the contract is told at the top of node.ts.

import type * as net from "node:net";
import * as tls from "node:tls";
import { errnoOf, READ_BUFFER_SIZE, reportException } from "./common.ts";
import { writeStderr } from "./process_node.ts";
import type { ErrnoName, Socket, SocketHandler } from "./types.ts";

const kSock = Symbol("nutcracker.socket");
export const kHandler = Symbol("nutcracker.handler");

export type RawSocket = net.Socket & { [kSock]?: NodeSocket };
export type RawServer = net.Server & { [kHandler]?: SocketHandler };

/** Shared by every outgoing socket: filled by one read, lent to one data call, then reused. */
let sharedReadBuffer: Buffer | null = null;

/** The outgoing sockets' shared read buffer, made by the first connect. */
export function sharedReadBuf(): Buffer {
  if (sharedReadBuffer === null) sharedReadBuffer = Buffer.allocUnsafe(READ_BUFFER_SIZE);
  return sharedReadBuffer;
}


/** One node:net socket behind the Socket contract. */
export class NodeSocket implements Socket {
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
// accept() connections in a loop"; Node 20.20 ships 1.46, 22.23 1.51, 24.22 and 26.12 1.52.1,
// and each accepts 100 waiting connections one per turn, measured): the listening socket stays
// readable and the next connection waits for the next turn. Every turn also serves all events of the clients
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
export function onData(this: RawSocket, chunk: Buffer): void {
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

/** 'data' of an outgoing TLS socket: never held, like the shared-buffer reads of outgoing TCP (its end and close are not held either). */
export function onOutgoingData(this: RawSocket, chunk: Buffer): void {
  deliverData(sockOf(this), chunk);
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
export function onSharedRead(this: RawSocket, n: number, buf: Buffer): boolean {
  const s = sockOf(this);
  try {
    s.handler.data(s, new Uint8Array(buf.buffer, buf.byteOffset, n));
  } catch (e) {
    s.fail("data", e);
  }
  return true;
}

export function onEnd(this: RawSocket): void {
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

export function onDrain(this: RawSocket): void {
  const s = sockOf(this);
  try {
    s.handler.drain(s);
  } catch (e) {
    s.fail("drain", e);
  }
}

export function onError(this: RawSocket, err: Error): void {
  const s = sockOf(this);
  if (s.err !== null) return;
  const code = (err as { code?: unknown }).code;
  // what is not an errno on a TLS socket is its handshake or its certificate: say which
  if (this instanceof tls.TLSSocket && errnoOf(err, "EPROTO") === "EPROTO") {
    s.err = "EPROTO";
    s.failure = `TLS: ${err.message}${typeof code === "string" ? ` (${code})` : ""}`;
    // an alert read after the handshake (a refused client certificate) ends the stream but, with
    // allowHalfOpen, never closes the socket
    this.destroy();
    return;
  }
  s.err = errnoOf(err, "EIO");
}

export function onClose(this: RawSocket): void {
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

export function onConnect(this: RawSocket): void {
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

export function onConnection(this: RawServer, raw: RawSocket): void {
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

export function onServerError(this: RawServer, err: Error): void {
  // after listen() resolved, accept(2) failures (EMFILE...) arrive here; twemproxy logs and goes on
  writeStderr(`nutcracker: accept failed: ${errnoOf(err, "EIO")}\n`);
}
