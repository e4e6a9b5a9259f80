// nutcracker 0.5.0 itself as a process: what test/e2e/matrix.test.ts requires of every target (-V, usage, -d with -p, the process name) holds for the original; and kill -SEGV, on it and on each runtime.

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request, resp } from "../helpers/client.ts";
import { ROOT, RUNTIMES, TARGETS, type Target, writeConf } from "../helpers/proxy.ts";
import { type Backend, startRedis } from "../helpers/real_backends.ts";
import { freePort, waitForPort } from "../helpers/runtimes.ts";
import { SEGV_LINE, SEGV_OUTCOME, startForSegv } from "../helpers/segv.ts";

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
/** Running, not a zombie: a daemon's exit is reaped by whoever adopted it, here up to 2 s later. */
const alive = (pid: number): boolean => {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
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

  it("-d returns at once with piped stdio; the pid file holds the daemon, named nutcracker, which serves", async () => {
    // nutcracker -d does chdir("/"): every path here is absolute
    const dir = mkdtempSync(join(tmpdir(), "nc-daemon-"));
    const pidFile = join(dir, "nc.pid");
    const [port, stats] = [await freePort(), await freePort()];
    const t0 = Date.now();
    const r = run("nutcracker", ["-d", "-c", poolConf(port), "-s", String(stats), "-p", pidFile, "-o", join(dir, "nc.log")], 15_000);
    expect(r.error).toBeUndefined();
    expect(r.code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5_000);
    await until("pid file", () => existsSync(pidFile) && readFileSync(pidFile, "utf8").length > 0);
    const pid = Number(readFileSync(pidFile, "utf8").trim());
    try {
      expect(readFileSync(`/proc/${pid}/comm`, "utf8").trim()).toBe("nutcracker");
      await waitForPort("127.0.0.1", port, 15_000);
      expect((await request(port, resp("PING"), 7)).toString()).toBe("+PONG\r\n");
    } finally {
      process.kill(pid, "SIGTERM");
    }
    await until("daemon exit", () => !alive(pid));
    // SIGTERM is left to its default action: the pid file stays (ours removes it, README)
    expect(existsSync(pidFile)).toBe(true);
  });
});

describe.each(["nutcracker", ...RUNTIMES] as Target[])("kill -SEGV on %s", (target) => {
  const outcome = SEGV_OUTCOME[target]!;
  it(`${outcome}${outcome === "logs and dies" ? ` ('${SEGV_LINE}', then death by SIGSEGV)` : ": no line, serves on, a second one kills"}`, async () => {
    const dir = mkdtempSync(join(tmpdir(), "nc-segv-"));
    const log = join(dir, "nc.log");
    const port = await freePort();
    const nc = await startForSegv(target, ["-c", poolConf(port), "-s", String(await freePort()), "-o", log], port);
    const text = () => (existsSync(log) ? readFileSync(log, "utf8") : "");
    try {
      await until("start line", () => text().includes("started on pid"));
      if (outcome === "logs and dies") {
        expect(await nc.segv(10_000)).toEqual({ code: null, signal: "SIGSEGV" });
        expect(text()).toContain(SEGV_LINE);
      } else {
        expect(await nc.segv(1_000)).toBeNull();
        expect((await request(port, resp("PING"), 7)).toString()).toBe("+PONG\r\n");
        expect(await nc.segv(10_000)).toEqual({ code: null, signal: "SIGSEGV" });
        expect(text()).not.toContain("SIGSEGV");
      }
    } finally {
      nc.proc.kill("SIGKILL");
    }
  });
});
