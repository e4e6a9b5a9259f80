// LatencyHistogram, percentileOf and IntervalPercentiles: bucket edges, percentiles, windows.

import { describe, expect, it } from "vitest";
import { HIST_BUCKETS, histIndex, histLower, histUpper, IntervalPercentiles, LatencyHistogram, percentileOf } from "./histogram.ts";

describe("histIndex()", () => {
  it("puts every latency in the bucket whose [lower, upper) holds it, power-of-two edges exact", () => {
    for (let us = 0; us < 70_000; us += us < 300 ? 1 : 37) {
      const i = histIndex(us);
      expect(histLower(i), `${us}`).toBeLessThanOrEqual(us);
      expect(histUpper(i), `${us}`).toBeGreaterThan(us);
    }
    for (let e = 4; e < 30; e++) expect(histLower(histIndex(2 ** e))).toBe(2 ** e);
    // fractions fall to the microsecond below; beyond the last edge, the last bucket
    expect(histIndex(15.99)).toBe(15);
    expect(histIndex(2 ** 31)).toBe(HIST_BUCKETS - 1);
  });

  it("keeps buckets within 12.5% of their lower edge above 16 us", () => {
    for (let i = 16; i < HIST_BUCKETS; i++) expect(histUpper(i) / histLower(i)).toBeLessThanOrEqual(1.125);
  });
});

describe("LatencyHistogram", () => {
  it("countBelow() counts the latencies below a power-of-two edge", () => {
    const h = new LatencyHistogram();
    for (const us of [3, 15.9, 16, 31, 32, 1000, 1024, 5e6]) h.record(us);
    expect(h.countBelow(16)).toBe(2);
    expect(h.countBelow(32)).toBe(4);
    expect(h.countBelow(1024)).toBe(6);
    expect(h.countBelow(2 ** 24)).toBe(8);
    expect(h.count).toBe(8);
    expect(h.sum).toBeCloseTo(3 + 15.9 + 16 + 31 + 32 + 1000 + 1024 + 5e6);
  });

  it("percentile() answers the upper edge of the bucket holding that rank", () => {
    const h = new LatencyHistogram();
    expect(h.percentile(0.5)).toBe(0);
    for (let i = 0; i < 990; i++) h.record(100); // bucket [96, 104)
    for (let i = 0; i < 9; i++) h.record(5000); // [4608, 5120)
    h.record(70_000); // [65536, 73728)
    expect(h.percentile(0.5)).toBe(104);
    expect(h.percentile(0.99)).toBe(104);
    expect(h.percentile(0.995)).toBe(5120);
    expect(h.percentile(0.999)).toBe(5120);
    expect(h.percentile(1)).toBe(73728);
  });
});

describe("percentileOf()", () => {
  it("reads any count array, 0 when empty", () => {
    const c = new Float64Array(HIST_BUCKETS);
    expect(percentileOf(c, 0, 0.99)).toBe(0);
    c[3] = 1;
    expect(percentileOf(c, 1, 0.5)).toBe(4);
  });
});

describe("IntervalPercentiles", () => {
  it("reports only what was recorded since the last take(), zero for an idle interval", () => {
    const h = new LatencyHistogram();
    for (let i = 0; i < 100; i++) h.record(5000); // before the window exists: never reported
    const w = new IntervalPercentiles(h);
    for (let i = 0; i < 1000; i++) h.record(i < 500 ? 20 : i < 990 ? 200 : 9000);
    w.take();
    expect(w.count).toBe(1000);
    expect(w.p50).toBe(22); // 20 us is in [20, 22)
    expect(w.p99).toBe(208);
    expect(w.p999).toBe(9216);
    expect(w.p50).toBeLessThanOrEqual(w.p99);
    w.take();
    expect([w.count, w.p50, w.p99, w.p999]).toEqual([0, 0, 0, 0]);
    h.record(1);
    w.take();
    expect([w.count, w.p50, w.p99, w.p999]).toEqual([1, 2, 2, 2]);
  });
});
