// The nutcracker command line as a process: -V, bad flags, -t, -d with -p, -o with signals, on every runtime.

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, renameSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request, resp } from "../helpers/client.ts";
import { ROOT, RUNTIMES, startProxy, TARGETS, type Target, writeConf } from "../helpers/proxy.ts";
import { type Backend, startRedis } from "../helpers/real_backends.ts";
import { freePort, waitForPort } from "../helpers/runtimes.ts";

function run(target: Target, args: string[], timeout = 20_000) {
  const [cmd, ...rest] = TARGETS[target](args);
  const r = spawnSync(cmd!, rest, { cwd: ROOT, encoding: "utf8", timeout });
  return { code: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "", error: r.error };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, f: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

let redis: Backend;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

function poolConf(port: number): string {
  return writeConf(`alpha:\n  listen: 127.0.0.1:${port}\n  redis: true\n  servers:\n   - 127.0.0.1:${redis.port}:1\n`);
}

describe("nutcracker as the oracle", () => {
  it("prints its version first and exits 0 with -V, and 1 with usage on a bad flag", () => {
    const v = run("nutcracker", ["-V"]);
    expect(v.code).toBe(0);
    expect(v.stderr.split("\n")[0]).toBe("This is nutcracker-0.5.0");
    const bad = run("nutcracker", ["-x"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("Usage: nutcracker");
  });
});

describe.each(RUNTIMES)("nutcracker command line on %s", (rt) => {
  it("-V prints 'This is nutcracker-0.5.0' first and exits 0", () => {
    const r = run(rt, ["-V"]);
    expect(r.code).toBe(0);
    expect(r.stderr.split("\n")[0]).toBe("This is nutcracker-0.5.0");
  });

  it("a bad flag or value prints usage to stderr and exits 1", () => {
    for (const args of [["-x"], ["-m", "100"], ["-v", "abc"], ["--no-such-flag"]]) {
      const r = run(rt, args);
      expect(r.code, args.join(" ")).toBe(1);
      expect(r.stderr, args.join(" ")).toContain("Usage: nutcracker");
    }
  });

  it("-t says whether the configuration is ok, with the reason when it is not", () => {
    const good = run(rt, ["-t", "-c", poolConf(1)]);
    expect(good.code).toBe(0);
    expect(good.stdout + good.stderr).toMatch(/syntax is ok/);
    const badFile = writeConf("alpha:\n  listen: 127.0.0.1:1\n  hash: nope\n  servers:\n   - 127.0.0.1:1:1\n");
    const bad = run(rt, ["-t", "-c", badFile]);
    expect(bad.code).toBe(1);
    expect(bad.stdout + bad.stderr).toMatch(/syntax is invalid/);
    expect(bad.stdout + bad.stderr).toMatch(/line 3/);
  });

  it("-d returns at once, leaves a daemon that serves, writes -p and removes it on SIGTERM", async () => {
    const dir = mkdtempSync(join(tmpdir(), "nc-daemon-"));
    const pidFile = join(dir, "nc.pid");
    const port = await freePort();
    const t0 = Date.now();
    // stdout/stderr are pipes: if the daemon kept them open, spawnSync would wait for it
    const r = run(rt, ["-d", "-c", poolConf(port), "-p", pidFile, "-o", join(dir, "nc.log")], 15_000);
    expect(r.error).toBeUndefined();
    expect(r.code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(10_000);
    await waitForPort("127.0.0.1", port, 15_000);
    await until("pid file", () => existsSync(pidFile));
    const pid = Number(readFileSync(pidFile, "utf8").trim());
    expect(alive(pid)).toBe(true);
    const pong = await request(port, resp("PING"), 7);
    expect(pong.toString()).toBe("+PONG\r\n");
    process.kill(pid, "SIGTERM");
    await until("daemon exit", () => !alive(pid));
    expect(existsSync(pidFile)).toBe(false);
  });

  it("-o logs signals by name: SIGTTIN/SIGTTOU change the level, SIGHUP reopens, SIGINT exits", async () => {
    const dir = mkdtempSync(join(tmpdir(), "nc-log-"));
    const log = join(dir, "nc.log");
    const pidFile = join(dir, "nc.pid");
    const port = await freePort();
    const p = await startProxy(rt, ["-c", poolConf(port), "-o", log, "-p", pidFile, "-v", "5"], port);
    const pid = p.proc.pid!;
    const text = () => (existsSync(log) ? readFileSync(log, "utf8") : "");
    await until("start line", () => text().includes("started on pid"));
    process.kill(pid, "SIGTTIN");
    await until("SIGTTIN line", () => text().includes("signal 21 (SIGTTIN) received, up logging level"));
    process.kill(pid, "SIGTTOU");
    await until("SIGTTOU line", () => text().includes("signal 22 (SIGTTOU) received, down logging level"));
    renameSync(log, `${log}.1`);
    process.kill(pid, "SIGHUP");
    await until("reopened log", () => existsSync(log));
    expect(readFileSync(`${log}.1`, "utf8")).toContain("signal 1 (SIGHUP) received, reopening log file");
    // what comes after the reopen lands in the new file
    process.kill(pid, "SIGUSR1");
    await until("line in the new file", () => text().includes("signal 10 (SIGUSR1) received"));
    expect(readFileSync(`${log}.1`, "utf8")).not.toContain("SIGUSR1");
    expect(existsSync(pidFile)).toBe(true);
    const exited = new Promise<number | null>((r) => p.proc.once("exit", (c) => r(c)));
    process.kill(pid, "SIGINT");
    const code = await exited;
    expect(code).toBe(1);
    expect(text()).toContain("done, rabbit done");
    expect(existsSync(pidFile)).toBe(false);
  });
});
