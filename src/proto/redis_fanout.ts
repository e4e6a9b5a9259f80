// Keyspace-wide redis commands: sent to every server of the pool (KEYS, DBSIZE, RANDOMKEY, FLUSHDB, FLUSHALL, SCRIPT, INFO) or to the one a SCAN cursor names, and their replies merged.
//
// SCAN walks the servers in configuration order. The proxy's cursor carries the server: for
// server i of n and that server's cursor c, it is c * n + i while c is not 0; when server i is
// done it is i + 1, which reads back as "server i + 1 from its start"; after the last server it is
// 0. So a full scan returns every key once when nothing changes, and the cursor stays a plain
// decimal (phpredis reads it as a signed 64-bit integer, redis-cli as an unsigned one).

import type { Msg } from "../core/message.ts";
import { MsgCursor, msgCopySpan, type MsgWriter } from "../core/msg_io.ts";
import { argBytes, argCount, argIs, argText, RespOut } from "./redis_args.ts";
import { CmdFanout, CmdMerge, REDIS_COMMANDS } from "./redis_commands.ts";
import { PROXY_SERVER, PROXY_VERSION } from "./redis_local.ts";
import { RspType } from "./redis.ts";
import { RespReader, type RespValue } from "./resp_value.ts";
import { FAN_EVERY, FAN_NONE, type ReqClient } from "./types.ts";

const enc = new TextEncoder();
const dec = new TextDecoder("latin1");
const cursor = new MsgCursor();
const INFO = enc.encode("*1\r\n$4\r\nINFO\r\n");
const SCAN = enc.encode("$4\r\nSCAN\r\n");

/** Arguments each keyspace-wide command takes (after its name): judged here, so no server is asked in vain. */
const FAN_ARITY: Readonly<Partial<Record<CmdMerge, readonly [number, number]>>> = {
  [CmdMerge.concat]: [1, 1], // KEYS pattern
  [CmdMerge.random]: [0, 0], // RANDOMKEY
  [CmdMerge.script]: [1, Number.MAX_SAFE_INTEGER],
  [CmdMerge.scan]: [1, Number.MAX_SAFE_INTEGER],
  [CmdMerge.pubsub]: [1, Number.MAX_SAFE_INTEGER],
};

/** Whether a keyspace-wide command has an argument count redis takes (DBSIZE none, FLUSHDB/FLUSHALL at most ASYNC|SYNC). */
export function redisFanArityOk(msg: Msg): boolean {
  const row = REDIS_COMMANDS[msg.type - 1]!;
  const n = argCount(msg);
  const [lo, hi] = FAN_ARITY[row.merge] ?? (row.merge === CmdMerge.sum ? [0, 0] : row.merge === CmdMerge.status ? [0, 1] : [0, Number.MAX_SAFE_INTEGER]);
  return n >= lo && n <= hi;
}

/** Which servers a request goes to (Proto.fanTarget). */
export function redisFanTarget(msg: Msg, nservers: number): number {
  const row = REDIS_COMMANDS[msg.type - 1];
  if (row === undefined || row.fanout === CmdFanout.one) return FAN_NONE;
  if (row.fanout === CmdFanout.every) return FAN_EVERY;
  // SCAN: the server the cursor names; a cursor that is not one goes to the first, which says so
  const c = scanCursor(msg);
  return c === null ? 0 : Number(c % BigInt(nservers));
}

/** SCAN's cursor argument, or null when it is missing or not a non-negative integer. */
function scanCursor(msg: Msg): bigint | null {
  if (argCount(msg) < 1) return null;
  const t = argText(msg, 0);
  return /^[0-9]{1,20}$/.test(t) ? BigInt(t) : null;
}

