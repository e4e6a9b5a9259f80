// The process half of the Runtime that Node and Bun share (both have Node's process, timers and fs): timers, defer, signals, stdio, files, the log, -d.

import { spawn } from "node:child_process";
import cluster from "node:cluster";
import { closeSync, openSync, readFileSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import { availableParallelism, hostname as osHostname } from "node:os";
import { ErrnoError, fileError, reportException } from "./common.ts";
import { nodeBinaryFiles } from "./fs_node.ts";
import type { LogFile, Runtime, SignalName, TimerHandle, WorkerProcess } from "./types.ts";

export function writeStderr(text: string): void {
  writeAllSync(2, text);
}

/**
 * Write all of `text` to `fd` now. stdout or stderr may be a non-blocking pipe (libuv sets
 * O_NONBLOCK on pipes it opens), so EAGAIN is waited out instead of losing the line at exit.
 */
export function writeAllSync(fd: number, text: string): void {
  const bytes = Buffer.from(text, "utf8");
  let off = 0;
  let spins = 0;
  while (off < bytes.length) {
    try {
      off += writeSync(fd, bytes, off, bytes.length - off);
    } catch (e) {
      if ((e as { code?: unknown }).code !== "EAGAIN" || ++spins > 5000) throw e;
      sleepMs(1);
    }
  }
}

let sleepCell: Int32Array | null = null;

function sleepMs(ms: number): void {
  if (sleepCell === null) sleepCell = new Int32Array(new SharedArrayBuffer(4));
  Atomics.wait(sleepCell, 0, 0, ms);
}

/** Append-only log on a file descriptor; Node and Bun share it. */
export class FdLogFile implements LogFile {
  private fd: number;
  private readonly path: string | null;

  constructor(path: string | null) {
    this.path = path;
    this.fd = path === null ? 2 : openAppend(path);
  }

  write(text: string): void {
    writeAllSync(this.fd, text);
  }

  reopen(): void {
    if (this.path === null) return;
    // open the new file before closing the old one, so a failure leaves logging where it was
    const fd = openAppend(this.path);
    const old = this.fd;
    this.fd = fd;
    try {
      closeSync(old);
    } catch {
      // already closed
    }
  }

  close(): void {
    if (this.path === null || this.fd < 0) return;
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
    this.fd = -1;
  }
}

function openAppend(path: string): number {
  try {
    return openSync(path, "a", 0o644);
  } catch (e) {
    throw fileError(e, "open", path);
  }
}

export function readTextFile(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw fileError(e, "read", path);
  }
}

export function writeTextFile(path: string, text: string): void {
  try {
    writeFileSync(path, text);
  } catch (e) {
    throw fileError(e, "write", path);
  }
}

export function removeFile(path: string): void {
  try {
    unlinkSync(path);
  } catch (e) {
    throw fileError(e, "remove", path);
  }
}

/**
 * Start `argv[0]` with the rest of `argv`, detached (setsid), stdio on /dev/null, unref'd.
 * Node and Bun share it; each passes the command line that restarts itself.
 */
export function spawnDetachedArgv(argv: readonly string[]): number {
  const [cmd, ...rest] = argv;
  if (cmd === undefined) throw new ErrnoError("EINVAL", "Cannot spawn: empty command");
  const child = spawn(cmd, rest, { detached: true, stdio: "ignore" });
  // a failed exec is reported as an 'error' event; without a listener it would crash us
  child.on("error", () => {});
  child.unref();
  if (child.pid === undefined) throw new ErrnoError("ENOENT", `Cannot spawn "${cmd}": ENOENT`);
  return child.pid;
}

/**
 * Start a worker running `self` (this program's command line) with `args`. With `viaCluster` it
 * is a node:cluster worker, so its listen() calls share the primary's handles (a Node without
 * SO_REUSEPORT, before 22.12); otherwise a child whose stdin is a pipe from us, which it sees
 * close when we are gone (onPrimaryGone).
 */
