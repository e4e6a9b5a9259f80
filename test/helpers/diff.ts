// Differential testing against nutcracker: run one request sequence on a proxy, collect the bytes and closed-ness; the deliberate differences.

import { connect, type Socket } from "node:net";
import { type ConnectionOptions, connect as tlsConnect } from "node:tls";
import { prng } from "./split.ts";

/** The pools every system under test is configured with (same names, same shape, own backends). */
export type PoolName = "two" | "three" | "auth" | "authdb" | "db" | "oom" | "dead" | "half" | "slow" | "ro" | "stale";

/** The password of the D and E redis-servers (the auth pools). */
export const PASSWORD = "sekrit";

/** Each pool's keys besides listen and servers (the same for nutcracker and ours). */
export const POOL_KEYS: Readonly<Record<PoolName, string>> = {
  two: "  hash: fnv1a_64\n  distribution: ketama\n",
  three: "  hash: murmur\n  distribution: modula\n  hash_tag: \"{}\"\n",
  auth: `  redis_auth: ${PASSWORD}\n`,
  authdb: `  redis_auth: ${PASSWORD}\n  redis_db: 1\n`,
  db: "  redis_db: 2\n",
  oom: "",
  dead: "",
  half: "  distribution: modula\n",
  slow: "  timeout: 400\n",
  ro: "",
  stale: "",
};
export const POOLS = Object.keys(POOL_KEYS) as PoolName[];

export function passwordOf(pool: PoolName): string | null {
  return pool === "auth" || pool === "authdb" ? PASSWORD : null;
}

/**
 * One system's redis-servers by role: A B C plain, D E with PASSWORD, F with no memory to spare,
 * G a master with H its read-only replica, S a replica of a dead master that serves no stale data.
 */
export type RedisRole = "A" | "B" | "C" | "D" | "E" | "F" | "G" | "H" | "S";

/**
 * The servers of `pool` in config order, with their names (names fix placement, not ports):
 * `port` gives a role's port, `dead` is a port nothing listens on, `hole` one that never answers.
 */
export function poolServers(pool: PoolName, port: (r: RedisRole) => number, dead: number, hole: number): { port: number; name: string }[] {
  switch (pool) {
    case "two":
    case "db":
      return [{ port: port("A"), name: "s1" }, { port: port("B"), name: "s2" }];
    case "three":
      return [{ port: port("A"), name: "s1" }, { port: port("B"), name: "s2" }, { port: port("C"), name: "s3" }];
    case "auth":
    case "authdb":
      return [{ port: port("D"), name: "s1" }, { port: port("E"), name: "s2" }];
    case "oom":
      return [{ port: port("F"), name: "s1" }];
    case "dead":
      return [{ port: dead, name: "s1" }];
    case "half":
      return [{ port: port("A"), name: "s1" }, { port: dead, name: "s2" }];
    case "slow":
      return [{ port: hole, name: "s1" }];
    case "ro":
      return [{ port: port("G"), name: "s1" }, { port: port("H"), name: "s2" }];
    case "stale":
      return [{ port: port("G"), name: "s1" }, { port: port("S"), name: "s2" }];
  }
}

/** One request sequence of the corpus. */
export interface Sequence {
  /** Unique; names the test. */
  readonly name: string;
  readonly pool: PoolName;
  /** Every key the sequence touches starts with this, so sequences can share backends and run at once. */
  readonly prefix: string;
  /** Raw request bytes; each element is one write (or one lockstep step). */
  readonly requests: readonly Buffer[];
  /** Write each step in pieces of this many bytes (1: byte by byte), or at seeded random sizes (1..64). */
  readonly chunk?: number | "random";
  /** Send request i+1 only once a reply to request i arrived (or the peer closed, or went idle). */
  readonly lockstep?: boolean;
  /** Append a QUIT (the default), so the exchange ends by a close instead of an idle timeout. */
  readonly quit?: boolean;
  /** Silence, after the last byte either way, that ends the exchange; IDLE_MS without QUIT, else WAIT_MS. */
  readonly idleMs?: number;
  /** Also report the keys under `prefix` that each backend of the pool holds, per database. */
  readonly inspect?: boolean;
  /** Sort the elements of every array in the replies before comparing (COMMAND: redis's order is per process). */
  readonly sortArrays?: boolean;
  /** Heavy (megabytes): run alone, after the others, so its load cannot stall them into false idle timeouts. */
  readonly exclusive?: boolean;
}

