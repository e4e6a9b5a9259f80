// One client connection of the cache server: a resumable request parser over pushed chunks (memcached's conn state machine).
//
//   S_LINE ── "\n" ──> tokenize, run the command ─┬─> S_LINE
//                                                 ├─> S_NREAD   (set/ms: read nbytes into the new item)
//                                                 └─> S_SWALLOW (refused set: skip its data block)
//   S_NREAD / S_SWALLOW ── enough bytes ──> S_LINE
//
// A chunk is parsed where it lies; only an unfinished request line is copied (into `inBuf`), and
// a data block is copied once, straight into the buffer the store keeps. Each token is a pair of
// offsets, so commands read keys and numbers from the input bytes. Lines are memcached's: ended
// by "\n" with an optional "\r", cut at the first NUL, split on spaces into at most 23 tokens.
//
// Replies follow memcached's flushing, because that decides what a client sees when memcached
// closes a connection: get-type commands and mn send what is stacked at once (commit), so does a
// request line that needs more input; other replies stay stacked and die with the connection.

import { type CacheContext, dispatch } from "./commands.ts";
import { DeltaResult } from "./item_ops.ts";
import { MetaFlags } from "./meta_flags.ts";
import { LineBuf } from "./meta_line.ts";
import { completeNread } from "./storage.ts";
import { OutBuf } from "./output.ts";
import { NO_MEMORY } from "../store/store.ts";

export const S_LINE = 0;
export const S_NREAD = 1;
export const S_SWALLOW = 2;
export const S_CLOSED = 3;

/** memcached's MAX_TOKENS: 23 tokens and the terminal one. */
export const MAX_TOKENS = 24;
/** A partial line longer than this without "\n" closes the connection unless it is a get. */
const LINE_LIMIT = 2048;
/** memcached's reqs_per_event: after this many requests in one go it sends what is stacked. */
const REQS_PER_EVENT = 20;
/** memcached's read buffer: a request line must fit in it (multi-gets excepted). */
const READ_BUFFER_SIZE = 16384;

const EMPTY = new Uint8Array(0);

/** Where a session writes: a runtime Socket fits. */
export interface SessionSink {
  write(bytes: Uint8Array): boolean;
  /** Send FIN once written bytes are out. */
  end(): void;
}

export class Session {
  readonly ctx: CacheContext;
  readonly sink: SessionSink;
  state = S_LINE;
  readonly out = new OutBuf();
  /** An unfinished request line. */
  private inBuf = new Uint8Array(256);
  private inLen = 0;

  // The current line: `line[...]` holds it, tokens are offset pairs into it.
  line: Uint8Array = EMPTY;
  lineEnd = 0;
  readonly tk = new Int32Array(2 * MAX_TOKENS);
  /** memcached's ntokens: real tokens + the terminal one (whose start is -1 when the line is used up). */
  nt = 0;
  /** The current request said noreply (or q): its reply is dropped. */
  noreply = false;
  private nreqs = 0;

  // S_NREAD: the item being read (at rloc: rbuf[rpos..rend)) and what to do with it
  rloc = 0;
  rbuf: Uint8Array = EMPTY;
  rpos = 0;
  rend = 0;
  rcmd = 0;
  rnkey = 0;
  rnbytes = 0;
  rflags = 0;
  rexptime = 0;
  rcas = 0;
  rbits = 0;
  rstale = false;
  /** The data is for an ms: reply with its flags (msStash holds the O/k/c tokens to echo). */
  msetRes = false;
  readonly msStash = new Uint8Array(1024);
  msStashLen = 0;
  // S_SWALLOW
  sbytes = 0;
  /** The sink asked us to wait (write returned false): the server pauses reading. */
  blocked = false;

  // Per-request working state, kept here so that a request allocates nothing: the meta flags
  // of the request (preparse), its reply line while it is built, an incr/decr result.
  readonly of = new MetaFlags();
  /** Room for the longest usual meta line ("VA", all flags, a 250-byte key in base64); grows past it. */
  readonly replyLine = new LineBuf(1024);
  readonly delta = new DeltaResult();

  constructor(ctx: CacheContext, sink: SessionSink) {
    this.ctx = ctx;
    this.sink = sink;
  }

