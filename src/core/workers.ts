// The primary of `--workers N` (ours): starts the workers, starts again the ones that die, passes signals on, and answers the stats and metrics ports for the group.
//
// The workers are this program again with `--worker-slot=I:PREFIX`: each runs every pool on the
// same listen addresses (runtime spawnWorker: SO_REUSEPORT, or node:cluster on a Node without
// it), with backend connections of its own, and serves its stats JSON and metrics on the unix
// sockets PREFIX-wI.stats and PREFIX-wI.metrics. The primary holds no pool: it reads those
// sockets whenever its own stats or metrics port is asked, and answers with the sums
// (stats/merge.ts). A reload (SIGUSR2, POST /reload, --watch) is a POST /reload to every worker;
// each reads the same file, so a file one refuses every one refuses.

import type { Endpoint, Runtime, SignalName, Socket, SocketHandler, WorkerProcess } from "../../runtime/types.ts";
import type { CliOptions } from "../cli.ts";
import type { Logger } from "../log.ts";
import { signalInit } from "../signal.ts";
import { metricsListen } from "../stats/http.ts";
import { mergePrometheus, mergeStatsJson } from "../stats/merge.ts";

/** A worker's private socket answers within this, or is left out of the sums. */
const READ_MS = 2000;
/** A worker that lived less than this before dying waits before it starts again, doubling up to RESTART_MAX_MS. */
const STABLE_MS = 1000;
const RESTART_MAX_MS = 5000;
/** SIGTERM to SIGKILL when the group stops. */
const STOP_MS = 5000;

const enc = new TextEncoder();
const dec = new TextDecoder();

interface Slot {
  readonly index: number;
  proc: WorkerProcess | null;
  startedAt: number;
  restarts: number;
  delay: number;
}

/**
 * Why `pools` cannot run under --workers, or null: a unix-socket listener cannot be shared (two
 * processes cannot bind one path, SO_REUSEPORT or not), so such a file is refused whole, at start
 * and by every worker's reload alike, rather than served by one worker while the others fail.
 */
export function workersRefuse(pools: readonly { readonly name: string; readonly listen: { readonly endpoint: Endpoint; readonly pname: string } }[]): string | null {
  const u = pools.find((p) => p.listen.endpoint.path !== undefined);
  return u === undefined ? null : `pool '${u.name}' listens on the unix socket '${u.listen.pname}', which worker processes cannot share: give it a TCP address, or run with --workers 1`;
}

/** The sockets of worker `index` under `prefix`. */
export function workerSockets(prefix: string, index: number): { stats: string; metrics: string } {
  return { stats: `${prefix}-w${index}.stats`, metrics: `${prefix}-w${index}.metrics` };
}

/** What a worker is started with: the primary's configuration and logging, its slot, no -d, -p, -s or --watch. */
function workerArgs(o: CliOptions, index: number, prefix: string): string[] {
  const a = ["-c", o.confFile, "-v", String(o.verbosity), "-i", String(o.statsInterval), "-m", String(o.mbufSize)];
  if (o.output !== null) a.push("-o", o.output);
  a.push(`--worker-slot=${index}:${prefix}`);
  return a;
}

/** Everything `path` sends after we write `request` (if any), until it closes; null if it fails or takes over READ_MS. */
function readSocket(rt: Runtime, path: string, request: Uint8Array | null): Promise<string | null> {
  return new Promise((resolve) => {
    const chunks: Uint8Array[] = [];
    let done = false;
    const finish = (v: string | null): void => {
      if (done) return;
      done = true;
      rt.clearTimer(timer);
      resolve(v);
    };
    const handler: SocketHandler = {
      open(s: Socket) {
        if (request !== null) s.write(request);
      },
      data(_s, chunk) {
        chunks.push(chunk.slice());
      },
      drain() {},
      end(s) {
        s.close();
      },
      close(_s, err) {
        if (err !== null) return finish(null);
        let n = 0;
        for (const c of chunks) n += c.length;
        const all = new Uint8Array(n);
        let at = 0;
        for (const c of chunks) {
          all.set(c, at);
          at += c.length;
        }
        finish(dec.decode(all));
      },
    };
    const sock = rt.connect({ endpoint: { path } }, handler);
    const timer = rt.setTimer(READ_MS, () => {
      sock.close();
      finish(null);
    });
  });
}

/** The body of an HTTP reply, or null when it is not a 2xx/4xx one with a body. */
function httpBody(reply: string | null): string | null {
  if (reply === null || !reply.startsWith("HTTP/1.1 ")) return null;
  const at = reply.indexOf("\r\n\r\n");
  return at < 0 ? null : reply.slice(at + 4);
}

const GET_METRICS = enc.encode("GET /metrics HTTP/1.1\r\nHost: worker\r\n\r\n");
const POST_RELOAD = enc.encode("POST /reload HTTP/1.1\r\nHost: worker\r\nContent-Length: 0\r\n\r\n");

