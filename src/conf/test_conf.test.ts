// Tests for testConfText: the -t verdict lines and exit codes.

import { describe, expect, it } from "vitest";
import { testConfText } from "./test_conf.ts";

const GOOD = "a:\n  listen: 127.0.0.1:22121\n  servers:\n   - 127.0.0.1:6379:1\n";

describe("testConfText()", () => {
  it("testConfText() prints nutcracker's ok line on stderr and exits 0", () => {
    expect(testConfText(GOOD, "conf/a.yml")).toEqual({
      ok: true,
      code: 0,
      lines: [{ stream: "stderr", text: "nutcracker: configuration file 'conf/a.yml' syntax is ok" }],
    });
  });

  it("testConfText() prints the invalid line, then the reason, and exits 1", () => {
    const r = testConfText(GOOD.replace("22121", "0"), "conf/a.yml");
    expect(r.ok).toBe(false);
    expect(r.code).toBe(1);
    expect(r.lines).toEqual([
      { stream: "stderr", text: "nutcracker: configuration file 'conf/a.yml' syntax is invalid" },
      {
        stream: "stderr",
        text: 'Cannot parse configuration "conf/a.yml" line 2 key "listen": invalid port in "127.0.0.1:0": expected 1..65535',
      },
    ]);
  });

  it("testConfText() reports an unreadable file", () => {
    expect(testConfText(null, "nope.yml", "No such file or directory")).toEqual({
      ok: false,
      code: 1,
      lines: [
        { stream: "stderr", text: "nutcracker: configuration file 'nope.yml' syntax is invalid" },
        { stream: "stderr", text: 'Cannot read configuration "nope.yml": No such file or directory' },
      ],
    });
    expect(testConfText(null, "nope.yml").lines[1]!.text).toBe('Cannot read configuration "nope.yml"');
  });
});
