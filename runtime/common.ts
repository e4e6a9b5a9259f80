// Runtime-neutral pieces the three adapters share: errno mapping, the write queue, limits, errors.
//
// Nothing here touches a runtime global, so node.ts, bun.ts and deno.ts can all import it.

import type { Endpoint, ErrnoName } from "./types.ts";

/**
 * Bytes an adapter buffers before write() returns false. Node's own default is 16 KB; 64 KB lets
 * one event batch of replies go out without a drain round trip and still bounds a slow reader.
 */
export const HIGH_WATER_MARK = 64 * 1024;

/** Read buffer for busy connections (Node's shared onread buffer, Deno's pooled big buffers). */
export const READ_BUFFER_SIZE = 64 * 1024;

/**
 * Read buffer of a Deno connection that is not streaming. A Deno read holds its buffer while it
 * is pending, and an idle connection always has a read pending, so an idle Deno connection costs
 * this much on top of Deno's own ~16 KB (measured, 1000 idle connections: 512 B → 17 KB/conn,
 * 4 KB → 20 KB/conn RSS). 2 KB still takes a depth-16 pipeline of GETs in one read.
 */
export const READ_SMALL_SIZE = 2 * 1024;

/** Deno has no writev: queued chunks are joined into one write of at most this many bytes. */
export const WRITE_GATHER_MAX = 256 * 1024;

// Node and Bun put an errno name in `code`; Deno 2 does too for OS errors, and its error classes
// are named after Rust's io::ErrorKind (ConnectionRefused...). Failed name lookups become
// EHOSTDOWN, which is what twemproxy reports for a server it cannot resolve.
const ERRNO: Readonly<Record<string, ErrnoName>> = {
  ECONNREFUSED: "ECONNREFUSED",
  ECONNRESET: "ECONNRESET",
  ECONNABORTED: "ECONNABORTED",
  ETIMEDOUT: "ETIMEDOUT",
  EPIPE: "EPIPE",
  EHOSTDOWN: "EHOSTDOWN",
  EHOSTUNREACH: "EHOSTUNREACH",
  ENETUNREACH: "ENETUNREACH",
  ENETDOWN: "ENETUNREACH",
  EADDRINUSE: "EADDRINUSE",
  EADDRNOTAVAIL: "EADDRNOTAVAIL",
  EACCES: "EACCES",
  EPERM: "EACCES",
  ENOENT: "ENOENT",
  ENOTDIR: "ENOENT",
  EINVAL: "EINVAL",
  EMFILE: "EMFILE",
  ENFILE: "EMFILE",
  EIO: "EIO",
  ENOTCONN: "EPIPE",
  ESHUTDOWN: "EPIPE",
  // getaddrinfo / c-ares failures (Node and Bun)
  ENOTFOUND: "EHOSTDOWN",
  EAI_AGAIN: "EHOSTDOWN",
  EAI_NONAME: "EHOSTDOWN",
  EAI_FAIL: "EHOSTDOWN",
  EAI_NODATA: "EHOSTDOWN",
  EAI_ADDRFAMILY: "EHOSTDOWN",
  ESERVFAIL: "EHOSTDOWN",
  ENODATA: "EHOSTDOWN",
  // Node's argument errors (a bad port number throws synchronously from net.connect)
  ERR_SOCKET_BAD_PORT: "EINVAL",
  ERR_OUT_OF_RANGE: "EINVAL",
  ERR_INVALID_ARG_TYPE: "EINVAL",
  ERR_INVALID_ARG_VALUE: "EINVAL",
  ERR_INVALID_IP_ADDRESS: "EINVAL",
  ERR_STREAM_DESTROYED: "EPIPE",
  ERR_STREAM_WRITE_AFTER_END: "EPIPE",
  ERR_SOCKET_CLOSED: "EPIPE",
  // Deno error class names (Deno.errors.*)
  ConnectionRefused: "ECONNREFUSED",
  ConnectionReset: "ECONNRESET",
  ConnectionAborted: "ECONNABORTED",
  TimedOut: "ETIMEDOUT",
  BrokenPipe: "EPIPE",
  NotConnected: "EPIPE",
  UnexpectedEof: "ECONNRESET",
  AddrInUse: "EADDRINUSE",
  AddrNotAvailable: "EADDRNOTAVAIL",
  PermissionDenied: "EACCES",
  NotCapable: "EACCES",
  NotFound: "ENOENT",
  InvalidData: "EINVAL",
  NetworkUnreachable: "ENETUNREACH",
  HostUnreachable: "EHOSTUNREACH",
  RangeError: "EINVAL",
  TypeError: "EINVAL",
};

// Deno 2.9 rejects a failed lookup with a plain Error and no code:
// "failed to lookup address information: Name or service not known".
const LOOKUP_FAILED = /failed to lookup address|getaddrinfo|name or service not known|name resolution|no address associated|nodename nor servname/i;

/**
 * Normalise any error a runtime produced to an ErrnoName.
 *
 * @param err what the runtime threw, rejected with or passed to an error callback
 * @param fallback the name to use when nothing in `err` is recognised
 * @returns the errno name twemproxy would have seen
 */