/** What one system did with a sequence. */
export interface Outcome {
  readonly bytes: Buffer;
  readonly closed: boolean;
  /** Keys per backend and database when the sequence asked for `inspect`, else "". */
  readonly backends: string;
  /** Set when the exchange itself failed (hard time limit): never equal to a real outcome. */
  readonly error: string;
}

/** A deliberate difference: the sequence asserts our documented behaviour instead of nutcracker's. */
export interface Difference {
  readonly reason: string;
  /** Only at this -m; at other sizes the sequence must match nutcracker. */
  readonly mbuf?: number;
  /** Our outcome (bytes as latin1); without `backends`, keys must sit where nutcracker puts them. */
  readonly ours: { readonly bytes: string; readonly closed: boolean; readonly backends?: string };
}

/**
 * Where we differ from nutcracker 0.5.0 on purpose, by sequence name. The README's redis section
 * documents each; the opt-in error mode will add its sequences here when the pool key exists.
 */
export const DIFFERENCES: Readonly<Record<string, Difference>> = {
  "EXISTS split over 3 servers": {
    reason: "twemproxy documents EXISTS as split but routes it by its first key only; we split and sum",
    ours: { bytes: "+OK\r\n+OK\r\n+OK\r\n+OK\r\n+OK\r\n+OK\r\n:6\r\n:3\r\n", closed: true },
  },
  "EXISTS split over 2 servers": {
    reason: "twemproxy documents EXISTS as split but routes it by its first key only; we split and sum",
    ours: { bytes: "+OK\r\n:20\r\n:3\r\n", closed: true },
  },
  "EXISTS split, pipelined 1,000 times": {
    reason: "twemproxy documents EXISTS as split but routes it by its first key only; we split and sum",
    ours: { bytes: "+OK\r\n" + ":8\r\n".repeat(1000), closed: true },
  },
  "key of exactly 464 bytes": {
    reason: "twemproxy closes a connection whose key does not fit one mbuf (464 data bytes at -m 512); we accept it",
    mbuf: 512,
    ours: { bytes: "+OK\r\n$3\r\n464\r\n:1\r\n", closed: true },
  },
  "key of exactly 16335 bytes": {
    reason: "twemproxy closes a connection whose key does not fit one mbuf (464 data bytes at -m 512); we accept it",
    mbuf: 512,
    ours: { bytes: "+OK\r\n$5\r\n16335\r\n:1\r\n", closed: true },
  },
  "key of exactly 16336 bytes": {
    reason: "twemproxy closes a connection whose key does not fit one mbuf (16336 data bytes at -m 16384); we accept it",
    ours: { bytes: "+OK\r\n$5\r\n16336\r\n:1\r\n", closed: true },
  },
  "key of 470 bytes (mbuf 512)": {
    reason: "twemproxy closes a connection whose key does not fit one mbuf (464 data bytes at -m 512); we accept it",
    mbuf: 512,
    ours: { bytes: "+OK\r\n$5\r\nvalue\r\n:1\r\n", closed: true },
  },
  "key of 600 bytes in MGET (mbuf 512)": {
    reason: "twemproxy closes a connection whose key does not fit one mbuf (464 data bytes at -m 512); we accept it",
    mbuf: 512,
    ours: { bytes: "+OK\r\n*2\r\n$2\r\nv1\r\n$-1\r\n", closed: true },
  },
  "key of 20,000 bytes": {
    reason: "twemproxy closes a connection whose key does not fit one mbuf (even at -m 16384); we accept it",
    ours: { bytes: "+OK\r\n$6\r\nvalue2\r\n", closed: true },
  },
  // Bugs of nutcracker 0.5.0 we do not reproduce (the README should list them with the rest).
  "EVAL numkeys across the mbuf boundary, script of 435 bytes": {
    reason: "0.5.0 miscounts an EVAL whose numkeys straddles two mbufs and closes the connection (fixed upstream after 0.5.0, c3f433b)",
    mbuf: 512,
    ours: { bytes: ":1\r\n+PONG\r\n", closed: true },
  },
  "EVAL numkeys across the mbuf boundary, script of 436 bytes": {
    reason: "0.5.0 miscounts an EVAL whose numkeys straddles two mbufs and closes the connection (fixed upstream after 0.5.0, c3f433b)",
    mbuf: 512,
    ours: { bytes: ":1\r\n+PONG\r\n", closed: true },
  },
  "malformed: multi-bulk count overflowing 32 bits": {
    reason: "0.5.0 keeps counts in 32 bits, so *4294967297 reads as *1 and PING is answered; we close on the bad count",
    ours: { bytes: "", closed: true },
  },
  "malformed: bulk length overflowing 32 bits": {
    reason: "0.5.0 keeps lengths in 32 bits and forwards a $4294967297 key to redis; we close on the bad length",
    ours: { bytes: "", closed: true },
  },
  "redis_auth with redis_db: AUTH before SELECT": {
    reason: "twemproxy sends SELECT before AUTH (its bug #457), so the data lands in db 0; we send AUTH first",
    ours: { bytes: "+OK\r\n+OK\r\n$1\r\nv\r\n", closed: true, backends: 'backend 0 db 1: "authdb:a"' },
  },
};