/** The bytes for server `server` of `n` (Proto.buildFanPart). */
export function redisBuildFanPart(w: MsgWriter, owner: Msg, server: number, n: number): void {
  const row = REDIS_COMMANDS[owner.type - 1]!;
  if (row.merge === CmdMerge.info) {
    // the default sections, whatever the client asked: the merge picks what it answers
    w.bytes(INFO);
    return;
  }
  const c = row.merge === CmdMerge.scan ? scanCursor(owner) : null;
  if (c === null) {
    w.range(owner, 0, owner.start, owner.mlen);
    return;
  }
  const sc = enc.encode(String(c / BigInt(n)));
  const nargs = argCount(owner);
  w.byte(42); // '*'
  w.uint(1 + nargs);
  w.crlf();
  w.bytes(SCAN);
  w.byte(36); // '$'
  w.uint(sc.length);
  w.crlf();
  w.bytes(sc);
  w.crlf();
  const keys = owner.keys;
  for (let i = 1; i < nargs; i++) {
    const len = keys[i * 3 + 2]!;
    w.byte(36);
    w.uint(len);
    w.crlf();
    w.range(owner, keys[i * 3]!, keys[i * 3 + 1]!, len);
    w.crlf();
  }
}

/** The reply type each server must answer for a fanned-out command (else the whole request fails). */
export function redisFanPartRefused(owner: Msg, rsp: Msg): boolean {
  const t = rsp.type;
  const merge = REDIS_COMMANDS[owner.type - 1]!.merge;
  if (t === RspType.ERROR || t === RspType.BLOB_ERROR) {
    // a split command's rule (redis_pre_coalesce): a refused part fails the whole with EINVAL;
    // SCAN has one part, whose error (an invalid cursor) is the answer, and SCRIPT KILL's
    // -NOTBUSY is one server's state, not a failure
    return merge !== CmdMerge.scan && !(merge === CmdMerge.script && argIs(owner, 0, "KILL"));
  }
  switch (merge) {
    case CmdMerge.concat:
    case CmdMerge.scan:
      return t !== RspType.MULTIBULK;
    case CmdMerge.sum:
      return t !== RspType.INTEGER;
    case CmdMerge.status:
      return t !== RspType.STATUS;
    case CmdMerge.random:
      return t !== RspType.BULK && t !== RspType.NULL;
    case CmdMerge.info:
      return t !== RspType.BULK && t !== RspType.VERBATIM;
    default:
      return false;
  }
}

/** `$-1`: the nil bulk. */
function nilBulk(rsp: Msg): boolean {
  return cursor.reset(rsp).next() === 36 && cursor.next() === 45;
}

function bytesOf(rsp: Msg): Uint8Array {
  const out = new Uint8Array(rsp.mlen);
  rsp.copyTo(out, 0);
  return out;
}

/** Bytes of an aggregate reply after its `*N\r\n` header: its elements. */
function body(rsp: Msg): { idx: number; pos: number; len: number } {
  const c = cursor.reset(rsp);
  c.skipLine();
  const head = 1 + String(rsp.integer).length + 2;
  return { idx: c.idx, pos: c.pos, len: rsp.mlen - head };
}

function concat(header: string, parts: readonly Msg[]): Uint8Array {
  const h = enc.encode(header);
  const spans = parts.map(body);
  const out = new Uint8Array(h.length + spans.reduce((n, s) => n + s.len, 0));
  out.set(h, 0);
  let at = h.length;
  for (let i = 0; i < parts.length; i++) at = msgCopySpan(out, at, parts[i]!, spans[i]!.idx, spans[i]!.pos, spans[i]!.len);
  return out;
}

/** The payload of a bulk or verbatim reply, as text. */
function bulkText(rsp: Msg): string {
  const all = dec.decode(bytesOf(rsp));
  const start = all.indexOf("\r\n") + 2;
  const text = all.slice(start, all.length - 2);
  return rsp.type === RspType.VERBATIM ? text.slice(4) : text;
}

