// Start-up time: from spawn to the first accepted client connection, per target, median of several runs; and the sizes of what build.ts makes.
//
//   bun bench/startup.ts [runs] [exe...]   default 11 runs per target, interleaved; each exe (another
//                                          build of the binary, say) is measured beside the targets
//
// The proxy gets one memcache pool whose server is never contacted (no preconnect), so the
// figure is the runtime's start, module loading, config parsing and the first listen(). The
// probe connects every millisecond; a refused connect costs ~50 µs on loopback. Beside the wall
// time, the CPU time the process used by then (all its threads, /proc/PID/task/*/schedstat),
// which moves less when the machine is busy.

import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { connect } from "node:net";
import { loadavg } from "node:os";
import { join } from "node:path";
import { BINARY, MATRIX, TARGETS, type Target, writeConf } from "../test/helpers/proxy.ts";
import { freePort } from "../test/helpers/runtimes.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const runs = Number(globalThis.process.argv[2] ?? "11");
const extra = globalThis.process.argv.slice(3);
const targets: string[] = [...MATRIX, "nutcracker", ...extra];
const argvOf = (t: string, args: string[]): string[] => (t in TARGETS ? TARGETS[t as Target](args) : [t, ...args]);

function tryConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: "127.0.0.1", port });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => {
      s.destroy();
      resolve(false);
    });
  });
}

function stop(p: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (p.exitCode !== null || p.signalCode !== null) return resolve();
    p.once("exit", () => resolve());
    p.kill("SIGKILL");
  });
}

/** CPU milliseconds `pid` has used so far, over all its threads. */
function cpuMs(pid: number): number {
  let ns = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, "utf8").split(" ")[0]);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return ns / 1e6;
}

/** Milliseconds from spawn until `port` accepts a connection, and the CPU milliseconds used by then. */
async function once(t: string): Promise<[number, number]> {
  const [port, stats] = [await freePort(), await freePort()];
  const conf = writeConf(`a:\n  listen: 127.0.0.1:${port}\n  servers:\n   - 127.0.0.1:1:1\n`);
  const [cmd, ...args] = argvOf(t, ["-c", conf, "-s", String(stats), "-a", "127.0.0.1"]);
  const t0 = performance.now();
  const p = spawn(cmd!, args, { stdio: "ignore", cwd: ROOT });
  try {
    while (!(await tryConnect(port))) {
      if (p.exitCode !== null) throw new Error(`${t} exited with ${p.exitCode} before listening`);
      if (performance.now() - t0 > 20_000) throw new Error(`${t} did not listen within 20 s`);
      await new Promise((r) => setTimeout(r, 1));
    }
    return [performance.now() - t0, cpuMs(p.pid!)];
  } finally {
    await stop(p);
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const times = new Map<string, number[]>(targets.map((t) => [t, []]));
const cpu = new Map<string, number[]>(targets.map((t) => [t, []]));
for (let i = 0; i < runs; i++) {
  for (const t of targets) {
    const [wall, used] = await once(t);
    times.get(t)!.push(wall);
    cpu.get(t)!.push(used);
  }
}
const range = (xs: number[]): string => `${median(xs).toFixed(0).padStart(5)} [${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}]`;
console.log(`start-up to first accepted connection, ${runs} runs each, ms: median [min–max]; load ${loadavg()[0]!.toFixed(1)}`);
for (const t of targets) console.log(`  ${t.padEnd(10)} wall ${range(times.get(t)!)}   cpu ${range(cpu.get(t)!)}`);
const mb = (f: string): string => (existsSync(f) ? `${(statSync(f).size / 1e6).toFixed(1)} MB` : "missing");
console.log(`sizes: ${BINARY} ${mb(BINARY)}, dist/nutcracker.mjs ${mb(join(ROOT, "dist", "nutcracker.mjs"))}`);