/** The difference that applies to `name` at mbuf size `mbuf`, if any. */
export function differenceFor(name: string, mbuf: number): Difference | undefined {
  const d = DIFFERENCES[name];
  return d !== undefined && (d.mbuf === undefined || d.mbuf === mbuf) ? d : undefined;
}

/** RESP-encode one command. */
export function cmd(...args: (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = typeof a === "string" ? Buffer.from(a, "latin1") : a;
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from("\r\n"));
  }
  return Buffer.concat(parts);
}

export const QUIT = cmd("QUIT");

/**
 * The silence that ends an exchange which is expected to stay open (`quit: false`). A sequence
 * that ends with QUIT, and a lockstep step, expect a close or a reply: they give up only after
 * WAIT_MS of silence, so a slow proxy is never mistaken for a quiet one, and only a proxy that
 * misbehaves pays that wait.
 */
export const IDLE_MS = 750;
export const WAIT_MS = 5000;

/**
 * The end offset of the RESP value starting at `off` in `b`, or -1 when it is incomplete.
 * Throws on bytes that are not a RESP2 value.
 */
export function respEnd(b: Buffer, off: number): number {
  const line = b.indexOf("\r\n", off, "latin1");
  if (line < 0) return -1;
  const type = b[off];
  const head = b.toString("latin1", off + 1, line);
  switch (type) {
    case 0x2b: // +
    case 0x2d: // -
    case 0x3a: // :
      return line + 2;
    case 0x24: {
      // $
      const n = Number(head);
      if (!Number.isInteger(n) || n < -1) throw new Error(`bad bulk length ${JSON.stringify(head)}`);
      if (n === -1) return line + 2;
      const end = line + 2 + n + 2;
      return end <= b.length ? end : -1;
    }
    case 0x2a: {
      // *
      const n = Number(head);
      if (!Number.isInteger(n) || n < -1) throw new Error(`bad array length ${JSON.stringify(head)}`);
      let p = line + 2;
      for (let i = 0; i < n; i++) {
        p = respEnd(b, p);
        if (p < 0) return -1;
      }
      return p;
    }
    default:
      throw new Error(`not RESP at ${off}: ${JSON.stringify(b.toString("latin1", off, off + 20))}`);
  }
}

/** Count the complete top-level replies in `b` (stops at the first incomplete or malformed one). */
export function countReplies(b: Buffer): number {
  let n = 0;
  let p = 0;
  try {
    while (p < b.length) {
      const e = respEnd(b, p);
      if (e < 0) break;
      n++;
      p = e;
    }
  } catch {
    /* not RESP: count what parsed */
  }
  return n;
}

/** The RESP value at `b[p..e)` with the elements of every array in it sorted bytewise, recursively. */
function sortValue(b: Buffer, p: number, e: number): Buffer {
  if (b[p] !== 0x2a) return b.subarray(p, e);
  const line = b.indexOf("\r\n", p, "latin1");
  const elems: Buffer[] = [];
  let q = line + 2;
  while (q < e) {
    const f = respEnd(b, q);
    elems.push(sortValue(b, q, f));
    q = f;
  }
  elems.sort(Buffer.compare);
  return Buffer.concat([b.subarray(p, line + 2), ...elems]);
}

