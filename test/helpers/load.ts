// Pipelining raw-socket load for end-to-end tests: clients that keep a window of requests in
// flight, know the exact reply every request must get, and count what came back; plus direct
// backend queries (replies, CLIENT LIST ids) for checking where keys and connections are.

import { connect, type Socket } from "node:net";
import { resp } from "./client.ts";
import { respEnd } from "./diff.ts";

const OK = Buffer.from("+OK\r\n");
const NIL = Buffer.from("$-1\r\n");

const bulk = (v: string): Buffer => Buffer.from(`$${Buffer.byteLength(v)}\r\n${v}\r\n`);

/** What one load client saw; `mismatches` and `errors` keep their first few examples. */
export interface LoadCounts {
  readonly sent: number;
  readonly replies: number;
  /** Replies that are RESP errors (`-...`). */
  readonly errors: number;
  /** Replies that are not errors but not the bytes the request had to get either. */
  readonly mismatches: number;
  readonly examples: readonly string[];
  /** The socket closed before stop() asked for it. */
  readonly closedEarly: boolean;
}

/**
 * One client that writes batches of `SET a va, SET b vb, GET a, MGET a b z` (one write each,
 * so the proxy parses and routes a batch in one turn, with one ring), keeping `window` requests
 * in flight. Keys are the client's own (`keys` of them, two per batch, so no two batches in
 * flight share a key) and every value is unique, so each reply has exactly one right answer:
 * `+OK`, `va`, and `[va, vb, nil]` (z is never written). `key(i)` names key i.
 */
export class LoadClient {
  readonly name: string;
  private readonly port: number;
  private readonly window: number;
  private readonly keyOf: (i: number) => string;
  private readonly nkeys: number;
  private sock: Socket | null = null;
  private pending: Buffer = Buffer.alloc(0);
  /** The exact reply each request in flight must get, oldest first. */
  private readonly expect: Buffer[] = [];
  private head = 0;
  private seq = 0;
  private running = false;
  private stopping = false;
  private idle: (() => void) | null = null;
  /** The value each key was last given, by key index. */
  readonly last = new Map<number, string>();
  sent = 0;
  replies = 0;
  errors = 0;
  mismatches = 0;
  closedEarly = false;
  readonly examples: string[] = [];

  constructor(port: number, name: string, keyOf: (i: number) => string, opts: { window?: number; keys?: number } = {}) {
    this.port = port;
    this.name = name;
    this.keyOf = keyOf;
    this.window = opts.window ?? 8;
    this.nkeys = opts.keys ?? 16;
  }

  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: "127.0.0.1", port: this.port });
      s.setNoDelay(true);
      s.once("connect", () => {
        this.sock = s;
        resolve();
      });
      s.once("error", reject);
      s.on("data", (d: Buffer) => this.onData(d));
      s.on("close", () => {
        if (!this.stopping) {
          this.closedEarly = true;
          this.note(`closed early with ${this.expect.length - this.head} requests in flight`);
        }
        this.sock = null;
        this.idle?.();
      });
    });
  }

  /** Start writing batches; they keep coming until stop(). */
  start(): void {
    this.running = true;
    this.fill();
  }

  /** Stop writing, and resolve once every request written is answered (or the socket closed). */
  stop(): Promise<void> {
    this.running = false;
    return new Promise((resolve) => {
      if (this.sock === null || this.inFlight() === 0) return resolve();
      this.idle = resolve;
    });
  }

  /** Close the socket (after stop()). */
  close(): void {
    this.stopping = true;
    this.sock?.destroy();
  }

  get counts(): LoadCounts {
    return {
      sent: this.sent,
      replies: this.replies,
      errors: this.errors,
      mismatches: this.mismatches,
      examples: this.examples,
      closedEarly: this.closedEarly,
    };
  }

  /** The key of index `i` (for reading values back directly from a backend). */
  key(i: number): string {
    return this.keyOf(i);
  }

  private inFlight(): number {
    return this.expect.length - this.head;
  }

  private note(s: string): void {
    if (this.examples.length < 5) this.examples.push(`${this.name}: ${s}`);
  }

  private fill(): void {
    const s = this.sock;
    while (this.running && s !== null && this.inFlight() + 4 <= this.window) {
      const n = this.seq++;
      const ia = (n * 2) % this.nkeys;
      const ib = (n * 2 + 1) % this.nkeys;
      const a = this.keyOf(ia);
      const b = this.keyOf(ib);
      const z = this.keyOf(-1);
      const va = `${this.name}:${ia}:${n}`;
      const vb = `${this.name}:${ib}:${n}`;
      this.last.set(ia, va);
      this.last.set(ib, vb);
      s.write(Buffer.concat([resp("SET", a, va), resp("SET", b, vb), resp("GET", a), resp("MGET", a, b, z)]));
      this.expect.push(OK, OK, bulk(va), Buffer.concat([Buffer.from("*3\r\n"), bulk(va), bulk(vb), NIL]));
      this.sent += 4;
    }
    // keep the queue from growing without bound
    if (this.head > 4096) {
      this.expect.splice(0, this.head);
      this.head = 0;
    }
  }

  private onData(d: Buffer): void {
    let b = this.pending.length === 0 ? d : Buffer.concat([this.pending, d]);
    let p = 0;
    for (;;) {
      let e: number;
      try {
        e = respEnd(b, p);
      } catch (err) {
        this.mismatches++;
        this.note(`not RESP: ${(err as Error).message}`);
        this.sock?.destroy();
        return;
      }
      if (e < 0) break;
      const got = b.subarray(p, e);
      p = e;
      this.replies++;
      const want = this.head < this.expect.length ? this.expect[this.head++]! : null;
      if (got[0] === 0x2d) {
        // 0x2d = '-'
        this.errors++;
        this.note(`error ${JSON.stringify(got.toString())}`);
      } else if (want === null || !got.equals(want)) {
        this.mismatches++;
        this.note(`got ${JSON.stringify(got.toString())} want ${JSON.stringify(want?.toString() ?? "no reply")}`);
      }
    }
    b = b.subarray(p);
    this.pending = b.length === 0 ? Buffer.alloc(0) : Buffer.from(b);
    if (this.running) this.fill();
    else if (this.inFlight() === 0) this.idle?.();
  }
}

