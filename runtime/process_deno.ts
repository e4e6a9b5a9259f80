// Deno adapter, process half: timers, defer, signals, environment, stdio, text files, the log file, -d.
//
// runtime/deno.ts holds the sockets and listeners and spreads this in, as runtime/bun.ts does
// with node.ts's processRuntime(): the two halves share nothing but writeStderr.

import { ErrnoError, fileError, reportException } from "./common.ts";
import { denoBinaryFiles } from "./fs_deno.ts";
import type { LogFile, Runtime, SignalName, TimerHandle } from "./types.ts";

// The part of lib.deno this file uses, so that it type-checks without Deno's own types.
interface DenoFile {
  writeSync(p: Uint8Array): number;
  close(): void;
}
interface DenoWriter {
  writeSync(p: Uint8Array): number;
}
interface DenoCommandOptions {
  args: string[];
  stdin: "null" | "piped";
  stdout: "null" | "inherit";
  stderr: "null" | "inherit";
  detached: boolean;
}
interface DenoChild {
  readonly pid: number;
  unref(): void;
  kill(sig: SignalName | "SIGKILL"): void;
  readonly status: Promise<{ readonly code: number; readonly signal: string | null }>;
}
declare const Deno: {
  addSignalListener(sig: SignalName, fn: () => void): void;
  removeSignalListener(sig: SignalName, fn: () => void): void;
  kill(pid: number, sig: SignalName): void;
  readonly Command: new (cmd: string, o: DenoCommandOptions) => { spawn(): DenoChild };
  readonly stdin: { read(p: Uint8Array): Promise<number | null> };
  readonly args: readonly string[];
  readonly pid: number;
  readonly env: { get(name: string): string | undefined };
  hostname(): string;
  exit(code?: number): never;
  execPath(): string;
  readonly mainModule: string;
  readonly build: { readonly standalone?: boolean };
  readonly stdout: DenoWriter;
  readonly stderr: DenoWriter;
  readTextFileSync(path: string): string;
  writeTextFileSync(path: string, data: string): void;
  removeSync(path: string): void;
  openSync(path: string, o: { append: boolean; create: boolean; mode: number }): DenoFile;
};

const encoder = new TextEncoder();

function writeAll(w: DenoWriter, text: string): void {
  const bytes = encoder.encode(text);
  let off = 0;
  while (off < bytes.length) off += w.writeSync(off === 0 ? bytes : bytes.subarray(off));
}

/** Synchronous, whole: exception reports and the stderr log must be out before an exit. */
export function writeStderr(text: string): void {
  writeAll(Deno.stderr, text);
}

function runGuarded(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    reportException(writeStderr, "a timer or deferred callback", e);
  }
}

/** Deferred callbacks: one microtask runs all that were queued by the current batch. */
const deferred: (() => void)[] = [];
let deferScheduled = false;

function runDeferred(): void {
  deferScheduled = false;
  // callbacks may defer more; those run in this same pass, by index
  for (let i = 0; i < deferred.length; i++) runGuarded(deferred[i] as () => void);
  deferred.length = 0;
}

class DenoLogFile implements LogFile {
  private file: DenoFile | null;
  private readonly path: string | null;

  constructor(path: string | null) {
    this.path = path;
    this.file = path === null ? null : openAppend(path);
  }

  write(text: string): void {
    if (this.file === null) {
      if (this.path === null) writeStderr(text);
      return;
    }
    const bytes = encoder.encode(text);
    let off = 0;
    while (off < bytes.length) off += this.file.writeSync(off === 0 ? bytes : bytes.subarray(off));
  }

  reopen(): void {
    if (this.path === null) return;
    // open the new file before closing the old one, so a failure leaves logging where it was
    const f = openAppend(this.path);
    const old = this.file;
    this.file = f;
    if (old !== null) {
      try {
        old.close();
      } catch {
        // already closed
      }
    }
  }

  close(): void {
    const f = this.file;
    this.file = null;
    if (f !== null) {
      try {
        f.close();
      } catch {
        // already closed
      }
    }
  }
}

function openAppend(path: string): DenoFile {
  try {
    return Deno.openSync(path, { append: true, create: true, mode: 0o644 });
  } catch (e) {
    throw fileError(e, "open", path);
  }
}

/**
 * The command line that starts this program again, without its arguments. A `deno compile`
 * binary is its own entry (Deno.build.standalone; Deno.args holds the baked-in arguments,
 * which the binary adds by itself). Under `deno run [flags] x.ts` there is no API for the
 * flags, so they are taken from /proc/self/cmdline: everything before the Deno.args tail.
 */
function selfCommand(): string[] {
  const exe = Deno.execPath();
  if (Deno.build.standalone === true) return [exe];
  try {
    const argv = Deno.readTextFileSync("/proc/self/cmdline").split("\0");
    if (argv[argv.length - 1] === "") argv.pop();
    const n = argv.length - Deno.args.length;
    if (n >= 2) {
      argv[0] = exe;
      return argv.slice(0, n);
    }
  } catch {
    // no procfs (macOS): fall back to the usual form
  }
  const main = Deno.mainModule.startsWith("file://") ? decodeURIComponent(new URL(Deno.mainModule).pathname) : Deno.mainModule;
  return [exe, "run", "-A", main];
}