/** `b` with the elements of every array reply sorted bytewise, at every depth (anything unparsable is kept as is). */
export function sortArrayReplies(b: Buffer): Buffer {
  const out: Buffer[] = [];
  let p = 0;
  try {
    while (p < b.length) {
      const e = respEnd(b, p);
      if (e < 0) break;
      out.push(sortValue(b, p, e));
      p = e;
    }
  } catch {
    /* fall through: keep the rest verbatim */
  }
  out.push(b.subarray(p));
  return Buffer.concat(out);
}

/** The pieces `data` is written in. */
function pieces(data: Buffer, chunk: number | "random" | undefined, seed: number): Buffer[] {
  if (chunk === undefined || data.length === 0) return [data];
  const out: Buffer[] = [];
  const rnd = prng(seed);
  for (let i = 0; i < data.length; ) {
    const n = chunk === "random" ? 1 + Math.floor(rnd() * 64) : chunk;
    out.push(data.subarray(i, i + n));
    i += n;
  }
  return out;
}

/** Options for one exchange. */
export interface ExchangeOptions {
  /** The whole exchange may not take longer than this (ms); default 60 s. */
  readonly limitMs?: number;
  /**
   * Speak TLS to `port` (node:tls, with these options: `ca` at least): the sequence starts once
   * the handshake completed; a connection that closes before it ends with `error` set.
   */
  readonly tls?: ConnectionOptions;
}

/**
 * Connect to `port`, write the sequence (plus QUIT unless `quit: false`), and collect every byte
 * until the peer closes, or until the sequence's idle time passes with no byte in either direction.
 */
export function runSequence(port: number, seq: Sequence, opts: ExchangeOptions = {}): Promise<Omit<Outcome, "backends">> {
  const endIdleMs = seq.idleMs ?? (seq.quit === false ? IDLE_MS : WAIT_MS);
  const stepIdleMs = seq.idleMs ?? WAIT_MS;
  const steps: Buffer[] = seq.lockstep ? [...seq.requests] : [Buffer.concat(seq.requests)];
  if (seq.quit !== false) {
    if (seq.lockstep) steps.push(QUIT);
    else steps[0] = Buffer.concat([steps[0]!, QUIT]);
  }
  return new Promise((resolve) => {
    const sock: Socket = opts.tls === undefined ? connect({ host: "127.0.0.1", port, noDelay: true }) : tlsConnect({ host: "127.0.0.1", port, ...opts.tls });
    if (opts.tls !== undefined) sock.setNoDelay(true);
    let handshake = opts.tls === undefined ? "" : "the TLS handshake did not complete";
    const got: Buffer[] = [];
    let gotLen = 0;
    let closed = false;
    let finished = false;
    let waiter: { pred: () => boolean; resolve: () => void } | null = null;
    let idle: ReturnType<typeof setTimeout> | undefined;

    const finish = (error: string): void => {
      if (finished) return;
      finished = true;
      clearTimeout(idle);
      clearTimeout(limit);
      const wasClosed = closed;
      sock.destroy();
      resolve({ bytes: Buffer.concat(got, gotLen), closed: wasClosed, error });
    };
    const limit = setTimeout(() => finish(`no close and no ${endIdleMs} ms of silence within ${opts.limitMs ?? 60_000} ms`), opts.limitMs ?? 60_000);

    let idleMs = stepIdleMs;
    /** Resolve when `pred` holds, the peer closed, or nothing arrived for idleMs. */
    const settle = (pred: () => boolean): Promise<void> =>
      new Promise((res) => {
        if (closed || pred()) return res();
        const done = (): void => {
          clearTimeout(idle);
          waiter = null;
          res();
        };
        waiter = { pred, resolve: done };
        idle = setTimeout(done, idleMs);
      });
    const poke = (): void => {
      if (waiter === null) return;
      if (closed || waiter.pred()) waiter.resolve();
      else {
        clearTimeout(idle);
        const w = waiter;
        idle = setTimeout(w.resolve, idleMs);
      }
    };

    sock.on("data", (d: Buffer) => {
      got.push(d);
      gotLen += d.length;
      poke();
    });
    sock.on("error", (e: Error & { code?: string }) => {
      /* ECONNRESET / EPIPE: the peer closed; "close" follows */
      if (handshake !== "") handshake = `the TLS handshake did not complete: ${e.code ?? e.message}`;
    });
    sock.on("close", () => {
      closed = true;
      poke();
      if (waiter === null) finish(handshake);
    });

    const write = (b: Buffer): Promise<void> =>
      new Promise((res) => {
        if (closed || sock.destroyed) return res();
        sock.write(b, () => res());
      });

    sock.on(opts.tls === undefined ? "connect" : "secureConnect", async () => {
      handshake = "";
      let seed = 1;
      for (const step of steps) {
        const before = countReplies(Buffer.concat(got, gotLen));
        for (const p of pieces(step, seq.chunk, seed++)) {
          if (closed) break;
          await write(p);
          // let the bytes leave as their own segment when chunked
          if (seq.chunk !== undefined) await new Promise((r) => setImmediate(r));
        }
        if (closed) break;
        if (seq.lockstep) await settle(() => countReplies(Buffer.concat(got, gotLen)) > before);
      }
      // the end: a close, or silence
      idleMs = endIdleMs;
      await settle(() => false);
      finish("");
    });
  });
}

