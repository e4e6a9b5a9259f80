// Node adapter: listeners and connects (plain and TLS) behind the Runtime contract; the socket and its events are socket_node.ts, the process half (timers, signals, files) process_node.ts, shared with Bun.
//
// Socket events are wired with module-level listener functions that find their wrapper through
// `this` (EventEmitter calls listeners with the emitter as `this`), so no closure is made per
// connection or per chunk. What Node (20, 22, 24 and 26, the lines the tests run) does, and how it
// meets the contract:
//   - outgoing sockets read through `onread` into one shared 64 KB buffer (the chunk is borrowed,
//     so no ArrayBuffer is made per read); net.Server has no `onread` (up to 26.12 its
//     onconnection makes the accepted Socket without one, and an `onread` given to createServer
//     is ignored: checked on 20.20, 22.23, 24.22 and 26.12), so accepted sockets get a fresh
//     Buffer per 'data' event. Idle sockets hold no read buffer either way: libuv allocates one
//     only when the socket is readable.
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
//     ignores the option and a second bind fails with EADDRINUSE. --workers takes it where
//     nodeHasReusePort() says so, node:cluster elsewhere; the contract's reuse_port checks that
//     claim against a second bind on every Node line.
//   - an exception from a handler callback is printed to stderr and the socket is closed with
//     EIO, instead of becoming an uncaughtException that ends the process.

import { chmodSync } from "node:fs";
import * as net from "node:net";
import * as tls from "node:tls";
import { bareHost, errnoOf, HIGH_WATER_MARK, listenError } from "./common.ts";
import { nodeHasReusePort, processRuntime, spawnDetachedArgv, spawnWorkerArgv } from "./process_node.ts";
import {
  kHandler,
  NodeSocket,
  onClose,
  onConnect,
  onConnection,
  onDrain,
  onEnd,
  onError,
  onOutgoingData,
  onServerError,
  onSharedRead,
  type RawServer,
  type RawSocket,
  sharedReadBuf,
} from "./socket_node.ts";
import type { ConnectOptions, Endpoint, Listener, ListenOptions, Runtime, Socket, SocketHandler } from "./types.ts";

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
  raw.on("data", onOutgoingData);
  raw.on("end", onEnd);
  raw.on("drain", onDrain);
  raw.on("error", onError);
  raw.on("close", onClose);
  return s;
}

function connect(opts: ConnectOptions, handler: SocketHandler): Socket {
  if (opts.tls !== undefined) return connectTls(opts, handler);
  const ep = opts.endpoint;
  const raw: RawSocket = new net.Socket({
    allowHalfOpen: true,
    highWaterMark: HIGH_WATER_MARK,
    onread: { buffer: sharedReadBuf(), callback: onSharedRead },
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

