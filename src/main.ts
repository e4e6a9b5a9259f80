// Program start: flags → configuration → logger, pid file, signals → pools and listeners (nc.c main).

import type { Runtime } from "../runtime/types.ts";
import { parseCli, usageText, versionText, type CliOptions } from "./cli.ts";
import { ConfError } from "./conf/errors.ts";
import { parseConf } from "./conf/parse.ts";
import { testConfText } from "./conf/test_conf.ts";
import type { PoolConf } from "./conf/types.ts";
import { Context } from "./core/context.ts";
import { ServerPool } from "./core/pool.ts";
import { type Proxy, PoolRegistry, proxyInit } from "./core/proxy.ts";
import { Reloader } from "./core/reload.ts";
import { WorkerGroup, workerEndpoints, workersRefuse } from "./core/workers.ts";
import { loadTls } from "./core/tls.ts";
import { hashkitInit } from "./hashkit/index.ts";
import { Logger } from "./log.ts";
import { memcacheProto } from "./proto/memcache_proto.ts";
import { redisProto } from "./proto/redis_proto.ts";
import { signalInit } from "./signal.ts";
import { metricsInit, type ReloadTrigger } from "./stats/http.ts";
import { statsInit } from "./stats/server.ts";
import { describeStats } from "./stats/table.ts";

/** Arguments that start the same configuration again, without -d (for the detached child). */
function daemonArgs(o: CliOptions): string[] {
  const a = ["-c", o.confFile, "-v", String(o.verbosity), "-s", String(o.statsPort), "-a", o.statsAddr];
  a.push("-i", String(o.statsInterval), "-m", String(o.mbufSize));
  if (o.output !== null) a.push("-o", o.output);
  if (o.pidFile !== null) a.push("-p", o.pidFile);
  if (o.metricsPort !== null) a.push(`--metrics-port=${o.metricsPort}`, `--metrics-addr=${o.metricsAddr}`);
  if (o.watch) a.push("--watch");
  if (o.workers !== 1) a.push(`--workers=${o.workers}`);
  return a;
}

