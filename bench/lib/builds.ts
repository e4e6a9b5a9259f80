// The builds a run measures: the current one (dist/ of this checkout, copied aside so a rebuild by
// someone else mid-run cannot swap it), and with --baseline REF the build of an earlier commit,
// made from `git archive REF` in a temporary directory that is removed at the end.

import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "./procs.ts";

/** Where one build's sources and artefacts are. */
export interface Build {
  /** Sources: runtime/main_bun.ts, runtime/main_deno.ts (what `bun run` and `deno run` start). */
  readonly root: string;
  /** The Bun single executable. */
  readonly bunBin: string;
  /** The Node bundle. */
  readonly nodeMjs: string;
}

/** The commit --baseline names, resolved once at the start of a run. */
export interface Baseline extends Build {
  readonly ref: string;
  readonly sha: string;
  readonly short: string;
  readonly subject: string;
}

const git = (args: readonly string[], cwd = ROOT): { ok: boolean; out: string; err: string } => {
  const r = spawnSync("git", args, { cwd, encoding: "utf8" });
  return { ok: r.status === 0, out: (r.stdout ?? "").trim(), err: (r.stderr ?? "").trim() };
};

/** REF as a full commit sha, or undefined when git does not know it. */
export function resolveRef(ref: string): { sha: string; short: string; subject: string } | undefined {
  const r = git(["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]);
  if (!r.ok || r.out === "") return undefined;
  return { sha: r.out, short: git(["rev-parse", "--short", r.out]).out, subject: git(["log", "-1", "--format=%s", r.out]).out };
}

// Directories to remove at exit, however the run ends.
const temps = new Set<string>();

/** Remove every temporary build directory (idempotent; safe in an exit handler). */
export function removeTemps(): void {
  for (const d of temps) {
    try {
      rmSync(d, { recursive: true, force: true });
    } catch {
      // best effort: it is under the temp directory
    }
    temps.delete(d);
  }
}

/**
 * Extract `sha` (git archive | tar -x) into a temporary directory, link this checkout's
 * node_modules into it, and run `bun build.ts bin` there: dist/nutcracker.mjs and
 * dist/nutcracker-bun of that commit. Throws with the build's output when it fails.
 */
export function buildBaseline(ref: string, sha: string, short: string, subject: string, log: (s: string) => void): Baseline {
  const dir = mkdtempSync(join(tmpdir(), `ncbench-base-${short}-`));
  temps.add(dir);
  const t0 = Date.now();
  log(`baseline ${ref} = ${short} (${subject}): extracting into ${dir}`);
  const tar = spawnSync("sh", ["-c", `git archive --format=tar "$1" | tar -x -C "$2"`, "sh", sha, dir], { cwd: ROOT, encoding: "utf8" });
  if (tar.status !== 0) throw new Error(`git archive ${sha} | tar -x failed: ${tar.stderr}`);
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"), "dir");
  if (!existsSync(join(dir, "build.ts"))) throw new Error(`baseline ${short} has no build.ts`);
  const r = spawnSync(join(ROOT, "node_modules", ".bin", "bun"), ["build.ts", "bin"], { cwd: dir, encoding: "utf8", timeout: 600_000 });
  const output = `${r.stdout ?? ""}\n${r.stderr ?? ""}`;
  const b: Baseline = { ref, sha, short, subject, root: dir, bunBin: join(dir, "dist", "nutcracker-bun"), nodeMjs: join(dir, "dist", "nutcracker.mjs") };
  if (r.status !== 0 || !existsSync(b.bunBin) || !existsSync(b.nodeMjs)) {
    throw new Error(`bun build.ts bin failed for baseline ${short} (exit ${r.status}${r.error ? `, ${r.error.message}` : ""}):\n${output.slice(-3000)}`);
  }
  log(`baseline ${short} built in ${((Date.now() - t0) / 1000).toFixed(0)} s (${(statSync(b.bunBin).size / 1e6).toFixed(0)} MB Bun binary)`);
  return b;
}

/**
 * The current build as the run will measure it: dist/ copied into a temporary directory (removed
 * at the end), so that another `bun build.ts` in this checkout during the run (the tests rebuild
 * dist/) cannot change what later repetitions start. A missing artefact stays where it is (the
 * targets that need it fail to start).
 */
export function snapshotCurrent(): Build {
  const out = mkdtempSync(join(tmpdir(), "ncbench-current-"));
  temps.add(out);
  const copy = (name: string): string => {
    const src = join(ROOT, "dist", name);
    if (!existsSync(src)) return src;
    const dst = join(out, name);
    copyFileSync(src, dst);
    chmodSync(dst, statSync(src).mode & 0o777);
    return dst;
  };
  return { root: ROOT, bunBin: copy("nutcracker-bun"), nodeMjs: copy("nutcracker.mjs") };
}

/** Whether two artefacts are byte for byte the same (then after/before on them measures only noise). */
export function sameBytes(a: string, b: string): boolean {
  const h = (f: string): string | undefined => {
    try {
      return createHash("sha256").update(readFileSync(f)).digest("hex");
    } catch {
      return undefined;
    }
  };
  const x = h(a);
  return x !== undefined && x === h(b);
}
