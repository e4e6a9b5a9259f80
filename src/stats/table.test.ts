// describeStats() against the text nutcracker 0.5.0 prints for -D.

import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { describeStats } from "./table.ts";

describe("describeStats()", () => {
  it("prints what nutcracker -D prints after its version lines", () => {
    const r = spawnSync("nutcracker", ["-D"], { encoding: "utf8", env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin` } });
    expect(r.status).toBe(0);
    const oracle = r.stderr.slice(r.stderr.indexOf("pool stats:"));
    expect(describeStats()).toBe(oracle);
  });
});
