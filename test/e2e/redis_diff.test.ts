// Differential suite: every corpus sequence through nutcracker 0.5.0 and through our proxy (Node bundle, Bun), bytes and closes compared, at -m 512 and -m 16384.

import { writeFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CORPUS } from "../fixtures/redis_corpus.ts";
import {
  cmd,
  DIFFERENCES,
  describeDifference,
  differenceFor,
  direct,
  inspectBackends,
  type Outcome,
  PASSWORD,
  passwordOf,
  type PoolName,
  POOL_KEYS,
  POOLS,
  poolServers,
  runSequence,
  type Sequence,
  sortArrayReplies,
} from "../helpers/diff.ts";
import { type Running, startProxy, writeConf } from "../helpers/proxy.ts";
import { type Backend, startRedis } from "../helpers/real_backends.ts";
import { freePort, waitForPort } from "../helpers/runtimes.ts";

const SYSTEMS = ["nutcracker", "node", "bun"] as const;
type System = (typeof SYSTEMS)[number];
const OURS = ["node", "bun"] as const;
/**
 * Sequences in flight at once; each runs on the three systems at once. One: sequences share each
 * system's server connections, so a sequence that breaks one (or floods it) would otherwise show
 * up as a failure of whichever sequences ran beside it. The whole corpus takes ~10 s per -m anyway.
 */
const CONCURRENCY = 1;

/**
 * Each system's own redis-servers: A B C plain, D E with a password, F with no memory to spare,
 * G a master with H its read-only replica, S a replica of a dead master that serves no stale data.
 */
interface Redises {
  readonly A: Backend;
  readonly B: Backend;
  readonly C: Backend;
  readonly D: Backend;
  readonly E: Backend;
  readonly F: Backend;
  readonly G: Backend;
  readonly H: Backend;
  readonly S: Backend;
}

const redises = {} as Record<System, Redises>;
let deadPort = 0;
let blackhole: Server;
const blackholeSockets = new Set<Socket>();
let blackholePort = 0;

/** The servers of `pool` for one system (diff.ts's layout over this system's redis-servers). */
function serversOf(r: Redises, pool: PoolName): { port: number; name: string }[] {
  return poolServers(pool, (role) => r[role].port, deadPort, blackholePort);
}

/** The pools for one system; ours keep 0.5.0's answers with `error_replies: false` (nutcracker rejects the key). */
function confYaml(r: Redises, ports: Record<PoolName, number>, ours: boolean): string {
  const strict = ours ? "  error_replies: false\n" : "";
  return POOLS.map(
    (pool) =>
      `${pool}:\n  listen: 127.0.0.1:${ports[pool]}\n  redis: true\n${strict}${POOL_KEYS[pool]}  servers:\n` +
      serversOf(r, pool).map((s) => `   - 127.0.0.1:${s.port}:1 ${s.name}\n`).join(""),
  ).join("");
}

beforeAll(async () => {
  deadPort = await freePort();
  blackhole = createServer((s) => {
    blackholeSockets.add(s);
    s.on("error", () => {});
    s.on("close", () => blackholeSockets.delete(s));
  });
  await new Promise<void>((res) => blackhole.listen(0, "127.0.0.1", res));
  blackholePort = (blackhole.address() as { port: number }).port;
  await Promise.all(
    SYSTEMS.map(async (sys) => {
      const [A, B, C, D, E, F] = await Promise.all([
        startRedis(),
        startRedis(),
        startRedis(),
        startRedis(["--requirepass", PASSWORD]),
        startRedis(["--requirepass", PASSWORD]),
        startRedis(["--maxmemory", "1", "--maxmemory-policy", "noeviction"]),
      ]);
      const G = await startRedis();
      const [H, S] = await Promise.all([
        startRedis(["--replicaof", "127.0.0.1", String(G.port)]),
        startRedis(["--replicaof", "127.0.0.1", String(deadPort), "--replica-serve-stale-data", "no"]),
      ]);
      redises[sys] = { A: A!, B: B!, C: C!, D: D!, E: E!, F: F!, G, H: H!, S: S! };
    }),
  );
});

afterAll(async () => {
  await Promise.all(SYSTEMS.flatMap((sys) => Object.values(redises[sys] ?? {}).map((b: Backend) => b.stop())));
  for (const s of blackholeSockets) s.destroy();
  await new Promise<void>((res) => (blackhole ? blackhole.close(() => res()) : res()));
});

/** Run `seq` on one system: the exchange, then the backend inspection it asks for, then normalisation. */
async function runOn(sys: System, port: number, seq: Sequence): Promise<Outcome> {
  const got = await runSequence(port, seq);
  const backends = seq.inspect
    ? await inspectBackends(
        serversOf(redises[sys], seq.pool).map((s) => s.port),
        passwordOf(seq.pool),
        seq.prefix,
      )
    : "";
  return { ...got, bytes: seq.sortArrays ? sortArrayReplies(got.bytes) : got.bytes, backends };
}

