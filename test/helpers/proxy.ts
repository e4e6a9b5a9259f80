// Start our proxy (or nutcracker itself) on a config, under a chosen runtime, and stop it.

import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type NodeLine, nodeBinary, nodeLines, waitForPort } from "./runtimes.ts";

export const ROOT = new URL("../../", import.meta.url).pathname;
const BIN = join(ROOT, "node_modules", ".bin");

/** The compiled Bun executable `bun build.ts bin` (and `npm test`) makes. */
export const BINARY = join(ROOT, "dist", "nutcracker-bun");
const BUNDLE = join(ROOT, "dist", "nutcracker.mjs");

/**
 * The bundle on one Node line (test/helpers/runtimes.ts). A line whose executable is missing
 * throws here, saying why, instead of a spawn that fails with ENOENT.
 */
function onNode(line: NodeLine): (args: string[]) => string[] {
  return (args) => {
    const b = nodeBinary(line);
    if (line !== "node20" && b.version === null) throw new Error(`${b.label}: ${b.problem}`);
    return [b.path, BUNDLE, ...args];
  };
}

/** The targets a shared suite runs against. The Node ones run the bundle build.ts makes; `node` is node20, the system node. */
export const TARGETS = {
  node: onNode("node20"),
  node20: onNode("node20"),
  node22: onNode("node22"),
  node24: onNode("node24"),
  node26: onNode("node26"),
  bun: (args: string[]) => [join(BIN, "bun"), join(ROOT, "runtime", "main_bun.ts"), ...args],
  deno: (args: string[]) => [join(BIN, "deno"), "run", "-A", join(ROOT, "runtime", "main_deno.ts"), ...args],
  binary: (args: string[]) => [BINARY, ...args],
  nutcracker: (args: string[]) => ["nutcracker", ...args],
} as const;
export type Target = keyof typeof TARGETS;
export const RUNTIMES: readonly Target[] = ["node", "bun", "deno"];
/**
 * What ships, as test/e2e/matrix.test.ts runs it: the Node bundle on each Node line this platform
 * has (all four on linux x64), bun, deno and the single executable.
 */
export const MATRIX: readonly Target[] = [...nodeLines(), "bun", "deno", "binary"];

/** For test names: "node22 (v22.23.5)" for a Node line, else the target. */
export function targetLabel(t: Target): string {
  if (t === "node") return nodeBinary("node20").label;
  return t.startsWith("node") ? nodeBinary(t as NodeLine).label : t;
}

export interface Running {
  readonly proc: ChildProcess;
  /** Everything the process wrote to stderr so far. */
  stderr(): string;
  stop(): Promise<number | null>;
}

/** Write `yaml` to a temp file and return its path. */
export function writeConf(yaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), "nc-conf-"));
  const file = join(dir, "nutcracker.yml");
  writeFileSync(file, yaml);
  return file;
}

/** Start `target` with `args` and wait until `port` accepts connections. */
export async function startProxy(target: Target, args: string[], port: number): Promise<Running> {
  const [cmd, ...rest] = TARGETS[target](args);
  const proc = spawn(cmd!, rest, { stdio: ["ignore", "pipe", "pipe"], cwd: ROOT });
  let err = "";
  proc.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  proc.stdout!.on("data", (d: Buffer) => (err += d.toString()));
  try {
    await waitForPort("127.0.0.1", port, 20_000);
  } catch (e) {
    proc.kill("SIGKILL");
    throw new Error(`${target} did not listen on ${port}: ${(e as Error).message}\n${err}`);
  }
  return {
    proc,
    stderr: () => err,
    stop: () =>
      new Promise((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve(proc.exitCode);
        proc.once("exit", (code) => resolve(code));
        proc.kill("SIGTERM");
        setTimeout(() => proc.kill("SIGKILL"), 3000).unref();
      }),
  };
}
