// A Bun socket behind the Socket contract and the callbacks Bun calls on it; what Bun does and how this bends it to the contract is told at the top of bun.ts.
/// <reference types="bun-types" />

import { ChunkQueue, errnoOf, HIGH_WATER_MARK, reportException } from "./common.ts";
import { writeAllSync } from "./process_node.ts";
import type { ErrnoName, Socket, SocketHandler, TlsOptions } from "./types.ts";

export type RawSocket = Bun.Socket<BunSocket>;

function writeStderr(text: string): void {
  writeAllSync(2, text);
}

/** One Bun socket (or a connect still under way) behind the Socket contract. */
export class BunSocket implements Socket {
  failure = "";
  /** A TLS connect: its certificate is checked (verify), and its handshake has a deadline. */
  tls: TlsOptions | null = null;
  handshakeTimer: ReturnType<typeof setTimeout> | null = null;
  /** The TCP socket of a TLS connect whose handshake is not done yet. */
  tcp: RawSocket | null = null;
  ctx: unknown = undefined;
  readonly handler: SocketHandler;
  /** null until Bun reports the connection open. */
  raw: RawSocket | null = null;
  remoteAddress = "";
  remotePort = 0;
  /** Bytes Bun did not take yet (and everything written before the connect completed). */
  readonly queue = new ChunkQueue();
  /** write() returned false: call handler.drain once the queue is empty. */
  needDrain = false;
  /** end() was called; FIN goes out once the queue is empty. */
  endWanted = false;
  finSent = false;
  peerEnded = false;
  paused = false;
  /** close() was called. */
  closing = false;
  /** handler.close has been called. */
  done = false;
  err: ErrnoName | null = null;
  /** Asked before the connect completed; null: leave Bun's default. */
  noDelay: boolean | null = null;
  keepAlive = false;
  keepAliveDelay = 0;

  constructor(handler: SocketHandler) {
    this.handler = handler;
  }

  get bufferedAmount(): number {
    return this.queue.bytes;
  }

  write(bytes: Uint8Array): boolean {
    if (this.endWanted || this.closing || this.done) return false;
    const q = this.queue;
    const raw = this.raw;
    if (raw !== null && q.length === 0) {
      const n = raw.write(bytes);
      if (n === bytes.byteLength) return true;
      // -1: Bun already closed the socket; its close callback reports why
      if (n < 0) return false;
      q.push(n === 0 ? bytes : bytes.subarray(n));
    } else {
      q.push(bytes);
    }
    if (q.bytes >= HIGH_WATER_MARK) {
      this.needDrain = true;
      return false;
    }
    return true;
  }

  end(): void {
    if (this.endWanted || this.closing || this.done) return;
    this.endWanted = true;
    if (this.raw !== null && this.queue.length === 0) this.sendFin();
  }

  close(): void {
    if (this.closing || this.done) return;
    this.closing = true;
    this.queue.clear();
    const raw = this.raw;
    if (raw !== null) raw.close();
    // a connect still under way is closed when Bun opens it (or its error is ignored)
    queueMicrotask(() => deliverClose(this, this.err));
  }

  pause(): void {
    this.paused = true;
    if (this.raw !== null) this.raw.pause();
  }

  resume(): void {
    this.paused = false;
    if (this.raw !== null) this.raw.resume();
  }

  setNoDelay(on: boolean): void {
    this.noDelay = on;
    if (this.raw !== null) this.raw.setNoDelay(on);
  }

  setKeepAlive(on: boolean, initialDelayMs: number): void {
    this.keepAlive = on;
    this.keepAliveDelay = initialDelayMs;
    if (this.raw !== null) this.raw.setKeepAlive(on, initialDelayMs);
  }

  /** Connected: take over `raw` and apply what was asked before (see flushEarly). */
  attach(raw: RawSocket): void {
    this.raw = raw;
    if (this.remoteAddress === "") {
      this.remoteAddress = raw.remoteAddress ?? "";
      this.remotePort = raw.remotePort ?? 0;
    }
    if (this.paused) raw.pause();
    if (this.noDelay !== null) raw.setNoDelay(this.noDelay);
    if (this.keepAlive) raw.setKeepAlive(true, this.keepAliveDelay);
  }

  /** After handler.open: writes and an end() made while connecting go out (drain comes after open). */
  flushEarly(): void {
    const raw = this.raw;
    if (raw !== null && !this.closing && (this.queue.length > 0 || this.endWanted)) flushQueue(this, raw);
  }

  /** Half-close now that nothing is queued. */
  sendFin(): void {
    this.finSent = true;
    const raw = this.raw as RawSocket;
    raw.shutdown();
    // the peer had already sent its FIN: Bun closes the socket by itself soon after (observed);
    // make sure of it, but not inside this call, which may be the owner's sock.end()
    if (this.peerEnded) queueMicrotask(() => closeIfOpen(this, raw));
  }

  /** A handler callback threw: report it and drop the connection. */
  fail(where: string, e: unknown): void {
    reportException(writeStderr, `handler.${where}`, e);
    if (this.err === null) this.err = "EIO";
    this.close();
  }
}

function closeIfOpen(s: BunSocket, raw: RawSocket): void {
  if (!s.closing && !s.done) raw.close();
}

export function deliverClose(s: BunSocket, err: ErrnoName | null): void {
  if (s.done) return;
  s.done = true;
  try {
    s.handler.close(s, err);
  } catch (e) {
    reportException(writeStderr, "handler.close", e);
  }
}

