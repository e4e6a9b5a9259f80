// The metrics port (ours): a minimal HTTP/1.1 responder for Prometheus scrapes, one request per connection.
//
// GET or HEAD /metrics gets the exposition text; other paths 404, other methods 405, anything that
// is not an HTTP/1.x request line 400, a head over 8 KiB 431. Every reply says `Connection:
// close` and the socket is half-closed after it: scrapers open one connection per scrape, and a
// server that never keeps a connection needs no request framing beyond the head. A client that
// sends no complete head within 5 s is dropped, and one that has not read its reply 30 s later.

import type { Endpoint, Listener, Runtime, Socket, SocketHandler, TimerHandle } from "../../runtime/types.ts";
import type { Context } from "../core/context.ts";
import type { PoolRegistry } from "../core/proxy.ts";
import { prometheusText } from "./prometheus.ts";

/** Largest request head we read. */
export const HTTP_MAX_HEAD = 8192;
/** How long a connection may take to send its head. */
const HEAD_TIMEOUT_MS = 5_000;
/** How long a reply may take to be read before the connection is dropped. */
const REPLY_TIMEOUT_MS = 30_000;
/** The exposition format's content type (text format 0.0.4). */
export const PROM_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const enc = new TextEncoder();

interface HttpConn {
  head: Uint8Array;
  len: number;
  done: boolean;
  timer: TimerHandle | null;
}

/** What a request head asks for: the status and body to send, and whether to leave the body out (HEAD). */
export interface HttpAnswer {
  readonly status: 200 | 400 | 404 | 405 | 422 | 431;
  readonly head: boolean;
  /** POST /reload (ours): reload the configuration, answer with the outcome as JSON. */
  readonly reload?: boolean;
}

const REASON = {
  200: "OK",
  400: "Bad Request",
  404: "Not Found",
  405: "Method Not Allowed",
  422: "Unprocessable Content",
  431: "Request Header Fields Too Large",
};

/** What POST /reload calls (core/reload.ts Reloader). */
export interface ReloadTrigger {
  reload(why: string): Promise<{ readonly ok: boolean }>;
}

/**
 * Decide on a request line (the bytes before the first LF, a trailing CR allowed):
 * `METHOD SP target SP HTTP/1.x`, method GET or HEAD, path /metrics with any query.
 */
export function routeRequestLine(line: Uint8Array): HttpAnswer {
  let text = "";
  for (let i = 0; i < line.length; i++) text += String.fromCharCode(line[i]!);
  const m = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([\x21-\x7e]+) HTTP\/1\.[0-9]\r?$/.exec(text);
  if (m === null) return { status: 400, head: false };
  const method = m[1]!;
  // absolute-form (`http://host/metrics`), which HTTP/1.1 servers must take, names the same path
  const target = m[2]!.replace(/^https?:\/\/[^/?]*/i, "");
  const q = target.indexOf("?");
  const path = q < 0 ? target : target.slice(0, q);
  if (path === "/reload") return method === "POST" ? { status: 200, head: false, reload: true } : { status: 405, head: false, reload: false };
  if (method !== "GET" && method !== "HEAD") return { status: 405, head: false };
  return { status: path === "/metrics" ? 200 : 404, head: method === "HEAD" };
}

/** The whole response for `a`; `metrics` builds the body only when it is wanted. */
export function httpResponse(a: HttpAnswer, metrics: () => string): Uint8Array {
  const body = enc.encode(a.status === 200 ? metrics() : `${REASON[a.status]}\n`);
  const type = a.status === 200 ? PROM_CONTENT_TYPE : "text/plain; charset=utf-8";
  const allow = a.status === 405 ? `Allow: ${a.reload === false ? "POST" : "GET, HEAD"}\r\n` : "";
  const head = enc.encode(
    `HTTP/1.1 ${a.status} ${REASON[a.status]}\r\nContent-Type: ${type}\r\nContent-Length: ${body.length}\r\n${allow}Connection: close\r\n\r\n`,
  );
  if (a.head) return head;
  const out = new Uint8Array(head.length + body.length);
  out.set(head, 0);
  out.set(body, head.length);
  return out;
}

/** A JSON response (POST /reload's outcome). */
function jsonResponse(status: 200 | 422, body: string): Uint8Array {
  const b = enc.encode(body);
  const head = enc.encode(
    `HTTP/1.1 ${status} ${REASON[status]}\r\nContent-Type: application/json\r\nContent-Length: ${b.length}\r\nConnection: close\r\n\r\n`,
  );
  const out = new Uint8Array(head.length + b.length);
  out.set(head, 0);
  out.set(b, head.length);
  return out;
}

