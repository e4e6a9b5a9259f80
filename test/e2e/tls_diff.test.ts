// The redis differential corpus over TLS: every sequence of test/fixtures/redis_corpus.ts through
// our proxy with TLS, compared byte for byte (and close for close) with our proxy without TLS,
// which test/e2e/redis_diff.test.ts holds equal to nutcracker 0.5.0. On the Node bundle and the
// Bun binary, at -m 512 and -m 16384, three systems per target, each on its own redis-servers:
//   plain  the pools of redis_diff, plain on both sides: the reference;
//   to     the same pools with `tls: true` and `tls_ca_file`, every server line at the TLS port
//          of a redis-server started with --tls-port (the replica replicates over TLS:
//          --tls-replication yes, --replicaof the master's TLS port; the server that never
//          answers is a TLS server that completes the handshake and then says nothing), the
//          client plain;
//   from   the same pools with listen_tls_cert_file and listen_tls_key_file, backends plain,
//          every sequence sent over a node:tls connection (split writes: one TLS record each).
// No sequence is left out (EXCLUDED below is empty on purpose, and the count is asserted).

import { readFileSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer, type Server as TlsServer } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CORPUS } from "../fixtures/redis_corpus.ts";
import { type Certs, makeCerts } from "../helpers/certs.ts";
import {
  cmd,
  describeDifference,
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

const TARGETS = ["node", "binary"] as const;
type Target = (typeof TARGETS)[number];
const MODES = ["plain", "to", "from"] as const;
type Mode = (typeof MODES)[number];
const TLS_MODES = ["to", "from"] as const;
type TlsMode = (typeof TLS_MODES)[number];
const MODE_NAME: Record<TlsMode, string> = { to: "TLS to the backends", from: "TLS from the client" };
type System = `${Target} ${Mode}`;
const SYSTEMS: readonly System[] = TARGETS.flatMap((t) => MODES.map((m) => `${t} ${m}` as const));
const MBUFS = [512, 16384] as const;

/**
 * Sequences left out of a TLS mode, by name, with the reason. Empty: every sequence of the corpus
 * runs in both modes, the split writes and the closes mid-pipeline included (the client never
 * half-closes: a sequence ends with QUIT, or with silence, so TLS close_notify changes nothing).
 */
const EXCLUDED: Record<TlsMode, Readonly<Record<string, string>>> = { to: {}, from: {} };

/** A redis-server; `tls` is its TLS port when it has one (the plain port stays, for FLUSHALL and the key inspection). */
type Redis = Backend & { readonly tls?: number };

/** As in redis_diff: A B C plain, D E with a password, F with no memory, G a master with H its replica, S a replica of a dead master serving no stale data. */
interface Redises {
  readonly A: Redis;
  readonly B: Redis;
  readonly C: Redis;
  readonly D: Redis;
  readonly E: Redis;
  readonly F: Redis;
  readonly G: Redis;
  readonly H: Redis;
  readonly S: Redis;
}

let certs: Certs;
const redises = {} as Record<System, Redises>;
let deadPort = 0;
/** Accepts and never answers: plain TCP for the plain systems, TLS (handshake done, then silence) for `to`. */
let blackhole: Server;
let tlsBlackhole: TlsServer;
const blackholeSockets = new Set<Socket>();
let blackholePort = 0;
let tlsBlackholePort = 0;

const modeOf = (sys: System): Mode => sys.split(" ")[1] as Mode;

/** A redis-server with `extra`, and with a TLS port as well when `tls` (no client certificate asked). */
async function startOne(tls: boolean, extra: string[]): Promise<Redis> {
  if (!tls) return startRedis(extra);
  const port = await freePort();
  const b = await startRedis([
    "--tls-port", String(port), "--tls-cert-file", certs.server.cert, "--tls-key-file", certs.server.key,
    "--tls-ca-cert-file", certs.ca, "--tls-auth-clients", "no", ...extra,
  ]);
  await waitForPort("127.0.0.1", port, 10_000);
  return Object.assign(b, { tls: port });
}

async function startRedises(tls: boolean): Promise<Redises> {
  const [A, B, C, D, E, F, G] = await Promise.all([
    startOne(tls, []),
    startOne(tls, []),
    startOne(tls, []),
    startOne(tls, ["--requirepass", PASSWORD]),
    startOne(tls, ["--requirepass", PASSWORD]),
    startOne(tls, ["--maxmemory", "1", "--maxmemory-policy", "noeviction"]),
    startOne(tls, []),
  ]);
  const replication = tls ? ["--tls-replication", "yes"] : [];
  const [H, S] = await Promise.all([
    startOne(tls, ["--replicaof", "127.0.0.1", String(tls ? G!.tls : G!.port), ...replication]),
    startOne(tls, ["--replicaof", "127.0.0.1", String(deadPort), "--replica-serve-stale-data", "no", ...replication]),
  ]);
  return { A: A!, B: B!, C: C!, D: D!, E: E!, F: F!, G: G!, H, S };
}

/** The port the proxy of `mode` reaches `b` on. */
function serverPort(b: Redis, mode: Mode): number {
  if (mode !== "to") return b.port;
  if (b.tls === undefined) throw new Error(`redis ${b.port} has no TLS port`);
  return b.tls;
}

/** The servers of `pool` (diff.ts's layout), at the ports the proxy of `mode` uses; `inspect` gives the plain ports to read the keys on. */
function serversOf(r: Redises, pool: PoolName, mode: Mode, inspect = false): { port: number; name: string }[] {
  const hole = mode === "to" ? tlsBlackholePort : blackholePort;
  return poolServers(pool, (role) => (inspect ? r[role].port : serverPort(r[role], mode)), deadPort, hole);
}

/** The pools of one system: redis_diff's (with `error_replies: false`, as its ours), plus the TLS keys of `mode`. */
function confYaml(r: Redises, ports: Record<PoolName, number>, mode: Mode): string {
  const tls =
    mode === "to"
      ? `  tls: true\n  tls_ca_file: ${certs.ca}\n`
      : mode === "from"
        ? `  listen_tls_cert_file: ${certs.server.cert}\n  listen_tls_key_file: ${certs.server.key}\n`
        : "";
  return POOLS.map(
    (pool) =>
      `${pool}:\n  listen: 127.0.0.1:${ports[pool]}\n  redis: true\n  error_replies: false\n${tls}${POOL_KEYS[pool]}  servers:\n` +
      serversOf(r, pool, mode).map((s) => `   - 127.0.0.1:${s.port}:1 ${s.name}\n`).join(""),
  ).join("");
}

beforeAll(async () => {
  certs = makeCerts();
  deadPort = await freePort();
  const hold = (s: Socket): void => {
    blackholeSockets.add(s);
    s.on("error", () => {});
    s.on("close", () => blackholeSockets.delete(s));
  };
  blackhole = createServer(hold);
  tlsBlackhole = createTlsServer({ cert: readFileSync(certs.server.cert), key: readFileSync(certs.server.key) }, hold);
  tlsBlackhole.on("tlsClientError", () => {});
  await new Promise<void>((res) => blackhole.listen(0, "127.0.0.1", res));
  await new Promise<void>((res) => tlsBlackhole.listen(0, "127.0.0.1", res));
  blackholePort = (blackhole.address() as { port: number }).port;
  tlsBlackholePort = (tlsBlackhole.address() as { port: number }).port;
  await Promise.all(
    SYSTEMS.map(async (sys) => {
      redises[sys] = await startRedises(modeOf(sys) === "to");
    }),
  );
});

afterAll(async () => {
  await Promise.all(SYSTEMS.flatMap((sys) => Object.values(redises[sys] ?? {}).map((b: Backend) => b.stop())));
  for (const s of blackholeSockets) s.destroy();
  await new Promise<void>((res) => (blackhole ? blackhole.close(() => res()) : res()));
  await new Promise<void>((res) => (tlsBlackhole ? tlsBlackhole.close(() => res()) : res()));
  if (certs !== undefined) rmSync(certs.dir, { recursive: true, force: true });
});

/** Run `seq` on one system (over TLS for `from`), inspect the backends when it asks, normalise. */
async function runOn(sys: System, port: number, seq: Sequence): Promise<Outcome> {
  const mode = modeOf(sys);
  const got = await runSequence(port, seq, mode === "from" ? { tls: { ca: readFileSync(certs.ca) } } : {});
  const backends = seq.inspect
    ? await inspectBackends(
        serversOf(redises[sys], seq.pool, mode, true).map((s) => s.port),
        passwordOf(seq.pool),
        seq.prefix,
      )
    : "";
  return { ...got, bytes: seq.sortArrays ? sortArrayReplies(got.bytes) : got.bytes, backends };
}

/** The `laddr` ports of the clients of redis `b` (read on its plain port; our own connection left out). */
async function clientPorts(b: Redis, password: string | null): Promise<number[]> {
  const reply = (await direct(b.port, [cmd("CLIENT", "LIST")], password)).toString("latin1");
  return reply
    .split("\n")
    .filter((l) => l.includes(" laddr=") && !l.includes(" cmd=client"))
    .map((l) => Number(/ laddr=[^ ]*:(\d+) /.exec(l)?.[1]));
}

const CRASH = /TypeError|RangeError|ReferenceError|SyntaxError|Uncaught|panic|assert/i;

describe("the TLS corpus", () => {
  it("every excluded sequence is in the corpus, and most of the corpus runs", () => {
    for (const mode of TLS_MODES) {
      for (const name of Object.keys(EXCLUDED[mode])) expect(CORPUS.map((s) => s.name), `${mode}: ${name}`).toContain(name);
      expect(CORPUS.length - Object.keys(EXCLUDED[mode]).length, mode).toBeGreaterThanOrEqual(300);
    }
  });
});

for (const mbuf of MBUFS) {
  describe(`redis corpus over TLS, -m ${mbuf}`, () => {
    const results = new Map<string, Partial<Record<System, Outcome>>>();
    const proxies = new Map<System, Running>();
    /** How many sequences each system ran. */
    const ran = Object.fromEntries(SYSTEMS.map((s) => [s, 0])) as Record<System, number>;
    /** The ports the `to` systems' A saw its clients on, read after the run. */
    const clientsOfA = {} as Record<Target, number[]>;
    /** Each system's H: the master port and link status it reports, read after the run. */
    const replication = {} as Record<System, string>;

    beforeAll(async () => {
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
          const conf = writeConf(confYaml(redises[sys], ports, modeOf(sys)));
          const stats = await freePort();
          const target = sys.split(" ")[0] as Target;
          const p = await startProxy(target, ["-c", conf, "-m", String(mbuf), "-s", String(stats), "-v", "4"], ports.two);
          proxies.set(sys, p);
          for (const pool of POOLS) await waitForPort("127.0.0.1", ports[pool], 10_000);
        }),
      );
      const runs = (seq: Sequence): System[] =>
        SYSTEMS.filter((sys) => {
          const mode = modeOf(sys);
          return mode === "plain" || EXCLUDED[mode][seq.name] === undefined;
        });
      const run = async (seq: Sequence): Promise<void> => {
        const on = runs(seq);
        const outs = await Promise.all(on.map((sys) => runOn(sys, listen[sys][seq.pool], seq)));
        const r: Partial<Record<System, Outcome>> = {};
        on.forEach((sys, i) => {
          r[sys] = outs[i]!;
          ran[sys]++;
        });
        results.set(seq.name, r);
      };
      // one sequence at a time (on all six systems at once), the heavy ones last, as redis_diff
      for (const seq of CORPUS.filter((s) => !s.exclusive)) await run(seq);
      for (const seq of CORPUS.filter((s) => s.exclusive)) await run(seq);
      for (const t of TARGETS) clientsOfA[t] = await clientPorts(redises[`${t} to`].A, null);
      for (const sys of SYSTEMS) {
        const info = (await direct(redises[sys].H.port, [cmd("INFO", "replication")], null)).toString("latin1");
        replication[sys] = ["master_port", "master_link_status"].map((f) => new RegExp(`^${f}:.*$`, "m").exec(info)?.[0].trim()).join(" ");
      }
    });

    afterAll(async () => {
      for (const [sys, p] of proxies) {
        const code = await p.stop();
        expect(p.stderr(), `${sys} stderr`).not.toMatch(CRASH);
        expect(code, `${sys} exit code`).toBe(0);
      }
    });

    it(`ran every sequence on the plain systems and all but the excluded ones over TLS (-m ${mbuf})`, () => {
      const want = {} as Record<System, number>;
      for (const sys of SYSTEMS) {
        const mode = modeOf(sys);
        want[sys] = CORPUS.length - (mode === "plain" ? 0 : Object.keys(EXCLUDED[mode]).length);
      }
      expect(ran).toEqual(want);
    });

    it.each(TARGETS)(`%s, TLS to the backends: the proxy's server connections are at the TLS ports (-m ${mbuf})`, (t) => {
      const A = redises[`${t} to`].A;
      expect(clientsOfA[t]!.length, "connections to A").toBeGreaterThan(0);
      expect(new Set(clientsOfA[t]), "A's local ports of its clients").toEqual(new Set([A.tls]));
    });

    it(`the replica H of every system is in sync with its G, over TLS for TLS to the backends (-m ${mbuf})`, () => {
      const want = Object.fromEntries(SYSTEMS.map((sys) => [sys, `master_port:${serverPort(redises[sys].G, modeOf(sys))} master_link_status:up`]));
      expect(replication).toEqual(want);
    });

    for (const seq of CORPUS) {
      for (const mode of TLS_MODES) {
        if (EXCLUDED[mode][seq.name] !== undefined) continue; // listed, counted above
        it(`${MODE_NAME[mode]}: ${seq.name} (-m ${mbuf})`, () => {
          const r = results.get(seq.name);
          if (r === undefined) return expect.fail("the sequence did not run");
          const msgs: string[] = [];
          for (const t of TARGETS) {
            const plain = r[`${t} plain`];
            const tls = r[`${t} ${mode}`];
            if (plain === undefined || tls === undefined) return expect.fail(`${t}: the sequence did not run on both systems`);
            if (plain.error !== "") msgs.push(`${t} plain exchange failed: ${plain.error}`);
            const d = describeDifference(tls, plain, `${t} ${mode}`, `${t} plain`);
            if (d !== "") msgs.push(d);
          }
          expect(msgs.join("\n")).toBe("");
        });
      }
    }
  });
}