export function errnoOf(err: unknown, fallback: ErrnoName): ErrnoName {
  if (typeof err !== "object" || err === null) return fallback;
  const e = err as { code?: unknown; name?: unknown; message?: unknown; errors?: unknown };
  if (typeof e.code === "string") {
    const byCode = ERRNO[e.code];
    if (byCode !== undefined) return byCode;
  }
  // Node 20's autoSelectFamily reports every failed address in an AggregateError.
  if (Array.isArray(e.errors) && e.errors.length > 0) {
    return errnoOf(e.errors[e.errors.length - 1], fallback);
  }
  if (typeof e.message === "string" && LOOKUP_FAILED.test(e.message)) return "EHOSTDOWN";
  if (typeof e.name === "string") {
    const byName = ERRNO[e.name];
    if (byName !== undefined) return byName;
  }
  return fallback;
}

/** An error whose `code` is an errno name; what listen() rejects with and file helpers throw. */
export class ErrnoError extends Error {
  readonly code: ErrnoName;

  constructor(code: ErrnoName, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ErrnoError";
    this.code = code;
  }
}

/** `host:port`, `[v6]:port` or the path, for messages. */
export function describeEndpoint(ep: Endpoint): string {
  if (ep.path !== undefined) return ep.path;
  return ep.host.includes(":") ? `[${ep.host}]:${ep.port}` : `${ep.host}:${ep.port}`;
}

/** The listen() rejection: `Cannot listen on "127.0.0.1:22121": EADDRINUSE`. */
export function listenError(err: unknown, ep: Endpoint): ErrnoError {
  const code = errnoOf(err, "EINVAL");
  return new ErrnoError(code, `Cannot listen on "${describeEndpoint(ep)}": ${code}`, { cause: err });
}

/** A file helper failure: `Cannot read "conf/x.yml": ENOENT`. */
export function fileError(err: unknown, action: string, path: string): ErrnoError {
  const code = errnoOf(err, "EIO");
  return new ErrnoError(code, `Cannot ${action} "${path}": ${code}`, { cause: err });
}

/** Accept "[::1]" as well as "::1" for a host. */
export function bareHost(host: string): string {
  return host.length > 1 && host.charCodeAt(0) === 91 /* [ */ && host.charCodeAt(host.length - 1) === 93 /* ] */
    ? host.slice(1, -1)
    : host;
}

/** Print an exception a callback threw; the adapters never let it reach the runtime. */
export function reportException(write: (text: string) => void, where: string, err: unknown): void {
  let text: string;
  if (err instanceof Error) text = err.stack ?? `${err.name}: ${err.message}`;
  else text = String(err);
  try {
    write(`nutcracker: uncaught exception in ${where}: ${text}\n`);
  } catch {
    // stderr itself failed; nothing left to tell
  }
}

/**
 * FIFO of chunks waiting for the kernel (Bun after a partial write, Deno while a write is in
 * flight). A ring, so draining never calls Array#shift; storage is allocated on first push so an
 * idle socket costs one small object.
 */
export class ChunkQueue {
  private items: (Uint8Array | undefined)[] | null = null;
  private head = 0;
  private mask = 0;
  /** Chunks queued. */
  length = 0;
  /** Bytes queued. */
  bytes = 0;

  push(chunk: Uint8Array): void {
    if (this.items === null) {
      this.items = new Array<Uint8Array | undefined>(4);
      this.mask = 3;
    } else if (this.length > this.mask) {
      this.grow();
    }
    this.items[(this.head + this.length) & this.mask] = chunk;
    this.length++;
    this.bytes += chunk.byteLength;
  }

  /** The oldest chunk; only call when length > 0. */
  peek(): Uint8Array {
    return (this.items as (Uint8Array | undefined)[])[this.head] as Uint8Array;
  }

  /** Drop `n` bytes from the front: whole chunks, then the head is cut to its unsent tail. */
  consume(n: number): void {
    const items = this.items;
    if (items === null) return;
    this.bytes -= n;
    while (n > 0 && this.length > 0) {
      const c = items[this.head] as Uint8Array;
      if (n < c.byteLength) {
        items[this.head] = c.subarray(n);
        return;
      }
      n -= c.byteLength;
      items[this.head] = undefined;
      this.head = (this.head + 1) & this.mask;
      this.length--;
    }
  }

  /**
   * The bytes to hand to one write: the head chunk alone, or the first chunks joined into one
   * copy of at most `max` bytes when several small ones wait (one syscall instead of many).
   */
  gather(max: number): Uint8Array {
    const items = this.items as (Uint8Array | undefined)[];
    const first = items[this.head] as Uint8Array;
    if (this.length === 1 || first.byteLength >= max) return first;
    let total = 0;
    let k = 0;
    for (; k < this.length; k++) {
      const c = items[(this.head + k) & this.mask] as Uint8Array;
      if (k > 0 && total + c.byteLength > max) break;
      total += c.byteLength;
    }
    if (k === 1) return first;
    const out = new Uint8Array(total);
    let off = 0;
    for (let i = 0; i < k; i++) {
      const c = items[(this.head + i) & this.mask] as Uint8Array;
      out.set(c, off);
      off += c.byteLength;
    }
    return out;
  }

  clear(): void {
    this.items = null;
    this.head = 0;
    this.mask = 0;
    this.length = 0;
    this.bytes = 0;
  }

  private grow(): void {
    const old = this.items as (Uint8Array | undefined)[];
    const cap = old.length * 2;
    const items = new Array<Uint8Array | undefined>(cap);
    for (let i = 0; i < this.length; i++) items[i] = old[(this.head + i) & this.mask];
    this.items = items;
    this.head = 0;
    this.mask = cap - 1;
  }
}