/** Run nutcracker with `args`; resolves once the proxy listens (the process then lives on its sockets). */
export async function start(rt: Runtime, args: readonly string[]): Promise<void> {
  // subcommands: the embedded cache server, and the quick start (caches + this proxy)
  // (loaded only when asked for: a plain proxy does not carry the cache's code in its heap)
  if (args[0] === "cache") return (await import("./cache/main.ts")).cacheMain(rt, args.slice(1));
  if (args[0] === "quickstart") ({ rt, args } = await (await import("./quickstart.ts")).quickstart(rt, args.slice(1)));
  const parsed = parseCli(args);
  if (!parsed.ok) {
    rt.writeStderr(`nutcracker: ${parsed.error}\n`);
    rt.writeStderr(usageText());
    rt.exit(1);
  }
  const o = parsed.opts;
  if (o.version || o.help || o.describeStats) {
    rt.writeStderr(versionText(rt.name));
    if (o.help) rt.writeStderr(usageText());
    if (o.describeStats) rt.writeStderr(describeStats());
    rt.exit(0);
  }

  let text: string | null = null;
  try {
    text = rt.readTextFile(o.confFile);
  } catch {
    text = null;
  }
  if (o.testConf) {
    const r = testConfText(text, o.confFile, undefined, (c) => void loadTls(rt, c));
    for (const l of r.lines) (l.stream === "stdout" ? rt.writeStdout : rt.writeStderr).call(rt, `${l.text}\n`);
    rt.exit(r.code);
  }

  if (o.daemonize) {
    rt.spawnDetached(daemonArgs(o));
    rt.exit(0);
  }

  const logFile = rt.openLog(o.output);
  const log = new Logger(logFile, () => Date.now(), o.verbosity);

  let pools: PoolConf[];
  try {
    if (text === null) throw new Error(`Cannot open configuration file "${o.confFile}"`);
    pools = parseConf(text, o.confFile);
  } catch (e) {
    log.error(e instanceof ConfError || e instanceof Error ? e.message : String(e));
    rt.exit(1);
  }

  let pidWritten = false;
  const shutdown = (code: number): void => {
    if (pidWritten && o.pidFile !== null) {
      try {
        rt.removeFile(o.pidFile);
      } catch {
        // already gone: nothing to clean
      }
    }
    // a worker's private sockets (core/workers.ts): exit does not close listeners, so unlink them
    if (o.workerSlot !== null) for (const e of Object.values(workerEndpoints(o.workerSlot))) removeQuietly(rt, e.path!);
    log.loga("done, rabbit done");
    logFile.close();
    rt.exit(code);
  };
  const refused = o.workers !== 1 ? workersRefuse(pools) : null;
  if (refused !== null) {
    log.error(refused);
    rt.exit(1);
  }
  if (o.workers !== 1 && o.workerSlot === null) return primaryMain(rt, o, log, text!, shutdown, () => (pidWritten = writePid(rt, o, log)));
  const slot = o.workerSlot;
  let ctx: Context | null = null;
  let reloader: Reloader | null = null;
  signalInit(rt, {
    reload: () => void reloader?.reload("SIGUSR2"),
    report: () => {
      if (ctx === null) return;
      const m = ctx.msgs;
      log.loga(`msgs in use ${m.inUse} of ${m.allocated}, mbufs in use ${m.mbufs.inUse} of ${m.mbufs.allocated}`);
    },
    loga: (m) => log.loga(m),
    reopenLog: () => log.reopen(),
    levelUp: () => log.levelUp(),
    levelDown: () => log.levelDown(),
    shutdown,
  });

  pidWritten = writePid(rt, o, log);

  log.loga(`nutcracker-0.5.0 built for ${rt.name} started on pid ${rt.pid}`);
  log.loga("run, rabbit run / dig that hole, forget the sun / and when at last the work is done / don't sit down / it's time to dig another one");

  await hashkitInit();
  ctx = new Context(rt, log, o.mbufSize);
  // a worker: its listeners share the addresses with the other workers', and it leaves with the primary
  if (slot !== null) {
    ctx.shareListeners = true;
    rt.onPrimaryGone(() => {
      log.loga("the primary is gone, exiting");
      shutdown(0);
    });
  }
  const proxies = new Map<string, Proxy>();
  const registry = new PoolRegistry();
  for (const conf of pools) {
    let pool: ServerPool;
    try {
      pool = new ServerPool(ctx, conf, conf.redis ? redisProto : memcacheProto);
    } catch (e) {
      // a TLS file that cannot be read or is not PEM (core/tls.ts)
      log.error((e as Error).message);
      rt.exit(1);
    }
    registry.add(pool);
    await pool.discover();
    try {
      proxies.set(conf.name, await proxyInit(ctx, pool));
      ctx.connOpened(); // twemproxy counts its listeners among the connections
    } catch (e) {
      const code = (e as { code?: string }).code ?? "";
      log.error(`listen on '${conf.listen.pname}' for pool '${conf.name}' failed: ${code} ${(e as Error).message}`);
      shutdown(1);
    }
  }

  const protoOf = (c: PoolConf) => (c.redis ? redisProto : memcacheProto);
  reloader = new Reloader(ctx, registry, proxies, o.confFile, protoOf);
  if (o.watch) watchConf(rt, reloader, o.confFile, text!);

  // a worker answers on its private sockets, which the primary reads (core/workers.ts)
  const own = slot === null ? null : workerEndpoints(slot);
  try {
    await statsInit(ctx, registry, own?.stats ?? { host: o.statsAddr, port: o.statsPort }, o.statsInterval);
  } catch (e) {
    // twemproxy exits here; we keep proxying and say so (several proxies on one host is common)
    log.error(`stats listen on '${o.statsAddr}:${o.statsPort}' failed: ${(e as { code?: string }).code ?? (e as Error).message}`);
  }
  if (o.metricsPort !== null || own !== null) {
    try {
      await metricsInit(ctx, registry, own?.metrics ?? { host: o.metricsAddr, port: o.metricsPort! }, reloader);
    } catch (e) {
      // as for the stats port: the proxy is worth more than its metrics
      log.error(`metrics listen on '${o.metricsAddr}:${o.metricsPort}' failed: ${(e as { code?: string }).code ?? (e as Error).message}`);
    }
  }
}

/** How often --watch reads the file: portable across runtimes (no file-event API needed), and cheap. */
const WATCH_MS = 1000;

/** --watch: read the file every WATCH_MS and reload when its text changed (a refused text is not tried again). */
function watchConf(rt: Runtime, reloader: ReloadTrigger, file: string, text: string): void {
  let seen = text;
  const look = (): void => {
    let now: string | null = null;
    try {
      now = rt.readTextFile(file);
    } catch {
      now = null; // moved away mid-rewrite: look again next time
    }
    if (now !== null && now !== seen) {
      seen = now;
      void reloader.reload("file changed").then(() => rt.setTimer(WATCH_MS, look));
      return;
    }
    rt.setTimer(WATCH_MS, look);
  };
  rt.setTimer(WATCH_MS, look);
}

function removeQuietly(rt: Runtime, path: string): void {
  try {
    rt.removeFile(path);
  } catch {
    // already gone
  }
}

/** -p: the pid file, digits only as nc_create_pidfile writes; a failure exits 1. */
function writePid(rt: Runtime, o: CliOptions, log: Logger): boolean {
  if (o.pidFile === null) return false;
  try {
    rt.writeTextFile(o.pidFile, String(rt.pid));
    return true;
  } catch (e) {
    log.error(`opening pid file '${o.pidFile}' failed: ${(e as Error).message}`);
    rt.exit(1);
  }
}

/** --workers N (N other than 1): this process holds no pool; it runs the workers (core/workers.ts). */
async function primaryMain(rt: Runtime, o: CliOptions, log: Logger, text: string, shutdown: (code: number) => void, pid: () => void): Promise<void> {
  const group = new WorkerGroup(rt, log, o);
  pid();
  log.loga(`nutcracker-0.5.0 built for ${rt.name} started on pid ${rt.pid}, the primary of ${group.size} workers`);
  await group.start(shutdown);
  if (o.watch) watchConf(rt, group, o.confFile, text);
}
