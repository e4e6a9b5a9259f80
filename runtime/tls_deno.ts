// TLS for the Deno adapter: Deno.connectTls or Deno.startTls for connects, Deno.listenTls for listeners.
//
// What Deno 2.9 offers, and where it stops (each refused with the reason, never quietly ignored):
//   - connectTls checks the certificate against `hostname`, which is also where it connects. A
//     tls_server_name other than the host goes through Deno.connect + Deno.startTls, which takes
//     no client certificate: the two together are refused.
//   - caCerts are trusted besides the built-in roots (Mozilla's), where node's `ca` replaces them.
//   - there is no per-connection way to skip verification (only a process-wide flag), so
//     `verify: false` is refused rather than verified anyway.
//   - listenTls cannot ask clients for a certificate: a listener with `ca` is refused.
//   - the handshake runs lazily on the first read or write; we run it first (handshake()), so
//     handler.open comes after it as on node and bun, and a failed one is reported as EPROTO with
//     Deno's words ("invalid peer certificate: UnknownIssuer") in sock.failure.
//   - a handshake the peer never answers cannot be ended: the TCP connection stays open until the
//     peer sends or closes, whatever we close. Both connectTls and startTls (which consumes the
//     TcpConn) hand the socket to a task of rustls-tokio-stream that awaits the peer with no
//     timeout, and closing the TlsConn only drops that task's handle. We still report EPROTO at
//     the deadline; the socket is the peer's to end.
//   - after the handshake, rustls's errors reach reads and writes as InvalidData (a TLS 1.3 server
//     that refuses our certificate says so only then: "received fatal alert: CertificateRequired"):
//     EPROTO with those words too, not the EINVAL that InvalidData means elsewhere.
//   - a peer's FIN without close_notify fails the read with UnexpectedEof. node:tls sends none
//     and node and bun take that FIN as the end, so it is an end here too; a reset stays
//     ConnectionReset (ECONNRESET).

import { bareHost, errnoOf, listenError } from "./common.ts";
import { acceptLoop, adoptAccepted, type DenoConn, type DenoListener, DenoSocket, deliverClose, onEof, tcpListenOptions } from "./deno.ts";
import type { ConnectOptions, ErrnoName, Listener, ListenOptions, Socket, SocketHandler } from "./types.ts";

interface DenoTlsConn extends DenoConn {
  handshake(): Promise<unknown>;
}
declare const Deno: {
  connectTls(o: { hostname: string; port: number; caCerts?: string[]; cert?: string; key?: string }): Promise<DenoTlsConn>;
  connect(o: { hostname: string; port: number }): Promise<DenoConn>;
  startTls(conn: DenoConn, o: { hostname: string; caCerts?: string[] }): Promise<DenoTlsConn>;
  listenTls(o: ReturnType<typeof tcpListenOptions> & { cert: string; key: string }): DenoListener;
};

/** When the caller gives no handshake limit (as runtime/node.ts and runtime/bun.ts). */
const HANDSHAKE_MS = 1000;
/** An accepted client that never completes its handshake is dropped after this (node's default). */
const ACCEPT_HANDSHAKE_MS = 120_000;

const noSuchTls = (what: string) => `TLS: ${what} is not available on Deno (use the Bun binary or the Node bundle)`;

/** Run the handshake within `ms`; rejects with an EPROTO-coded error saying why. */
function handshake(conn: DenoTlsConn, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(Object.assign(new Error(`no handshake within ${ms} ms (is the server speaking TLS?)`), { code: "EPROTO" }));
    }, ms);
    conn.handshake().then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