/** Metrics series the primary writes itself: the group's uptime and version line, and its reloads. */
const OWN_SERIES: ReadonlySet<string> = new Set(["nutcracker_info", "nutcracker_uptime_seconds", "nutcracker_reloads_total", "nutcracker_reloads_failed_total"]);

export class WorkerGroup {
  private readonly rt: Runtime;
  private readonly log: Logger;
  private readonly o: CliOptions;
  private readonly prefix: string;
  private readonly slots: Slot[] = [];
  private readonly startedAt: number;
  private stopping = false;
  private reloads = 0;
  private reloadsFailed = 0;
  private reloadChain: Promise<unknown> = Promise.resolve();

  constructor(rt: Runtime, log: Logger, o: CliOptions) {
    this.rt = rt;
    this.log = log;
    this.o = o;
    this.prefix = `${rt.env("TMPDIR") ?? "/tmp"}/nutcracker-${rt.pid}`;
    this.startedAt = rt.unixTime();
    const n = o.workers === 0 ? Math.max(1, rt.cpuCount()) : o.workers;
    for (let i = 0; i < n; i++) this.slots.push({ index: i, proc: null, startedAt: 0, restarts: 0, delay: 0 });
  }

  get size(): number {
    return this.slots.length;
  }

  /** Start every worker, the signal handlers, and the group's stats and metrics ports. */
  async start(shutdown: (code: number) => void): Promise<void> {
    signalInit(this.rt, {
      loga: (m) => this.log.loga(m),
      reopenLog: () => {
        this.log.reopen();
        this.signal("SIGHUP");
      },
      levelUp: () => {
        this.log.levelUp();
        this.signal("SIGTTIN");
      },
      levelDown: () => {
        this.log.levelDown();
        this.signal("SIGTTOU");
      },
      report: () => this.signal("SIGUSR1"),
      reload: () => void this.reload("SIGUSR2"),
      shutdown: (code) => void this.stop().then(() => shutdown(code)),
    });
    for (const s of this.slots) this.spawn(s);
    this.log.loga(`started ${this.slots.length} workers on pid ${this.rt.pid}`);
    const o = this.o;
    try {
      await this.rt.listen({ endpoint: { host: o.statsAddr, port: o.statsPort }, backlog: 512 }, this.statsHandler());
    } catch (e) {
      this.log.error(`stats listen on '${o.statsAddr}:${o.statsPort}' failed: ${(e as { code?: string }).code ?? (e as Error).message}`);
    }
    if (o.metricsPort !== null) {
      try {
        await metricsListen(this.rt, { host: o.metricsAddr, port: o.metricsPort }, () => this.metrics(), this);
      } catch (e) {
        this.log.error(`metrics listen on '${o.metricsAddr}:${o.metricsPort}' failed: ${(e as { code?: string }).code ?? (e as Error).message}`);
      }
    }
  }

  private spawn(s: Slot): void {
    const socks = workerSockets(this.prefix, s.index);
    // a worker killed with -9 leaves its socket files, and its successor could not bind them
    for (const p of [socks.stats, socks.metrics]) {
      try {
        this.rt.removeFile(p);
      } catch {
        // not there: nothing to clean
      }
    }
    s.startedAt = this.rt.now();
    s.proc = this.rt.spawnWorker(workerArgs(this.o, s.index, this.prefix), (code, signal) => this.exited(s, code, signal));
  }

  private exited(s: Slot, code: number | null, signal: string | null): void {
    const pid = s.proc?.pid;
    s.proc = null;
    if (this.stopping) return;
    const lived = this.rt.now() - s.startedAt;
    s.delay = lived < STABLE_MS ? Math.min(RESTART_MAX_MS, Math.max(100, s.delay * 2)) : 0;
    s.restarts++;
    this.log.error(`worker ${s.index} (pid ${pid}) exited ${signal !== null ? `by ${signal}` : `with ${code}`}; starting it again${s.delay > 0 ? ` in ${s.delay} ms` : ""}`);
    this.rt.setTimer(s.delay, () => {
      if (!this.stopping && s.proc === null) this.spawn(s);
    });
  }

  /** Pass `sig` to every running worker. */
  signal(sig: SignalName | "SIGKILL"): void {
    for (const s of this.slots) s.proc?.kill(sig);
  }

  /** SIGTERM every worker, and SIGKILL those still there after STOP_MS. */
  stop(): Promise<void> {
    this.stopping = true;
    this.signal("SIGTERM");
    return new Promise((resolve) => {
      const t0 = this.rt.now();
      const look = (): void => {
        if (this.slots.every((s) => s.proc === null)) return resolve();
        if (this.rt.now() - t0 > STOP_MS) {
          this.signal("SIGKILL");
          return resolve();
        }
        this.rt.setTimer(20, look);
      };
      look();
    });
  }

