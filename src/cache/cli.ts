// `nutcracker cache` flags: memcached's names where it has one (-p -l -m -I -c -b -v), plus the persistence log's.

import { parseArgs } from "node:util";

export interface CacheOptions {
  readonly help: boolean;
  readonly version: boolean;
  readonly port: number;
  readonly listen: string;
  /** Bytes of items before the LRU evicts. */
  readonly memory: number;
  /** Largest item in bytes (memcached -I). */
  readonly maxItemSize: number;
  readonly maxConnections: number;
  readonly backlog: number;
  /** -v count: 1 logs connections, 2 also logs each command (as memcached -v / -vv). */
  readonly verbose: number;
  readonly aof: string | null;
  readonly sync: "always" | "no" | number;
  readonly repair: boolean;
  /** --aof-max-size: compact the log past this many bytes; null = the log's default. */
  readonly aofMaxSize: number | null;
}

export const CACHE_DEFAULTS = {
  port: 11211,
  listen: "127.0.0.1",
  memory: 64 * 1024 * 1024,
  maxItemSize: 1024 * 1024,
  maxConnections: 1024,
  backlog: 1024,
  sync: 100,
} as const;

export function cacheUsage(): string {
  return `Usage: nutcracker cache [options]

A memcached-compatible cache server (the ASCII and meta protocols of memcached 1.6).

Options:
  -p, --port=N             TCP port to listen on (default: 11211)
  -l, --listen=ADDR        interface to listen on (default: 127.0.0.1)
  -m, --memory=SIZE        memory for items: 64mb, 1g, 512k; a bare number is megabytes,
                           as memcached's -m (also --memory-limit) (default: 64mb)
  -I, --max-item-size=SIZE largest item: 1m, 512k; a bare number is bytes (default: 1m)
  -c, --conn-limit=N       most simultaneous connections (default: 1024)
  -b, --listen-backlog=N   listen backlog (default: 1024)
  -v, --verbose            log connections (-vv: and every command)
      --aof=FILE           keep an append-only log in FILE and replay it at start
      --sync=POLICY        when the log is synced to disk: always (before each reply),
                           <N>ms (every N ms), or no (left to the OS) (default: 100ms)
      --repair             start even if the log's tail is damaged, dropping the damage
      --aof-max-size=SIZE  compact the log when it grows past SIZE (default: 64mb)
  -t, --threads=N          accepted for memcached compatibility; one event loop serves all
  -U, --udp-port=N         accepted for memcached compatibility; only 0 (UDP off)
  -h, --help               this text
  -V, --version            the version
`;
}

/** "64mb", "1g", "512k", "1048576" -> bytes; a bare number is multiplied by `bareUnit`. */
export function parseSize(text: string, bareUnit: number): number | null {
  const m = /^(\d+)([kmg]b?)?$/i.exec(text.trim());
  if (m === null) return null;
  const n = Number(m[1]);
  const u = m[2]?.[0]?.toLowerCase();
  const unit = u === "k" ? 1024 : u === "m" ? 1024 * 1024 : u === "g" ? 1024 * 1024 * 1024 : bareUnit;
  return n * unit;
}

function parseInteger(text: string, min: number, max: number): number | null {
  if (!/^\d+$/.test(text)) return null;
  const n = Number(text);
  return n >= min && n <= max ? n : null;
}

