// Build: the Node bundle, the Bun single executable, the Deno one when its runtime stub is at hand, and the cross-compiled executables.
//
//   bun build.ts            Node bundle dist/nutcracker.mjs
//   bun build.ts bin        + dist/nutcracker-bun, the executable for this host (what `npm test` needs)
//   bun build.ts all        + dist/nutcracker-deno when DENORT_BIN names a Deno runtime stub (`npm run build`)
//   bun build.ts deno       Node bundle + dist/nutcracker-deno only
//   bun build.ts cross [s]  dist/cross/nutcracker-<os>-<arch>[-variant] for every target below (or those
//                           whose name contains s), one line each: built, or skipped and why (never an error exit)
//   bun build.ts check      static checks (src/ touches no runtime)
//
// Runs under Bun (`npm run build`) or Deno (`deno task build`); uses only node: modules.

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";

const root = new URL(".", import.meta.url).pathname;
const dist = join(root, "dist");
const bin = (name: string): string => join(root, "node_modules", ".bin", name);
const env = globalThis.process.env;

/**
 * Bun's `--target` names (Bun 1.4.5). The executables are Bun's own runtime for that platform
 * with our bundle appended; Bun fetches each runtime from the npm registry (@oven/bun-<os>-<arch>)
 * once and caches it, so they build wherever `npm ci` works. baseline: x64 CPUs without AVX2
 * (before Haswell); modern: with AVX2 (what plain x64 means on Linux today); musl: Alpine.
 */
export const BUN_TARGETS = [
  "bun-linux-x64",
  "bun-linux-x64-baseline",
  "bun-linux-x64-modern",
  "bun-linux-x64-musl",
  "bun-linux-x64-musl-baseline",
  "bun-linux-arm64",
  "bun-linux-arm64-musl",
  "bun-darwin-x64",
  "bun-darwin-x64-baseline",
  "bun-darwin-arm64",
  "bun-windows-x64",
  "bun-windows-x64-baseline",
  "bun-windows-arm64",
] as const;

/**
 * Deno's `compile --target` triples (Deno 2.9.5). Each needs the matching `denort` stub, which
 * Deno downloads from its own release host (not the npm registry): offline they are skipped,
 * unless DENORT_BIN names the stub for this host's triple.
 */
export const DENO_TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
  "aarch64-pc-windows-msvc",
] as const;

/**
 * Flags of every Bun executable. --bytecode: start-up to the first accepted connection 45 ms
 * instead of 100 ms (bench/startup.ts) for 2.5 MB more. No .env or bunfig.toml autoload: a
 * drop-in for nutcracker must not change behaviour with the files in its working directory.
 */
const BUN_COMPILE = [
  "build", "runtime/main_bun.ts", "--compile", "--minify-syntax", "--bytecode",
  "--no-compile-autoload-dotenv", "--no-compile-autoload-bunfig",
];

interface Ran {
  readonly ok: boolean;
  /** The last non-empty line of the output, for a one-line reason. */
  readonly last: string;
  readonly output: string;
}

