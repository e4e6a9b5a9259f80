// parseCacheArgs: memcached's flag names and size units, the log's flags, and the refusals.

import { describe, expect, it } from "vitest";
import { CACHE_DEFAULTS, parseCacheArgs, parseSize } from "./cli.ts";

describe("parseCacheArgs", () => {
  it("defaults", () => {
    const r = parseCacheArgs([]);
    expect(r.ok && r.opts).toMatchObject({ port: 11211, listen: "127.0.0.1", memory: 64 << 20, maxItemSize: 1 << 20, aof: null, sync: CACHE_DEFAULTS.sync });
  });

  it("long and short forms, memcached's units", () => {
    const r = parseCacheArgs(["--port", "22201", "-l", "0.0.0.0", "-m", "128", "-I", "2m", "--aof", "x.aof", "--sync", "always", "--repair", "-vv"]);
    expect(r.ok && r.opts).toMatchObject({ port: 22201, listen: "0.0.0.0", memory: 128 << 20, maxItemSize: 2 << 20, aof: "x.aof", sync: "always", repair: true, verbose: 2 });
    const s = parseCacheArgs(["--memory=64mb", "--max-item-size=512k", "--aof=a", "--sync=100ms", "--aof-max-size", "1048576"]);
    expect(s.ok && s.opts).toMatchObject({ memory: 64 << 20, maxItemSize: 512 << 10, sync: 100, aofMaxSize: 1 << 20 });
    expect(parseCacheArgs(["--memory-limit", "1g", "-t", "4", "-U", "0"]).ok).toBe(true);
  });

  it("refuses what memcached refuses, with a reason", () => {
    const bad: [string[], RegExp][] = [
      [["--port", "70000"], /Invalid port/],
      [["-I", "512"], /Invalid item size/],
      [["-m", "1", "-I", "1m"], /1\/2 of the memory limit/],
      [["--sync", "sometimes", "--aof", "a"], /Invalid sync policy/],
      [["--repair"], /need --aof/],
      [["-U", "11211"], /UDP/],
      [["--bogus"], /bogus/],
      [["extra"], /Unexpected argument/],
    ];
    for (const [args, re] of bad) {
      const r = parseCacheArgs(args);
      expect(r.ok, args.join(" ")).toBe(false);
      if (!r.ok) expect(r.error).toMatch(re);
    }
  });

  it("parseSize", () => {
    expect(parseSize("64mb", 1)).toBe(64 << 20);
    expect(parseSize("1G", 1)).toBe(1 << 30);
    expect(parseSize("10", 1024)).toBe(10240);
    expect(parseSize("1.5m", 1)).toBeNull();
  });
});