  /** POST /reload to every worker; ok when every one applied it. */
  reload(why: string): Promise<{ readonly ok: boolean }> {
    const run = this.reloadChain.then(async () => {
      const outs = await Promise.all(this.slots.map((s) => readSocket(this.rt, workerSockets(this.prefix, s.index).metrics, POST_RELOAD)));
      const parsed = outs.map((r) => {
        try {
          return JSON.parse(httpBody(r) ?? "null") as { ok?: boolean; error?: string | null } | null;
        } catch {
          return null;
        }
      });
      const ok = parsed.every((p) => p?.ok === true);
      if (ok) this.reloads++;
      else this.reloadsFailed++;
      const first = parsed.find((p) => p !== null) ?? {};
      this.log.loga(`reload (${why}) ${ok ? "applied by" : "refused by some of"} ${this.slots.length} workers`);
      return { ...first, ok, workers: parsed.map((p) => p?.ok ?? null), reloads: this.reloads, reloads_failed: this.reloadsFailed };
    });
    this.reloadChain = run.catch(() => undefined);
    return run;
  }

  private statsHandler(): SocketHandler {
    return {
      open: (sock) => {
        void Promise.all(this.slots.map((s) => readSocket(this.rt, workerSockets(this.prefix, s.index).stats, null))).then((texts) => {
          const now = this.rt.unixTime();
          sock.write(enc.encode(mergeStatsJson(texts.filter((t): t is string => t !== null), Math.floor(now - this.startedAt), Math.floor(now))));
          sock.end();
        });
      },
      data() {},
      drain() {},
      end(sock) {
        sock.close();
      },
      close() {},
    };
  }

  /** The group's metrics: the workers' sums, the group's own series, and one line per worker. */
  private async metrics(): Promise<string> {
    const texts = await Promise.all(this.slots.map((s) => readSocket(this.rt, workerSockets(this.prefix, s.index).metrics, GET_METRICS)));
    const rt = this.rt;
    let out = "# HELP nutcracker_info Version and host of the proxy (the stats JSON header), always 1\n# TYPE nutcracker_info gauge\n";
    out += `nutcracker_info{version="0.5.0",source="${rt.hostname().replace(/["\\\n]/g, "_")}",runtime="${rt.name}"} 1\n`;
    out += `# HELP nutcracker_uptime_seconds Seconds since the proxy started\n# TYPE nutcracker_uptime_seconds gauge\nnutcracker_uptime_seconds ${Math.floor(rt.unixTime() - this.startedAt)}\n`;
    out += mergePrometheus(texts.map(httpBody).filter((t): t is string => t !== null), OWN_SERIES);
    out += `# HELP nutcracker_reloads_total Configuration reloads applied (SIGUSR2, POST /reload, --watch)\n# TYPE nutcracker_reloads_total counter\nnutcracker_reloads_total ${this.reloads}\n`;
    out += `# HELP nutcracker_reloads_failed_total Configuration reloads refused by a worker\n# TYPE nutcracker_reloads_failed_total counter\nnutcracker_reloads_failed_total ${this.reloadsFailed}\n`;
    out += "# HELP nutcracker_worker_up A worker process: 1 while it runs, 0 while it is being started again\n# TYPE nutcracker_worker_up gauge\n";
    for (const s of this.slots) out += `nutcracker_worker_up{worker="${s.index}"} ${s.proc === null ? 0 : 1}\n`;
    out += "# HELP nutcracker_worker_restarts_total Times a worker died and was started again\n# TYPE nutcracker_worker_restarts_total counter\n";
    for (const s of this.slots) out += `nutcracker_worker_restarts_total{worker="${s.index}"} ${s.restarts}\n`;
    out += "# HELP nutcracker_worker_curr_connections Connections open in one worker now (its curr_connections)\n# TYPE nutcracker_worker_curr_connections gauge\n";
    for (const [i, t] of texts.entries()) {
      const m = /^nutcracker_curr_connections (\d+)$/m.exec(httpBody(t) ?? "");
      if (m !== null) out += `nutcracker_worker_curr_connections{worker="${i}"} ${m[1]}\n`;
    }
    out += "# HELP nutcracker_worker_connections_total Connections one worker ever opened (its total_connections)\n# TYPE nutcracker_worker_connections_total counter\n";
    for (const [i, t] of texts.entries()) {
      const m = /^nutcracker_connections_total (\d+)$/m.exec(httpBody(t) ?? "");
      if (m !== null) out += `nutcracker_worker_connections_total{worker="${i}"} ${m[1]}\n`;
    }
    return out;
  }
}

/** The endpoints a worker serves its stats and metrics on. */
export function workerEndpoints(slot: { readonly index: number; readonly dir: string }): { stats: Endpoint; metrics: Endpoint } {
  const s = workerSockets(slot.dir, slot.index);
  return { stats: { path: s.stats }, metrics: { path: s.metrics } };
}
