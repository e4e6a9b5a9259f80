// Bun adapter: Bun.listen/Bun.connect sockets behind the Runtime contract; node:fs and friends for the rest.
//
// Bun wants one handler object per listener, shared by all its sockets; ours keep their state on
// `raw.data` (a BunSocket), so nothing is allocated per chunk or per write. What Bun observably
// does (1.4.5), and how it is bent to the contract:
//   - write() is unbuffered: it returns how many bytes the kernel took (-1 once closed). The
//     unwritten tail waits in our queue and goes out on Bun's `drain`.
//   - `drain` also fires spuriously (after pause/resume, after a peer FIN), so handler.drain is
//     only called when our write() returned false before.
//   - end() closes the whole socket, although allowHalfOpen is set; shutdown() is the half-close.
//   - after our shutdown(), a peer FIN closes the socket without calling `end`; the adapter
//     reports handler.end before handler.close, as Node does.
//   - close() calls the `close` callback synchronously; it is reported later (microtask) so
//     handler.close never runs inside sock.close().
//   - a failed connect only calls `connectError` (no `close`); Bun.connect throws synchronously
//     for a bad port. Bun.listen throws synchronously (EADDRINUSE), takes `reusePort` but no
//     backlog, refuses an existing unix socket file, and removes the file on stop().
//   - Bun.connect caches DNS answers for 30 s (Bun.dns.getCacheStats() counts hits), so host
//     names are looked up with node:dns (getaddrinfo; it never touches that cache) on every
//     connect and Bun.connect gets the address.
/// <reference types="bun-types" />

import { chmodSync } from "node:fs";
import { lookup } from "node:dns";
import { isIP } from "node:net";
import {
  bareHost,
  ChunkQueue,
  errnoOf,
  HIGH_WATER_MARK,
  listenError,
  reportException,
} from "./common.ts";
import {
  processRuntime,
  spawnDetachedArgv,
  spawnWorkerArgv,
  writeAllSync,
} from "./process_node.ts";
import type {
  TlsOptions,
  ConnectOptions,
  Endpoint,
  ErrnoName,
  Listener,
  ListenOptions,
  Runtime,
  Socket,
  SocketHandler,
} from "./types.ts";

type RawSocket = Bun.Socket<BunSocket>;

function writeStderr(text: string): void {
  writeAllSync(2, text);
}

