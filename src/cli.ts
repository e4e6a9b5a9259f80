// The nutcracker 0.5.0 command line: options, defaults, checks and usage text (nc.c).
//
// Parsed by a port of the getopt_long() loop nc.c runs, not by node:util parseArgs, because
// parseArgs differs from getopt where users notice: it rejects `-c -myfile.yml` (getopt takes
// "-myfile.yml" as the value), it has no unambiguous prefixes (`--verb=3`), and its messages are
// not nutcracker's. Like getopt, arguments that are not options are skipped and `--` ends the options.

import { ncAtoi, validPort } from "./conf/atoi.ts";
import { LOG_EMERG, LOG_NOTICE, LOG_PVERB } from "./log.ts";

export const NC_VERSION = "0.5.0";

/** Parsed command line. `help`, `version` and `describeStats` are the flags as given; see main for the order of output. */
export interface CliOptions {
  /** -h: print versionText() then usageText(), exit 0. */
  readonly help: boolean;
  /** -V: print versionText(), exit 0. */
  readonly version: boolean;
  /** -t: check the configuration file and exit. */
  readonly testConf: boolean;
  readonly daemonize: boolean;
  /** -D: print versionText() then the stats description, exit 0. */
  readonly describeStats: boolean;
  /** 0..11; larger values are clamped to 11, as twemproxy's log_init does. */
  readonly verbosity: number;
  /** Log file; null = stderr. */
  readonly output: string | null;
  readonly confFile: string;
  readonly statsPort: number;
  readonly statsAddr: string;
  /** Milliseconds. */
  readonly statsInterval: number;
  /** null = no pid file. */
  readonly pidFile: string | null;
  readonly mbufSize: number;
  /** Ours (--metrics-port): the Prometheus port; null = no metrics listener. */
  readonly metricsPort: number | null;
  /** Ours (--metrics-addr): where the metrics port listens. */
  readonly metricsAddr: string;
  /** Ours (--watch): reload the configuration when its file changes. */
  readonly watch: boolean;
  /** Ours (--workers): worker processes on the same ports; 1 is one process as nutcracker, 0 one per CPU. */
  readonly workers: number;
  /** Internal (--worker-slot=I:DIR): this process is worker I of a primary whose sockets are in DIR. */
  readonly workerSlot: { readonly index: number; readonly dir: string } | null;
}

/** nutcracker's defaults (nc.c NC_* and the STATS_/MBUF_ constants they point at). */
export const CLI_DEFAULTS: CliOptions = {
  help: false,
  version: false,
  testConf: false,
  daemonize: false,
  describeStats: false,
  verbosity: LOG_NOTICE,
  output: null,
  confFile: "conf/nutcracker.yml",
  statsPort: 22222,
  statsAddr: "0.0.0.0",
  statsInterval: 30000,
  pidFile: null,
  mbufSize: 16384,
  metricsPort: null,
  metricsAddr: "0.0.0.0",
  watch: false,
  workers: 1,
  workerSlot: null,
};

/** --workers above this is a typo, not a machine. */
export const MAX_WORKERS = 256;

/** Bounds of -m (nc_mbuf.h MBUF_MIN_SIZE, MBUF_MAX_SIZE). */
export const MBUF_MIN_SIZE = 512;
export const MBUF_MAX_SIZE = 16777216;

/** Kind of value an option takes; also picks nc.c's "requires a ..." message. */
type ArgKind = "none" | "number" | "file" | "string";

interface OptionSpec {
  readonly short: string;
  readonly long: string;
  readonly arg: ArgKind;
  /** The usage line's text after the colon. */
  readonly help: string;
}

const d = CLI_DEFAULTS;

/** nc.c long_options, in its order, with each option's usage text; usageText() is generated from it. */
export const CLI_OPTIONS: readonly OptionSpec[] = [
  { short: "h", long: "help", arg: "none", help: "this help" },
  { short: "V", long: "version", arg: "none", help: "show version and exit" },
  { short: "t", long: "test-conf", arg: "none", help: "test configuration for syntax errors and exit" },
  { short: "d", long: "daemonize", arg: "none", help: "run as a daemon" },
  { short: "D", long: "describe-stats", arg: "none", help: "print stats description and exit" },
  {
    short: "v",
    long: "verbose",
    arg: "number",
    help: `set logging level (default: ${d.verbosity}, min: ${LOG_EMERG}, max: ${LOG_PVERB})`,
  },
  { short: "o", long: "output", arg: "file", help: `set logging file (default: ${d.output ?? "stderr"})` },
  { short: "c", long: "conf-file", arg: "file", help: `set configuration file (default: ${d.confFile})` },
  { short: "s", long: "stats-port", arg: "number", help: `set stats monitoring port (default: ${d.statsPort})` },
  { short: "a", long: "stats-addr", arg: "string", help: `set stats monitoring ip (default: ${d.statsAddr})` },
  {
    short: "i",
    long: "stats-interval",
    arg: "number",
    help: `set stats aggregation interval in msec (default: ${d.statsInterval} msec)`,
  },
  { short: "p", long: "pid-file", arg: "file", help: `set pid file (default: ${d.pidFile ?? "off"})` },
  { short: "m", long: "mbuf-size", arg: "number", help: `set size of mbuf chunk in bytes (default: ${d.mbufSize} bytes)` },
];

