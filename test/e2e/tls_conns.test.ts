// `tls: true` reaches every connection a pool opens, not only its server connections: a memcache
// pool to a memcached that speaks only TLS, the health check's probe (an ejected TLS server comes
// back only if the probe's handshake works), pinned connections (SUBSCRIBE, BLPOP, MULTI), a
// Sentinel asked over TLS, and a Redis Cluster whose nodes have a plain and a TLS port (the slot map
// must give a TLS pool the TLS ones). Real memcached -Z, redis-server and redis-sentinel with
// --tls-port, redis-cli --tls --cluster create; on the Node bundle, the Bun binary and Deno.

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Certs, makeCerts } from "../helpers/certs.ts";
import { type Running, startProxy, type Target, writeConf } from "../helpers/proxy.ts";
import { freePort, waitForPort } from "../helpers/runtimes.ts";
import { type Reply, RespConn } from "../helpers/sentinel_env.ts";
import { request } from "../helpers/client.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, f: () => Promise<T | null | false> | T | null | false, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown = null;
  for (;;) {
    try {
      const v = await f();
      if (v !== null && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`not within ${timeoutMs} ms: ${what}${last === null ? "" : ` (last: ${(last as Error).message})`}`);
    await sleep(50);
  }
}

let certs: Certs;
let dir: string;
const procs: ChildProcess[] = [];

function run(cmd: string, args: string[]): ChildProcess {
  const p = spawn(cmd, args, { stdio: "ignore" });
  procs.push(p);
  return p;
}

/** The TLS options of a redis-server or sentinel: our CA, the server certificate, no client certificates asked. */
const redisTls = () => ["--tls-cert-file", certs.server.cert, "--tls-key-file", certs.server.key, "--tls-ca-cert-file", certs.ca, "--tls-auth-clients", "no"];

