// Tests for totalWeight: sums weights and rejects the ones twemproxy's conf would reject.

import { expect, test } from "vitest";
import { totalWeight } from "./total_weight.ts";

test("totalWeight() sums the weights", () => {
  expect(totalWeight([{ name: "a", weight: 1 }, { name: "b", weight: 5 }])).toBe(6);
  expect(totalWeight([])).toBe(0);
});

test("totalWeight() throws a RangeError naming the server for a zero, negative or fractional weight", () => {
  for (const weight of [0, -1, 1.5, Number.NaN]) {
    expect(() => totalWeight([{ name: "ok", weight: 1 }, { name: "bad", weight }])).toThrow(/server "bad" has weight/);
  }
});
