// Every key of shared/compat/routing-vectors.jsonl must reach the server nutcracker 0.5.0 chose, on Node, Bun and Deno.

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { checkRouting, ROUTING_VECTORS_URL } from "./compat/check_routing.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const EXPECTED_ROWS = 54_600;
const EXPECTED_POOLS = 140;

// Read eagerly: a missing vectors file must fail the suite, never skip it.
const VECTORS_URL = new URL("../../shared/compat/routing-vectors.jsonl", import.meta.url);

function runScript(cmd: string, args: readonly string[]): string {
  return execFileSync(cmd, args, { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 120_000 });
}

describe("twemproxy routing compatibility", () => {
  test("checkRouting() routes all 54,600 recorded keys like nutcracker 0.5.0 on Node", async () => {
    expect(fileURLToPath(ROUTING_VECTORS_URL)).toBe(fileURLToPath(VECTORS_URL));
    const result = await checkRouting(readFileSync(VECTORS_URL, "utf8"));
    expect(result.pools).toBe(EXPECTED_POOLS);
    expect(result.rows).toBe(EXPECTED_ROWS);
    expect({ mismatches: result.mismatches, first: result.first }).toEqual({ mismatches: 0, first: [] });
  });

  test("check_routing.ts reports 0 mismatches on Bun", () => {
    const out = runScript("node_modules/.bin/bun", ["test/compat/check_routing.ts"]);
    expect(out.trim()).toBe(`mismatches=0 rows=${EXPECTED_ROWS}`);
  });

  test("check_routing.ts reports 0 mismatches on Deno", () => {
    const out = runScript("node_modules/.bin/deno", ["run", "-A", "test/compat/check_routing.ts"]);
    expect(out.trim()).toBe(`mismatches=0 rows=${EXPECTED_ROWS}`);
  });
});
