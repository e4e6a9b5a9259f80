// Real redis-server and memcached processes on free loopback ports, for end-to-end tests.

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { freePort, waitForPort } from "./runtimes.ts";

export interface Backend {
  readonly port: number;
  readonly proc: ChildProcess;
  stop(): Promise<void>;
}

function need(bin: string): void {
  const r = spawnSync("sh", ["-c", `command -v ${bin}`]);
  if (r.status !== 0) throw new Error(`${bin} is not installed: .ci/run installs it (apt-get install -y redis-server memcached nutcracker)`);
}

async function started(proc: ChildProcess, port: number): Promise<Backend> {
  await waitForPort("127.0.0.1", port, 10_000);
  return {
    port,
    proc,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        proc.once("exit", () => resolve());
        proc.kill("SIGKILL");
      }),
  };
}

/** A throwaway redis-server: no persistence, loopback only. */
export async function startRedis(extra: string[] = [], fixedPort?: number): Promise<Backend> {
  need("redis-server");
  const port = fixedPort ?? (await freePort());
  const proc = spawn(
    "redis-server",
    // --dir: a FLUSHALL saves dump.rdb even with --save "" (redis 7): not into the checkout
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", tmpdir(), ...extra],
    { stdio: "ignore" },
  );
  return started(proc, port);
}

/** A throwaway memcached, single-threaded like the benchmarks use. */
export async function startMemcached(extra: string[] = [], fixedPort?: number): Promise<Backend> {
  need("memcached");
  const port = fixedPort ?? (await freePort());
  const proc = spawn("memcached", ["-p", String(port), "-l", "127.0.0.1", "-U", "0", "-t", "1", "-u", "root", ...extra], {
    stdio: "ignore",
  });
  return started(proc, port);
}