export function connectTls(opts: ConnectOptions, handler: SocketHandler): Socket {
  const ep = opts.endpoint;
  const t = opts.tls!;
  const s = new DenoSocket(handler);
  s.tls = true;
  const refuse = (why: string): Socket => {
    s.closing = true;
    s.failure = why;
    queueMicrotask(() => deliverClose(s, "EPROTO"));
    return s;
  };
  if (ep.path !== undefined) return refuse(noSuchTls("TLS over a unix socket"));
  if (t.verify === false) return refuse(noSuchTls("tls_verify: false"));
  const host = bareHost(ep.host);
  const name = t.serverName ?? host;
  const withCert = t.cert !== undefined && t.key !== undefined;
  if (name !== host && withCert) return refuse(noSuchTls("tls_server_name together with a client certificate"));
  if (opts.noDelay !== undefined) s.noDelay = opts.noDelay;
  if (opts.keepAlive === true) s.keepAlive = true;
  const caCerts = t.ca === undefined ? undefined : [t.ca];
  const ms = t.handshakeMs ?? HANDSHAKE_MS;
  let tcp: DenoConn | null = null;
  let conn: DenoTlsConn | null = null;
  const opened =
    name === host
      ? Deno.connectTls({ hostname: host, port: ep.port, ...(caCerts === undefined ? {} : { caCerts }), ...(withCert ? { cert: t.cert!, key: t.key! } : {}) })
      : Deno.connect({ hostname: host, port: ep.port }).then((c) => {
        tcp = c;
        return Deno.startTls(c, { hostname: name, ...(caCerts === undefined ? {} : { caCerts }) });
      });
  opened
    .then((c) => {
      conn = c;
      if (s.closing || s.done) throw Object.assign(new Error("closed"), { code: "ECONNABORTED" });
      return handshake(c, ms);
    })
    .then(
      () => {
        const c = conn!;
        if (s.closing || s.done) {
          closeQuietly(c);
          return;
        }
        try {
          s.attach(c);
          s.start(c);
          s.handler.open(s);
        } catch (e) {
          s.fail("open", e);
        }
      },
      (e: unknown) => {
        closeQuietly(conn ?? tcp);
        if (s.closing || s.done) return;
        s.closing = true;
        // a refused connect, or a reset during the handshake, keeps its errno; anything else of
        // the handshake (Deno says InvalidData for a certificate it refuses) is EPROTO
        const errno = errnoOf(e, "EPROTO");
        const err = conn === null || errno === "ECONNRESET" || errno === "EPIPE" ? errno : "EPROTO";
        if (err === "EPROTO") s.failure = `TLS: ${(e as { message?: unknown }).message ?? String(e)}`;
        deliverClose(s, err);
      },
    );
  return s;
}

function closeQuietly(c: DenoConn | null): void {
  try {
    c?.close();
  } catch {
    // already closed
  }
}

export function listenTls(opts: ListenOptions, handler: SocketHandler): Promise<Listener> {
  const ep = opts.endpoint;
  const t = opts.tls!;
  const refuse = (why: string) => Promise.reject(Object.assign(new Error(why), { code: "EPROTO" }));
  if (ep.path !== undefined) return refuse(noSuchTls("a TLS listener on a unix socket"));
  if (t.ca !== undefined) return refuse(noSuchTls("requiring client certificates (listen_tls_ca_file)"));
  if (t.cert === undefined || t.key === undefined) return refuse("TLS: a listener needs a certificate and its key");
  let l: DenoListener;
  try {
    l = Deno.listenTls({ ...tcpListenOptions(bareHost(ep.host), ep.port, opts), cert: t.cert, key: t.key });
  } catch (e) {
    return Promise.reject(listenError(e, ep));
  }
  const state = { closed: false };
  void acceptLoop(l, handler, state, acceptedTls);
  return Promise.resolve({
    endpoint: { host: ep.host, port: l.addr.port ?? ep.port },
    close() {
      if (state.closed) return;
      state.closed = true;
      closeQuietly(l as unknown as DenoConn);
    },
  });
}

/** A client is the handler's once its handshake is done; one that fails it never was (as on node). */
function acceptedTls(conn: DenoConn, handler: SocketHandler): void {
  handshake(conn as DenoTlsConn, ACCEPT_HANDSHAKE_MS).then(
    () => adoptAccepted(conn, handler, true),
    () => closeQuietly(conn),
  );
}

/** The errno of a failed read or write on an open TLS connection; a TLS error's words go to sock.failure. */
export function tlsErrno(s: DenoSocket, e: unknown, fallback: ErrnoName): ErrnoName {
  if ((e as { name?: unknown } | null)?.name !== "InvalidData") return errnoOf(e, fallback);
  s.failure = `TLS: ${(e as { message?: unknown }).message ?? String(e)}`;
  return "EPROTO";
}

/** A read failed with `e`: true if that was the peer's FIN without close_notify, now taken as its end. */
export function tlsEnded(s: DenoSocket, e: unknown): boolean {
  if ((e as { name?: unknown } | null)?.name !== "UnexpectedEof") return false;
  if (s.paused) {
    // as a plain EOF that comes while paused: kept for resume()
    s.heldBuf = null;
    s.heldN = -1;
  } else {
    onEof(s);
  }
  return true;
}
