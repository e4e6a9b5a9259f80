// Connections the proxy opens for itself (to Sentinels): commands out, replies back in order as promises, unasked ones to a push handler.
//
// Control traffic is a few commands a second, so promises and plain values are fine here; the
// request path never comes through this file.

import type { Endpoint, Socket, SocketHandler, TimerHandle, TlsOptions } from "../../runtime/types.ts";
import { RespReader, type RespValue, respCommand } from "../proto/resp_value.ts";
import type { Context } from "./context.ts";

interface Pending {
  resolve(v: RespValue): void;
  reject(e: Error): void;
}

export class CtlConn {
  readonly endpoint: Endpoint;
  closed = false;
  private readonly ctx: Context;
  private sock: Socket | null;
  private connected = false;
  private readonly reader = new RespReader();
  private readonly pending: Pending[] = [];
  private readonly unsent: Uint8Array[] = [];
  private timer: TimerHandle | null = null;
  private readonly onPush: ((v: RespValue) => void) | null;
  private readonly onClose: ((c: CtlConn) => void) | null;

  /** `onPush`: replies no command waits for (a subscription's messages); `onClose`: the connection is gone. */
  constructor(
    ctx: Context,
    endpoint: Endpoint,
    onPush: ((v: RespValue) => void) | null = null,
    onClose: ((c: CtlConn) => void) | null = null,
    tls?: TlsOptions,
  ) {
    this.ctx = ctx;
    this.endpoint = endpoint;
    this.onPush = onPush;
    this.onClose = onClose;
    this.sock = ctx.rt.connect({ endpoint, noDelay: true, tls }, ctlHandler);
    this.sock.ctx = this;
    ctx.connOpened();
  }

  /**
   * Send a command; resolves with its reply (an error reply included, as RespError), rejects
   * when the connection fails or no reply came within `timeoutMs`, which closes the connection.
   */
  call(args: readonly string[], timeoutMs: number): Promise<RespValue> {
    if (this.closed) return Promise.reject(new Error("connection closed"));
    const bytes = respCommand(args);
    if (this.connected) this.sock!.write(bytes);
    else this.unsent.push(bytes);
    if (this.timer === null) this.timer = this.ctx.rt.setTimer(timeoutMs, () => this.timedOut());
    return new Promise((resolve, reject) => this.pending.push({ resolve, reject }));
  }

  close(why = "closed"): void {
    if (this.closed) return;
    this.closed = true;
    this.connected = false;
    if (this.timer !== null) this.ctx.rt.clearTimer(this.timer);
    this.timer = null;
    const err = new Error(why);
    for (const p of this.pending.splice(0)) p.reject(err);
    const sock = this.sock;
    this.sock = null;
    if (sock !== null) {
      this.ctx.connClosed();
      sock.close();
    }
    this.onClose?.(this);
  }

  private timedOut(): void {
    this.timer = null;
    if (this.pending.length > 0) this.close("timed out");
  }

  /** @internal socket events */
  opened(): void {
    this.connected = true;
    for (const b of this.unsent.splice(0)) this.sock!.write(b);
  }

  /** @internal */
  received(chunk: Uint8Array): void {
    this.reader.push(chunk);
    for (let v = this.reader.next(); v !== undefined; v = this.reader.next()) {
      const p = this.pending.shift();
      if (p !== undefined) {
        if (this.pending.length === 0 && this.timer !== null) {
          this.ctx.rt.clearTimer(this.timer);
          this.timer = null;
        }
        p.resolve(v);
      } else if (this.onPush !== null) this.onPush(v);
      if (this.closed) return;
    }
    if (this.reader.bad) this.close("not RESP");
  }
}

const ctlHandler: SocketHandler = {
  open(sock) {
    const c = sock.ctx as CtlConn;
    if (!c.closed) c.opened();
  },
  data(sock, chunk) {
    const c = sock.ctx as CtlConn;
    if (!c.closed) c.received(chunk);
  },
  drain() {},
  end(sock) {
    (sock.ctx as CtlConn).close("closed by peer");
  },
  close(sock, err) {
    (sock.ctx as CtlConn).close(err ?? "closed by peer");
  },
};