/**
 * Our long-only options. They are left out of the usage text, which stays nutcracker's byte for
 * byte, and an abbreviation means one of them only when it fits none of nutcracker's options
 * (so `--m=512` is still --mbuf-size).
 */
export const EXTRA_OPTIONS: readonly OptionSpec[] = [
  { short: "", long: "metrics-port", arg: "number", help: "set Prometheus metrics port (default: off)" },
  { short: "", long: "metrics-addr", arg: "string", help: `set Prometheus metrics ip (default: ${d.metricsAddr})` },
  { short: "", long: "watch", arg: "none", help: "reload the configuration when its file changes" },
  { short: "", long: "workers", arg: "number", help: "worker processes sharing the ports (default: 1; 0: one per CPU)" },
  { short: "", long: "worker-slot", arg: "string", help: "internal: the primary starts its workers with it" },
];

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** nc_get_options' handling of one option; returns an error message or null. */
function apply(o: Mutable<CliOptions>, opt: OptionSpec, value: string): string | null {
  switch (opt.long) {
    case "metrics-port": {
      const n = ncAtoi(value);
      if (n < 0) return "option --metrics-port requires a number";
      if (!validPort(n)) return `option --metrics-port value ${n} is not a valid port`;
      o.metricsPort = n;
      return null;
    }
    case "metrics-addr":
      o.metricsAddr = value;
      return null;
    case "watch":
      o.watch = true;
      return null;
    case "workers": {
      const n = ncAtoi(value);
      if (n < 0) return "option --workers requires a number";
      if (n > MAX_WORKERS) return `option --workers value ${n} is more than ${MAX_WORKERS}`;
      o.workers = n;
      return null;
    }
    case "worker-slot": {
      const m = /^(\d+):(.+)$/.exec(value);
      if (m === null) return "option --worker-slot requires INDEX:DIR";
      o.workerSlot = { index: Number(m[1]), dir: m[2]! };
      return null;
    }
  }
  switch (opt.short) {
    case "h":
      o.help = true;
      return null;
    case "V":
      o.version = true;
      return null;
    case "t":
      o.testConf = true;
      return null;
    case "d":
      o.daemonize = true;
      return null;
    case "D":
      o.describeStats = true;
      return null;
    case "v": {
      const n = ncAtoi(value);
      if (n < 0) return "option -v requires a number";
      o.verbosity = Math.min(n, LOG_PVERB);
      return null;
    }
    case "o":
      o.output = value;
      return null;
    case "c":
      o.confFile = value;
      return null;
    case "s": {
      const n = ncAtoi(value);
      if (n < 0) return "option -s requires a number";
      if (!validPort(n)) return `option -s value ${n} is not a valid port`;
      o.statsPort = n;
      return null;
    }
    case "i": {
      const n = ncAtoi(value);
      if (n < 0) return "option -i requires a number";
      o.statsInterval = n;
      return null;
    }
    case "a":
      o.statsAddr = value;
      return null;
    case "p":
      o.pidFile = value;
      return null;
    case "m": {
      const n = ncAtoi(value);
      if (n <= 0) return "option -m requires a non-zero number";
      if (n < MBUF_MIN_SIZE || n > MBUF_MAX_SIZE) {
        return `mbuf chunk size must be between ${MBUF_MIN_SIZE} and ${MBUF_MAX_SIZE} bytes`;
      }
      o.mbufSize = n;
      return null;
    }
  }
  return `invalid option -- '${opt.short}'`;
}

/** nc.c's message for an option given without its value. */
function missing(opt: OptionSpec): string {
  const what = opt.arg === "file" ? "a file name" : opt.arg === "number" ? "a number" : "a string";
  return `option ${opt.short === "" ? `--${opt.long}` : `-${opt.short}`} requires ${what}`;
}