  /** Feed bytes from the socket. `chunk` is borrowed: whatever must outlive the call is copied. */
  data(chunk: Uint8Array): void {
    if (this.state === S_CLOSED) return;
    this.ctx.store.tick(this.ctx.unixTime());
    this.ctx.store.stats.bytes_read += chunk.length;
    this.nreqs = REQS_PER_EVENT;
    const n = chunk.length;
    let p = 0;
    while (p < n && this.state !== S_CLOSED) {
      if (this.state === S_NREAD) {
        const k = Math.min(n - p, this.rend - this.rpos);
        const d = this.rbuf;
        if (k <= 32) {
          for (let i = 0; i < k; i++) d[this.rpos + i] = chunk[p + i]!;
        } else d.set(k === n && p === 0 ? chunk : chunk.subarray(p, p + k), this.rpos);
        this.rpos += k;
        p += k;
        if (this.rpos === this.rend) {
          this.state = S_LINE;
          completeNread(this);
          this.requestDone();
        }
      } else if (this.state === S_SWALLOW) {
        const k = Math.min(n - p, this.sbytes);
        this.sbytes -= k;
        p += k;
        if (this.sbytes === 0) this.state = S_LINE;
      } else {
        const nl = chunk.indexOf(10, p); // 10 = '\n'
        if (nl < 0) {
          this.keep(chunk, p, n);
          p = n;
          this.checkLongLine();
        } else if (this.inLen === 0) {
          this.processLine(chunk, p, nl);
          p = nl + 1;
        } else {
          this.keep(chunk, p, nl + 1);
          p = nl + 1;
          const len = this.inLen;
          this.inLen = 0;
          this.processLine(this.inBuf, 0, len - 1);
        }
      }
    }
    if (this.state === S_CLOSED) return;
    // memcached sends stacked replies when it needs another request line, not while it waits
    // for the rest of a data block
    this.send(this.state === S_LINE);
  }

  /** The peer closed its side: memcached drops the replies it had stacked and closes. */
  eof(): void {
    if (this.state !== S_CLOSED) this.close();
  }

  /** The socket is gone: give back what a data block in flight holds, and ignore the rest. */
  dispose(): void {
    this.abortNread();
    this.state = S_CLOSED;
  }

  /** Hand replies to the sink (all, or only those memcached would have sent already). */
  send(all: boolean): void {
    const j = this.ctx.store.journal;
    if (j !== null) j.commit();
    this.ctx.store.stats.bytes_written += this.out.flush(this.sink, all);
    if (this.out.wouldBlock) this.blocked = true;
  }

  /** Close as memcached's conn_closing does: stacked replies are dropped. */
  close(): void {
    this.abortNread();
    this.out.truncate();
    this.send(true);
    this.state = S_CLOSED;
    this.sink.end();
  }

  /** quit: send everything, then close. */
  quit(): void {
    this.send(true);
    this.state = S_CLOSED;
    this.sink.end();
  }

  /** A request is complete: count it against memcached's per-event budget. */
  requestDone(): void {
    if (--this.nreqs < 0) {
      this.out.commit();
      this.nreqs = REQS_PER_EVENT - 1;
      this.ctx.store.stats.conn_yields++;
    }
  }

  /** Append `chunk[s..e)` to the unfinished line. */
  private keep(chunk: Uint8Array, s: number, e: number): void {
    const need = this.inLen + (e - s);
    if (need > this.inBuf.length) {
      const b = new Uint8Array(Math.max(need, this.inBuf.length * 2));
      b.set(this.inBuf.subarray(0, this.inLen), 0);
      this.inBuf = b;
    }
    this.inBuf.set(chunk.subarray(s, e), this.inLen);
    this.inLen = need;
  }

  /**
   * memcached closes a connection whose unfinished line passes 2 KB, unless it is a multi-get
   * ("get "/"gets " after at most 100 spaces), which may grow without bound.
   */
  private checkLongLine(): void {
    if (this.inLen <= LINE_LIMIT) return;
    const b = this.inBuf;
    if (!this.startsWithGet(b, 0)) this.close();
  }

  /** Whether `b` from `s` is "get " or "gets " after at most 100 spaces. */
  private startsWithGet(b: Uint8Array, s: number): boolean {
    let i = s;
    while (b[i] === 32) i++;
    return (
      i - s <= 100 &&
      b[i] === 103 && b[i + 1] === 101 && b[i + 2] === 116 && // "get"
      (b[i + 3] === 32 || (b[i + 3] === 115 && b[i + 4] === 32)) // " " or "s "
    );
  }

