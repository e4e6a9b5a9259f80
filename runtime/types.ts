// The one contract between src/ and the runtime adapters (node.ts, bun.ts, deno.ts).
//
// src/ sees only these types; an entry file (runtime/main_*.ts) builds a Runtime and hands it to
// src/main.ts start(). Everything that knows which runtime it runs on stays in runtime/.
//
// Chunk ownership:
//   - read side: `handler.data(sock, chunk)` lends `chunk` for the duration of the call only; the
//     adapter may reuse its memory afterwards. The core copies what it keeps (into mbufs).
//   - write side: `sock.write(bytes)` hands `bytes` over to the adapter, which may keep a
//     reference until the kernel has taken it. The caller must not modify it afterwards.
//
// Callbacks are methods of one handler object shared by every socket of a listener (no closure
// per connection); `sock.ctx` is the caller's slot for its per-connection state.

/** Errno names the adapters normalise their errors to (twemproxy prints strerror of these). */
export type ErrnoName =
  | "ECONNREFUSED"
  | "ECONNRESET"
  | "ECONNABORTED"
  | "ETIMEDOUT"
  | "EPIPE"
  | "EHOSTDOWN"
  | "EHOSTUNREACH"
  | "ENETUNREACH"
  | "EADDRINUSE"
  | "EADDRNOTAVAIL"
  | "EACCES"
  | "ENOENT"
  | "EINVAL"
  | "EMFILE"
  | "EIO"
  | "EROFS"
  | "EPROTO";

/** Event callbacks of a socket. One object serves many sockets. */
export interface SocketHandler {
  /**
   * The socket is ready: an outgoing connect completed, or a listener accepted it. Called once,
   * before any other callback of that socket, so the owner can set `sock.ctx` here.
   */
  open(sock: Socket): void;
  /** Bytes arrived. `chunk` is borrowed for this call only. */
  data(sock: Socket, chunk: Uint8Array): void;
  /** The socket can take more after a write() that returned false. */
  drain(sock: Socket): void;
  /** The peer half-closed (EOF on read). Writes remain possible until end() or close(). */
  end(sock: Socket): void;
  /**
   * The socket is gone (closed by us, by the peer, or by an error). Called exactly once per
   * socket, also for a connect that failed; `err` is null for an orderly close.
   */
  close(sock: Socket, err: ErrnoName | null): void;
}

/** One TCP or unix-domain stream connection. */
export interface Socket {
  /** Free slot for the owner's per-connection state (the core keeps its Conn here). */
  ctx: unknown;
  /**
   * Queue `bytes` for sending; ownership passes to the adapter. Returns false when the adapter
   * holds more than its high-water mark: the caller should wait for `handler.drain` before
   * writing more. Writing after false is allowed (the adapter buffers) but unbounded.
   */
  write(bytes: Uint8Array): boolean;
  /** Bytes accepted by write() and not yet handed to the kernel. */
  readonly bufferedAmount: number;
  /** Half-close: send FIN after queued bytes are flushed; reading continues. */
  end(): void;
  /** Tear the connection down now; queued bytes are dropped. `handler.close` follows. */
  close(): void;
  /** Stop calling `handler.data` until resume(). */
  pause(): void;
  resume(): void;
  setNoDelay(on: boolean): void;
  setKeepAlive(on: boolean, initialDelayMs: number): void;
  /** Peer address as text ("127.0.0.1", "::1", or the unix path / "" when unknown). */
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Why it failed, in words, when the errno alone says little (a TLS handshake: "certificate has expired"); "" otherwise. */
  readonly failure: string;
}

/** Where to listen or connect: TCP host and port, or a unix socket path. */
export type Endpoint =
  | { readonly host: string; readonly port: number; readonly path?: undefined }
  | { readonly path: string; readonly host?: undefined; readonly port?: undefined };

/**
 * TLS for a connect or a listener (ours): certificates and keys as PEM text, read by the caller.
 * Connect: `ca` replaces the system's trust store, `cert`/`key` are a client certificate,
 * `serverName` is sent as SNI and checked against the server's certificate (default: the host),
 * `verify: false` accepts any certificate. Listen: `cert`/`key` are the server's, and with `ca`
 * every client must show a certificate signed by it.
 */
export interface TlsOptions {
  readonly ca?: string | undefined;
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
  readonly serverName?: string | undefined;
  readonly verify?: boolean | undefined;
  /** Connect: ms the handshake may take before the connection fails with EPROTO (a plain-text server never answers one). */
  readonly handshakeMs?: number | undefined;
}

export interface ListenOptions {
  readonly endpoint: Endpoint;
  /** listen(2) backlog. */
  readonly backlog: number;
  /** File mode for a unix socket path (e.g. 0o666); ignored for TCP. */
  readonly mode?: number | undefined;
  /** SO_REUSEPORT where the runtime supports it; ignored elsewhere. */
  readonly reusePort?: boolean | undefined;
  /** Speak TLS to every client (handler.open comes after the handshake). */
  readonly tls?: TlsOptions | undefined;
}

export interface Listener {
  /** Bound address (the real port when 0 was asked for). */
  readonly endpoint: Endpoint;
  /** Stop accepting; existing sockets are not affected. */
  close(): void;
}