const CRASH = /TypeError|RangeError|ReferenceError|SyntaxError|Uncaught|panic|assert/i;

describe("the redis corpus", () => {
  it("has at least 300 sequences, unique names, and every listed difference in it", () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(300);
    expect(new Set(CORPUS.map((s) => s.name)).size).toBe(CORPUS.length);
    for (const name of Object.keys(DIFFERENCES)) expect(CORPUS.map((s) => s.name)).toContain(name);
  });
});

for (const mbuf of [512, 16384]) {
  describe(`redis differential, -m ${mbuf}`, () => {
    const results = new Map<string, Record<System, Outcome>>();
    const proxies = new Map<System, Running>();

    beforeAll(async () => {
      // fresh data: flush every backend
      await Promise.all(
        SYSTEMS.flatMap((sys) => {
          const r = redises[sys];
          return [
            ...[r.A, r.B, r.C, r.F, r.G].map((b) => direct(b.port, [cmd("FLUSHALL")], null)),
            ...[r.D, r.E].map((b) => direct(b.port, [cmd("FLUSHALL")], PASSWORD)),
          ];
        }),
      );
      const listen = {} as Record<System, Record<PoolName, number>>;
      await Promise.all(
        SYSTEMS.map(async (sys) => {
          const ports = {} as Record<PoolName, number>;
          for (const pool of POOLS) ports[pool] = await freePort();
          listen[sys] = ports;
          const conf = writeConf(confYaml(redises[sys], ports, sys !== "nutcracker"));
          const stats = await freePort();
          const p = await startProxy(sys, ["-c", conf, "-m", String(mbuf), "-s", String(stats), "-v", "4"], ports.two);
          proxies.set(sys, p);
          for (const pool of POOLS) await waitForPort("127.0.0.1", ports[pool], 10_000);
        }),
      );
      const run = async (seq: Sequence): Promise<void> => {
        const outs = await Promise.all(SYSTEMS.map((sys) => runOn(sys, listen[sys][seq.pool], seq)));
        results.set(seq.name, { nutcracker: outs[0]!, node: outs[1]!, bun: outs[2]! });
      };
      const shared = CORPUS.filter((s) => !s.exclusive);
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < shared.length) await run(shared[next++]!);
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
      for (const seq of CORPUS.filter((s) => s.exclusive)) await run(seq);
      // REDIS_DIFF_DUMP=file.json: every outcome (bytes cut to 2,000), for reading what nutcracker does
      const dump = process.env.REDIS_DIFF_DUMP;
      if (dump) {
        const rows = [...results].map(([name, r]) => ({
          name,
          mbuf,
          ...Object.fromEntries(
            SYSTEMS.map((sys) => [sys, { closed: r[sys].closed, bytes: r[sys].bytes.toString("latin1", 0, 2000), length: r[sys].bytes.length, backends: r[sys].backends }]),
          ),
        }));
        writeFileSync(`${dump}.${mbuf}`, JSON.stringify(rows, null, 1));
      }
    });

    afterAll(async () => {
      for (const [sys, p] of proxies) {
        const code = await p.stop();
        if (sys !== "nutcracker") {
          expect(p.stderr(), `${sys} stderr`).not.toMatch(CRASH);
          expect(code, `${sys} exit code`).toBe(0);
        }
      }
    });

    for (const seq of CORPUS) {
      it(`${seq.name} (-m ${mbuf})`, () => {
        const r = results.get(seq.name);
        results.delete(seq.name);
        if (r === undefined) return expect.fail("the sequence did not run");
        expect(r.nutcracker.error, "nutcracker exchange").toBe("");
        const diff = differenceFor(seq.name, mbuf);
        if (diff !== undefined) {
          const want: Outcome = { bytes: Buffer.from(diff.ours.bytes, "latin1"), closed: diff.ours.closed, backends: diff.ours.backends ?? r.nutcracker.backends, error: "" };
          const msgs = OURS.map((sys) => describeDifference(r[sys], want, sys, "documented")).filter((m) => m !== "");
          if (msgs.length > 0) expect.fail(`deliberate difference (${diff.reason}), but we do not do what we document:\n${msgs.join("\n")}`);
          const stale = describeDifference(want, r.nutcracker, "ours", "nutcracker");
          if (stale === "") expect.fail(`listed as a difference (${diff.reason}) but nutcracker does the same: drop it from DIFFERENCES`);
          return;
        }
        const msgs = OURS.map((sys) => describeDifference(r[sys], r.nutcracker, sys, "nutcracker")).filter((m) => m !== "");
        if (msgs.length > 0) expect.fail(msgs.join("\n"));
      });
    }
  });
}
