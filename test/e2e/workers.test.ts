// --workers N (src/core/workers.ts, src/stats/merge.ts) against two real redis-servers, on the
// Node bundle (node:cluster on Node 20, SO_REUSEPORT from 22.12) and the Bun binary
// (SO_REUSEPORT): 200 held clients spread over both workers, each worker's private stats socket
// and the primary's sums (stats JSON and metrics); a worker killed with -9 drops only its own
// clients and is started again; SIGUSR2 and POST /reload reach every worker (a new pool served by
// both, a broken file refused by both); SIGTERM stops every process and removes the sockets and
// the pid file; SIGTTOU/SIGTTIN/SIGHUP reach every worker; -d passes --workers to the daemon; a primary killed with -9 takes its workers with
// it; --workers 1 is one process.
//
// Which worker holds which client is read off /proc (the worker's socket inodes against
// /proc/net/tcp), not inferred from the proxy's own counters.

import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, renameSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sampleValue } from "../helpers/prom_parse.ts";
import { type Running, startProxy, TARGETS, type Target, writeConf } from "../helpers/proxy.ts";
import { type Backend, startRedis } from "../helpers/real_backends.ts";
import { freePort, waitForPort } from "../helpers/runtimes.ts";
import {
  alive,
  bothWorkers,
  childrenOf,
  Client,
  clientPortsOf,
  confText,
  expectedSums,
  metricsAt,
  openMany,
  placeClients,
  pool,
  postReload,
  REQS_PER_CLIENT,
  rewrite,
  serverSum,
  setGet,
  sleep,
  socketFiles,
  statsAt,
  summed,
  until,
  workerMetrics,
  workersOf,
  workerStats,
} from "../helpers/workers_env.ts";



let r1: Backend;
let r2: Backend;

beforeAll(async () => {
  [r1, r2] = await Promise.all([startRedis(), startRedis()]);
});

afterAll(async () => {
  await Promise.all([r1, r2].filter(Boolean).map((b) => b.stop()));
});