/** A redis-server with only a TLS port. */
async function tlsRedis(port: number, extra: string[] = []): Promise<ChildProcess> {
  const p = run("redis-server", ["--port", "0", "--tls-port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, ...redisTls(), ...extra]);
  await waitForPort("127.0.0.1", port, 10_000);
  return p;
}

/** redis-cli over TLS to `port`: its output, trimmed. */
function cli(port: number, ...args: string[]): string {
  const r = spawnSync("redis-cli", ["--tls", "--cacert", certs.ca, "-h", "127.0.0.1", "-p", String(port), ...args], { encoding: "utf8", timeout: 60_000 });
  if (r.status !== 0) throw new Error(`redis-cli ${args.join(" ")}: ${r.stderr}`);
  return r.stdout.trim();
}

const port = { memcached: 0, master: 0, hc: 0, sentinel: 0, dead: 0 };
const cluster: { plain: number; tls: number }[] = [];

/** Can `p` be bound on loopback now? */
function bindable(p: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen(p, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

/** A free port whose cluster bus port (port + 10000: redis-cli's CLUSTER MEET names no other) is free too. */
async function clusterPort(): Promise<number> {
  for (;;) {
    const p = await freePort();
    if (p + 10000 < 65536 && (await bindable(p + 10000))) return p;
  }
}
let hcProc: ChildProcess;

beforeAll(async () => {
  certs = makeCerts();
  dir = mkdtempSync(join(tmpdir(), "nc-tls-conns-"));
  for (const k of Object.keys(port) as (keyof typeof port)[]) port[k] = await freePort();
  for (let i = 0; i < 3; i++) cluster.push({ plain: await freePort(), tls: await clusterPort() });

  // memcached with -Z speaks TLS on every listener
  run("memcached", ["-Z", "-o", `ssl_chain_cert=${certs.server.cert},ssl_key=${certs.server.key}`, "-p", String(port.memcached), "-l", "127.0.0.1", "-U", "0", "-t", "1", "-u", "root"]);
  await waitForPort("127.0.0.1", port.memcached, 10_000);
  await tlsRedis(port.master, ["--tls-replication", "yes"]);
  hcProc = await tlsRedis(port.hc);
  // a Sentinel that listens on TLS only and reaches its master over TLS (tls-replication)
  const sconf = join(dir, "sentinel.conf");
  writeFileSync(
    sconf,
    `port 0\ntls-port ${port.sentinel}\nbind 127.0.0.1\ndir ${dir}\ntls-cert-file ${certs.server.cert}\ntls-key-file ${certs.server.key}\n` +
      `tls-ca-cert-file ${certs.ca}\ntls-auth-clients no\ntls-replication yes\nsentinel monitor m1 127.0.0.1 ${port.master} 1\n`,
  );
  run("redis-sentinel", [sconf]);
  await waitForPort("127.0.0.1", port.sentinel, 10_000);

  // three masters with a plain and a TLS port each, the bus over TLS (on tls-port + 10000)
  for (const [i, n] of cluster.entries()) {
    run("redis-server", [
      "--port", String(n.plain), "--tls-port", String(n.tls), "--tls-cluster", "yes", "--cluster-enabled", "yes",
      "--cluster-config-file", join(dir, `nodes-${i}.conf`), "--cluster-node-timeout", "2000", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, ...redisTls(),
      // the bus always asks for a client certificate, and ours says serverAuth only
      "--tls-client-cert-file", certs.client.cert, "--tls-client-key-file", certs.client.key,
    ]);
  }
  for (const n of cluster) await waitForPort("127.0.0.1", n.tls, 10_000);
  cli(cluster[0]!.tls, "--cluster", "create", ...cluster.map((n) => `127.0.0.1:${n.tls}`), "--cluster-yes");
  await until("the TLS cluster is ok on every node", () => cluster.every((n) => cli(n.tls, "CLUSTER", "INFO").includes("cluster_state:ok")), 30_000);
}, 90_000);

afterAll(async () => {
  for (const p of procs) p.kill("SIGKILL");
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  if (certs !== undefined) rmSync(certs.dir, { recursive: true, force: true });
});

const text = (r: Reply): string => (typeof r === "string" || typeof r === "number" ? String(r) : JSON.stringify(r));

describe.each(["node", "binary", "deno"] as Target[])("every connection of a TLS pool on %s", (target) => {
  const listen = { mc: 0, pin: 0, hc: 0, sent: 0, cl: 0 };
  let proxy: Running;

  beforeAll(async () => {
    for (const k of Object.keys(listen) as (keyof typeof listen)[]) listen[k] = await freePort();
    const tls = `  tls: true\n  tls_ca_file: ${certs.ca}\n`;
    const pool = (name: keyof typeof listen, body: string) => `${name}:\n  listen: 127.0.0.1:${listen[name]}\n${body}`;
    const yaml =
      pool("mc", `${tls}  servers:\n   - 127.0.0.1:${port.memcached}:1\n`) +
      pool("pin", `  redis: true\n${tls}  servers:\n   - 127.0.0.1:${port.master}:1\n`) +
      pool("hc", `  redis: true\n${tls}  auto_eject_hosts: true\n  server_failure_limit: 1\n  server_retry_timeout: 300\n  health_check: true\n  timeout: 1000\n  servers:\n   - 127.0.0.1:${port.hc}:1\n`) +
      // the server line's address answers nothing: the pool serves once the Sentinel has answered
      pool("sent", `  redis: true\n${tls}  sentinels:\n   - 127.0.0.1:${port.sentinel}:1\n  servers:\n   - 127.0.0.1:${port.dead}:1 m1\n`) +
      pool("cl", `  redis: true\n  redis_cluster: true\n${tls}  servers:\n   - 127.0.0.1:${cluster[0]!.tls}:1\n`);
    proxy = await startProxy(target, ["-c", writeConf(yaml), "-s", String(await freePort())], listen.cl);
    for (const p of Object.values(listen)) await waitForPort("127.0.0.1", p, 10_000);
  }, 40_000);
  afterAll(async () => {
    await proxy?.stop();
  });

  it("a memcache pool to a memcached that speaks only TLS: set, get, a multi-key get", async () => {
    const keys = Array.from({ length: 8 }, (_, i) => `mc:${target}:${i}`);
    const sets = keys.map((k, i) => `set ${k} 0 0 ${String(i).length + 1}\r\nv${i}\r\n`).join("");
    const want = "STORED\r\n".repeat(keys.length) + keys.map((k, i) => `VALUE ${k} 0 ${String(i).length + 1}\r\nv${i}\r\n`).join("") + "END\r\n";
    const got = await request(listen.mc, Buffer.from(`${sets}get ${keys.join(" ")}\r\n`), want.length, 5000);
    expect(got.toString()).toBe(want);
  });

  it("pinned connections speak TLS: SUBSCRIBE gets a PUBLISH, BLPOP is woken by an LPUSH, MULTI/EXEC", async () => {
    const sub = await RespConn.open(listen.pin);
    const pub = await RespConn.open(listen.pin);
    const blocked = await RespConn.open(listen.pin);
    try {
      const pushed: Reply[] = [];
      sub.onPush = (v) => pushed.push(v);
      expect(await sub.call("SUBSCRIBE", `ch:${target}`)).toEqual(["subscribe", `ch:${target}`, 1]);
      expect(await pub.call("PUBLISH", `ch:${target}`, "hello")).toBe(1);
      await until("the message on the subscriber", () => pushed.length === 1);
      expect(pushed[0]).toEqual(["message", `ch:${target}`, "hello"]);

      const popped = blocked.call("BLPOP", `q:${target}`, "5");
      await sleep(200);
      expect(await pub.call("LPUSH", `q:${target}`, "x")).toBe(1);
      expect(await popped).toEqual([`q:${target}`, "x"]);

      expect(await pub.call("MULTI")).toBe("OK");
      expect(await pub.call("SET", `tx:${target}`, "1")).toBe("QUEUED");
      expect(await pub.call("INCR", `tx:${target}`)).toBe("QUEUED");
      expect(await pub.call("EXEC")).toEqual(["OK", 2]);
      expect(cli(port.master, "GET", `tx:${target}`)).toBe("2");
    } finally {
      for (const c of [sub, pub, blocked]) c.close();
    }
  });

  it("the health check probes over TLS: an ejected TLS server is put back once it runs again", async () => {
    const c = await RespConn.open(listen.hc);
    try {
      expect(await c.call("SET", `hc:${target}`, "1")).toBe("OK");
      hcProc.kill("SIGKILL");
      await until("the server gone and ejected", async () => text(await c.call("GET", `hc:${target}`)).includes("ERR"));
      hcProc = await tlsRedis(port.hc);
      // only a probe that completes its handshake puts it back: a plain PING gets no answer
      await until("the server back in the pool", async () => (await c.call("SET", `hc:${target}`, "2")) === "OK", 10_000);
      expect(cli(port.hc, "GET", `hc:${target}`)).toBe("2");
      expect(proxy.stderr()).not.toMatch(/EPROTO/);
    } finally {
      c.close();
    }
  });

  it("a Sentinel asked over TLS names the master, which the pool then serves", async () => {
    const c = await RespConn.open(listen.sent);
    try {
      await until("the Sentinel's master in use", async () => (await c.call("SET", `s:${target}`, "v")) === "OK");
      expect(await c.call("GET", `s:${target}`)).toBe("v");
      expect(cli(port.master, "GET", `s:${target}`)).toBe("v");
    } finally {
      c.close();
    }
  });

  it("a cluster pool over TLS: the slot map's TLS ports, keys on all three masters, MGET across slots", async () => {
    const keys = Array.from({ length: 300 }, (_, i) => `cl:${target}:${i}`);
    const c = await RespConn.open(listen.cl);
    try {
      for (const [i, k] of keys.entries()) expect(await c.call("SET", k, `v${i}`)).toBe("OK");
      expect(await c.call("MGET", ...keys.slice(0, 50))).toEqual(keys.slice(0, 50).map((_, i) => `v${i}`));
      // every master holds some of them, and together all: the pool reached each over TLS
      const counts = cluster.map((n) => cli(n.tls, "--scan", "--pattern", `cl:${target}:*`).split("\n").filter((l) => l !== "").length);
      expect(counts.every((n) => n > 0), `keys per master ${counts}`).toBe(true);
      expect(counts.reduce((a, b) => a + b, 0)).toBe(keys.length);
    } finally {
      c.close();
    }
    // a TLS connection to a plain port would have failed its handshake, and said so
    expect(proxy.stderr()).not.toMatch(/EPROTO|no handshake/);
  });
});
