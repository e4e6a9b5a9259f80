// Tests for parseCli, usageText and versionText against nutcracker 0.5.0's command line.

import { describe, expect, it } from "vitest";
import { CLI_DEFAULTS, NC_VERSION, parseCli, usageText, versionText } from "./cli.ts";
import type { CliOptions } from "./cli.ts";

function opts(...args: string[]): CliOptions {
  const r = parseCli(args);
  if (!r.ok) throw new Error(r.error);
  return r.opts;
}

function error(...args: string[]): string {
  const r = parseCli(args);
  if (r.ok) throw new Error(`accepted ${args.join(" ")}`);
  return r.error;
}

describe("parseCli()", () => {
  it("parseCli() gives nutcracker's defaults for no arguments", () => {
    expect(opts()).toEqual({
      help: false,
      version: false,
      testConf: false,
      daemonize: false,
      describeStats: false,
      verbosity: 5,
      output: null,
      confFile: "conf/nutcracker.yml",
      statsPort: 22222,
      statsAddr: "0.0.0.0",
      statsInterval: 30000,
      pidFile: null,
      mbufSize: 16384,
      metricsPort: null, // ours: no metrics port unless asked
      metricsAddr: "0.0.0.0",
      watch: false, // ours: reload on change only when asked
      workers: 1, // ours: one process, as nutcracker
      workerSlot: null,
    });
    expect(opts()).toEqual(CLI_DEFAULTS);
  });

  it("parseCli() reads every short flag", () => {
    expect(opts("-h", "-V", "-t", "-d", "-D")).toMatchObject({
      help: true,
      version: true,
      testConf: true,
      daemonize: true,
      describeStats: true,
    });
    expect(
      opts("-v", "7", "-o", "/tmp/nc.log", "-c", "x.yml", "-s", "2000", "-a", "127.0.0.1", "-i", "100", "-p", "/tmp/nc.pid", "-m", "512"),
    ).toMatchObject({
      verbosity: 7,
      output: "/tmp/nc.log",
      confFile: "x.yml",
      statsPort: 2000,
      statsAddr: "127.0.0.1",
      statsInterval: 100,
      pidFile: "/tmp/nc.pid",
      mbufSize: 512,
    });
  });

  it("parseCli() reads every long option, with = or a separate value", () => {
    expect(
      opts(
        "--help", "--version", "--test-conf", "--daemonize", "--describe-stats", "--verbose=8", "--output", "o.log",
        "--conf-file=c.yml", "--stats-port", "3000", "--stats-addr=::1", "--stats-interval=5", "--pid-file", "p",
        "--mbuf-size=1024", "--watch", "--workers", "3", "--worker-slot=2:/tmp/nc-7",
      ),
    ).toEqual({
      help: true,
      version: true,
      testConf: true,
      daemonize: true,
      describeStats: true,
      verbosity: 8,
      output: "o.log",
      confFile: "c.yml",
      statsPort: 3000,
      statsAddr: "::1",
      statsInterval: 5,
      pidFile: "p",
      mbufSize: 1024,
      metricsPort: null,
      metricsAddr: "0.0.0.0",
      watch: true,
      workers: 3,
      workerSlot: { index: 2, dir: "/tmp/nc-7" },
    });
  });

  it("parseCli() reads --workers 0 as one per CPU and refuses what is not a worker count", () => {
    expect(opts("--workers=0").workers).toBe(0);
    expect(opts("--workers", "256").workers).toBe(256);
    expect(error("--workers=x")).toBe("option --workers requires a number");
    expect(error("--workers=-2")).toBe("option --workers requires a number");
    expect(error("--workers=257")).toBe("option --workers value 257 is more than 256");
    expect(error("--worker-slot=nope")).toBe("option --worker-slot requires INDEX:DIR");
  });

  it("parseCli() groups short flags and takes attached values, like getopt", () => {
    expect(opts("-tv3")).toMatchObject({ testConf: true, verbosity: 3 });
    expect(opts("-cfoo.yml")).toMatchObject({ confFile: "foo.yml" });
    expect(opts("-dt")).toMatchObject({ daemonize: true, testConf: true });
  });

  it("parseCli() takes the next argument as the value even when it starts with a dash", () => {
    expect(opts("-c", "-t")).toMatchObject({ confFile: "-t", testConf: false });
    expect(opts("--output", "--x")).toMatchObject({ output: "--x" });
  });

  it("parseCli() accepts unambiguous prefixes of long options", () => {
    expect(opts("--verb=3", "--conf", "x.yml", "--stats-p", "1", "--t")).toMatchObject({
      verbosity: 3,
      confFile: "x.yml",
      statsPort: 1,
      testConf: true,
    });
  });

  it("parseCli() skips arguments that are not options and stops at --", () => {
    expect(opts("extra", "-t", "-", "more")).toMatchObject({ testConf: true });
    expect(opts("--", "-t")).toMatchObject({ testConf: false });
  });

  it("parseCli() lets the last of a repeated option win", () => {
    expect(opts("-v", "1", "-v", "9").verbosity).toBe(9);
  });

  it("parseCli() clamps -v above 11 to 11, as log_init does", () => {
    expect(opts("-v", "99").verbosity).toBe(11);
    expect(opts("-v", "0").verbosity).toBe(0);
    expect(opts("-v", "11").verbosity).toBe(11);
  });

  it("parseCli() accepts the mbuf size range 512..16777216 and stats ports 1..65535", () => {
    expect(opts("-m", "512").mbufSize).toBe(512);
    expect(opts("-m", "16777216").mbufSize).toBe(16777216);
    expect(opts("-s", "1").statsPort).toBe(1);
    expect(opts("-s", "65535").statsPort).toBe(65535);
    expect(opts("-i", "0").statsInterval).toBe(0);
  });

  it("parseCli() rejects bad values with nutcracker's messages", () => {
    expect(error("-v", "abc")).toBe("option -v requires a number");
    expect(error("-v", "-1")).toBe("option -v requires a number");
    expect(error("-s", "abc")).toBe("option -s requires a number");
    expect(error("-s", "0")).toBe("option -s value 0 is not a valid port");
    expect(error("-s", "70000")).toBe("option -s value 70000 is not a valid port");
    expect(error("-i", "-5")).toBe("option -i requires a number");
    expect(error("-m", "0")).toBe("option -m requires a non-zero number");
    expect(error("-m", "abc")).toBe("option -m requires a non-zero number");
    expect(error("-m", "511")).toBe("mbuf chunk size must be between 512 and 16777216 bytes");
    expect(error("-m", "16777217")).toBe("mbuf chunk size must be between 512 and 16777216 bytes");
    expect(error("--verbose=")).toBe("option -v requires a number");
  });

  it("parseCli() rejects a missing value with the kind nutcracker names", () => {
    for (const f of ["o", "c", "p"]) expect(error(`-${f}`)).toBe(`option -${f} requires a file name`);
    for (const f of ["m", "v", "s", "i"]) expect(error(`-${f}`)).toBe(`option -${f} requires a number`);
    expect(error("-a")).toBe("option -a requires a string");
    expect(error("--verbose")).toBe("option -v requires a number");
    expect(error("--conf-file")).toBe("option -c requires a file name");
  });

  it("parseCli() rejects unknown options, including -?", () => {
    expect(error("-x")).toBe("invalid option -- 'x'");
    expect(error("-?")).toBe("invalid option -- '?'");
    expect(error("-tx")).toBe("invalid option -- 'x'");
    expect(error("--bogus")).toBe("invalid option -- '--bogus'");
  });

  it("parseCli() rejects ambiguous prefixes and values on flags", () => {
    expect(error("--stats=1")).toBe("invalid option -- '--stats=1'");
    expect(error("--ve")).toBe("invalid option -- '--ve'");
    expect(error("--help=3")).toBe("invalid option -- '--help=3'");
  });

  it("parseCli() stops at the first error", () => {
    expect(error("-v", "x", "-m", "1")).toBe("option -v requires a number");
  });

  it("parseCli() rejects numbers above 2^31-1 instead of wrapping", () => {
    expect(error("-s", "4294967297")).toBe("option -s requires a number");
  });
});