export function spawnWorkerArgv(
  self: readonly string[],
  args: readonly string[],
  exited: (code: number | null, signal: string | null) => void,
  viaCluster: boolean,
): WorkerProcess {
  if (viaCluster) {
    cluster.setupPrimary({ exec: self[self.length - 1]!, execArgv: process.execArgv, args: [...args], stdio: ["ignore", "inherit", "inherit", "ipc"] });
    const w = cluster.fork();
    w.on("error", () => {});
    w.once("exit", (code: number | null, signal: string | null) => exited(signal === null ? code : null, signal));
    return { pid: w.process.pid ?? -1, kill: (sig) => void w.process.kill(sig) };
  }
  const [cmd, ...rest] = self;
  if (cmd === undefined) throw new ErrnoError("EINVAL", "Cannot spawn: empty command");
  const child = spawn(cmd, [...rest, ...args], { stdio: ["pipe", "inherit", "inherit"] });
  child.on("error", () => {});
  child.stdin!.on("error", () => {});
  child.once("exit", (code, signal) => exited(code, signal));
  if (child.pid === undefined) throw new ErrnoError("ENOENT", `Cannot spawn "${cmd}": ENOENT`);
  return {
    pid: child.pid,
    kill: (sig) => {
      try {
        child.kill(sig);
      } catch {
        // already gone
      }
    },
  };
}

/** SO_REUSEPORT in net.Server.listen (`reusePort`): Node 22.12 and 23.1 on. */
export function nodeHasReusePort(): boolean {
  const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
  return major >= 23 ? major > 23 || minor >= 1 : major === 22 && minor >= 12;
}

/** Run a timer, defer or signal callback so that an exception is reported, not fatal. */
function runGuarded(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    reportException(writeStderr, "a timer or deferred callback", e);
  }
}

const IGNORED_SIGNALS: ReadonlySet<SignalName> = new Set(["SIGPIPE"]);

/** What Node and Bun share, both having Node's process, timers and fs: all but sockets and argv. */
export type ProcessRuntime = Omit<Runtime, "name" | "listen" | "connect" | "args" | "spawnDetached" | "spawnWorker">;

export function processRuntime(): ProcessRuntime {
  return {
    now: () => performance.now(),
    unixTime: () => Math.floor(Date.now() / 1000),
    setTimer(ms: number, fn: () => void): TimerHandle {
      return { _timer: setTimeout(runGuarded, ms, fn) };
    },
    clearTimer(t: TimerHandle): void {
      clearTimeout(t._timer as ReturnType<typeof setTimeout>);
    },
    defer(fn: () => void): void {
      setImmediate(runGuarded, fn);
    },
    onSignal(sig: SignalName, fn: (sig: SignalName) => void): void {
      // SIGPIPE: Node and Bun ignore it from startup, so a write to a dead peer fails with EPIPE
      if (IGNORED_SIGNALS.has(sig)) return;
      // SIGSEGV: the listener takes over the runtime's own handler (Node's WebAssembly trap
      // handler, Bun's crash report), so while it is there a real fault is caught, returned from
      // and taken again, forever: measured with an out-of-bounds wasm load, which hangs instead
      // of throwing RuntimeError (README, "Where we differ")
      process.on(sig, () => runGuarded(() => fn(sig)));
    },
    raise(sig: SignalName): void {
      // with no listener left, Node and Bun put back SIG_DFL (SigCgt in /proc/self/status), not
      // their own handler; the signal is then taken on the way out of kill(2), so this does not
      // return for SIGSEGV (measured on Node 20, Bun 1.4.5 and the compiled binary)
      process.removeAllListeners(sig);
      process.kill(process.pid, sig);
    },
    pid: process.pid,
    env: (name: string) => process.env[name],
    hostname: () => osHostname(),
    exit(code: number): never {
      process.exit(code);
    },
    writeStdout: (text: string) => writeAllSync(1, text),
    writeStderr,
    readTextFile,
    writeTextFile,
    removeFile,
    openLog: (path: string | null) => new FdLogFile(path),
    onPrimaryGone(fn: () => void): void {
      let once = false;
      const gone = (): void => {
        if (once) return;
        once = true;
        runGuarded(fn);
      };
      // a node:cluster worker loses its IPC channel; a spawned one reads EOF on its stdin pipe.
      // Prepended: node:cluster's own 'disconnect' listener (added when the worker starts)
      // calls process.exit(0) at once, and ours would never run (no log line, sockets left)
      if (cluster.isWorker) process.prependOnceListener("disconnect", gone);
      else {
        process.stdin.on("data", () => {});
        process.stdin.once("end", gone);
        process.stdin.once("close", gone);
        process.stdin.once("error", gone);
        process.stdin.resume();
      }
    },
    cpuCount: () => availableParallelism(),
    ...nodeBinaryFiles(),
  };
}