  /** One request line `buf[s..nl)` ("\n" at nl): memcached's try_read_command_ascii + process_command_ascii. */
  private processLine(buf: Uint8Array, s: number, nl: number): void {
    if (nl - s >= READ_BUFFER_SIZE && !this.startsWithGet(buf, s)) {
      // memcached reads at most its 16 KB buffer before looking for the end of a line
      this.close();
      return;
    }
    let e = nl;
    if (nl - s > 1 && buf[nl - 1] === 13) e = nl - 1; // 13 = '\r'
    this.line = buf;
    this.lineEnd = e;
    this.noreply = false;
    this.tokenize(s);
    dispatch(this);
    this.line = EMPTY;
    if (this.state === S_LINE) this.requestDone();
  }

  /**
   * memcached's tokenize_command from `s`: split on spaces into at most MAX_TOKENS - 1 tokens,
   * stopping at the line end or a NUL; the terminal token starts where scanning stopped (-1 when
   * the line is used up). Returns and sets `nt`.
   */
  tokenize(s: number): number {
    const b = this.line;
    const tk = this.tk;
    const end = this.lineEnd;
    let nt = 0;
    let ts = s;
    let i = s;
    for (; i < end; i++) {
      const c = b[i]!;
      if (c === 0) break; // the C string ends here
      if (c === 32) {
        if (ts !== i) {
          tk[2 * nt] = ts;
          tk[2 * nt + 1] = i;
          nt++;
          if (nt === MAX_TOKENS - 1) {
            i++;
            ts = i;
            break;
          }
        }
        ts = i + 1;
      }
    }
    if (ts !== i) {
      tk[2 * nt] = ts;
      tk[2 * nt + 1] = i;
      nt++;
    }
    const rest = i < end && b[i] !== 0 ? i : -1;
    tk[2 * nt] = rest;
    tk[2 * nt + 1] = rest; // the terminal token is empty
    nt++;
    this.nt = nt;
    return nt;
  }

  /** Start of token k. */
  ts(k: number): number {
    return this.tk[2 * k]!;
  }

  /** End of token k. */
  te(k: number): number {
    return this.tk[2 * k + 1]!;
  }

  /** Length of token k (0 for the terminal one). */
  tlen(k: number): number {
    return this.tk[2 * k + 1]! - this.tk[2 * k]!;
  }

  /** Whether token k is exactly `word`. */
  tis(k: number, word: Uint8Array): boolean {
    const s = this.tk[2 * k]!;
    const n = this.tk[2 * k + 1]! - s;
    if (s < 0 || n !== word.length) return false;
    const b = this.line;
    for (let i = 0; i < n; i++) if (b[s + i] !== word[i]) return false;
    return true;
  }

  /** memcached's out_string: a reply line, dropped when the request said noreply. */
  outString(reply: Uint8Array): void {
    if (this.noreply) return;
    this.out.put(reply);
  }

  /** memcached's out_errstring: an error line that noreply does not hide. */
  outError(reply: Uint8Array): void {
    this.noreply = false;
    this.out.put(reply);
  }

  /**
   * Begin reading a data block of `nbytes` (value + "\r\n") into new item memory, after the key
   * `kb[ks..ke)`. False when there is no memory for it (nothing changed).
   */
  startNread(kb: Uint8Array, ks: number, ke: number, nbytes: number): boolean {
    const st = this.ctx.store;
    const nkey = ke - ks;
    const loc = st.alloc(nkey + nbytes);
    if (loc === NO_MEMORY) return false;
    const d = st.arena.buf(loc);
    const at = st.arena.base(loc);
    for (let i = 0; i < nkey; i++) d[at + i] = kb[ks + i]!;
    this.rloc = loc;
    this.rbuf = d;
    this.rpos = at + nkey;
    this.rend = at + nkey + nbytes;
    this.rnkey = nkey;
    this.rnbytes = nbytes;
    this.state = S_NREAD;
    return true;
  }

  /** A connection that goes mid data block gives its item memory back. */
  private abortNread(): void {
    if (this.state === S_NREAD) {
      this.ctx.store.release(this.rloc);
      this.rbuf = EMPTY;
    }
  }

  /** Skip the next `n` bytes of input (the data block of a refused set). */
  swallow(n: number): void {
    if (n <= 0) return;
    this.sbytes = n;
    this.state = S_SWALLOW;
  }
}