describe("usageText() and versionText()", () => {
  it("versionText() starts with This is nutcracker-0.5.0 and ends with a blank line", () => {
    expect(NC_VERSION).toBe("0.5.0");
    expect(versionText()).toBe("This is nutcracker-0.5.0\n\n");
    expect(versionText("epoll")).toBe("This is nutcracker-0.5.0\nasync event backend: epoll\n\n");
  });

  it("usageText() is nc_show_usage's text, CRLFs included", () => {
    expect(usageText()).toBe(
      "Usage: nutcracker [-?hVdDt] [-v verbosity level] [-o output file]\r\n" +
        "                  [-c conf file] [-s stats port] [-a stats addr]\r\n" +
        "                  [-i stats interval] [-p pid file] [-m mbuf size]\r\n" +
        "\n" +
        "Options:\r\n" +
        "  -h, --help             : this help\r\n" +
        "  -V, --version          : show version and exit\r\n" +
        "  -t, --test-conf        : test configuration for syntax errors and exit\r\n" +
        "  -d, --daemonize        : run as a daemon\r\n" +
        "  -D, --describe-stats   : print stats description and exit\n" +
        "  -v, --verbose=N        : set logging level (default: 5, min: 0, max: 11)\r\n" +
        "  -o, --output=S         : set logging file (default: stderr)\r\n" +
        "  -c, --conf-file=S      : set configuration file (default: conf/nutcracker.yml)\r\n" +
        "  -s, --stats-port=N     : set stats monitoring port (default: 22222)\r\n" +
        "  -a, --stats-addr=S     : set stats monitoring ip (default: 0.0.0.0)\r\n" +
        "  -i, --stats-interval=N : set stats aggregation interval in msec (default: 30000 msec)\r\n" +
        "  -p, --pid-file=S       : set pid file (default: off)\r\n" +
        "  -m, --mbuf-size=N      : set size of mbuf chunk in bytes (default: 16384 bytes)\r\n" +
        "\n",
    );
  });
});
