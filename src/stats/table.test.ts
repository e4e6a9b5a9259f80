// describeStats() against the text nutcracker 0.5.0 prints for -D.

import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { describeStats } from "./table.ts";

describe("describeStats()", () => {
  it("prints what nutcracker -D prints after its version lines", () => {
    // the oracle lives in /usr/sbin, which a CI PATH may lack
    const r = spawnSync("/usr/sbin/nutcracker", ["-D"], { encoding: "utf8" });
    expect(r.status).toBe(0);
    const oracle = r.stderr.slice(r.stderr.indexOf("pool stats:"));
    expect(describeStats()).toBe(oracle);
  });
});
