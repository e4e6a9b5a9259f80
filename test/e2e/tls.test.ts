// TLS (ours) on the Node bundle, the Bun binary and `deno run`, against real redis-servers with
// TLS ports: to the servers (a CA, a client certificate), from the clients (redis-cli, ioredis, a
// client certificate required), the handshakes that fail (another name, an unknown CA, an expired
// certificate, a plain-text server) and what they log and eject, tls_verify: false, and `-t` on
// the files. What TLS costs is measured by bench/tls.ts, not here.
// Deno (runtime/tls_deno.ts) connects and listens with TLS, but refuses what Deno.connectTls and
// Deno.listenTls cannot do, saying so: on Deno a listener with listen_tls_ca_file (client
// certificates required) fails at start, exit 1 with the reason in the log, and a tls_verify:
// false pool answers every request with an error and logs the reason; both are asserted below.
// (It also refuses TLS over a unix socket and tls_server_name with a client certificate; neither
// is in this file.)

import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect as netConnect } from "node:net";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Certs, makeCerts } from "../helpers/certs.ts";
import { exchange, request, resp } from "../helpers/client.ts";
import { type Running, startProxy, TARGETS, type Target, writeConf } from "../helpers/proxy.ts";
import { type Backend, startRedis } from "../helpers/real_backends.ts";
import { freePort, waitForPort } from "../helpers/runtimes.ts";

const PROTOCOL_ERROR = "-ERR Protocol error\r\n";
/** What "nothing hangs" means here: a failed handshake is answered within this. */
const PROMPT_MS = 2000;

let certs: Certs;
/** TLS redis with the good certificate; `goodA` has a plain port too. */
let goodA: Backend & { tls: number };
let goodB: Backend & { tls: number };
/** `--tls-auth-clients yes`: a client certificate signed by the CA or no service. */
let authed: Backend & { tls: number };
let otherCa: Backend & { tls: number };
let expired: Backend & { tls: number };
let plain: Backend;

/** A redis-server with a TLS port (and a plain one only when `plainToo`). */
async function startTlsRedis(pair: { cert: string; key: string }, authClients: "yes" | "no", plainToo = false): Promise<Backend & { tls: number }> {
  const tls = await freePort();
  const args = ["--tls-port", String(tls), "--tls-cert-file", pair.cert, "--tls-key-file", pair.key, "--tls-ca-cert-file", certs.ca, "--tls-auth-clients", authClients];
  // startRedis waits on the port it is given: the TLS one when there is no plain port
  const b = plainToo ? await startRedis(args) : await startRedis([...args, "--port", "0"], tls);
  await waitForPort("127.0.0.1", tls, 10_000);
  return Object.assign(b, { tls });
}

beforeAll(async () => {
  certs = makeCerts();
  [goodA, goodB, authed, otherCa, expired, plain] = await Promise.all([
    startTlsRedis(certs.server, "no", true),
    startTlsRedis(certs.server, "no"),
    startTlsRedis(certs.server, "yes"),
    startTlsRedis(certs.otherServer, "no"),
    startTlsRedis(certs.expired, "no"),
    startRedis(),
  ]);
});
afterAll(async () => {
  await Promise.all([goodA, goodB, authed, otherCa, expired, plain].filter(Boolean).map((b) => b.stop()));
  if (certs !== undefined) rmSync(certs.dir, { recursive: true, force: true });
});

interface Talk {
  /** Every byte received, as text. */
  readonly got: string;
  /** The error the socket reported (its code, else its message), or null. */
  readonly error: string | null;
  /** The handshake completed (secureConnect). */
  readonly secure: boolean;
}

/**
 * A node:tls client: handshake (trusting `opts.ca`, showing `opts.cert` when given), write `data`,
 * and resolve once `want` bytes came (or `want(got)` holds), or the peer closed or failed; reject after `timeoutMs`.
 */
