// kill -SEGV a proxy (twemproxy's test_signal does it) and see what each target does: the log line, the signal death.

import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TARGETS, type Target } from "./proxy.ts";
import { waitForPort } from "./runtimes.ts";

/** The line twemproxy's signal_handler logs for SIGSEGV (after its stack trace). */
export const SEGV_LINE = "signal 11 (SIGSEGV) received, core dumping";

/**
 * What one kill -SEGV does, as measured. "logs and dies": the line, then death by SIGSEGV (a
 * parent sees WIFSIGNALED). "ignored once": Deno refuses a SIGSEGV listener and Rust's
 * stack-overflow handler swallows the first one sent (it puts back SIG_DFL and returns), so
 * nothing is logged, the proxy serves on, and only a second kill -SEGV kills it.
 */
export const SEGV_OUTCOME: Readonly<Record<Target, "logs and dies" | "ignored once">> = {
  nutcracker: "logs and dies",
  node: "logs and dies",
  node20: "logs and dies",
  node22: "logs and dies",
  node24: "logs and dies",
  node26: "logs and dies",
  bun: "logs and dies",
  binary: "logs and dies",
  deno: "ignored once",
};

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface SegvTarget {
  readonly proc: ChildProcess;
  /** Resolves with how the process ended. */
  readonly exited: Promise<Exit>;
  /** Send SIGSEGV; the exit if it comes within `ms`, else null (still running). */
  segv(ms: number): Promise<Exit | null>;
}

/**
 * Start `target` with `args` in a scratch directory, with core dumps off (ulimit -c 0, then
 * exec, so the pid is the proxy's), and wait until `port` accepts connections.
 */
export async function startForSegv(target: Target, args: string[], port: number): Promise<SegvTarget> {
  const cwd = mkdtempSync(join(tmpdir(), `nc-segv-${target}-`));
  const proc = spawn("sh", ["-c", 'ulimit -c 0; exec "$@"', "sh", ...TARGETS[target](args)], { stdio: "ignore", cwd });
  const exited = new Promise<Exit>((resolve) => proc.once("exit", (code, signal) => resolve({ code, signal })));
  try {
    await waitForPort("127.0.0.1", port, 20_000);
  } catch (e) {
    proc.kill("SIGKILL");
    throw e;
  }
  return {
    proc,
    exited,
    segv(ms: number): Promise<Exit | null> {
      process.kill(proc.pid!, "SIGSEGV");
      return Promise.race([exited, new Promise<null>((r) => setTimeout(() => r(null), ms))]);
    },
  };
}
