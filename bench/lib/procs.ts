// Processes for the benchmark: spawn (pinned or not), stop, and read a process's CPU time and memory from /proc.

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { closeSync, openSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";

export const ROOT = new URL("../../", import.meta.url).pathname;

/** The CPU every pinned process shares (BENCHMARKING.md: client, backend and proxy on one core). */
export const PIN_CPU = "0";
/** Every CPU: how an unpinned layout undoes a pin. */
export const ALL_CPUS = `0-${Math.max(0, cpus().length - 1)}`;

// Everything we spawned, so an interrupted run leaves nothing behind.
const children = new Set<ChildProcess>();

export function track(p: ChildProcess): ChildProcess {
  children.add(p);
  p.once("exit", () => children.delete(p));
  return p;
}

/** SIGKILL every process we spawned that is still running (on exit or interrupt). */
export function killAll(): void {
  for (const c of children) {
    try {
      c.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Whether `cmd` is on PATH (or an executable path). */
export function have(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v "${cmd}"`], { stdio: "ignore" }).status === 0;
}

/** First line of `cmd args` (stdout, else stderr), for the report header. */
export function versionOf(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 10_000 });
  const out = `${r.stdout ?? ""}\n${r.stderr ?? ""}`.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  return out[0] ?? "?";
}

/** Pin every thread of `pid` to `cpuList` (taskset -a -p -c). */
export function setAffinity(pid: number, cpuList: string): void {
  const r = spawnSync("taskset", ["-a", "-p", "-c", cpuList, String(pid)], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`taskset -a -p -c ${cpuList} ${pid} failed: ${r.stderr}`);
}

let clkTck = 0;
function ticksPerSecond(): number {
  if (clkTck === 0) {
    const r = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" });
    clkTck = Number.parseInt(r.stdout ?? "", 10) || 100;
  }
  return clkTck;
}

/**
 * utime+stime of the whole process (every thread, live or exited) in seconds, from /proc/PID/stat;
 * undefined when the process is gone. Resolution: one clock tick (10 ms).
 */
export function cpuSeconds(pid: number): number | undefined {
  let s: string;
  try {
    s = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // the command name may hold spaces and parentheses: fields start after the last ')'
  const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
  // f[0] is field 3 (state): utime is field 14, stime field 15
  return (Number(f[11]) + Number(f[12])) / ticksPerSecond();
}

/** A process's CPU time at one moment, two ways (see cpuBetween). */
export interface CpuSample {
  /** utime+stime from /proc/PID/stat, seconds (10 ms ticks; includes exited threads). */
  readonly ticks: number;
  /** Per live thread, its time on a CPU from /proc/PID/task/TID/schedstat, nanoseconds. */
  readonly tasks: ReadonlyMap<string, number>;
}

/** The CPU time of `pid` now; undefined when the process is gone. */
export function cpuSample(pid: number): CpuSample | undefined {
  const ticks = cpuSeconds(pid);
  if (ticks === undefined) return undefined;
  const tasks = new Map<string, number>();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const ns = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
        if (Number.isFinite(ns)) tasks.set(tid, ns);
      } catch {
        // the thread exited meanwhile: cpuBetween sees it missing and falls back to ticks
      }
    }
  } catch {
    // no task directory: ticks only
  }
  return { ticks, tasks };
}

/**
 * CPU seconds between two samples: the sum over threads of their schedstat run time (nanosecond
 * resolution, so a 0.3 s run is not rounded to 10 ms, which is 3%), or the utime+stime
 * difference when schedstat cannot account for it (a thread of the first sample gone, none read).
 */
export function cpuBetween(a: CpuSample, b: CpuSample): number {
  let ok = a.tasks.size > 0;
  for (const tid of a.tasks.keys()) if (!b.tasks.has(tid)) ok = false;
  if (!ok) return b.ticks - a.ticks;
  let ns = 0;
  for (const [tid, v] of b.tasks) ns += v - (a.tasks.get(tid) ?? 0);
  return ns / 1e9;
}

/** A `kB` line of /proc/PID/status (VmRSS, VmHWM) in bytes; undefined when the process is gone. */
export function statusBytes(pid: number, key: "VmRSS" | "VmHWM"): number | undefined {
  try {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m === null ? undefined : Number(m[1]) * 1024;
  } catch {
    return undefined;
  }
}

/** Reset VmHWM to the current RSS (writes 5 to /proc/PID/clear_refs, Linux >= 4.0). */
export function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

export function threads(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/task`).length;
  } catch {
    return 0;
  }
}

export function alive(p: ChildProcess): boolean {
  return p.exitCode === null && p.signalCode === null;
}

/** A process of ours whose output goes to a file. */
export interface Spawned {
  readonly proc: ChildProcess;
  readonly pid: number;
  readonly logFile: string;
  stop(): Promise<void>;
}

/**
 * Spawn `argv` with stdout and stderr appended to `logFile`; under `taskset -c PIN_CPU` when
 * `pinned` (taskset execs, so the pid is the program's own).
 */
export function spawnLogged(argv: readonly string[], logFile: string, pinned: boolean): Spawned {
  const fd = openSync(logFile, "a");
  const full = pinned ? ["taskset", "-c", PIN_CPU, ...argv] : [...argv];
  const proc = track(spawn(full[0]!, full.slice(1), { cwd: ROOT, stdio: ["ignore", fd, fd] }));
  closeSync(fd);
  if (proc.pid === undefined) throw new Error(`cannot spawn ${argv.join(" ")}`);
  return {
    proc,
    pid: proc.pid,
    logFile,
    stop: () =>
      new Promise<void>((resolve) => {
        if (!alive(proc)) return resolve();
        const t = setTimeout(() => proc.kill("SIGKILL"), 3000);
        proc.once("exit", () => {
          clearTimeout(t);
          resolve();
        });
        proc.kill("SIGTERM");
      }),
  };
}

/** The outcome of a client program run to completion (or killed at its deadline). */
export interface ClientRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  readonly wallSeconds: number;
}

/** Run a client program, pinned when asked, and kill it after `timeoutMs`. */
export function runClient(argv: readonly string[], pinned: boolean, timeoutMs: number): Promise<ClientRun> {
  const full = pinned ? ["taskset", "-c", PIN_CPU, ...argv] : [...argv];
  const t0 = performance.now();
  return new Promise((resolve) => {
    const p = track(spawn(full[0]!, full.slice(1), { stdio: ["ignore", "pipe", "pipe"] }));
    let out = "";
    let err = "";
    let timedOut = false;
    p.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    p.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      p.kill("SIGKILL");
    }, timeoutMs);
    p.once("error", (e) => (err += `\n${e.message}`));
    p.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: out, stderr: err, timedOut, wallSeconds: (performance.now() - t0) / 1000 });
    });
  });
}