function tlsTalk(
  port: number,
  data: Buffer,
  want: number | ((got: string) => boolean),
  opts: { ca?: string; cert?: string; key?: string; timeoutMs?: number } = {},
): Promise<Talk> {
  return new Promise((resolve, reject) => {
    const sock = tlsConnect({
      host: "127.0.0.1",
      port,
      ca: opts.ca !== undefined ? readFileSync(opts.ca, "utf8") : undefined,
      cert: opts.cert !== undefined ? readFileSync(opts.cert, "utf8") : undefined,
      key: opts.key !== undefined ? readFileSync(opts.key, "utf8") : undefined,
    });
    let got = "";
    let error: string | null = null;
    let secure = false;
    const done = () => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ got, error, secure });
    };
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no reply from TLS port ${port} within ${opts.timeoutMs ?? 10_000} ms; got ${JSON.stringify(got)}`));
    }, opts.timeoutMs ?? 10_000);
    sock.on("secureConnect", () => {
      secure = true;
      sock.write(data);
    });
    sock.on("data", (d: Buffer) => {
      got += d.toString("latin1");
      if (typeof want === "number" ? got.length >= want : want(got)) done();
    });
    sock.on("error", (e: Error & { code?: string }) => {
      error = e.code ?? e.message;
      done();
    });
    sock.on("close", done);
  });
}

/** The proxy aggregates its stats every STATS_MS (-i). */
const STATS_MS = 100;

/** The stats port's JSON, read once an aggregation passed since the call. */
async function readStats(port: number): Promise<Record<string, Record<string, unknown>>> {
  await new Promise((r) => setTimeout(r, 3 * STATS_MS));
  return new Promise((resolve, reject) => {
    const s = netConnect({ host: "127.0.0.1", port });
    let d = "";
    s.on("data", (x) => (d += x.toString()));
    s.on("error", reject);
    s.on("close", () => resolve(JSON.parse(d)));
  });
}

/** Resolve once `cond()` holds; reject with `what` after `ms`. */
async function until(cond: () => boolean, what: () => string, ms = PROMPT_MS): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(what());
    await new Promise((r) => setTimeout(r, 20));
  }
}

const count = (text: string, re: RegExp): number => (text.match(new RegExp(re.source, "g")) ?? []).length;

/** What Deno says when it refuses a TLS feature (runtime/tls_deno.ts). */
const onDeno = (what: string) => `TLS: ${what} is not available on Deno (use the Bun binary or the Node bundle)`;

/** A test that does not apply to a runtime is not registered there (each such test has its counterpart for the other runtimes). */
const absent = (_name: string, _fn: () => unknown): void => {};

describe.each(["node", "binary", "deno"] as Target[])("TLS on %s", (rt) => {
  const deno = rt === "deno";
  let proxy: Running;
  let stats = 0;
  const port: Record<string, number> = {};
  const POOLS = [
    "to_tls", "to_mtls", "to_mtls_nocert", "from_tls", "from_mtls", "both", "plain_pool", "noverify",
    "f_name", "f_ca", "f_expired", "f_plain", "e_name", "e_ca", "e_expired", "e_plain",
  ] as const;
  /** The servers of the failure pools: `f_*` answer every request, `e_*` eject after one failure. */
  const failing = () => ({
    // node:tls and Bun say it as OpenSSL does, Deno as rustls does
    name: { server: goodA.tls, extra: "  tls_server_name: wrongname\n", reason: deno ? /not valid for name "wrongname"/ : /altnames/ },
    ca: { server: otherCa.tls, extra: "", reason: deno ? /UnknownIssuer/ : /unable to verify/ },
    expired: { server: expired.tls, extra: "", reason: /expired/ },
    plain: { server: plain.port, extra: "", reason: null },
  });
  const log = () => proxy.stderr();
  const fromMtls = () => `  listen_tls_cert_file: ${certs.server.cert}\n  listen_tls_key_file: ${certs.server.key}\n  listen_tls_ca_file: ${certs.ca}\n  servers:\n   - 127.0.0.1:${goodA.port}:1\n`;

  /** The listener Deno refuses: in its own conf there (the refusal stops the process at start). */
  const inConf = (p: (typeof POOLS)[number]) => !(deno && p === "from_mtls");

  beforeAll(async () => {
    for (const p of POOLS) port[p] = await freePort();
    stats = await freePort();
    const listenTls = `  listen_tls_cert_file: ${certs.server.cert}\n  listen_tls_key_file: ${certs.server.key}\n`;
    const toTls = `  tls: true\n  tls_ca_file: ${certs.ca}\n`;
    const pool = (name: string, body: string) => `${name}:\n  listen: 127.0.0.1:${port[name]}\n  redis: true\n${body}`;
    let yaml =
      // localhost checks the DNS name in the certificate, 127.0.0.1 its IP address
      pool("to_tls", `${toTls}  servers:\n   - localhost:${goodA.tls}:1 a\n   - 127.0.0.1:${goodB.tls}:1 b\n`) +
      pool("to_mtls", `${toTls}  tls_cert_file: ${certs.client.cert}\n  tls_key_file: ${certs.client.key}\n  servers:\n   - 127.0.0.1:${authed.tls}:1\n`) +
      pool("to_mtls_nocert", `${toTls}  servers:\n   - 127.0.0.1:${authed.tls}:1\n`) +
      pool("from_tls", `${listenTls}  servers:\n   - 127.0.0.1:${goodA.port}:1\n`) +
      (inConf("from_mtls") ? pool("from_mtls", fromMtls()) : "") +
      pool("both", `${listenTls}${toTls}  servers:\n   - 127.0.0.1:${goodA.tls}:1\n`) +
      pool("plain_pool", `  servers:\n   - 127.0.0.1:${goodA.port}:1\n`) +
      pool("noverify", `  tls: true\n  tls_verify: false\n  servers:\n   - 127.0.0.1:${otherCa.tls}:1\n`);
    // no `timeout`: a handshake that fails must answer by itself
    for (const [kind, f] of Object.entries(failing())) {
      yaml += pool(`f_${kind}`, `${toTls}${f.extra}  servers:\n   - 127.0.0.1:${f.server}:1\n`);
      yaml += pool(
        `e_${kind}`,
        `${toTls}${f.extra}  auto_eject_hosts: true\n  server_failure_limit: 1\n  server_retry_timeout: 60000\n  servers:\n   - 127.0.0.1:${f.server}:1\n`,
      );
    }
    proxy = await startProxy(rt, ["-c", writeConf(yaml), "-s", String(stats), "-i", String(STATS_MS)], port[POOLS[POOLS.length - 1]!]!);
    await waitForPort("127.0.0.1", stats, 10_000);
  });
  afterAll(async () => {
    await proxy?.stop();
  });

  describe("to the servers", () => {
    it("SET, GET, MGET and DEL through a plain client reach both TLS servers, by name and by address", async () => {
      // keys that split over both servers on every target: fnv1a_64 + ketama put all of
      // tls:deno:k0..k15 on one (nutcracker as well)
      const keys = Array.from({ length: 16 }, (_, i) => `tls:${rt}:${i}:k`);
      const sets = keys.map((k, i) => resp("SET", k, `v${i}`));
      const want = "+OK\r\n".repeat(keys.length);
      expect((await request(port.to_tls!, Buffer.concat(sets), want.length)).toString()).toBe(want);
      // every key landed on one server or the other, and each server holds some
      const line = (g: string) => g.endsWith("\r\n");
      const onA = await tlsTalk(goodA.tls, resp("EXISTS", ...keys), line, { ca: certs.ca });
      const onB = await tlsTalk(goodB.tls, resp("EXISTS", ...keys), line, { ca: certs.ca });
      const a = Number(/^:(\d+)\r\n/.exec(onA.got)?.[1]);
      const b = Number(/^:(\d+)\r\n/.exec(onB.got)?.[1]);
      expect({ a: a > 0, b: b > 0, sum: a + b }).toEqual({ a: true, b: true, sum: keys.length });

      const mget = `*${keys.length + 1}\r\n${keys.map((_, i) => `$${String(i).length + 1}\r\nv${i}\r\n`).join("")}$-1\r\n`;
      const got = await exchange(
        port.to_tls!,
        Buffer.concat([resp("GET", keys[3]!), resp("MGET", ...keys, `tls:${rt}:none`), resp("DEL", ...keys), resp("GET", keys[3]!), resp("QUIT")]),
        { timeoutMs: 5000 },
      );
      // QUIT: the proxy closes without a reply, as twemproxy
      expect(got.toString()).toBe(`$2\r\nv3\r\n${mget}:${keys.length}\r\n$-1\r\n`);
    });

    it("shows the client certificate to a redis that requires one", async () => {
      const want = "+OK\r\n$4\r\nmtls\r\n:1\r\n";
      const got = await request(port.to_mtls!, Buffer.concat([resp("SET", `tls:${rt}:m`, "mtls"), resp("GET", `tls:${rt}:m`), resp("DEL", `tls:${rt}:m`)]), want.length);
      expect(got.toString()).toBe(want);
    });

    it("without tls_cert_file that redis refuses: an error reply, and the log says TLS or reset", async () => {
      // TLS 1.3: redis refuses the missing certificate after the handshake, with an alert the
      // first read meets (on Deno an InvalidData read, which the adapter reports as TLS too)
      const line = new RegExp(`server '127\\.0\\.0\\.1:${authed.tls}:1' on s \\d+: .*(TLS|ECONNRESET)`);
      const got = await exchange(port.to_mtls_nocert!, Buffer.concat([resp("GET", `tls:${rt}:m`), resp("QUIT")]), { timeoutMs: PROMPT_MS });
      expect(got.toString()).toMatch(/^-ERR [^\r\n]+\r\n$/);
      await until(() => line.test(log()), () => `no line like ${line} in:\n${log()}`);
    });
  });

  describe("from the clients", () => {
    it("redis-cli --tls --cacert gets replies", () => {
      const cli = (...args: string[]) =>
        spawnSync("redis-cli", ["--tls", "--cacert", certs.ca, "-h", "127.0.0.1", "-p", String(port.from_tls), ...args], { encoding: "utf8", timeout: 10_000 });
      const set = cli("SET", `tls:${rt}:cli`, "from-cli");
      expect({ status: set.status, out: set.stdout }).toEqual({ status: 0, out: "OK\n" });
      const get = cli("GET", `tls:${rt}:cli`);
      expect({ status: get.status, out: get.stdout }).toEqual({ status: 0, out: "from-cli\n" });
    });

    it("ioredis with tls: { ca } gets replies, TLS on both sides", async () => {
      const r = new Redis({
        host: "127.0.0.1",
        port: port.both!,
        tls: { ca: readFileSync(certs.ca, "utf8") },
        lazyConnect: true,
        enableReadyCheck: false,
        retryStrategy: () => null,
        maxRetriesPerRequest: 0,
      });
      try {
        await r.connect();
        expect(await r.set(`tls:${rt}:io`, "io")).toBe("OK");
        expect(await r.mget(`tls:${rt}:io`, `tls:${rt}:cli`, `tls:${rt}:none`)).toEqual(["io", "from-cli", null]);
        expect(await r.del(`tls:${rt}:io`, `tls:${rt}:cli`)).toBe(2);
      } finally {
        r.disconnect();
      }
    });

    it("a plain-text client gets no redis reply: closed, at most a TLS alert", async () => {
      const got = await exchange(port.from_tls!, resp("PING"), { timeoutMs: PROMPT_MS });
      // 0x15: a TLS alert record
      expect(got.length === 0 || got[0] === 0x15, `got ${JSON.stringify(got.toString("latin1"))}`).toBe(true);
      expect(got.toString("latin1")).not.toContain("PONG");
    });

    (deno ? absent : it)("with listen_tls_ca_file a client without a certificate is refused, one with the client certificate is served", async () => {
      const without = await tlsTalk(port.from_mtls!, resp("PING"), 7, { ca: certs.ca, timeoutMs: PROMPT_MS });
      expect(without.got).toBe("");
      expect(without.error).not.toBeNull();
      const withCert = await tlsTalk(port.from_mtls!, resp("PING"), 7, { ca: certs.ca, cert: certs.client.cert, key: certs.client.key });
      expect(withCert).toEqual({ got: "+PONG\r\n", error: null, secure: true });
      // a certificate of another CA is refused as well
      const foreign = await tlsTalk(port.from_mtls!, resp("PING"), 7, { ca: certs.ca, cert: certs.otherServer.cert, key: certs.otherServer.key, timeoutMs: PROMPT_MS });
      expect(foreign.got).toBe("");
    });

    (deno ? it : absent)("with listen_tls_ca_file Deno does not start: exit 1, and the log names the listener and why", () => {
      const conf = writeConf(`from_mtls:\n  listen: 127.0.0.1:${port.from_mtls}\n  redis: true\n${fromMtls()}`);
      const [cmd, ...args] = TARGETS.deno(["-c", conf]);
      const r = spawnSync(cmd!, args, { encoding: "utf8", timeout: 20_000 });
      const out = r.stderr + r.stdout;
      expect({ status: r.status, signal: r.signal }, out).toEqual({ status: 1, signal: null });
      expect(out).toContain(`listen on '127.0.0.1:${port.from_mtls}' for pool 'from_mtls' failed: EPROTO ${onDeno("requiring client certificates (listen_tls_ca_file)")}`);
    });
  });

  describe("handshakes that fail", () => {
    it.each(["name", "ca", "expired", "plain"] as const)("%s: every request gets -ERR Protocol error at once, and the log says why", async (kind) => {
      const f = failing()[kind];
      const line =
        f.reason === null
          ? new RegExp(`server '127\\.0\\.0\\.1:${f.server}:1' on s \\d+: E[A-Z]+`)
          : new RegExp(`server '127\\.0\\.0\\.1:${f.server}:1' on s \\d+: EPROTO \\(TLS: [^\\n]*${f.reason.source}`);
      const before = count(log(), line);
      const reqs = [resp("SET", `tls:${rt}:f`, "x"), resp("GET", `tls:${rt}:f`), resp("MGET", `tls:${rt}:f`, `tls:${rt}:g`)];
      for (let round = 0; round < 2; round++) {
        const t0 = Date.now();
        const got = await request(port[`f_${kind}`]!, Buffer.concat(reqs), PROTOCOL_ERROR.length * 3, PROMPT_MS);
        expect(got.toString()).toBe(PROTOCOL_ERROR.repeat(3));
        expect(Date.now() - t0).toBeLessThan(PROMPT_MS);
      }
      await until(() => count(log(), line) > before, () => `no new line like ${line} in:\n${log()}`);
    });

    it.each(["name", "ca", "expired", "plain"] as const)("%s: with auto_eject_hosts the server is ejected after one failure", async (kind) => {
      const before = (await readStats(stats))[`e_${kind}`]!;
      expect(before.server_ejects).toBe(0);
      const first = await request(port[`e_${kind}`]!, resp("GET", `tls:${rt}:e`), PROTOCOL_ERROR.length, PROMPT_MS);
      expect(first.toString()).toBe(PROTOCOL_ERROR);
      const after = (await readStats(stats))[`e_${kind}`]!;
      expect(after.server_ejects).toBe(1);
      // ejected: the next request fails at once without a connect
      const next = await exchange(port[`e_${kind}`]!, Buffer.concat([resp("GET", `tls:${rt}:e`), resp("QUIT")]), { timeoutMs: PROMPT_MS });
      expect(next.toString()).toMatch(/^-ERR [^\r\n]+\r\n$/);
    });
  });

  (deno ? absent : it)("tls_verify: false accepts the certificate of an unknown CA, with a warning at start", async () => {
    expect(log()).toContain("pool 'noverify': tls_verify is false");
    const want = "+OK\r\n$2\r\nnv\r\n:1\r\n";
    const got = await request(port.noverify!, Buffer.concat([resp("SET", `tls:${rt}:nv`, "nv"), resp("GET", `tls:${rt}:nv`), resp("DEL", `tls:${rt}:nv`)]), want.length);
    expect(got.toString(), log()).toBe(want);
    // the pools that verify are not warned about
    expect(count(log(), /tls_verify is false/)).toBe(1);
  });

  (deno ? it : absent)("tls_verify: false on Deno: the same warning at start, then every request gets -ERR Protocol error and the log says why", async () => {
    expect(log()).toContain("pool 'noverify': tls_verify is false");
    const line = new RegExp(`server '127\\.0\\.0\\.1:${otherCa.tls}:1' on s \\d+: EPROTO \\(${onDeno("tls_verify: false").replace(/[()]/g, "\\$&")}\\)`);
    const before = count(log(), line);
    const got = await request(port.noverify!, Buffer.concat([resp("SET", `tls:${rt}:nv`, "nv"), resp("GET", `tls:${rt}:nv`)]), PROTOCOL_ERROR.length * 2, PROMPT_MS);
    expect(got.toString(), log()).toBe(PROTOCOL_ERROR.repeat(2));
    await until(() => count(log(), line) > before, () => `no new line like ${line} in:\n${log()}`);
    // the refusal is Deno's, not a handshake with the server: nothing was written there
    expect((await tlsTalk(otherCa.tls, resp("EXISTS", `tls:${rt}:nv`), 4, { ca: certs.otherCa })).got).toBe(":0\r\n");
  });

  describe("-t", () => {
    const check = (body: string): SpawnSyncReturns<string> => {
      const conf = writeConf(`p:\n  listen: 127.0.0.1:${port.plain_pool}\n  redis: true\n${body}  servers:\n   - 127.0.0.1:${plain.port}:1\n`);
      const [cmd, ...args] = TARGETS[rt](["-t", "-c", conf]);
      return spawnSync(cmd!, args, { encoding: "utf8", timeout: 20_000 });
    };

    it("passes a conf whose TLS files are all there", () => {
      // Deno too: -t checks the keys and the files, not what the runtime can do (its refusal of
      // listen_tls_ca_file comes at start, above)
      const r = check(`  tls: true\n  tls_ca_file: ${certs.ca}\n  tls_cert_file: ${certs.client.cert}\n  tls_key_file: ${certs.client.key}\n  listen_tls_cert_file: ${certs.server.cert}\n  listen_tls_key_file: ${certs.server.key}\n  listen_tls_ca_file: ${certs.ca}\n`);
      expect({ status: r.status, err: r.stderr + r.stdout }).toEqual({ status: 0, err: expect.stringContaining("syntax is ok") });
    });

    it("a missing tls_ca_file: exit 1, naming the key and the file", () => {
      const missing = join(certs.dir, "no-such-ca.crt");
      const r = check(`  tls: true\n  tls_ca_file: ${missing}\n`);
      expect(r.status).toBe(1);
      expect(r.stderr + r.stdout).toContain("tls_ca_file");
      expect(r.stderr + r.stdout).toContain(missing);
    });

    it("a file that is not PEM: exit 1, naming the key and the file", () => {
      const notPem = join(certs.dir, "not-pem.crt");
      writeFileSync(notPem, "this is not a certificate\n");
      const r = check(`  listen_tls_cert_file: ${notPem}\n  listen_tls_key_file: ${certs.server.key}\n`);
      expect(r.status).toBe(1);
      expect(r.stderr + r.stdout).toContain("listen_tls_cert_file");
      expect(r.stderr + r.stdout).toContain(notPem);
      expect(r.stderr + r.stdout).toMatch(/not PEM/);
    });

    it("tls_cert_file without tls_key_file: exit 1, naming tls_key_file", () => {
      const r = check(`  tls: true\n  tls_cert_file: ${certs.client.cert}\n`);
      expect(r.status).toBe(1);
      expect(r.stderr + r.stdout).toContain("tls_key_file");
    });

    it("tls_ca_file without tls: true: exit 1, naming both", () => {
      const r = check(`  tls_ca_file: ${certs.ca}\n`);
      expect(r.status).toBe(1);
      expect(r.stderr + r.stdout).toContain("tls_ca_file");
      expect(r.stderr + r.stdout).toContain("tls: true");
    });
  });
});