/** Sum of the clients' counts. */
export function totals(clients: readonly LoadClient[]): Omit<LoadCounts, "closedEarly"> & { closedEarly: number } {
  let sent = 0;
  let replies = 0;
  let errors = 0;
  let mismatches = 0;
  let closedEarly = 0;
  const examples: string[] = [];
  for (const c of clients) {
    sent += c.sent;
    replies += c.replies;
    errors += c.errors;
    mismatches += c.mismatches;
    if (c.closedEarly) closedEarly++;
    if (examples.length < 10) examples.push(...c.examples);
  }
  return { sent, replies, errors, mismatches, closedEarly, examples };
}

/** Send `commands` to `port` in one write; resolve with each reply (as latin1 text), then close. */
export function ask(port: number, commands: readonly Buffer[], timeoutMs = 10_000): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: "127.0.0.1", port });
    let buf = Buffer.alloc(0);
    const out: string[] = [];
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`${out.length} of ${commands.length} replies from ${port} within ${timeoutMs} ms: ${JSON.stringify(out.slice(-3))}`));
    }, timeoutMs);
    sock.on("connect", () => sock.write(Buffer.concat(commands)));
    sock.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      let p = 0;
      for (;;) {
        const e = respEnd(buf, p);
        if (e < 0) break;
        out.push(buf.toString("latin1", p, e));
        p = e;
      }
      buf = buf.subarray(p);
      if (out.length >= commands.length) {
        clearTimeout(timer);
        sock.destroy();
        resolve(out);
      }
    });
    sock.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.on("close", () => {
      clearTimeout(timer);
      if (out.length < commands.length) reject(new Error(`${port} closed after ${out.length} of ${commands.length} replies: ${JSON.stringify(out.slice(-3))}`));
    });
  });
}

/**
 * The `id=` of every client connected to the redis at `port` except the one asking (CLIENT ID),
 * sorted: with a backend only the proxy uses, these are the proxy's connections to it.
 */
export async function clientIds(port: number): Promise<number[]> {
  const [me, list] = await ask(port, [resp("CLIENT", "ID"), resp("CLIENT", "LIST")]);
  const own = Number(/^:(\d+)/.exec(me!)![1]);
  return [...list!.matchAll(/^id=(\d+) /gm)].map((m) => Number(m[1])).filter((id) => id !== own).sort((a, b) => a - b);
}