/** One Bun socket (or a connect still under way) behind the Socket contract. */
class BunSocket implements Socket {
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

function deliverClose(s: BunSocket, err: ErrnoName | null): void {
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

function onData(raw: RawSocket, chunk: Uint8Array): void {
  const s = raw.data;
  if (s.closing) return;
  try {
    s.handler.data(s, chunk);
  } catch (e) {
    s.fail("data", e);
  }
}

function onDrain(raw: RawSocket): void {
  const s = raw.data;
  if (s === undefined || s.closing || s.done) return;
  if (s.queue.length > 0 || s.needDrain) flushQueue(s, raw);
}

function onEnd(raw: RawSocket): void {
  const s = raw.data;
  if (s.closing || s.peerEnded) return;
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

function onClose(raw: RawSocket, error?: Error): void {
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

function onError(raw: RawSocket, error: Error): void {
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
  // with tls_verify false a certificate that does not verify is accepted, as node:tls does
  if (!success || (authorizationError !== null && s.tls?.verify !== false)) {
    s.failure = `TLS: ${authorizationError?.message ?? "handshake failed"}${(authorizationError as { code?: string } | null)?.code !== undefined ? ` (${(authorizationError as { code?: string }).code})` : ""}`;
    s.closing = true;
    raw.terminate();
    deliverClose(s, "EPROTO");
    return;
  }
  onOpenOutgoing(raw);
}

/** TLS sockets: as below, but opened by the handshake. */
const outgoingTlsHandlers = {
  binaryType: "uint8array" as const,
  open(raw: RawSocket): void {
    raw.data.tcp = raw;
  },
  handshake: onHandshake,
  data: onData,
  drain: onDrain,
  end: onEnd,
  close: onClose,
  error: onError,
  connectError: onConnectError,
};

/** Every outgoing socket shares this handler object; `data` carries the BunSocket. */
const outgoingHandlers = {
  binaryType: "uint8array" as const,
  open: onOpenOutgoing,
  data: onData,
  drain: onDrain,
  end: onEnd,
  close: onClose,
  error: onError,
  connectError: onConnectError,
};

function listen(opts: ListenOptions, handler: SocketHandler): Promise<Listener> {
  const ep = opts.endpoint;
  const t = opts.tls;
  const tlsOpt =
    t === undefined ? {} : { tls: { cert: t.cert, key: t.key, ca: t.ca, requestCert: t.ca !== undefined, rejectUnauthorized: t.ca !== undefined } };
  // the per-listener handler object; only `open` needs to know the SocketHandler
  const socket = {
    binaryType: "uint8array" as const,
    open(raw: RawSocket): void {
      const s = new BunSocket(handler);
      raw.data = s;
      s.attach(raw);
      try {
        handler.open(s);
      } catch (e) {
        s.fail("open", e);
      }
    },
    data: onData,
    drain: onDrain,
    end: onEnd,
    close: onClose,
    error: onError,
  };
  let server: Bun.SocketListener<BunSocket>;
  let endpoint: Endpoint;
  try {
    if (ep.path !== undefined) {
      server = Bun.listen<BunSocket>({ unix: ep.path, allowHalfOpen: true, socket, ...tlsOpt } as Bun.UnixSocketOptions<BunSocket>);
      if (opts.mode !== undefined) {
        try {
          chmodSync(ep.path, opts.mode);
        } catch (e) {
          server.stop(true);
          throw e;
        }
      }
      endpoint = { path: ep.path };
    } else {
      const tcp = Bun.listen<BunSocket>({
        hostname: bareHost(ep.host),
        port: ep.port,
        allowHalfOpen: true,
        socket,
        ...tlsOpt,
        // Bun.listen has SO_REUSEPORT (Linux) but no backlog option; opts.backlog is ignored
        ...(opts.reusePort === true ? { reusePort: true } : {}),
      } as Bun.TCPSocketListenOptions<BunSocket>);
      server = tcp;
      endpoint = { host: ep.host, port: tcp.port };
    }
  } catch (e) {
    return Promise.reject(listenError(e, ep));
  }
  return Promise.resolve({
    endpoint,
    close() {
      // false: keep the accepted sockets; Bun removes a unix socket file here
      server.stop(false);
    },
  });
}

function startConnect(s: BunSocket, target: { hostname: string; port: number } | { unix: string }, tls?: TlsOptions, name?: string): void {
  if (s.closing || s.done) return;
  connectDepth++;
  try {
    const t =
      tls === undefined
        ? {}
        : {
          tls: {
            ca: tls.ca,
            cert: tls.cert,
            key: tls.key,
            serverName: tls.serverName ?? name,
            rejectUnauthorized: tls.verify !== false,
          },
        };
    const socket = tls === undefined ? outgoingHandlers : outgoingTlsHandlers;
    if (tls !== undefined) {
      s.tls = tls;
      const ms = tls.handshakeMs ?? 1000;
      // a plain-text server never answers the ClientHello
      s.handshakeTimer = setTimeout(() => {
        s.handshakeTimer = null;
        if (s.closing || s.done) return;
        s.failure = `TLS: no handshake within ${ms} ms (is the server speaking TLS?)`;
        s.closing = true;
        (s.raw ?? s.tcp)?.terminate();
        deliverClose(s, "EPROTO");
      }, ms);
    }
    const p =
      "unix" in target
        ? Bun.connect<BunSocket>({ unix: target.unix, allowHalfOpen: true, data: s, socket, ...t } as Bun.UnixSocketOptions<BunSocket>)
        : Bun.connect<BunSocket>({
          hostname: target.hostname,
          port: target.port,
          allowHalfOpen: true,
          data: s,
          socket,
          ...t,
        } as Bun.TCPSocketConnectOptions<BunSocket>);
    // with connectError set Bun does not report the rejection, but a stray one must not escape
    p.then(undefined, ignore);
  } catch (e) {
    // Bun.connect throws synchronously for a bad port
    s.closing = true;
    const err = errnoOf(e, "EINVAL");
    queueMicrotask(() => deliverClose(s, err));
  } finally {
    connectDepth--;
  }
}

function ignore(): void {}

function connect(opts: ConnectOptions, handler: SocketHandler): Socket {
  const ep = opts.endpoint;
  const s = new BunSocket(handler);
  if (opts.noDelay !== undefined) s.noDelay = opts.noDelay;
  if (opts.keepAlive === true) s.keepAlive = true;
  if (ep.path !== undefined) {
    s.remoteAddress = ep.path;
    startConnect(s, { unix: ep.path }, opts.tls);
    return s;
  }
  const host = bareHost(ep.host);
  s.remotePort = ep.port;
  if (isIP(host) !== 0) {
    s.remoteAddress = host;
    startConnect(s, { hostname: host, port: ep.port }, opts.tls);
    return s;
  }
  lookup(host, (err, address) => {
    if (s.closing || s.done) return;
    if (err !== null) {
      s.closing = true;
      deliverClose(s, "EHOSTDOWN");
      return;
    }
    s.remoteAddress = address;
    // the certificate names the host, not the address it resolved to
    startConnect(s, { hostname: address, port: ep.port }, opts.tls, host);
  });
  return s;
}

/**
 * Where the program's own arguments start. `bun run x.ts a` gives [bun, /abs/x.ts, a]; a
 * `bun build --compile` binary gives ["bun", "/$bunfs/root/<name>", a] (1.4.5), that is argv[1]
 * is Bun.main in both cases. Older compiled binaries were reported without that entry, so
 * argv[1] is checked rather than assumed.
 */
function bunArgs(): string[] {
  const argv = process.argv;
  return argv.length > 1 && argv[1] === Bun.main ? argv.slice(2) : argv.slice(1);
}

function isCompiled(): boolean {
  return Bun.main.startsWith("/$bunfs/") || Bun.main.startsWith("B:/~BUN/") || Bun.main.startsWith("B:\\~BUN\\");
}

/**
 * The Bun runtime. `defer` is setImmediate: measured on Bun 1.4.5, it runs once after all the
 * socket callbacks of one event-loop turn, while queueMicrotask runs after each callback.
 */
export function createBunRuntime(): Runtime {
  return {
    ...processRuntime(),
    name: "bun",
    listen,
    connect,
    args: bunArgs(),
    spawnDetached(args: readonly string[]): number {
      // a compiled binary is its own entry; `bun [flags] x.ts` needs the flags and the script
      const self = isCompiled() ? [process.execPath] : [process.execPath, ...process.execArgv, Bun.main];
      return spawnDetachedArgv([...self, ...args]);
    },
    spawnWorker(args, exited) {
      // Bun.listen has SO_REUSEPORT: plain children
      const self = isCompiled() ? [process.execPath] : [process.execPath, ...process.execArgv, Bun.main];
      return spawnWorkerArgv(self, args, exited, false);
    },
  };
}
