// Tests for buildRandom: every live server is reachable, weights and hash are ignored.

import { expect, test } from "vitest";
import { buildRandom } from "./random.ts";

test("RandomContinuum.dispatch() reaches every live server whatever the hash", () => {
  const r = buildRandom([{ name: "a", weight: 1 }, { name: "b", weight: 1 }, { name: "c", weight: 1 }]);
  const seen = [0, 0, 0];
  for (let i = 0; i < 3000; i++) seen[r.dispatch(7)]!++;
  for (const n of seen) expect(n).toBeGreaterThan(700);
});

test("RandomContinuum.dispatch() ignores weights, as twemproxy's random() % nlive does", () => {
  const r = buildRandom([{ name: "a", weight: 1 }, { name: "b", weight: 99 }]);
  let a = 0;
  for (let i = 0; i < 4000; i++) if (r.dispatch(0) === 0) a++;
  expect(a).toBeGreaterThan(1600);
  expect(a).toBeLessThan(2400);
});

test("RandomContinuum.dispatch() returns -1 when built from no servers", () => {
  expect(buildRandom([]).dispatch(0)).toBe(-1);
});