export interface ConnectOptions {
  readonly endpoint: Endpoint;
  readonly noDelay?: boolean | undefined;
  readonly keepAlive?: boolean | undefined;
  /** Speak TLS (handler.open comes after the handshake; a failed one closes with EPROTO). */
  readonly tls?: TlsOptions | undefined;
}

export interface TimerHandle {
  readonly _timer: unknown;
}

export type SignalName = "SIGHUP" | "SIGINT" | "SIGTERM" | "SIGTTIN" | "SIGTTOU" | "SIGUSR1" | "SIGUSR2" | "SIGPIPE" | "SIGSEGV";

/** An append-only log file that can be reopened (logrotate) in place. */
export interface LogFile {
  write(text: string): void;
  reopen(): void;
  close(): void;
}

/**
 * A binary file written only at its end (the cache's append-only log). Every call is synchronous:
 * when write() returns the bytes are in the OS (they survive a kill -9), when sync() returns they
 * are on the disk (they survive a power loss). Failures throw an ErrnoError naming the file.
 */
export interface AppendFile {
  /** Append all of `bytes[start..end)`, looping over short writes. */
  write(bytes: Uint8Array, start: number, end: number): void;
  /** fdatasync(2): what was written is durable when this returns. */
  sync(): void;
  /**
   * fdatasync(2) off the event loop: what was written before the call is durable when `done`
   * runs (later, on the loop; with the error, if any). A close() meanwhile waits for it.
   */
  syncInBackground(done: (err: Error | null) => void): void;
  close(): void;
}

/** A worker process this one started (--workers). */
export interface WorkerProcess {
  readonly pid: number;
  kill(sig: SignalName | "SIGKILL"): void;
}

/** Everything src/ may ask of the process it runs in. */
export interface Runtime {
  readonly name: "node" | "bun" | "deno";
  /** Bind and listen; rejects with an Error whose `code` is an ErrnoName (EADDRINUSE, EACCES...). */
  listen(opts: ListenOptions, handler: SocketHandler): Promise<Listener>;
  /**
   * Start connecting; returns at once. Later `handler.open` or `handler.close(sock, err)` is called.
   * Host names are resolved here, on every call; a failed lookup closes with EHOSTDOWN.
   */
  connect(opts: ConnectOptions, handler: SocketHandler): Socket;

  /** Monotonic milliseconds. */
  now(): number;
  /** Wall clock, seconds since the epoch. */
  unixTime(): number;
  setTimer(ms: number, fn: () => void): TimerHandle;
  clearTimer(t: TimerHandle): void;
  /** Run `fn` after the current I/O callbacks (microtask or immediate). */
  defer(fn: () => void): void;

  /**
   * Call `fn` on the event loop each time `sig` arrives. SIGPIPE is ignored, never reported.
   * SIGSEGV reaches `fn` only when sent (kill): after a real fault the thread cannot run JS. Deno
   * refuses a SIGSEGV listener, so there it is not listened for (README, "Where we differ").
   */
  onSignal(sig: SignalName, fn: (sig: SignalName) => void): void;
  /**
   * Die by `sig` as if it had no handler: drop our listeners for it, so its default action is
   * back, and send it to this process (twemproxy's SA_RESETHAND, then raise(3)). Returns only
   * if that default action does not end the process.
   */
  raise(sig: SignalName): void;

  /** Command-line arguments after the program (and script) name. */
  readonly args: readonly string[];
  readonly pid: number;
  env(name: string): string | undefined;
  hostname(): string;
  exit(code: number): never;

  writeStdout(text: string): void;
  writeStderr(text: string): void;
  readTextFile(path: string): string;
  writeTextFile(path: string, text: string): void;
  removeFile(path: string): void;
  /** Open `path` for appending; `null` means stderr. */
  openLog(path: string | null): LogFile;
  /** The whole file as bytes; throws an ErrnoError (ENOENT when it does not exist). */
  readFileBytes(path: string): Uint8Array;
  /** Size of `path` in bytes, or -1 when it does not exist. */
  fileSize(path: string): number;
  /** Open (creating it, mode 0644) `path` for appending; `truncate` empties it first. */
  openAppendFile(path: string, truncate: boolean): AppendFile;
  /** rename(2): atomically replaces `to`. */
  renameFile(from: string, to: string): void;
  /** Cut `path` to `size` bytes and make that durable. */
  truncateFile(path: string, size: number): void;
  /** fsync(2) the directory `path`, so a create or rename in it survives a power loss. */
  syncDir(path: string): void;
  /**
   * Start a detached copy of this program with `args`, its standard streams on /dev/null, in a
   * new session; returns the child's pid. The caller then exits (nutcracker -d).
   */
  spawnDetached(args: readonly string[]): number;
  /**
   * Start a worker: this program again with `args`, sharing our stdout and stderr. Listeners the
   * workers open with `reusePort` share the address across them: SO_REUSEPORT where the runtime
   * has it, node:cluster's shared handles on a Node without it. `exited` runs once when it ends.
   */
  spawnWorker(args: readonly string[], exited: (code: number | null, signal: string | null) => void): WorkerProcess;
  /** In a worker: `fn` runs once when the process that started it is gone (even by kill -9). */
  onPrimaryGone(fn: () => void): void;
  /** Logical CPUs (--workers 0). */
  cpuCount(): number;
}
