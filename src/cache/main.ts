// `nutcracker cache ...`: flags -> store (replayed from the log with --aof) -> listener -> signals.

import type { Runtime } from "../../runtime/types.ts";
import { Logger } from "../log.ts";
import { crcInit } from "./aof/crc.ts";
import { openAof } from "./aof/writer.ts";
import { cacheUsage, parseCacheArgs } from "./cli.ts";
import { CACHE_VERSION, CacheServer } from "./server.ts";

/** Run the cache server with the arguments after `cache`; resolves once it listens. */
export async function cacheMain(rt: Runtime, args: readonly string[]): Promise<void> {
  const parsed = parseCacheArgs(args);
  if (!parsed.ok) {
    rt.writeStderr(`nutcracker cache: ${parsed.error}\n${cacheUsage()}`);
    rt.exit(1);
  }
  const o = parsed.opts;
  if (o.help) {
    rt.writeStdout(cacheUsage());
    rt.exit(0);
  }
  if (o.version) {
    rt.writeStdout(`nutcracker cache ${CACHE_VERSION}\n`);
    rt.exit(0);
  }
  await crcInit();
  const logFile = rt.openLog(null);
  const logger = new Logger(logFile, () => Date.now());
  const log = (line: string): void => logger.loga(line);

  const server = new CacheServer(
    rt,
    {
      host: o.listen,
      port: o.port,
      memory: o.memory,
      maxItemSize: o.maxItemSize,
      maxConnections: o.maxConnections,
      backlog: o.backlog,
      verbose: o.verbose,
    },
    log,
  );

  let journal: ReturnType<typeof openAof> | null = null;
  if (o.aof !== null) {
    try {
      journal = openAof(rt, { path: o.aof, sync: o.sync, repair: o.repair, maxBytes: o.aofMaxSize ?? undefined }, server.store, log);
    } catch (e) {
      log(`nutcracker cache: ${(e as Error).message}`);
      rt.exit(1);
    }
    server.store.journal = journal;
  }

  const stop = (sig: string, code: number): void => {
    log(`cache: signal ${sig} received, exiting`);
    server.close();
    if (journal !== null) {
      try {
        journal.commit();
        journal.close();
      } catch (e) {
        log(`cache: closing the log failed: ${(e as Error).message}`);
        code = 1;
      }
    }
    rt.exit(code);
  };
  rt.onSignal("SIGTERM", () => stop("SIGTERM", 0));
  rt.onSignal("SIGINT", () => stop("SIGINT", 0));

  try {
    await server.listen();
  } catch (e) {
    const code = (e as { code?: string }).code ?? "";
    log(`nutcracker cache: cannot listen on ${o.listen}:${o.port}: ${code} ${(e as Error).message}`);
    rt.exit(1);
  }
  const mb = (n: number): string => (n % (1024 * 1024) === 0 ? `${n / (1024 * 1024)} MB` : `${n} bytes`);
  log(
    `cache ${CACHE_VERSION} on ${o.listen}:${o.port}, pid ${rt.pid}, memory ${mb(o.memory)}, ` +
      `items up to ${mb(o.maxItemSize)}${o.aof === null ? "" : `, log ${o.aof} (sync ${o.sync === "always" || o.sync === "no" ? o.sync : `${o.sync}ms`})`}`,
  );
}
