// Tests for Logger: level gates, clamping, level-change messages, line format and hexdump.

import { describe, expect, it } from "vitest";
import {
  formatTimestamp,
  hexdump,
  LOG_ALERT,
  LOG_DEBUG,
  LOG_EMERG,
  LOG_ERR,
  LOG_INFO,
  LOG_LEVELS,
  LOG_NOTICE,
  LOG_PVERB,
  LOG_VERB,
  LOG_WARN,
  Logger,
} from "./log.ts";

/** 2026-11-21 22:21:41.123 local time. */
const T = new Date(2026, 10, 21, 22, 21, 41, 123).getTime();
const TS = "[2026-11-21 22:21:41.123] ";

function setup(level?: number) {
  const lines: string[] = [];
  let reopened = 0;
  const sink = { write: (t: string) => void lines.push(t), reopen: () => void reopened++ };
  const log = level === undefined ? new Logger(sink, () => T) : new Logger(sink, () => T, level);
  return { log, lines, reopens: () => reopened };
}

describe("Logger", () => {
  it("LOG_LEVELS lists nc_log.h's twelve levels in order", () => {
    expect(LOG_LEVELS.map((l) => l.level)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(LOG_LEVELS[9]).toEqual({ level: 9, name: "LOG_VVERB", description: "verbose messages on crack" });
  });

  it("Logger defaults to LOG_NOTICE and clamps the initial level silently", () => {
    expect(setup().log.level).toBe(LOG_NOTICE);
    expect(setup(99).log.level).toBe(LOG_PVERB);
    expect(setup(-3).log.level).toBe(LOG_EMERG);
    expect(setup(99).lines).toEqual([]);
  });

  it("Logger.enabled() is true for levels at or below the current one", () => {
    const { log } = setup(LOG_INFO);
    expect(log.enabled(LOG_NOTICE)).toBe(true);
    expect(log.enabled(LOG_INFO)).toBe(true);
    expect(log.enabled(LOG_DEBUG)).toBe(false);
  });

  it("Logger.loga() writes one timestamped line whatever the level", () => {
    const { log, lines } = setup(LOG_EMERG);
    log.loga("done, rabbit done");
    expect(lines).toEqual([`${TS}done, rabbit done\n`]);
  });

  it("Logger.error() writes from LOG_ALERT up, as twemproxy's log_error", () => {
    const at = (level: number) => {
      const s = setup(level);
      s.log.error("e");
      return s.lines.length;
    };
    expect(at(LOG_EMERG)).toBe(0);
    expect(at(LOG_ALERT)).toBe(1);
    expect(at(LOG_ERR)).toBe(1);
  });

  it("Logger.warn(), notice(), info() and debug() honour their levels", () => {
    const { log, lines } = setup(LOG_NOTICE);
    log.warn("w");
    log.notice("n");
    log.info("i");
    log.debug(LOG_NOTICE, "d5");
    log.debug(LOG_VERB, "d8");
    expect(lines).toEqual([`${TS}w\n`, `${TS}n\n`, `${TS}d5\n`]);
    const quiet = setup(LOG_ERR);
    quiet.log.warn("w");
    expect(quiet.lines).toEqual([]);
  });

  it("Logger.setLevel() clamps to 0..11 and logs the new level", () => {
    const { log, lines } = setup();
    log.setLevel(42);
    log.setLevel(-1);
    log.setLevel(LOG_VERB);
    expect(log.level).toBe(LOG_VERB);
    expect(lines).toEqual([`${TS}set log level to 11\n`, `${TS}set log level to 0\n`, `${TS}set log level to 8\n`]);
  });

  it("Logger.levelUp() and levelDown() step by one, stop at the ends, and log like log_safe", () => {
    const { log, lines } = setup(LOG_PVERB - 1);
    log.levelUp();
    log.levelUp();
    expect(log.level).toBe(LOG_PVERB);
    expect(lines).toEqual(["[.......................] up log level to 11\n"]);
    const low = setup(1);
    low.log.levelDown();
    low.log.levelDown();
    expect(low.log.level).toBe(0);
    expect(low.lines).toEqual(["[.......................] down log level to 0\n"]);
  });

  it("Logger.reopen() reopens the sink", () => {
    const s = setup();
    s.log.reopen();
    expect(s.reopens()).toBe(1);
  });

  it("Logger counts failed writes instead of throwing", () => {
    const log = new Logger({ write: () => { throw new Error("ENOSPC"); }, reopen: () => {} }, () => T);
    log.loga("x");
    log.loga("y");
    expect(log.nerror).toBe(2);
  });

  it("Logger.hexdump() writes the message and then hexdump -C lines", () => {
    const { log, lines } = setup(LOG_VERB);
    log.hexdump(LOG_VERB, new TextEncoder().encode("*1\r\n$4\r\nPING\r\n"), "req 1");
    log.hexdump(LOG_VERB + 1, new Uint8Array(1), "hidden");
    expect(lines).toEqual([
      `${TS}req 1\n`,
      "00000000  2a 31 0d 0a 24 34 0d 0a  50 49 4e 47 0d 0a         |*1..$4..PING..|\n",
    ]);
  });
});

describe("formatTimestamp() and hexdump()", () => {
  it("formatTimestamp() pads every field like strftime and %03ld", () => {
    expect(formatTimestamp(new Date(2026, 0, 2, 3, 4, 5, 6).getTime())).toBe("[2026-01-02 03:04:05.006] ");
  });

  it("hexdump() lays out full lines and offsets, the text column always at 61", () => {
    const out = hexdump(Uint8Array.from({ length: 17 }, (_, i) => 0x41 + i));
    for (const line of out.trimEnd().split("\n")) expect(line.indexOf("|")).toBe(61);
    expect(out).toBe(
      "00000000  41 42 43 44 45 46 47 48  49 4a 4b 4c 4d 4e 4f 50   |ABCDEFGHIJKLMNOP|\n" +
        "00000010  51                                                 |Q|\n",
    );
  });

  it("hexdump() stops near twemproxy's 2048-character buffer", () => {
    const out = hexdump(new Uint8Array(4096));
    expect(out.length).toBeLessThan(2048 + 80);
    expect(out.split("\n").length - 1).toBe(26);
  });
});