/** The merged reply of a fanned-out request, once every part is answered (Proto.coalesce for these). */
export function redisFanCoalesce(owner: Msg): Uint8Array {
  const parts = owner.frags.map((f) => f.peer!);
  for (const p of parts) if (p.type === RspType.ERROR || p.type === RspType.BLOB_ERROR) return bytesOf(p);
  switch (REDIS_COMMANDS[owner.type - 1]!.merge) {
    case CmdMerge.concat:
      return concat(`*${parts.reduce((n, p) => n + Math.max(0, p.integer), 0)}\r\n`, parts);
    case CmdMerge.sum:
      return enc.encode(`:${parts.reduce((n, p) => n + p.integer, 0)}\r\n`);
    case CmdMerge.status:
      return bytesOf(parts[0]!);
    case CmdMerge.random: {
      const hits = parts.filter((p) => p.type === RspType.BULK && !nilBulk(p));
      return bytesOf(hits.length > 0 ? hits[Math.floor(Math.random() * hits.length)]! : parts[0]!);
    }
    case CmdMerge.script:
      return script(owner, parts);
    case CmdMerge.info:
      return info(owner, parts);
    case CmdMerge.scan:
      return scan(owner, parts[0]!);
    case CmdMerge.pubsub:
      return pubsub(owner, parts);
    default:
      return bytesOf(parts[0]!);
  }
}

/** SCRIPT LOAD: the one sha; EXISTS: 1 only where every server has the script; FLUSH, KILL...: the first answer. */
function script(owner: Msg, parts: readonly Msg[]): Uint8Array {
  if (!argIs(owner, 0, "EXISTS")) return bytesOf(parts[0]!);
  const rows = parts.map((p) => dec.decode(bytesOf(p)).split("\r\n").slice(1, -1));
  const n = rows[0]!.length;
  let out = `*${n}\r\n`;
  for (let i = 0; i < n; i++) out += rows.every((r) => r[i] === ":1") ? ":1\r\n" : ":0\r\n";
  return enc.encode(out);
}

/**
 * PUBSUB over the servers: CHANNELS/SHARDCHANNELS list every server's channels (a channel lives on
 * one server); NUMSUB/SHARDNUMSUB sum each channel's count (RESP3 servers answer a map, read here
 * as its flat pairs); NUMPAT is the largest count, since each client's patterns are on every server.
 */
function pubsub(owner: Msg, parts: readonly Msg[]): Uint8Array {
  const client = owner.owner as unknown as ReqClient;
  const sub = argText(owner, 0).toUpperCase();
  if (sub === "CHANNELS" || sub === "SHARDCHANNELS") {
    return concat(`*${parts.reduce((n, p) => n + Math.max(0, p.integer), 0)}\r\n`, parts);
  }
  const values = parts.map((p) => {
    const r = new RespReader();
    r.push(bytesOf(p));
    return r.next();
  });
  if (sub === "NUMPAT") return enc.encode(`:${Math.max(0, ...values.map((v) => (typeof v === "number" ? v : 0)))}\r\n`);
  if (sub !== "NUMSUB" && sub !== "SHARDNUMSUB") return bytesOf(parts[0]!);
  const first = values[0];
  const pairs = Array.isArray(first) ? first.length / 2 : 0;
  const out = new RespOut(client.resp3);
  if (client.resp3) out.map(pairs);
  else out.array(pairs * 2);
  for (let i = 0; i < pairs; i++) {
    let n = 0;
    for (const v of values) if (Array.isArray(v) && typeof v[i * 2 + 1] === "number") n += v[i * 2 + 1] as number;
    out.bulk(String((first as RespValue[])[i * 2])).int(n);
  }
  return out.bytes();
}

