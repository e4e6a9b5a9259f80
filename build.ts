// Build: the Node bundle, the Bun single executable, and the Deno one when its runtime stub is at hand.
//
//   bun build.ts            Node bundle dist/nutcracker.mjs (what `npm test` needs)
//   bun build.ts all        + dist/nutcracker-bun (+ dist/nutcracker-deno when possible)
//   bun build.ts check      static checks (src/ touches no runtime)
//
// Runs under Bun (`npm run build`) or Deno (`deno task build`); uses only node: modules.

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

const root = new URL(".", import.meta.url).pathname;
const dist = join(root, "dist");
const bin = (name: string): string => join(root, "node_modules", ".bin", name);

function run(cmd: string, args: string[], env: Record<string, string> = {}): boolean {
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit", env: { ...globalThis.process.env, ...env } });
  return r.status === 0;
}

function buildNode(): void {
  const ok = run(bin("bun"), [
    "build", "runtime/main_node.ts", "--target=node", "--format=esm", "--minify-syntax",
    "--outfile", join(dist, "nutcracker.mjs"),
  ]);
  if (!ok) throw new Error("Cannot build the Node bundle");
}

function buildBun(): void {
  const ok = run(bin("bun"), [
    "build", "runtime/main_bun.ts", "--compile", "--minify-syntax", "--outfile", join(dist, "nutcracker-bun"),
  ]);
  if (!ok) throw new Error("Cannot build the Bun executable");
}

function buildDeno(): void {
  const denort = globalThis.process.env.DENORT_BIN;
  if (denort === undefined || !existsSync(denort)) {
    console.log("deno compile skipped: no Deno runtime stub (set DENORT_BIN; it cannot be downloaded offline)");
    return;
  }
  const ok = run(bin("deno"), ["compile", "-A", "--output", join(dist, "nutcracker-deno"), "runtime/main_deno.ts"], {
    DENORT_BIN: denort,
  });
  if (!ok) throw new Error("Cannot build the Deno executable");
}

/** src/ must not touch a runtime: every Deno., Bun., node:net and process. lives in runtime/. */
function check(): void {
  const bad: string[] = [];
  const walk = (dir: string): void => {
    for (const f of readdirSync(dir)) {
      const p = join(dir, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith(".ts")) {
        readFileSync(p, "utf8").split("\n").forEach((line, i) => {
          if (/\bDeno\.|\bBun\.|node:net|\bprocess\./.test(line)) bad.push(`${p}:${i + 1}: ${line.trim()}`);
        });
      }
    }
  };
  walk(join(root, "src"));
  if (bad.length > 0) throw new Error(`Runtime globals under src/:\n${bad.join("\n")}`);
  console.log("check: src/ is runtime-free");
}

const what = globalThis.process.argv[2] ?? "node";
mkdirSync(dist, { recursive: true });
if (what === "check") check();
else {
  buildNode();
  if (what === "all" || what === "bun") buildBun();
  if (what === "all" || what === "deno") buildDeno();
}