/** Hand queued bytes to Bun until it takes less than offered; then FIN and drain as due. */
function flushQueue(s: BunSocket, raw: RawSocket): void {
  const q = s.queue;
  while (q.length > 0) {
    const head = q.peek();
    const n = raw.write(head);
    if (n < 0) return;
    q.consume(n);
    if (n < head.byteLength) return;
  }
  if (s.endWanted && !s.finSent) s.sendFin();
  if (s.needDrain && !s.closing) {
    s.needDrain = false;
    try {
      s.handler.drain(s);
    } catch (e) {
      s.fail("drain", e);
    }
  }
}

export function onData(raw: RawSocket, chunk: Uint8Array): void {
  const s = raw.data;
  // undefined: an accepted TLS socket before its handshake is done
  if (s === undefined || s.closing) return;
  try {
    s.handler.data(s, chunk);
  } catch (e) {
    s.fail("data", e);
  }
}

export function onDrain(raw: RawSocket): void {
  const s = raw.data;
  if (s === undefined || s.closing || s.done) return;
  if (s.queue.length > 0 || s.needDrain) flushQueue(s, raw);
}

export function onEnd(raw: RawSocket): void {
  const s = raw.data;
  if (s === undefined || s.closing || s.peerEnded) return;
  s.peerEnded = true;
  try {
    s.handler.end(s);
  } catch (e) {
    s.fail("end", e);
    return;
  }
  // both directions are done; Bun does not always close by itself then
  if (s.finSent && !s.closing) raw.close();
}

export function onClose(raw: RawSocket, error?: Error): void {
  const s = raw.data;
  if (s === undefined || s.closing || s.done) return;
  if (error !== undefined && error !== null && s.err === null) s.err = errnoOf(error, "ECONNRESET");
  if (s.err === null && !s.peerEnded) {
    // the peer's FIN closed the socket without an `end` call (see the header)
    s.peerEnded = true;
    try {
      s.handler.end(s);
    } catch (e) {
      reportException(writeStderr, "handler.end", e);
    }
  }
  s.closing = true;
  s.queue.clear();
  deliverClose(s, s.err);
}

export function onError(raw: RawSocket, error: Error): void {
  const s = raw.data;
  if (s === undefined || s.err !== null) return;
  // on a TLS socket what is no errno is the handshake or an alert (a certificate required...): say which
  if (s.tls !== null && errnoOf(error, "EPROTO") === "EPROTO") {
    s.err = "EPROTO";
    const code = (error as { code?: unknown }).code;
    s.failure = `TLS: ${error.message}${typeof code === "string" ? ` (${code})` : ""}`;
    return;
  }
  s.err = errnoOf(error, "EIO");
}

/**
 * >0 while Bun.connect() runs: for a unix path Bun calls connectError (and may call open) inside
 * that call, before connect() has returned the socket to its owner; such calls are replayed on a
 * microtask.
 */
let connectDepth = 0;

/** Around each Bun.connect() call: its callbacks inside the call wait for a microtask. */
export function enterConnect(): void {
  connectDepth++;
}

export function leaveConnect(): void {
  connectDepth--;
}

function onOpenOutgoing(raw: RawSocket): void {
  if (connectDepth > 0) {
    queueMicrotask(() => onOpenOutgoing(raw));
    return;
  }
  const s = raw.data;
  if (s.closing || s.done) {
    raw.close();
    return;
  }
  s.attach(raw);
  try {
    s.handler.open(s);
  } catch (e) {
    s.fail("open", e);
    return;
  }
  s.flushEarly();
}

function onConnectError(raw: RawSocket, error: Error): void {
  if (connectDepth > 0) {
    queueMicrotask(() => onConnectError(raw, error));
    return;
  }
  const s = raw.data;
  if (s.closing || s.done) return;
  s.closing = true;
  deliverClose(s, errnoOf(error, "ECONNREFUSED"));
}

/**
 * A TLS socket is the owner's once its handshake is done (Bun calls `open` at the TCP connect):
 * a failed handshake or a certificate that does not verify closes it with EPROTO and says why.
 */
function onHandshake(raw: RawSocket, success: boolean, authorizationError: Error | null): void {
  if (connectDepth > 0) {
    queueMicrotask(() => onHandshake(raw, success, authorizationError));
    return;
  }
  const s = raw.data;
  if (s.handshakeTimer !== null) {
    clearTimeout(s.handshakeTimer);
    s.handshakeTimer = null;
  }
  if (s.closing || s.done) return;
  // with tls_verify false a certificate that does not verify is accepted, as node:tls does (Bun
  // says success false for a name that does not match even then; a handshake that really failed
  // closes the socket by itself)
  if (s.tls?.verify !== false && (!success || authorizationError !== null)) {
    s.failure = `TLS: ${authorizationError?.message ?? "handshake failed"}${(authorizationError as { code?: string } | null)?.code !== undefined ? ` (${(authorizationError as { code?: string }).code})` : ""}`;
    s.closing = true;
    raw.terminate();
    deliverClose(s, "EPROTO");
    return;
  }
  onOpenOutgoing(raw);
}

/** Every outgoing socket shares this handler object; `data` carries the BunSocket. */
export const outgoingHandlers = {
  binaryType: "uint8array" as const,
  open: onOpenOutgoing,
  data: onData,
  drain: onDrain,
  end: onEnd,
  close: onClose,
  error: onError,
  connectError: onConnectError,
};

/** TLS sockets: the same, but opened by the handshake. */
export const outgoingTlsHandlers = {
  ...outgoingHandlers,
  open(raw: RawSocket): void {
    raw.data.tcp = raw;
  },
  handshake: onHandshake,
};