/** SCAN: the server's reply with its cursor made the proxy's (see the top of this file). */
function scan(owner: Msg, rsp: Msg): Uint8Array {
  const f = owner.frags[0]!;
  const n = BigInt((owner.owner as unknown as ReqClient).poolServers);
  const i = BigInt(f.narg);
  const c = cursor.reset(rsp);
  c.skipLine(); // *2
  c.next(); // '$'
  const len = c.readInt();
  let digits = "";
  for (let k = 0; k < len; k++) digits += String.fromCharCode(c.next());
  c.skip(2);
  const sc = BigInt(digits);
  const next = sc !== 0n ? sc * n + i : i + 1n < n ? i + 1n : 0n;
  const head = enc.encode(`*2\r\n$${String(next).length}\r\n${next}\r\n`);
  const rest = rsp.mlen - (1 + 1 + 2) - (1 + String(len).length + 2) - (len + 2);
  const out = new Uint8Array(head.length + rest);
  out.set(head, 0);
  msgCopySpan(out, head.length, rsp, c.idx, c.pos, rest);
  return out;
}

/** Sections INFO answers, in redis's order, and which of them `INFO <section>` names. */
const SECTIONS = ["server", "clients", "persistence", "keyspace"] as const;

/** Whether redis version `a` (x.y.z) is older than `b`. */
function older(a: string, b: string): boolean {
  const x = a.split(".").map((n) => Number.parseInt(n, 10) || 0);
  const y = b.split(".").map((n) => Number.parseInt(n, 10) || 0);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d < 0;
  }
  return false;
}

/**
 * INFO [section ...]: the proxy's own Server and Clients sections, loading:1 while any server is
 * loading, and the Keyspace summed over the pool's servers. redis_version is the lowest of the
 * servers', since a client may only use what every server has.
 */
function info(owner: Msg, parts: readonly Msg[]): Uint8Array {
  const client = owner.owner as unknown as ReqClient;
  let version = "";
  let loading = 0;
  const dbs = new Map<string, { keys: number; expires: number; ttlSum: number }>();
  for (const p of parts) {
    for (const line of bulkText(p).split("\r\n")) {
      const colon = line.indexOf(":");
      if (colon < 0) continue;
      const k = line.slice(0, colon);
      const v = line.slice(colon + 1);
      if (k === "redis_version") {
        if (version === "" || older(v, version)) version = v;
      } else if (k === "loading" && v === "1") loading = 1;
      else if (/^db[0-9]+$/.test(k)) {
        const f = Object.fromEntries(v.split(",").map((kv) => kv.split("=") as [string, string]));
        const d = dbs.get(k) ?? { keys: 0, expires: 0, ttlSum: 0 };
        const expires = Number(f.expires ?? 0);
        d.keys += Number(f.keys ?? 0);
        d.expires += expires;
        d.ttlSum += Number(f.avg_ttl ?? 0) * expires;
        dbs.set(k, d);
      }
    }
  }
  const asked = Array.from({ length: argCount(owner) }, (_, i) => dec.decode(argBytes(owner, i)).toLowerCase());
  const all = asked.length === 0 || asked.some((s) => s === "default" || s === "all" || s === "everything");
  const want = (s: string): boolean => all || asked.includes(s);
  const out: string[] = [];
  for (const s of SECTIONS) {
    if (!want(s)) continue;
    if (out.length > 0) out.push("");
    if (s === "server") {
      out.push("# Server", `redis_version:${version}`, "redis_mode:standalone", `proxy:${PROXY_SERVER}`, `proxy_version:${PROXY_VERSION}`);
      out.push(`pool:${client.conf.name}`, `pool_servers:${parts.length}`);
    } else if (s === "clients") {
      out.push("# Clients", `connected_clients:${client.poolClients}`);
    } else if (s === "persistence") {
      out.push("# Persistence", `loading:${loading}`);
    } else {
      out.push("# Keyspace");
      for (const [db, d] of [...dbs].sort((a, b) => Number(a[0].slice(2)) - Number(b[0].slice(2)))) {
        const ttl = d.expires > 0 ? Math.round(d.ttlSum / d.expires) : 0;
        out.push(`${db}:keys=${d.keys},expires=${d.expires},avg_ttl=${ttl}`);
      }
    }
  }
  const text = out.length === 0 ? "" : `${out.join("\r\n")}\r\n`;
  return new RespOut(false).bulk(text).bytes();
}