describe.each(["node", "binary"] as Target[])("--workers on %s", (target) => {
  const started: Running[] = [];
  const held: Client[] = [];

  afterAll(async () => {
    for (const c of held) c.close();
    await Promise.all(started.map((p) => p.stop()));
  });

  async function start(args: string[], port: number): Promise<Running> {
    const p = await startProxy(target, args, port);
    started.push(p);
    return p;
  }

  describe("a group of two", () => {
    const port = { alpha: 0, beta: 0, gamma: 0, stats: 0, metrics: 0 };
    let file: string;
    let proxy: Running;
    let primary: number;
    /** The 200 clients of case 1, by index; which worker holds each. */
    let clients: Client[] = [];
    let byWorker: number[][] = [];

    beforeAll(async () => {
      for (const k of Object.keys(port) as (keyof typeof port)[]) port[k] = await freePort();
      file = writeConf(confText([{ name: "alpha", port: port.alpha }], [r1, r2]));
      proxy = await start(["-c", file, "--workers", "2", "-s", String(port.stats), `--metrics-port=${port.metrics}`, "-i", "100"], port.alpha);
      primary = proxy.proc.pid!;
      await bothWorkers(primary);
      // both listen (with SO_REUSEPORT one may accept before the other has bound)
      await until("both workers answer on their private sockets", async () => {
        const [a, b] = await Promise.all([workerStats(primary, 0), workerStats(primary, 1)]);
        return a.alpha !== undefined && b.alpha !== undefined;
      });
    });

    it("200 held clients are spread over both workers, and the primary's stats and metrics are the workers' sums", async () => {
      clients = await openMany(port.alpha, 200);
      held.push(...clients);
      await Promise.all(clients.map((c, i) => setGet(c, `w1:${target}:${i}`)));
      const pids = await bothWorkers(primary);
      byWorker = await placeClients(clients, pids, port.alpha);
      // the kernel (or node:cluster) gave each some
      expect(byWorker[0]!.length).toBeGreaterThan(0);
      expect(byWorker[1]!.length).toBeGreaterThan(0);

      // each worker's own stats socket: its own clients, as /proc counts them
      const ws = await until("each worker's stats show its clients", async () => {
        const w = await Promise.all([workerStats(primary, 0), workerStats(primary, 1)]);
        return w.every((s, i) => pool(s, "alpha").client_connections === byWorker[i]!.length) ? w : null;
      });
      expect(ws.map((s) => pool(s, "alpha").client_connections)).toEqual([byWorker[0]!.length, byWorker[1]!.length]);

      // the primary's -s: what was sent, and the sums of the workers' JSON read at the same state
      const [g, w0, w1] = await until("the primary's stats equal the workers' sums", async () => {
        const [w0, w1] = await Promise.all([workerStats(primary, 0), workerStats(primary, 1)]);
        const g = await statsAt(port.stats);
        const [v0, v1] = await Promise.all([workerStats(primary, 0), workerStats(primary, 1)]);
        // the workers' snapshots did not move while the primary read them
        if (JSON.stringify(summed(expectedSums([w0, w1]))) !== JSON.stringify(summed(expectedSums([v0, v1])))) return null;
        // a snapshot (-i) taken while the last replies were on their way counts every request but not every response
        if (serverSum(pool(g, "alpha"), "requests") !== 200 * REQS_PER_CLIENT || serverSum(pool(g, "alpha"), "responses") !== 200 * REQS_PER_CLIENT) return null;
        expect(summed(g)).toEqual(expectedSums([w0, w1]));
        return [g, w0, w1] as const;
      });
      expect(summed(g)).toEqual(expectedSums([w0, w1]));
      expect(g.workers).toBe(2);
      expect(pool(g, "alpha").client_connections).toBe(200);
      expect(serverSum(pool(g, "alpha"), "requests")).toBe(200 * REQS_PER_CLIENT);
      expect(serverSum(pool(g, "alpha"), "responses")).toBe(200 * REQS_PER_CLIENT);
      expect(pool(g, "alpha").client_err).toBe(0);

      // the metrics port: strict exposition text, both workers up, never restarted, the same sums
      const m = await metricsAt(port.metrics);
      for (const w of ["0", "1"]) {
        expect(sampleValue(m, "nutcracker_worker_up", { worker: w })).toBe(1);
        expect(sampleValue(m, "nutcracker_worker_restarts_total", { worker: w })).toBe(0);
      }
      expect(sampleValue(m, "nutcracker_pool_client_connections", { pool: "alpha" })).toBe(200);
      const reqs = m.get("nutcracker_server_requests_total")!.samples.filter((s) => s.labels.pool === "alpha");
      expect(reqs.length).toBe(2);
      expect(reqs.reduce((n, s) => n + s.value, 0)).toBe(200 * REQS_PER_CLIENT);
    });

    it("a worker killed with -9 drops only its own clients, the other's keep their connections, and it is started again", async () => {
      expect(clients.length).toBe(200);
      const [victim, other] = await bothWorkers(primary);
      const onVictim = byWorker[0]!.map((i) => clients[i]!);
      const onOther = byWorker[1]!.map((i) => clients[i]!);
      process.kill(victim, "SIGKILL");

      // every client of the dead worker sees its connection close
      await until("the dead worker's clients closed", () => onVictim.every((c) => c.closed));
      // and those of the other one work on the same connection (the same local port /proc saw)
      await Promise.all(onOther.map((c, i) => setGet(c, `w2:${target}:${i}`)));
      expect(onOther.filter((c) => c.closed).length).toBe(0);
      expect([...clientPortsOf(other, port.alpha)].sort()).toEqual(onOther.map((c) => c.localPort).sort());

      // started again in its slot, a new process; the metrics say so
      const again = await until("slot 0 running a new worker", () => {
        const w = workersOf(primary).get(0);
        return w !== undefined && w !== victim ? w : null;
      });
      expect(alive(victim)).toBe(false);
      expect(workersOf(primary).get(1)).toBe(other);
      await until("restarts_total 1 and worker_up 1 for worker 0", async () => {
        const m = await metricsAt(port.metrics);
        return sampleValue(m, "nutcracker_worker_restarts_total", { worker: "0" }) === 1 && sampleValue(m, "nutcracker_worker_up", { worker: "0" }) === 1;
      });
      const m = await metricsAt(port.metrics);
      expect(sampleValue(m, "nutcracker_worker_restarts_total", { worker: "1" })).toBe(0);
      expect(sampleValue(m, "nutcracker_worker_up", { worker: "1" })).toBe(1);

      // new connections work, and the new worker takes some of them
      await until("the new worker answers on its stats socket", async () => pool(await workerStats(primary, 0), "alpha") !== undefined);
      const fresh = await openMany(port.alpha, 60);
      held.push(...fresh);
      await Promise.all(fresh.map((c, i) => setGet(c, `w2new:${target}:${i}`)));
      const placed = await placeClients(fresh, [again, other], port.alpha);
      expect(placed[0]!.length).toBeGreaterThan(0);
      expect(placed[0]!.length + placed[1]!.length).toBe(60);
      for (const c of fresh) c.close();
    });

    /** Hold `n` clients on `p`, each served, until both workers' stats show the pool with clients of its own (summing to n). */
    async function servedByBoth(name: string, p: number, n: number): Promise<void> {
      const cs = await openMany(p, n);
      held.push(...cs);
      await Promise.all(cs.map((c, i) => setGet(c, `w3:${target}:${name}:${i}`)));
      const ws = await until(`both workers' stats show ${n} clients of ${name}`, async () => {
        const w = await Promise.all([workerStats(primary, 0), workerStats(primary, 1)]);
        const got = w.map((s) => (pool(s, name)?.client_connections as number | undefined) ?? 0);
        return got[0]! + got[1]! === n ? w : null;
      });
      expect((pool(ws[0]!, name).client_connections as number) > 0 && (pool(ws[1]!, name).client_connections as number) > 0).toBe(true);
      for (const c of cs) c.close();
    }

    /** Each worker's own reload counters (its metrics socket): [applied, refused] per worker. */
    const workerReloads = async (): Promise<number[][]> =>
      Promise.all(
        [0, 1].map(async (i) => {
          const m = await workerMetrics(primary, i);
          return [sampleValue(m, "nutcracker_reloads_total"), sampleValue(m, "nutcracker_reloads_failed_total")];
        }),
      );

    it("SIGUSR2 and POST /reload reach both workers: a new pool served by both; a broken file refused by both, nothing changed", async () => {
      await bothWorkers(primary);
      expect(await workerReloads()).toEqual([[0, 0], [0, 0]]);

      // SIGUSR2 to the primary: pool beta added
      rewrite(file, confText([{ name: "alpha", port: port.alpha }, { name: "beta", port: port.beta }], [r1, r2]));
      proxy.proc.kill("SIGUSR2");
      await until("the primary counts one applied reload", async () => sampleValue(await metricsAt(port.metrics), "nutcracker_reloads_total") === 1);
      expect(await workerReloads()).toEqual([[1, 0], [1, 0]]);
      await servedByBoth("beta", port.beta, 60);

      // POST /reload on the metrics port: pool gamma added, one answer per worker
      rewrite(file, confText([{ name: "alpha", port: port.alpha }, { name: "beta", port: port.beta }, { name: "gamma", port: port.gamma }], [r1, r2]));
      const post = await postReload(port.metrics);
      expect(post.status).toBe(200);
      expect({ ok: post.body.ok, workers: post.body.workers, added: post.body.added, unchanged: post.body.unchanged }).toEqual({
        ok: true,
        workers: [true, true],
        added: ["gamma"],
        unchanged: ["alpha", "beta"],
      });
      expect(await workerReloads()).toEqual([[2, 0], [2, 0]]);
      await servedByBoth("gamma", port.gamma, 60);

      // a broken file: refused by both, by POST and by SIGUSR2
      const gone = await freePort();
      rewrite(file, `alpha:\n  listen: 127.0.0.1:${port.alpha}\n  redis: true\n  servers: [\ndelta:\n  listen: 127.0.0.1:${gone}\n`);
      const bad = await postReload(port.metrics);
      expect(bad.status).toBe(422);
      expect({ ok: bad.body.ok, workers: bad.body.workers }).toEqual({ ok: false, workers: [false, false] });
      expect(typeof bad.body.error).toBe("string");
      expect(await workerReloads()).toEqual([[2, 1], [2, 1]]);
      proxy.proc.kill("SIGUSR2");
      await until("the primary counts two refused reloads", async () => sampleValue(await metricsAt(port.metrics), "nutcracker_reloads_failed_total") === 2);
      expect(await workerReloads()).toEqual([[2, 2], [2, 2]]);
      // a unix-socket listener cannot be shared by the workers: the file is refused by both, saying why
      const sock = join(tmpdir(), `nc-workers-u-${target}-${process.pid}.sock`);
      const three = confText([{ name: "alpha", port: port.alpha }, { name: "beta", port: port.beta }, { name: "gamma", port: port.gamma }], [r1, r2]);
      rewrite(file, `${three}unix:\n  listen: ${sock}\n  redis: true\n  servers:\n   - 127.0.0.1:${r1.port}:1\n`);
      const u = await postReload(port.metrics);
      expect(u.status).toBe(422);
      expect({ ok: u.body.ok, workers: u.body.workers }).toEqual({ ok: false, workers: [false, false] });
      expect(JSON.stringify(u.body)).toContain("which worker processes cannot share");
      expect(await workerReloads()).toEqual([[2, 3], [2, 3]]);
      expect(existsSync(sock)).toBe(false);
      const m = await metricsAt(port.metrics);
      expect(sampleValue(m, "nutcracker_reloads_total")).toBe(2);

      // nothing changed: the same pools in both workers, all three ports served, nothing on the broken file's port
      const ws = await Promise.all([workerStats(primary, 0), workerStats(primary, 1)]);
      for (const w of ws) expect(Object.keys(w).filter((k) => typeof w[k] === "object").sort()).toEqual(["alpha", "beta", "gamma"]);
      for (const p of [port.alpha, port.beta, port.gamma]) {
        const cs = await openMany(p, 10);
        await Promise.all(cs.map((c, i) => setGet(c, `w3after:${target}:${p}:${i}`)));
        for (const c of cs) c.close();
      }
      await expect(waitForPort("127.0.0.1", gone, 300)).rejects.toThrow();
    });
  });

  it("SIGTERM to the primary stops every process; the pid file holds the primary's pid until then; the sockets go", async () => {
    const [listen, stats] = [await freePort(), await freePort()];
    const pidFile = join(tmpdir(), `nc-workers-${target}-${process.pid}-${listen}.pid`);
    const file = writeConf(confText([{ name: "alpha", port: listen }], [r1, r2]));
    const proxy = await start(["-c", file, "--workers", "2", "-s", String(stats), "-p", pidFile], listen);
    const primary = proxy.proc.pid!;
    const pids = await bothWorkers(primary);
    expect(readFileSync(pidFile, "utf8").trim()).toBe(String(primary));
    await until("the four private sockets", () => socketFiles(primary).length === 4);
    expect(socketFiles(primary).sort()).toEqual(["w0.metrics", "w0.stats", "w1.metrics", "w1.stats"].map((s) => `nutcracker-${primary}-${s}`));
    const c = await Client.open(listen);
    await setGet(c, `w4:${target}`);

    const exited = new Promise<number | null>((resolve) => proxy.proc.once("exit", (code) => resolve(code)));
    proxy.proc.kill("SIGTERM");
    const code = await Promise.race([exited, sleep(8000).then(() => "still running")]);
    expect(code).toBe(0);
    expect(pids.filter(alive)).toEqual([]);
    expect(socketFiles(primary)).toEqual([]);
    expect(existsSync(pidFile)).toBe(false);
    await until("the held client closed", () => c.closed);
    await expect(waitForPort("127.0.0.1", listen, 300)).rejects.toThrow();
  });

  it("a primary killed with -9: its workers leave by themselves within a few seconds, and take their sockets with them", async () => {
    const [listen, stats] = [await freePort(), await freePort()];
    const file = writeConf(confText([{ name: "alpha", port: listen }], [r1, r2]));
    const proxy = await start(["-c", file, "--workers", "2", "-s", String(stats)], listen);
    const primary = proxy.proc.pid!;
    const pids = await bothWorkers(primary);
    await until("the four private sockets", () => socketFiles(primary).length === 4);
    proxy.proc.kill("SIGKILL");
    await until("no worker left", () => pids.every((p) => !alive(p)), 5000);
    await until("no private socket left", () => socketFiles(primary).length === 0, 2000);
    expect(proxy.stderr()).toContain("the primary is gone, exiting");
  });

  it("SIGTTOU, SIGTTIN and SIGHUP to the primary reach every worker: the level of every log line changes, and every process reopens the log", async () => {
    const [listen, stats] = [await freePort(), await freePort()];
    const log = join(tmpdir(), `nc-workers-log-${target}-${process.pid}-${listen}.log`);
    const file = writeConf(confText([{ name: "alpha", port: listen }], [r1, r2]));
    const proxy = await start(["-c", file, "--workers", "2", "-s", String(stats), "-o", log], listen);
    const primary = proxy.proc.pid!;
    const pids = await bothWorkers(primary);
    await until("both workers listening", () => readFileSync(log, "utf8").split("listening on").length - 1 === 2);
    const count = (path: string, text: string): number => readFileSync(path, "utf8").split(text).length - 1;
    /** n connections that each do a SET/GET, closed, spread over both workers (checked off /proc). */
    const burst = async (n: number): Promise<void> => {
      const cs = await openMany(listen, n);
      await Promise.all(cs.map((c, i) => setGet(c, `w8:${target}:${i}`)));
      for (const w of pids) expect(clientPortsOf(w, listen).size, `clients on worker ${w}`).toBeGreaterThan(0);
      for (const c of cs) c.close();
    };
    const accepted = "accepted c ";

    process.kill(primary, "SIGTTOU");
    await until("three processes lowered their level", () => count(log, "(SIGTTOU) received, down logging level") === 3);
    const before = count(log, accepted);
    await burst(40);
    // at level 4 no process logs an accept (a notice)
    expect(count(log, accepted)).toBe(before);

    process.kill(primary, "SIGTTIN");
    await until("three processes raised their level", () => count(log, "(SIGTTIN) received, up logging level") === 3);
    await burst(40);
    await until("every accept of both workers logged again", () => count(log, accepted) === before + 40);

    renameSync(log, `${log}.1`);
    process.kill(primary, "SIGHUP");
    await until("three processes reopening", () => count(`${log}.1`, "(SIGHUP) received, reopening log file") === 3);
    await until("the log file made again", () => existsSync(log));
    await burst(40);
    await until("both workers' accepts in the new file", () => count(log, accepted) === 40);
    expect(count(`${log}.1`, accepted)).toBe(before + 40);
  });

  it("-d --workers 2: the command returns, the pid file holds the daemon's primary with two workers, SIGTERM to it stops all", async () => {
    const listen = await freePort();
    const pidFile = join(tmpdir(), `nc-workers-d-${target}-${process.pid}-${listen}.pid`);
    const file = writeConf(confText([{ name: "alpha", port: listen }], [r1, r2]));
    const [cmd, ...args] = TARGETS[target](["-d", "-c", file, "--workers", "2", "-s", String(await freePort()), "-p", pidFile]);
    const r = spawnSync(cmd!, args, { encoding: "utf8", timeout: 10_000 });
    expect(r.status, r.stderr).toBe(0);
    const primary = await until("the daemon's pid file", () => (existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8").trim()) : null));
    try {
      const pids = await bothWorkers(primary);
      expect(pids.length).toBe(2);
      await waitForPort("127.0.0.1", listen, 10_000);
      const c = await Client.open(listen);
      await setGet(c, `w7:${target}`);
      c.close();
      process.kill(primary, "SIGTERM");
      await until("the daemon and its workers gone", () => [primary, ...pids].every((p) => !alive(p)), 8000);
      expect(existsSync(pidFile)).toBe(false);
    } finally {
      if (alive(primary)) process.kill(primary, "SIGKILL");
    }
  });

  it("--workers 1 is one process, as nutcracker; --workers=x is refused, and so is a unix-socket listener with two workers", async () => {
    const [listen, stats] = [await freePort(), await freePort()];
    const file = writeConf(confText([{ name: "alpha", port: listen }], [r1, r2]));
    const proxy = await start(["-c", file, "--workers", "1", "-s", String(stats), "-i", "100"], listen);
    const pid = proxy.proc.pid!;
    const cs = await openMany(listen, 5);
    await Promise.all(cs.map((c, i) => setGet(c, `w6:${target}:${i}`)));
    // it holds the clients itself
    expect(clientPortsOf(pid, listen).size).toBe(5);
    expect(childrenOf(pid)).toEqual([]);
    expect(spawnSync("pgrep", ["-P", String(pid)]).stdout.toString()).toBe("");
    expect(socketFiles(pid)).toEqual([]);
    const s = await until("the stats show the 5 clients", async () => {
      const j = await statsAt(stats);
      return pool(j, "alpha").client_connections === 5 ? j : null;
    });
    // nutcracker's JSON: no group keys
    expect(s.workers).toBeUndefined();
    expect(serverSum(pool(s, "alpha"), "requests")).toBe(5 * REQS_PER_CLIENT);
    for (const c of cs) c.close();

    const [cmd, ...args] = TARGETS[target](["-c", file, "--workers=x"]);
    const r = spawnSync(cmd!, args, { encoding: "utf8", timeout: 10_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("nutcracker: option --workers requires a number");

    // a unix-socket listener and more than one worker: refused at start, saying why
    const unixConf = writeConf(`u:\n  listen: ${join(tmpdir(), `nc-workers-u0-${target}-${process.pid}.sock`)}\n  redis: true\n  servers:\n   - 127.0.0.1:${r1.port}:1\n`);
    const [ucmd, ...uargs] = TARGETS[target](["-c", unixConf, "--workers", "2", "-s", String(await freePort())]);
    const ur = spawnSync(ucmd!, uargs, { encoding: "utf8", timeout: 10_000 });
    expect(ur.status).toBe(1);
    expect(ur.stderr).toContain("pool 'u' listens on the unix socket");
    expect(ur.stderr).toContain("run with --workers 1");
  });
});