/** Index just past the blank line that ends a head (CRLFCRLF or LFLF), or -1. */
function headEnd(b: Uint8Array, len: number): number {
  for (let i = 0; i < len; i++) {
    if (b[i] !== 10) continue; // 10 = \n
    if (b[i + 1] === 10 && i + 1 < len) return i + 2;
    if (b[i + 1] === 13 && b[i + 2] === 10 && i + 2 < len) return i + 3; // 13 = \r
  }
  return -1;
}

/** Listen on `endpoint` and answer scrapes with prometheusText() of the registry's pools. */
export function metricsInit(ctx: Context, registry: PoolRegistry, endpoint: Endpoint, reloader: ReloadTrigger | null = null): Promise<Listener> {
  const startedAt = ctx.rt.unixTime();
  return metricsListen(ctx.rt, endpoint, () => prometheusText(ctx, registry.pools, startedAt), reloader);
}

/** Listen on `endpoint` and answer scrapes with what `body` gives (a worker group's primary reads its workers first). */
export function metricsListen(rt: Runtime, endpoint: Endpoint, body: () => string | Promise<string>, reloader: ReloadTrigger | null): Promise<Listener> {
  const arm = (sock: Socket, c: HttpConn, ms: number): void => {
    if (c.timer !== null) rt.clearTimer(c.timer);
    c.timer = rt.setTimer(ms, () => {
      c.timer = null;
      sock.close();
    });
  };
  const reply = (sock: Socket, c: HttpConn, a: HttpAnswer): void => {
    c.done = true;
    if (a.reload === true && a.status === 200) {
      if (reloader === null) return reply(sock, c, { status: 404, head: false });
      void reloader.reload("POST /reload").then((out) => {
        arm(sock, c, REPLY_TIMEOUT_MS);
        sock.write(jsonResponse(out.ok ? 200 : 422, `${JSON.stringify(out)}\n`));
        sock.end();
      });
      return;
    }
    arm(sock, c, REPLY_TIMEOUT_MS);
    if (a.status !== 200) {
      sock.write(httpResponse(a, () => ""));
      sock.end();
      return;
    }
    const text = body();
    if (typeof text === "string") {
      sock.write(httpResponse(a, () => text));
      sock.end();
      return;
    }
    void text.then((t) => {
      sock.write(httpResponse(a, () => t));
      sock.end();
    });
  };
  const handler: SocketHandler = {
    open(sock) {
      const c: HttpConn = { head: new Uint8Array(1024), len: 0, done: false, timer: null };
      sock.ctx = c;
      arm(sock, c, HEAD_TIMEOUT_MS);
    },
    data(sock, chunk) {
      const c = sock.ctx as HttpConn;
      if (c.done) return; // a body or a second request: we answer one and close
      const take = Math.min(chunk.length, HTTP_MAX_HEAD + 1 - c.len);
      if (c.len + take > c.head.length) {
        const grown = new Uint8Array(Math.min(HTTP_MAX_HEAD + 1, Math.max(c.head.length * 2, c.len + take)));
        grown.set(c.head.subarray(0, c.len));
        c.head = grown;
      }
      c.head.set(chunk.subarray(0, take), c.len);
      const from = c.len;
      c.len += take;
      const lf = c.head.subarray(0, c.len).indexOf(10, 0);
      // judge the request line as soon as it is whole, so garbage is answered without waiting
      if (lf >= 0 && lf >= from) {
        const a = routeRequestLine(c.head.subarray(0, lf));
        if (a.status === 400) return reply(sock, c, a);
      }
      const end = headEnd(c.head, c.len);
      if (end >= 0) return reply(sock, c, routeRequestLine(c.head.subarray(0, lf)));
      if (c.len > HTTP_MAX_HEAD) reply(sock, c, { status: 431, head: false });
    },
    drain() {},
    end(sock) {
      // the peer is done sending; once our reply is with the kernel nothing is left to do (a
      // reply still queued is left to the reply timer)
      if (!(sock.ctx as HttpConn).done || sock.bufferedAmount === 0) sock.close();
    },
    close(sock) {
      const c = sock.ctx as HttpConn | null;
      if (c?.timer) rt.clearTimer(c.timer);
    },
  };
  return rt.listen({ endpoint, backlog: 512 }, handler);
}