function run(cmd: string, args: string[], extraEnv: Record<string, string | undefined> = {}, quiet = false): Ran {
  const r = spawnSync(cmd, args, { cwd: root, stdio: quiet ? "pipe" : "inherit", encoding: "utf8", env: { ...env, ...extraEnv } });
  // strip colours so the reason reads as text
  const text = `${r.stdout ?? ""}\n${r.stderr ?? ""}`.replace(/\x1b\[[0-9;]*m/g, "");
  // Deno ends a failure with a backtrace of "<unknown>" frames: the cause is the line before it
  const lines = text.split("Stack backtrace:")[0]!.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  return { ok: r.status === 0, last: r.error?.message ?? lines[lines.length - 1] ?? `exit ${r.status}`, output: text };
}

const size = (f: string): string => `${(statSync(f).size / 1e6).toFixed(1)} MB`;

function buildNode(): void {
  const out = join(dist, "nutcracker.mjs");
  const r = run(bin("bun"), [
    "build", "runtime/main_node.ts", "--target=node", "--format=esm", "--minify-syntax", "--outfile", out,
  ]);
  if (!r.ok) throw new Error("Cannot build the Node bundle");
}

function buildBun(): void {
  const out = join(dist, "nutcracker-bun");
  if (!run(bin("bun"), [...BUN_COMPILE, "--outfile", out]).ok) throw new Error("Cannot build the Bun executable");
  console.log(`built ${out} (${size(out)})`);
}

/**
 * Deno compiles a bundle Bun makes of the Deno entry, not the sources: from the sources it would
 * embed the whole node_modules directory (470 MB here, the dev tools included), since this
 * project's deno.json uses `nodeModulesDir: manual`.
 */
function denoBundle(): string {
  const out = join(dist, "nutcracker-deno.mjs");
  const r = run(bin("bun"), ["build", "runtime/main_deno.ts", "--target=node", "--format=esm", "--minify-syntax", "--outfile", out], {}, true);
  if (!r.ok) throw new Error(`Cannot bundle the Deno entry: ${r.last}`);
  return out;
}

function denoCompile(target: string | null, out: string, denort: string | undefined): Ran {
  const args = ["compile", "-A", "--unstable-net", "--no-config", "--no-check", "--quiet", "--output", out];
  if (target !== null) args.push("--target", target);
  const r = run(bin("deno"), [...args, denoBundle()], { DENORT_BIN: denort }, true);
  if (r.ok || !r.output.includes("denort")) return r;
  return { ...r, last: `cannot fetch the Deno runtime stub (denort): ${r.last.replace(/^\d+: /, "")}` };
}

function buildDeno(): void {
  const denort = env.DENORT_BIN;
  if (denort === undefined || !existsSync(denort)) {
    console.log("deno compile skipped: no Deno runtime stub (set DENORT_BIN; it cannot be downloaded offline)");
    return;
  }
  const out = join(dist, "nutcracker-deno");
  const r = denoCompile(null, out, denort);
  if (!r.ok) throw new Error(`Cannot build the Deno executable: ${r.last}`);
  console.log(`built ${out} (${size(out)})`);
}

/** The Deno triple of this machine, to know which target DENORT_BIN can serve. */
function hostTriple(): string {
  const p = globalThis.process;
  const arch = p.arch === "arm64" ? "aarch64" : "x86_64";
  if (p.platform === "darwin") return `${arch}-apple-darwin`;
  if (p.platform === "win32") return `${arch}-pc-windows-msvc`;
  return `${arch}-unknown-linux-gnu`;
}

/** Build `out` with `make`, then say in one line what came of it (both compilers add .exe for Windows). */
function crossOne(name: string, out: string, make: () => Ran): void {
  const files = [out, `${out}.exe`];
  for (const f of files) rmSync(f, { force: true });
  const r = make();
  const file = files.find((f) => existsSync(f));
  if (r.ok && file !== undefined) console.log(`${name}: built ${file} (${size(file)})`);
  else console.log(`${name}: skipped: ${r.last}`);
}

function cross(only: string): void {
  const dir = join(dist, "cross");
  mkdirSync(dir, { recursive: true });
  for (const t of BUN_TARGETS.filter((x) => x.includes(only))) {
    const out = join(dir, `nutcracker-${t.slice("bun-".length)}`);
    crossOne(t, out, () => run(bin("bun"), [...BUN_COMPILE, `--target=${t}`, "--outfile", out], {}, true));
  }
  for (const t of DENO_TARGETS.filter((x) => `deno ${x}`.includes(only))) {
    // a DENORT_BIN stub is for one platform: only the host's triple may use it, the rest download
    const denort = t === hostTriple() ? env.DENORT_BIN : undefined;
    const out = join(dir, `nutcracker-deno-${t}`);
    crossOne(`deno ${t}`, out, () => denoCompile(t, out, denort));
  }
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
const MODES = ["node", "bin", "bun", "all", "deno", "cross", "check"];
if (!MODES.includes(what)) throw new Error(`Unknown build "${what}": expected one of ${MODES.join(", ")}`);
mkdirSync(dist, { recursive: true });
if (what === "check") check();
else if (what === "cross") cross(globalThis.process.argv[3] ?? "");
else {
  buildNode();
  if (what === "bin" || what === "bun" || what === "all") buildBun();
  if (what === "all" || what === "deno") buildDeno();
}
