// Leveled logger with twemproxy's levels and line format (nc_log.h, nc_log.c).
//
// Written here instead of using @std/log: that lives on JSR, which this project cannot reach,
// and twemproxy's levels (0..11, "verbose messages on crack") do not map onto std's five anyway.
//
// Callers test the level before building a message, so a disabled level costs one comparison
// and no string:
//
//   if (log.enabled(LOG_VERB)) log.debug(LOG_VERB, `req ${id} done on c ${c.id}`);
//
// Line format, as _log writes it: `[2026-11-21 22:21:41.123] nc_proxy.c:123 msg`. We have no
// C file and line to print, so ours is `[2026-11-21 22:21:41.123] msg`. The time is local time.

/** nc_log.h levels: lower is more severe; a message is written when its level <= the logger's. */
export const LOG_EMERG = 0;
export const LOG_ALERT = 1;
export const LOG_CRIT = 2;
export const LOG_ERR = 3;
export const LOG_WARN = 4;
export const LOG_NOTICE = 5;
export const LOG_INFO = 6;
export const LOG_DEBUG = 7;
export const LOG_VERB = 8;
export const LOG_VVERB = 9;
export const LOG_VVVERB = 10;
export const LOG_PVERB = 11;

/** Every level with twemproxy's own description of it (the comments in nc_log.h). */
export const LOG_LEVELS = [
  { level: LOG_EMERG, name: "LOG_EMERG", description: "system in unusable" },
  { level: LOG_ALERT, name: "LOG_ALERT", description: "action must be taken immediately" },
  { level: LOG_CRIT, name: "LOG_CRIT", description: "critical conditions" },
  { level: LOG_ERR, name: "LOG_ERR", description: "error conditions" },
  { level: LOG_WARN, name: "LOG_WARN", description: "warning conditions" },
  { level: LOG_NOTICE, name: "LOG_NOTICE", description: "normal but significant condition (default)" },
  { level: LOG_INFO, name: "LOG_INFO", description: "informational" },
  { level: LOG_DEBUG, name: "LOG_DEBUG", description: "debug messages" },
  { level: LOG_VERB, name: "LOG_VERB", description: "verbose messages" },
  { level: LOG_VVERB, name: "LOG_VVERB", description: "verbose messages on crack" },
  { level: LOG_VVVERB, name: "LOG_VVVERB", description: "verbose messages on ganga" },
  { level: LOG_PVERB, name: "LOG_PVERB", description: "periodic verbose messages on crack" },
] as const;

/** Where lines go: the runtime's LogFile (runtime/types.ts) fits. Each write is one whole line. */
export interface LogSink {
  write(text: string): void;
  reopen(): void;
}

/** twemproxy's _log_safe prefix: it runs in signal handlers, where formatting a time is unsafe. */
const SAFE_PREFIX = "[.......................] ";

/** Largest hexdump twemproxy writes in one go (8 * LOG_MAX_LEN); longer data is cut there. */
const HEXDUMP_MAX = 8 * 256;

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

/**
 * `[YYYY-MM-DD HH:MM:SS.mmm] ` in local time, twemproxy's strftime("%Y-%m-%d %H:%M:%S.") + "%03ld".
 *
 * @example
 * ```ts
 * formatTimestamp(new Date(2026, 10, 21, 22, 21, 41, 123).getTime()); // "[2026-11-21 22:21:41.123] "
 * ```
 */
export function formatTimestamp(epochMs: number): string {
  const d = new Date(epochMs);
  return (
    `[${d.getFullYear()}-${pad(d.getMonth() + 1, 2)}-${pad(d.getDate(), 2)} ` +
    `${pad(d.getHours(), 2)}:${pad(d.getMinutes(), 2)}:${pad(d.getSeconds(), 2)}.${pad(d.getMilliseconds(), 3)}] `
  );
}

function clamp(level: number): number {
  return Math.max(LOG_EMERG, Math.min(Math.trunc(level), LOG_PVERB));
}

/**
 * `hexdump -C` layout, as nc_log.c _log_hexdump: offset, 16 bytes in hex with a gap after the
 * eighth, then the printable bytes between bars. Stops at twemproxy's 2048-character limit.
 */
