// Start our proxy (or nutcracker itself) on a config, under a chosen runtime, and stop it.

import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitForPort } from "./runtimes.ts";

export const ROOT = new URL("../../", import.meta.url).pathname;
const BIN = join(ROOT, "node_modules", ".bin");

/** The compiled Bun executable `bun build.ts bin` (and `npm test`) makes. */
export const BINARY = join(ROOT, "dist", "nutcracker-bun");

/** The targets a shared suite runs against. The Node one runs the bundle build.ts makes. */
export const TARGETS = {
  node: (args: string[]) => ["node", join(ROOT, "dist", "nutcracker.mjs"), ...args],
  bun: (args: string[]) => [join(BIN, "bun"), join(ROOT, "runtime", "main_bun.ts"), ...args],
  deno: (args: string[]) => [join(BIN, "deno"), "run", "-A", join(ROOT, "runtime", "main_deno.ts"), ...args],
  binary: (args: string[]) => [BINARY, ...args],
  nutcracker: (args: string[]) => ["nutcracker", ...args],
} as const;
export type Target = keyof typeof TARGETS;
export const RUNTIMES: readonly Target[] = ["node", "bun", "deno"];
/** What ships: the three runtimes and the single executable (test/e2e/matrix.test.ts). */
export const MATRIX: readonly Target[] = ["node", "bun", "deno", "binary"];

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