/** Send `commands` straight to a backend (AUTH first when `password`), return the raw replies after the AUTH. */
export function direct(port: number, commands: Buffer[], password: string | null): Promise<Buffer> {
  const all = [...(password === null ? [] : [cmd("AUTH", password)]), ...commands];
  return new Promise((resolve, reject) => {
    const sock = connect({ host: "127.0.0.1", port });
    const got: Buffer[] = [];
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`backend ${port} did not answer`));
    }, 10_000);
    sock.on("connect", () => sock.write(Buffer.concat(all)));
    sock.on("data", (d: Buffer) => {
      got.push(d);
      const b = Buffer.concat(got);
      if (countReplies(b) >= all.length) {
        clearTimeout(timer);
        sock.destroy();
        let p = 0;
        if (password !== null) p = respEnd(b, 0);
        resolve(b.subarray(p));
      }
    });
    sock.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** Which keys under `prefix` each backend holds in databases 0..2, sorted, as one line; "" when none. */
export async function inspectBackends(ports: readonly number[], password: string | null, prefix: string): Promise<string> {
  const lines: string[] = [];
  for (let i = 0; i < ports.length; i++) {
    const cmds: Buffer[] = [];
    for (const db of [0, 1, 2]) cmds.push(cmd("SELECT", String(db)), cmd("KEYS", `${prefix}*`));
    const b = await direct(ports[i]!, cmds, password);
    let p = 0;
    for (const db of [0, 1, 2]) {
      p = respEnd(b, p); // SELECT's +OK
      const end = respEnd(b, p);
      const keys: string[] = [];
      const line = b.indexOf("\r\n", p, "latin1");
      let q = line + 2;
      while (q < end) {
        const f = respEnd(b, q);
        const h = b.indexOf("\r\n", q, "latin1");
        keys.push(b.toString("latin1", h + 2, f - 2));
        q = f;
      }
      p = end;
      if (keys.length > 0) lines.push(`backend ${i} db ${db}: ${keys.sort().map((k) => JSON.stringify(k)).join(" ")}`);
    }
  }
  return lines.join("; ");
}

/** A short, byte-level account of how `got` differs from `want`; "" when they are equal. */
export function describeDifference(got: Outcome, want: Outcome, gotName: string, wantName: string): string {
  const out: string[] = [];
  if (got.error !== "") out.push(`${gotName} exchange failed: ${got.error}`);
  if (want.error !== "") out.push(`${wantName} exchange failed: ${want.error}`);
  if (got.closed !== want.closed) out.push(`${gotName} ${got.closed ? "closed" : "kept open"} the connection, ${wantName} ${want.closed ? "closed" : "kept it open"}`);
  if (!got.bytes.equals(want.bytes)) {
    let i = 0;
    while (i < got.bytes.length && i < want.bytes.length && got.bytes[i] === want.bytes[i]) i++;
    const at = (b: Buffer): string => {
      const s = JSON.stringify(b.toString("latin1", Math.max(0, i - 60), Math.min(b.length, i + 100)));
      return s.length > 400 ? `${s.slice(0, 400)}...` : s;
    };
    out.push(
      `bytes differ at ${i} (${gotName} ${got.bytes.length} bytes, ${wantName} ${want.bytes.length} bytes):\n` +
        `  ${gotName.padEnd(10)} ${at(got.bytes)}\n  ${wantName.padEnd(10)} ${at(want.bytes)}`,
    );
  }
  if (got.backends !== want.backends) out.push(`backends differ:\n  ${gotName.padEnd(10)} ${got.backends}\n  ${wantName.padEnd(10)} ${want.backends}`);
  return out.join("\n");
}
