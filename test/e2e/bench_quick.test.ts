// The benchmark harness (bench/run.ts, issue 6) in its quick mode: it runs, and prints its tables
// with nutcracker's row and ours. Never a judgement on speed: the figures of a smoke run mean nothing.

import { spawn } from "node:child_process";
import { join } from "node:path";
import { expect, it } from "vitest";
import { ROOT } from "../helpers/proxy.ts";
import { nodeBinary } from "../helpers/runtimes.ts";

/** The Node bundle's label: the default `node` target is node20, the system node. */
const NODE = `Node 20 bundle (${nodeBinary("node20").version})`;

function runQuick(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(join(ROOT, "node_modules", ".bin", "bun"), ["bench/run.ts", "--quick"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => p.kill("SIGTERM"), 100_000);
    p.on("close", (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

it("bench/run.ts --quick prints the tables, with a nutcracker row and rows for our targets", async () => {
  const r = await runQuick();
  expect(r.code, r.stderr.slice(-3000)).toBe(0);
  const out = r.stdout;
  for (const heading of ["Requests per proxy CPU-second", "Requests per second", "Memory", "Each load"]) expect(out).toContain(`### ${heading}`);
  const rows = out.split("\n").filter((l) => l.startsWith("| "));
  const row = (label: string): string[] => rows.filter((l) => l.startsWith(`| ${label} |`));
  // the summary tables name every system in their header
  expect(rows.some((l) => l.startsWith(`| load | nutcracker | Bun binary | ${NODE} |`))).toBe(true);
  // nutcracker and ours each have a memory row and a row per load
  const loads = (out.match(/^#### /gm) ?? []).length;
  expect(loads).toBeGreaterThanOrEqual(2);
  for (const label of ["nutcracker 0.5.0", "Bun binary", NODE]) expect(row(label).length).toBe(loads + 1);
  // nutcracker's rows hold figures: requests/s like 78.4k, not a failure
  for (const l of row("nutcracker 0.5.0").slice(1)) expect(l.split("|")[2]!.trim()).toMatch(/^\d+(\.\d+)?[kM]?$/);
}, 120_000);