/** Parse the arguments after `cache`; an error is a sentence for stderr. */
export function parseCacheArgs(args: readonly string[]): { ok: true; opts: CacheOptions } | { ok: false; error: string } {
  let v: ReturnType<typeof parse>;
  try {
    v = parse(args);
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
  const o = v.values;
  const fail = (error: string): { ok: false; error: string } => ({ ok: false, error });
  if (v.positionals.length > 0) return fail(`Unexpected argument "${v.positionals[0]}"`);

  const port = o.port === undefined ? CACHE_DEFAULTS.port : parseInteger(o.port, 0, 65535);
  if (port === null) return fail(`Invalid port "${o.port}": expected 0..65535`);
  const memText = o.memory ?? o["memory-limit"]; // memcached's long name
  const memory = memText === undefined ? CACHE_DEFAULTS.memory : parseSize(memText, 1024 * 1024);
  if (memory === null || memory < 1024 * 1024) return fail(`Invalid memory size "${memText}": expected at least 1m, as 64mb, 1g or a number of megabytes`);
  const maxItemSize = o["max-item-size"] === undefined ? CACHE_DEFAULTS.maxItemSize : parseSize(o["max-item-size"], 1);
  if (maxItemSize === null || maxItemSize < 1024 || maxItemSize > 1024 * 1024 * 1024) {
    return fail(`Invalid item size "${o["max-item-size"]}": expected 1k..1g, as 1m or a number of bytes`);
  }
  if (maxItemSize > memory / 2) return fail("Cannot set the item size limit higher than 1/2 of the memory limit");
  const maxConnections = o["conn-limit"] === undefined ? CACHE_DEFAULTS.maxConnections : parseInteger(o["conn-limit"], 1, 1_000_000);
  if (maxConnections === null) return fail(`Invalid connection limit "${o["conn-limit"]}"`);
  const backlog = o["listen-backlog"] === undefined ? CACHE_DEFAULTS.backlog : parseInteger(o["listen-backlog"], 1, 65535);
  if (backlog === null) return fail(`Invalid listen backlog "${o["listen-backlog"]}"`);
  if (o.threads !== undefined && parseInteger(o.threads, 1, 1024) === null) return fail(`Invalid thread count "${o.threads}"`);
  if (o["udp-port"] !== undefined && o["udp-port"] !== "0") return fail("UDP is not supported: only --udp-port 0");

  let sync: "always" | "no" | number = CACHE_DEFAULTS.sync;
  if (o.sync !== undefined) {
    const ms = /^(\d+)ms$/.exec(o.sync);
    if (o.sync === "always" || o.sync === "no") sync = o.sync;
    else if (ms !== null && Number(ms[1]) > 0) sync = Number(ms[1]);
    else return fail(`Invalid sync policy "${o.sync}": expected always, <N>ms or no`);
  }
  let aofMaxSize: number | null = null;
  if (o["aof-max-size"] !== undefined) {
    aofMaxSize = parseSize(o["aof-max-size"], 1);
    if (aofMaxSize === null || aofMaxSize < 4096) return fail(`Invalid log size "${o["aof-max-size"]}": expected at least 4k`);
  }
  const aof = o.aof ?? null;
  if (aof === null && (o.sync !== undefined || o.repair === true || o["aof-max-size"] !== undefined)) {
    return fail("--sync, --repair and --aof-max-size need --aof");
  }
  return {
    ok: true,
    opts: {
      help: o.help === true,
      version: o.version === true,
      port,
      listen: o.listen ?? CACHE_DEFAULTS.listen,
      memory,
      maxItemSize,
      maxConnections,
      backlog,
      verbose: o.verbose?.length ?? 0,
      aof,
      sync,
      repair: o.repair === true,
      aofMaxSize,
    },
  };
}

function parse(args: readonly string[]) {
  return parseArgs({
    args: [...args],
    strict: true,
    allowPositionals: true,
    options: {
      help: { type: "boolean", short: "h" },
      version: { type: "boolean", short: "V" },
      port: { type: "string", short: "p" },
      listen: { type: "string", short: "l" },
      memory: { type: "string", short: "m" },
      "memory-limit": { type: "string" },
      "max-item-size": { type: "string", short: "I" },
      "conn-limit": { type: "string", short: "c" },
      "listen-backlog": { type: "string", short: "b" },
      verbose: { type: "boolean", short: "v", multiple: true },
      aof: { type: "string" },
      sync: { type: "string" },
      repair: { type: "boolean" },
      "aof-max-size": { type: "string" },
      threads: { type: "string", short: "t" },
      "udp-port": { type: "string", short: "U" },
    },
  });
}