export function hexdump(data: Uint8Array): string {
  let out = "";
  for (let off = 0; off < data.length && out.length < HEXDUMP_MAX - 1; off += 16) {
    let hex = "";
    let text = "";
    for (let i = 0; i < 16; i++) {
      const sep = i === 7 ? "  " : " ";
      const c = data[off + i];
      if (c === undefined) {
        hex += `  ${sep}`;
        continue;
      }
      hex += c.toString(16).padStart(2, "0") + sep;
      text += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : "."; // isprint in the C locale
    }
    out += `${off.toString(16).padStart(8, "0")}  ${hex}  |${text}|\n`;
  }
  return out;
}

/**
 * twemproxy's logger: one level, one sink, one line per call.
 *
 * Gates, as nc_log.h defines them: `loga` always writes; `error` writes at level >= LOG_ALERT
 * (twemproxy's log_error tests LOG_ALERT, not LOG_ERR); `warn` at >= LOG_WARN; `debug(level)`
 * at >= level. twemproxy compiles log_debug out unless built with --enable-debug=log, so a
 * stock nutcracker prints nothing above warnings even at -v 11; we always keep them.
 *
 * @example
 * ```ts
 * const log = new Logger(rt.openLog(opts.output), Date.now, opts.verbosity);
 * log.loga("nutcracker-0.5.0 started on pid 42");
 * if (log.enabled(LOG_VERB)) log.debug(LOG_VERB, "parsed req 7");
 * ```
 */
export class Logger {
  #sink: LogSink;
  #clock: () => number;
  #level: number;
  #nerror = 0;

  /** `level` is clamped to 0..11 without a message, as log_init does. */
  constructor(sink: LogSink, clock: () => number, level: number = LOG_NOTICE) {
    this.#sink = sink;
    this.#clock = clock;
    this.#level = clamp(level);
  }

  get level(): number {
    return this.#level;
  }

  /** Lines the sink refused (twemproxy's nerror). */
  get nerror(): number {
    return this.#nerror;
  }

  /** True when a message at `level` would be written; test it before formatting the message. */
  enabled(level: number): boolean {
    return level <= this.#level;
  }

  /** Sets the level (clamped to 0..11) and logs it, as log_level_set does. */
  setLevel(level: number): void {
    this.#level = clamp(level);
    this.loga(`set log level to ${this.#level}`);
  }

  /** One level more verbose, up to LOG_PVERB (SIGTTIN in twemproxy). */
  levelUp(): void {
    if (this.#level < LOG_PVERB) {
      this.#level++;
      this.#write(`${SAFE_PREFIX}up log level to ${this.#level}\n`);
    }
  }

  /** One level less verbose, down to LOG_EMERG (SIGTTOU in twemproxy). */
  levelDown(): void {
    if (this.#level > LOG_EMERG) {
      this.#level--;
      this.#write(`${SAFE_PREFIX}down log level to ${this.#level}\n`);
    }
  }

  /** Log always, whatever the level (twemproxy's loga). */
  loga(msg: string): void {
    this.#write(formatTimestamp(this.#clock()) + msg + "\n");
  }

  /** twemproxy's log_error: written at level >= LOG_ALERT. */
  error(msg: string): void {
    if (this.#level >= LOG_ALERT) this.loga(msg);
  }

  /** twemproxy's log_warn: written at level >= LOG_WARN. */
  warn(msg: string): void {
    if (this.#level >= LOG_WARN) this.loga(msg);
  }

  /** log_debug(LOG_NOTICE, ...): the default level, so written unless -v is lowered. */
  notice(msg: string): void {
    if (this.#level >= LOG_NOTICE) this.loga(msg);
  }

  /** log_debug(LOG_INFO, ...). */
  info(msg: string): void {
    if (this.#level >= LOG_INFO) this.loga(msg);
  }

  /** twemproxy's log_debug(level, ...). */
  debug(level: number, msg: string): void {
    if (level <= this.#level) this.loga(msg);
  }

  /** log_hexdump(level, data, ...): the message line, then `data` in `hexdump -C` layout. */
  hexdump(level: number, data: Uint8Array, msg: string): void {
    if (level > this.#level) return;
    this.loga(msg);
    this.#write(hexdump(data));
  }

  /** Reopen the file after logrotate moved it (twemproxy does this on SIGHUP). */
  reopen(): void {
    try {
      this.#sink.reopen();
    } catch {
      // twemproxy: "reopening log file failed, ignored"; the old sink stays in use
      this.#nerror++;
    }
  }

  #write(text: string): void {
    try {
      this.#sink.write(text);
    } catch {
      // a full disk must not take the proxy down; twemproxy counts and carries on
      this.#nerror++;
    }
  }
}