/** The listeners onSignal added, so that raise() can remove them. */
const listeners = new Map<SignalName, (() => void)[]>();

/** Everything of the Runtime but the sockets (runtime/deno.ts) and the name. */
export type DenoProcessRuntime = Omit<Runtime, "name" | "listen" | "connect">;

/**
 * The process half of the Deno runtime. `defer` runs on a microtask: Deno resolves every read
 * that completed in one event-loop turn before it runs microtasks, so (measured on 2.9) a
 * deferred flush still comes after all data callbacks of that turn.
 */
export function denoProcessRuntime(): DenoProcessRuntime {
  return {
    now: () => performance.now(),
    unixTime: () => Math.floor(Date.now() / 1000),
    setTimer(ms: number, fn: () => void): TimerHandle {
      return { _timer: setTimeout(runGuarded, ms, fn) };
    },
    clearTimer(t: TimerHandle): void {
      clearTimeout(t._timer as number);
    },
    defer(fn: () => void): void {
      deferred.push(fn);
      if (!deferScheduled) {
        deferScheduled = true;
        queueMicrotask(runDeferred);
      }
    },
    onSignal(sig: SignalName, fn: (sig: SignalName) => void): void {
      // SIGPIPE: Deno (a Rust program) ignores it from startup, so writes fail with EPIPE.
      // SIGSEGV: Deno refuses it (TypeError "Binding to signal 'SIGSEGV' is not allowed"). Deno's
      // own handler puts back SIG_DFL and returns, as Rust std's stack-overflow handler does for a
      // fault off the guard page: the first kill -SEGV does nothing that shows, a second one
      // kills, unlogged (measured on 2.9, README "Where we differ").
      if (sig === "SIGPIPE" || sig === "SIGSEGV") return;
      const listener = (): void => runGuarded(() => fn(sig));
      Deno.addSignalListener(sig, listener);
      let list = listeners.get(sig);
      if (list === undefined) listeners.set(sig, (list = []));
      list.push(listener);
    },
    raise(sig: SignalName): void {
      for (const l of listeners.get(sig) ?? []) Deno.removeSignalListener(sig, l);
      listeners.delete(sig);
      Deno.kill(Deno.pid, sig);
    },
    args: Deno.args.slice(),
    pid: Deno.pid,
    env(name: string): string | undefined {
      try {
        return Deno.env.get(name);
      } catch {
        // no --allow-env
        return undefined;
      }
    },
    hostname: () => Deno.hostname(),
    exit(code: number): never {
      return Deno.exit(code);
    },
    writeStdout: (text: string) => writeAll(Deno.stdout, text),
    writeStderr,
    readTextFile(path: string): string {
      try {
        return Deno.readTextFileSync(path);
      } catch (e) {
        throw fileError(e, "read", path);
      }
    },
    writeTextFile(path: string, text: string): void {
      try {
        Deno.writeTextFileSync(path, text);
      } catch (e) {
        throw fileError(e, "write", path);
      }
    },
    removeFile(path: string): void {
      try {
        Deno.removeSync(path);
      } catch (e) {
        throw fileError(e, "remove", path);
      }
    },
    openLog: (path: string | null) => new DenoLogFile(path),
    ...denoBinaryFiles(),
    spawnWorker(args, exited) {
      const [cmd, ...rest] = [...selfCommand(), ...args];
      if (cmd === undefined) throw new ErrnoError("EINVAL", "Cannot spawn: empty command");
      let child: DenoChild;
      try {
        // stdin is a pipe from us: the worker reads EOF there once we are gone (onPrimaryGone)
        child = new Deno.Command(cmd, { args: rest, stdin: "piped", stdout: "inherit", stderr: "inherit", detached: false }).spawn();
      } catch (e) {
        throw fileError(e, "spawn", cmd);
      }
      void child.status.then((st) => exited(st.signal === null ? st.code : null, st.signal));
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
    },
    onPrimaryGone(fn: () => void): void {
      const buf = new Uint8Array(256);
      const read = (): void => {
        Deno.stdin.read(buf).then(
          (n) => (n === null ? runGuarded(fn) : read()),
          () => runGuarded(fn),
        );
      };
      read();
    },
    cpuCount: () => (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1,
    spawnDetached(args: readonly string[]): number {
      const [cmd, ...rest] = [...selfCommand(), ...args];
      if (cmd === undefined) throw new ErrnoError("EINVAL", "Cannot spawn: empty command");
      try {
        const child = new Deno.Command(cmd, {
          args: rest,
          stdin: "null",
          stdout: "null",
          stderr: "null",
          detached: true,
        }).spawn();
        child.unref();
        return child.pid;
      } catch (e) {
        throw fileError(e, "spawn", cmd);
      }
    },
  };
}
