// `nutcracker quickstart`: the proxy on the quick-start pool, with an embedded cache server behind each of its loopback servers.
//
// Everything runs in one process and one event loop, so Ctrl-C (the proxy's SIGINT handling)
// stops the caches with it. The configuration is conf/quickstart.yml when it is there (a clone),
// else the same text built in (the single executable run anywhere); `-c FILE` takes another one,
// and every other flag goes to the proxy (`-s` for the stats port, `-v`...).

import type { Runtime } from "../runtime/types.ts";
import { parseCli } from "./cli.ts";
import { parseConf } from "./conf/parse.ts";
import type { PoolConf } from "./conf/types.ts";
import { Logger } from "./log.ts";
import { CACHE_DEFAULTS } from "./cache/cli.ts";
import { CacheServer } from "./cache/server.ts";

export const QUICKSTART_CONF = "conf/quickstart.yml";
/** The name the built-in configuration goes by when conf/quickstart.yml is not there. */
export const BUILTIN_CONF = "(built-in quickstart.yml)";

/** conf/quickstart.yml, kept identical to the file (a test checks). */
export const QUICKSTART_YAML = `# Quick start (npm start, or nutcracker quickstart): the proxy on 127.0.0.1:22122 in front of
# two embedded cache servers, with keys spread by ketama; stats on port 22222.
#   printf 'set a 0 0 1\\r\\n1\\r\\nget a\\r\\n' | nc 127.0.0.1 22122
# quickstart starts a cache server for each server of a memcache pool here that is on 127.0.0.1.
memcache:
  listen: 127.0.0.1:22122
  hash: fnv1a_64
  distribution: ketama
  timeout: 400
  servers:
   - 127.0.0.1:22201:1 cache1
   - 127.0.0.1:22202:1 cache2
`;

const SENTINEL = "\u0000quickstart-default";

/**
 * Start the caches the configuration names and return what the proxy should run with: the
 * runtime (which reads the built-in configuration when that is the one) and its arguments.
 */
export async function quickstart(rt: Runtime, args: readonly string[]): Promise<{ rt: Runtime; args: readonly string[] }> {
  // the last -c wins, so a sentinel in front tells whether the user gave one
  const probe = parseCli(["-c", SENTINEL, ...args]);
  let confFile: string;
  let text: string;
  let proxyRt = rt;
  let proxyArgs = args;
  if (probe.ok && probe.opts.confFile !== SENTINEL) {
    // the proxy reports a missing or bad file itself
    confFile = probe.opts.confFile;
    try {
      text = rt.readTextFile(confFile);
    } catch {
      return { rt, args };
    }
  } else {
    try {
      text = rt.readTextFile(QUICKSTART_CONF);
      confFile = QUICKSTART_CONF;
    } catch {
      text = QUICKSTART_YAML;
      confFile = BUILTIN_CONF;
      proxyRt = { ...rt, readTextFile: (p: string) => (p === BUILTIN_CONF ? QUICKSTART_YAML : rt.readTextFile(p)) };
    }
    proxyArgs = ["-c", confFile, ...args];
  }
  let pools: PoolConf[];
  try {
    pools = parseConf(text, confFile);
  } catch {
    return { rt: proxyRt, args: proxyArgs };
  }
  if (!probe.ok) return { rt: proxyRt, args: proxyArgs };
  const o = probe.opts;
  // -t, -h, -V, -D only print: no caches for them
  if (o.testConf || o.help || o.version || o.describeStats) return { rt: proxyRt, args: proxyArgs };
  if (o.daemonize) {
    // the detached child would be a bare proxy: the caches live in this process
    rt.writeStderr("nutcracker quickstart: -d is not supported: the cache servers run in the proxy's process\n");
    rt.exit(1);
  }

  const log = new Logger(rt.openLog(null), () => Date.now());
  const started: string[] = [];
  const seen = new Set<string>();
  for (const pool of pools) {
    if (pool.redis) continue;
    for (const s of pool.servers) {
      const ep = s.endpoint;
      if (ep.host === undefined || !isLoopback(ep.host)) continue;
      const where = `${ep.host}:${ep.port}`;
      if (seen.has(where)) continue;
      seen.add(where);
      const cache = new CacheServer(
        rt,
        {
          host: ep.host,
          port: ep.port,
          memory: CACHE_DEFAULTS.memory,
          maxItemSize: CACHE_DEFAULTS.maxItemSize,
          maxConnections: CACHE_DEFAULTS.maxConnections,
          backlog: CACHE_DEFAULTS.backlog,
          verbose: 0,
        },
        (line) => log.loga(line),
      );
      try {
        await cache.listen();
      } catch (e) {
        log.error(`quickstart: cannot start the cache server on ${where}: ${(e as { code?: string }).code ?? (e as Error).message}`);
        rt.exit(1);
      }
      started.push(where);
    }
  }
  rt.writeStdout(howTo(pools, started, probe.opts.statsPort));
  return { rt: proxyRt, args: proxyArgs };
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host.startsWith("127.");
}

function howTo(pools: readonly PoolConf[], caches: readonly string[], statsPort: number): string {
  const mc = pools.find((p) => !p.redis);
  const ep = mc?.listen.endpoint;
  const lines = [
    `quickstart: cache servers on ${caches.join(" and ") || "(none)"}, the proxy in front of them (stats on port ${statsPort})`,
  ];
  if (ep?.host !== undefined) {
    lines.push(`try it:  printf 'set a 0 0 1\\r\\n1\\r\\nget a\\r\\n' | nc ${ep.host} ${ep.port}`);
    lines.push(`stats:   nc 127.0.0.1 ${statsPort}`);
  }
  lines.push("Ctrl-C stops everything.");
  return `${lines.join("\n")}\n`;
}