/**
 * Parses the arguments after the program name. On error returns nutcracker's message without
 * its `nutcracker: ` prefix and newline; the caller prints `nutcracker: ${error}` and
 * usageText() to stderr and exits 1, as nc.c does.
 *
 * Short options group (`-tv3`), take their value attached or as the next argument, even one
 * starting with `-`; long options take `--opt=value` or `--opt value` and may be shortened to
 * any unambiguous prefix. The first bad option or value stops parsing.
 *
 * Deliberate differences: an unknown or ambiguous long option, or a value given to a long
 * option that takes none, reads `invalid option -- '--bogus'` (nutcracker prints a
 * NUL byte, or the option's short letter, between the quotes); and numbers above 2^31-1 are
 * "not a number" rather than wrapping around as C's int does.
 *
 * @example
 * ```ts
 * parseCli(["-c", "conf/quickstart.yml", "-v", "7"]); // { ok: true, opts: { confFile: "conf/quickstart.yml", verbosity: 7, ... } }
 * parseCli(["-m", "100"]); // { ok: false, error: "mbuf chunk size must be between 512 and 16777216 bytes" }
 * ```
 */
export function parseCli(args: readonly string[]): { ok: true; opts: CliOptions } | { ok: false; error: string } {
  const o: Mutable<CliOptions> = { ...CLI_DEFAULTS };
  let i = 0;
  while (i < args.length) {
    const a = args[i++]!;
    if (a === "--") break;
    if (a.length < 2 || a[0] !== "-") continue;

    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      const exact = CLI_OPTIONS.find((s) => s.long === name) ?? EXTRA_OPTIONS.find((s) => s.long === name);
      let matches = exact !== undefined ? [exact] : CLI_OPTIONS.filter((s) => s.long.startsWith(name));
      if (matches.length === 0) matches = EXTRA_OPTIONS.filter((s) => s.long.startsWith(name));
      const opt = matches.length === 1 ? matches[0]! : undefined;
      if (opt === undefined || (opt.arg === "none" && eq >= 0)) {
        return { ok: false, error: `invalid option -- '${a}'` };
      }
      let value = "";
      if (opt.arg !== "none") {
        if (eq >= 0) value = a.slice(eq + 1);
        else if (i < args.length) value = args[i++]!;
        else return { ok: false, error: missing(opt) };
      }
      const err = apply(o, opt, value);
      if (err !== null) return { ok: false, error: err };
      continue;
    }

    for (let j = 1; j < a.length; j++) {
      const c = a[j]!;
      const opt = CLI_OPTIONS.find((s) => s.short === c);
      if (opt === undefined) return { ok: false, error: `invalid option -- '${c}'` };
      if (opt.arg === "none") {
        const err = apply(o, opt, "");
        if (err !== null) return { ok: false, error: err };
        continue;
      }
      let value: string;
      if (j + 1 < a.length) value = a.slice(j + 1);
      else if (i < args.length) value = args[i++]!;
      else return { ok: false, error: missing(opt) };
      const err = apply(o, opt, value);
      if (err !== null) return { ok: false, error: err };
      break;
    }
  }
  return { ok: true, opts: o };
}

/** `  -v, --verbose=N        : ...`: the option column is 24 wide, as in nc.c. */
function usageLine(s: OptionSpec): string {
  const arg = s.arg === "none" ? "" : s.arg === "number" ? "=N" : "=S";
  return `  -${s.short}, --${s.long}${arg}`.padEnd(24) + ` : ${s.help}`;
}

/**
 * nc_show_usage, byte for byte: three log_stderr() calls, so lines inside each block end in
 * CRLF (nc.c's CRLF macro) and each block in LF. Upstream defaults are shown; Debian's build
 * patches three of them (/var/log/nutcracker/nutcracker.log, /etc/nutcracker/nutcracker.yml,
 * /run/nutcracker/nutcracker.pid).
 */
export function usageText(): string {
  const CRLF = "\r\n";
  const head =
    "Usage: nutcracker [-?hVdDt] [-v verbosity level] [-o output file]" + CRLF +
    "                  [-c conf file] [-s stats port] [-a stats addr]" + CRLF +
    "                  [-i stats interval] [-p pid file] [-m mbuf size]" + CRLF;
  const flags = CLI_OPTIONS.filter((s) => s.arg === "none").map(usageLine);
  const valued = CLI_OPTIONS.filter((s) => s.arg !== "none").map(usageLine);
  return `${head}\n${["Options:", ...flags].join(CRLF)}\n${valued.map((l) => l + CRLF).join("")}\n`;
}

/**
 * What -V prints (and -h, -D before their own output): `This is nutcracker-0.5.0`, the event
 * backend line when one is given, then a blank line.
 *
 * @param eventBackend Text for nutcracker's `async event backend: epoll` line, e.g. the runtime name.
 */
export function versionText(eventBackend?: string): string {
  const backend = eventBackend !== undefined ? `async event backend: ${eventBackend}\n` : "";
  return `This is nutcracker-${NC_VERSION}\n${backend}\n`;
}
