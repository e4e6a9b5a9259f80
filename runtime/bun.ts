// Bun adapter: Bun.listen/Bun.connect listeners and connects behind the Runtime contract; the socket and its callbacks are socket_bun.ts, node:fs and friends (process_node.ts) the rest.
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
import { bareHost, errnoOf, listenError } from "./common.ts";
import { processRuntime, spawnDetachedArgv, spawnWorkerArgv } from "./process_node.ts";
import {
  BunSocket,
  deliverClose,
  enterConnect,
  leaveConnect,
  onClose,
  onData,
  onDrain,
  onEnd,
  onError,
  outgoingHandlers,
  outgoingTlsHandlers,
  type RawSocket,
} from "./socket_bun.ts";
import type { ConnectOptions, Endpoint, Listener, ListenOptions, Runtime, Socket, SocketHandler, TlsOptions } from "./types.ts";

function listen(opts: ListenOptions, handler: SocketHandler): Promise<Listener> {
  const ep = opts.endpoint;
  const t = opts.tls;
  const tlsOpt =
    t === undefined ? {} : { tls: { cert: t.cert, key: t.key, ca: t.ca, requestCert: t.ca !== undefined, rejectUnauthorized: t.ca !== undefined } };
  const opened = (raw: RawSocket): void => {
    const s = new BunSocket(handler);
    raw.data = s;
    s.attach(raw);
    try {
      handler.open(s);
    } catch (e) {
      s.fail("open", e);
    }
  };
  // the per-listener handler object; only `open` needs to know the SocketHandler. A TLS client is
  // the handler's once its handshake is done (Bun calls `open` at the TCP accept), and one whose
  // certificate a listener with a CA refuses never was
  const socket = {
    binaryType: "uint8array" as const,
    open: t === undefined ? opened : ignore,
    ...(t === undefined
      ? {}
      : {
        handshake(raw: RawSocket, success: boolean, authorizationError: Error | null): void {
          if (t.ca !== undefined && (!success || authorizationError !== null)) raw.terminate();
          else opened(raw);
        },
      }),
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
  enterConnect();
  try {
    const t =
      tls === undefined
        ? {}
        : {
          tls: {
            ca: tls.ca,
            cert: tls.cert,
            key: tls.key,
            // SNI carries names only (RFC 6066); "" sends none and still checks the address
            serverName: tls.serverName ?? name ?? ("hostname" in target && isIP(target.hostname) !== 0 ? "" : undefined),
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
    leaveConnect();
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
