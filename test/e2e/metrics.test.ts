// The Prometheus metrics port (--metrics-port) against real redis-servers and memcached: a known
// load, then a scrape read by a strict parser and by promtool, with counts checked against the
// backends' own statistics; HTTP garbage; the flags.

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCli, usageText } from "../../src/cli.ts";
import { exchange, request, resp } from "../helpers/client.ts";
import { parsePrometheus, type PromFamily, sampleValue, samples } from "../helpers/prom_parse.ts";
import { ROOT, type Running, startProxy, TARGETS, type Target, writeConf } from "../helpers/proxy.ts";
import { type Backend, startMemcached, startRedis } from "../helpers/real_backends.ts";
import { freePort, waitForPort } from "../helpers/runtimes.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// names that need every escape of the text format: quote, backslash, newline
const S1 = 'we"ird\\name';
const S2 = "new\nline";
const MCPOOL = 'm"c\\pool\nx';

interface Http {
  status: number;
  headers: Record<string, string>;
  body: string;
  raw: Buffer;
}

function parseHttp(raw: Buffer): Http {
  const text = raw.toString("latin1");
  const end = text.indexOf("\r\n\r\n");
  if (end < 0) throw new Error(`no HTTP head in ${JSON.stringify(text.slice(0, 200))}`);
  const [status, ...lines] = text.slice(0, end).split("\r\n");
  const m = /^HTTP\/1\.1 (\d{3}) [A-Za-z ]+$/.exec(status!);
  if (m === null) throw new Error(`bad status line ${JSON.stringify(status)}`);
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(": ");
    headers[l.slice(0, i).toLowerCase()] = l.slice(i + 2);
  }
  const body = raw.subarray(Buffer.byteLength(text.slice(0, end + 4), "latin1")).toString("utf8");
  return { status: Number(m[1]), headers, body, raw };
}

async function http(port: number, req: string | Buffer, opts: { chunk?: number; halfClose?: boolean } = {}): Promise<Http> {
  return parseHttp(await exchange(port, typeof req === "string" ? Buffer.from(req) : req, { ...opts, timeoutMs: 20_000 }));
}

/** GET /metrics: a 200 whose Content-Length is the body's, in the 0.0.4 text format. */
async function scrape(port: number): Promise<string> {
  const r = await http(port, "GET /metrics HTTP/1.1\r\nHost: proxy\r\nAccept: text/plain\r\n\r\n");
  expect(r.status).toBe(200);
  expect(r.headers["content-type"]).toBe("text/plain; version=0.0.4; charset=utf-8");
  expect(Number(r.headers["content-length"])).toBe(Buffer.byteLength(r.body));
  expect(r.headers.connection).toBe("close");
  return r.body;
}

/** promtool (Debian package prometheus) reads the text as Prometheus does, and lints names. */
function promtool(text: string): void {
  const r = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
  if (r.error) throw new Error(`promtool did not run (apt-get install -y --no-install-recommends prometheus): ${r.error.message}`);
  expect(`${r.stdout}${r.stderr}`, "promtool check metrics").toBe("");
  expect(r.status).toBe(0);
}

/** A redis server's call counts by command, from INFO commandstats. */
async function redisCalls(port: number): Promise<Record<string, number>> {
  const out = (await exchange(port, Buffer.concat([resp("INFO", "commandstats"), resp("QUIT")]))).toString();
  const calls: Record<string, number> = {};
  for (const m of out.matchAll(/^cmdstat_([a-z|]+):calls=(\d+),/gm)) calls[m[1]!] = Number(m[2]);
  return calls;
}

async function memcachedStats(port: number): Promise<Record<string, number>> {
  const out = (await exchange(port, Buffer.from("stats\r\nquit\r\n"))).toString();
  const st: Record<string, number> = {};
  for (const m of out.matchAll(/^STAT (\w+) (\d+)\r$/gm)) st[m[1]!] = Number(m[2]);
  return st;
}

let r1: Backend;
let r2: Backend;
let mc: Backend;
interface System {
  rt: Target;
  proxy: Running;
  redis: number;
  memcache: number;
  metrics: number;
  /** A connection opened at start that never sends: when it was opened, what it got and when it closed. */
  idle: { opened: number; closed: Promise<{ bytes: number; at: number }> };
}
const systems: System[] = [];

function conf(redis: number, memcache: number): string {
  // YAML double-quoted: \" and \\ and \n become the odd characters of S1, S2 and MCPOOL
  return writeConf(`red:
  listen: 127.0.0.1:${redis}
  redis: true
  servers:
   - "127.0.0.1:${r1.port}:1 we\\"ird\\\\name"
   - "127.0.0.1:${r2.port}:1 new\\nline"
"m\\"c\\\\pool\\nx":
  listen: 127.0.0.1:${memcache}
  servers:
   - 127.0.0.1:${mc.port}:1
`);
}

beforeAll(async () => {
  [r1, r2, mc] = await Promise.all([startRedis(), startRedis(), startMemcached()]);
  for (const rt of ["node", "bun", "deno"] as Target[]) {
    const [redis, memcache, stats, metrics] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const args = ["-c", conf(redis, memcache), "-s", String(stats), "-a", "127.0.0.1", `--metrics-port=${metrics}`, "--metrics-addr", "127.0.0.1"];
    // the metrics listener starts last: once it answers, the pools listen too
    const proxy = await startProxy(rt, args, metrics);
    const opened = Date.now();
    const closed = exchange(metrics, Buffer.alloc(0), { timeoutMs: 60_000 }).then((b) => ({ bytes: b.length, at: Date.now() }));
    systems.push({ rt, proxy, redis, memcache, metrics, idle: { opened, closed } });
  }
});

afterAll(async () => {
  await Promise.all(systems.map((s) => s.proxy.stop()));
  await Promise.all([r1, r2, mc].filter(Boolean).map((b) => b.stop()));
});

const N_GET = 40;
const N_SET = 25;
const N_MGET = 6;
const MC_GET = 17;
const MC_SET = 9;

describe.each(["node", "bun", "deno"] as Target[])("metrics port on %s", (rt) => {
  it("a scrape after a known load parses strictly and counts what was sent, as the backends saw it", async () => {
    const s = systems.find((x) => x.rt === rt)!;
    // the backends are shared by the three proxies, which run one after the other: zero their counts
    for (const b of [r1, r2]) expect((await request(b.port, resp("CONFIG", "RESETSTAT"), 5)).toString()).toBe("+OK\r\n");
    expect((await request(mc.port, Buffer.from("stats reset\r\n"), 7)).toString()).toBe("RESET\r\n");

    const redisLoad = Buffer.concat([
      ...Array.from({ length: N_SET }, (_, i) => resp("SET", `mk:${i}`, `v${i}`)),
      ...Array.from({ length: N_GET }, (_, i) => resp("GET", `mk:${i % N_SET}`)),
      ...Array.from({ length: N_MGET }, (_, i) => resp("MGET", ...Array.from({ length: 5 }, (_, j) => `mk:${i + j}`))),
      resp("QUIT"),
    ]);
    const redisOut = (await exchange(s.redis, redisLoad)).toString();
    expect(redisOut.match(/\+OK\r\n/g)?.length).toBe(N_SET);
    const mcLoad =
      Array.from({ length: MC_SET }, (_, i) => `set mm${i} 0 0 2\r\nv${i % 10}\r\n`).join("") +
      Array.from({ length: MC_GET }, (_, i) => `get mm${i % MC_SET}\r\n`).join("") +
      "quit\r\n";
    const mcOut = (await exchange(s.memcache, Buffer.from(mcLoad))).toString();
    expect(mcOut.match(/^END\r$/gm)?.length).toBe(MC_GET);

    const text = await scrape(s.metrics);
    const fam = parsePrometheus(text);
    promtool(text);

    // every family is ours, declared, and has a HELP
    for (const f of fam.values()) {
      expect(f.name).toMatch(/^nutcracker_/);
      expect(f.help, f.name).not.toBeNull();
    }
    const type = (n: string): string | undefined => fam.get(n)?.type;
    expect(type("nutcracker_server_requests_total")).toBe("counter");
    expect(type("nutcracker_server_in_queue")).toBe("gauge");
    expect(type("nutcracker_request_duration_seconds")).toBe("histogram");
    expect(type("nutcracker_commands_total")).toBe("counter");
    expect(sampleValue(fam, "nutcracker_info", { runtime: rt, version: "0.5.0" })).toBe(1);
    expect(sampleValue(fam, "nutcracker_uptime_seconds")).toBeGreaterThanOrEqual(0);
    expect(sampleValue(fam, "nutcracker_curr_connections")).toBeGreaterThanOrEqual(2); // the two listeners

    // per-command counts: exactly the commands sent, and only those
    const cmds = (pool: string) =>
      Object.fromEntries(samples(fam, "nutcracker_commands_total", { pool }).map((x) => [x.labels.command, x.value]));
    expect(cmds("red")).toEqual({ get: N_GET, set: N_SET, mget: N_MGET, quit: 1 });
    expect(cmds(MCPOOL)).toEqual({ get: MC_GET, set: MC_SET, quit: 1 });

    // server requests and responses as each backend counted them
    let sent = 0;
    for (const [name, b] of [[S1, r1], [S2, r2]] as const) {
      const calls = await redisCalls(b.port);
      const backend = (calls.get ?? 0) + (calls.set ?? 0) + (calls.mget ?? 0);
      const reqs = sampleValue(fam, "nutcracker_server_requests_total", { pool: "red", server: name });
      expect(reqs, name).toBe(backend);
      expect(sampleValue(fam, "nutcracker_server_responses_total", { pool: "red", server: name }), name).toBe(reqs);
      sent += reqs;
    }
    // MGETs of 5 keys over two servers: at least one request each, at most one per server
    expect(sent).toBeGreaterThanOrEqual(N_GET + N_SET + N_MGET);
    expect(sent).toBeLessThanOrEqual(N_GET + N_SET + 2 * N_MGET);
    const st = await memcachedStats(mc.port);
    expect(st.cmd_get).toBe(MC_GET);
    expect(st.cmd_set).toBe(MC_SET);
    expect(sampleValue(fam, "nutcracker_server_requests_total", { pool: MCPOOL })).toBe(MC_GET + MC_SET);

    // one latency per reply written (QUIT has none), all well under 16 s
    const h = "nutcracker_request_duration_seconds";
    for (const [pool, replies] of [["red", N_GET + N_SET + N_MGET], [MCPOOL, MC_GET + MC_SET]] as const) {
      expect(sampleValue(fam, `${h}_count`, { pool }), pool).toBe(replies);
      expect(sampleValue(fam, `${h}_bucket`, { pool, le: "+Inf" })).toBe(replies);
      expect(sampleValue(fam, `${h}_bucket`, { pool, le: "16.777216" })).toBe(replies);
      expect(sampleValue(fam, `${h}_sum`, { pool })).toBeGreaterThan(0);
      const les = samples(fam, `${h}_bucket`, { pool }).map((x) => x.labels.le);
      expect(les[0]).toBe("0.000016");
      expect(les).toHaveLength(22);
    }

    // label values escaped in the text, and back to the names after parsing
    expect(text).toContain('server="we\\"ird\\\\name"');
    expect(text).toContain('server="new\\nline"');
    expect(text).toContain('pool="m\\"c\\\\pool\\nx"');
    const servers = new Set(samples(fam, "nutcracker_server_connections").map((x) => x.labels.server));
    expect(servers).toEqual(new Set([S1, S2, `127.0.0.1:${mc.port}`]));
  });
});

describe.each(["node", "bun", "deno"] as Target[])("metrics port HTTP on %s", (rt) => {
  const sys = () => systems.find((x) => x.rt === rt)!;
  const port = () => sys().metrics;

  it("answers a request sent one byte at a time, HEAD, and a query string", async () => {
    const slow = await http(port(), "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", { chunk: 1 });
    expect(slow.status).toBe(200);
    parsePrometheus(slow.body);
    const head = await http(port(), "HEAD /metrics HTTP/1.1\r\n\r\n");
    expect(head.status).toBe(200);
    expect(Number(head.headers["content-length"])).toBeGreaterThan(1000);
    expect(head.body).toBe("");
    const q = await http(port(), "GET /metrics?name[]=x HTTP/1.0\n\n");
    expect(q.status).toBe(200);
  });

  it("gives 404, 405, 400 and 431 to what it does not serve, and keeps serving", async () => {
    const cases: [string | Buffer, number][] = [
      ["GET / HTTP/1.1\r\n\r\n", 404],
      ["GET /metricsx HTTP/1.1\r\n\r\n", 404],
      ["POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", 405],
      ["GET /metrics\r\n\r\n", 400], // HTTP/0.9
      ["GET  /metrics HTTP/1.1\r\n\r\n", 400],
      ["PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400],
      [Buffer.from([0, 1, 2, 255, 254, 10, 13, 10, 0x80, 0x22]), 400],
      [`GET /metrics HTTP/1.1\r\nX: ${"a".repeat(20_000)}\r\n\r\n`, 431],
      [Buffer.alloc(1 << 20, 0x41), 431], // a megabyte without a newline
    ];
    for (const [req, status] of cases) {
      const r = await http(port(), req);
      expect(r.status, JSON.stringify(req.toString().slice(0, 40))).toBe(status);
      expect(Number(r.headers["content-length"])).toBe(Buffer.byteLength(r.body));
      if (status === 405) expect(r.headers.allow).toBe("GET, HEAD");
    }
    // a head cut short by the client's FIN is dropped without a reply
    const cut = await exchange(port(), Buffer.from("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"), { halfClose: true, timeoutMs: 5000 });
    expect(cut.length).toBe(0);
    // fifty scrapes at once
    const many = await Promise.all(Array.from({ length: 50 }, () => scrape(port())));
    for (const t of many) parsePrometheus(t);
    // the proxy itself never noticed
    expect((await request(sys().redis, resp("PING"), 7)).toString()).toBe("+PONG\r\n");
    expect(sys().proxy.proc.exitCode).toBeNull();
  });

  it("drops a connection that sends no head within 5 s", async () => {
    const { opened, closed } = sys().idle;
    const { bytes, at } = await closed;
    expect(bytes).toBe(0);
    expect(at - opened).toBeGreaterThan(4_000);
    expect(at - opened).toBeLessThan(12_000);
  });
});

describe("metrics flags", () => {
  it("parseCli() takes --metrics-port and --metrics-addr, and nutcracker's abbreviations keep their meaning", () => {
    const ok = (...a: string[]) => {
      const r = parseCli(a);
      if (!r.ok) throw new Error(r.error);
      return r.opts;
    };
    const err = (...a: string[]) => {
      const r = parseCli(a);
      return r.ok ? "" : r.error;
    };
    expect(ok()).toMatchObject({ metricsPort: null, metricsAddr: "0.0.0.0" });
    expect(ok("--metrics-port=9100", "--metrics-addr", "::1")).toMatchObject({ metricsPort: 9100, metricsAddr: "::1" });
    expect(ok("--metrics-p", "9101", "--metrics-a=127.0.0.1")).toMatchObject({ metricsPort: 9101, metricsAddr: "127.0.0.1" });
    expect(ok("--m=1024")).toMatchObject({ mbufSize: 1024, metricsPort: null }); // still --mbuf-size, as in nutcracker
    expect(err("--metrics=1")).toBe("invalid option -- '--metrics=1'");
    expect(err("--metrics-port=0")).toBe("option --metrics-port value 0 is not a valid port");
    expect(err("--metrics-port=x")).toBe("option --metrics-port requires a number");
    expect(err("--metrics-port")).toBe("option --metrics-port requires a number");
    expect(usageText()).not.toContain("metrics");
  });

  it("a metrics port in use is logged and the proxy serves on", async () => {
    const busy = createServer();
    const taken = await freePort();
    await new Promise<void>((r) => busy.listen(taken, "127.0.0.1", () => r()));
    const redis = await freePort();
    const memcache = await freePort();
    const p = await startProxy("node", ["-c", conf(redis, memcache), "-s", String(await freePort()), `--metrics-port=${taken}`, "--metrics-addr=127.0.0.1"], redis);
    try {
      const end = Date.now() + 10_000;
      while (!p.stderr().includes("metrics listen on") && Date.now() < end) await sleep(50);
      expect(p.stderr()).toContain(`metrics listen on '127.0.0.1:${taken}' failed: EADDRINUSE`);
      expect((await request(redis, resp("PING"), 7)).toString()).toBe("+PONG\r\n");
    } finally {
      await p.stop();
      busy.close();
    }
  });

  it("-d passes the metrics flags to the daemon", async () => {
    const dir = mkdtempSync(join(tmpdir(), "nc-metrics-d-"));
    const pidFile = join(dir, "nc.pid");
    const [redis, memcache, metrics] = [await freePort(), await freePort(), await freePort()];
    const [cmd, ...rest] = TARGETS.node(["-d", "-c", conf(redis, memcache), "-s", String(await freePort()), "-p", pidFile, "-o", join(dir, "nc.log"), `--metrics-port=${metrics}`, "--metrics-addr=127.0.0.1"]);
    const r = spawnSync(cmd!, rest, { cwd: ROOT, encoding: "utf8", timeout: 15_000 });
    expect(r.status).toBe(0);
    const end = Date.now() + 10_000;
    while (!existsSync(pidFile) && Date.now() < end) await sleep(50);
    const pid = Number(readFileSync(pidFile, "utf8").trim());
    try {
      await waitForPort("127.0.0.1", metrics, 10_000);
      parsePrometheus(await scrape(metrics));
    } finally {
      process.kill(pid, "SIGTERM");
    }
  });
});

describe("parsePrometheus() is strict", () => {
  const ok = "# HELP a_total x\n# TYPE a_total counter\na_total{l=\"v\"} 1\n";
  const hist = (b: string) => `# TYPE h histogram\n${b}h_sum 1\nh_count 3\n`;
  it.each([
    ["no final newline", ok.slice(0, -1)],
    ["undeclared family", "a 1\n"],
    ["bad value", "# TYPE a gauge\na one\n"],
    ["bad escape", '# TYPE a gauge\na{l="\\t"} 1\n'],
    ["unterminated label", '# TYPE a gauge\na{l="v} 1\n'],
    ["trailing comma", '# TYPE a gauge\na{l="v",} 1\n'],
    ["repeated series", '# TYPE a gauge\na{l="v"} 1\na{l="v"} 2\n'],
    ["family split", "# TYPE a gauge\n# TYPE b gauge\na 1\nb 1\na{x=\"1\"} 2\n"],
    ["second TYPE", "# TYPE a gauge\n# TYPE a counter\n"],
    ["negative counter", "# TYPE a_total counter\na_total -1\n"],
    ["two spaces", "# TYPE a gauge\na  1\n"],
    ["bucket decreasing", hist('h_bucket{le="1"} 2\nh_bucket{le="2"} 1\nh_bucket{le="+Inf"} 3\n')],
    ["no +Inf", hist('h_bucket{le="1"} 2\nh_bucket{le="2"} 3\n')],
    ["+Inf != count", hist('h_bucket{le="1"} 2\nh_bucket{le="+Inf"} 2\n')],
    ["le not rising", hist('h_bucket{le="2"} 2\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 3\n')],
  ])("rejects %s", (_, text) => {
    expect(() => parsePrometheus(text)).toThrow();
  });
  it("accepts a valid text and unescapes labels", () => {
    const f: Map<string, PromFamily> = parsePrometheus(`${ok}# TYPE g gauge\ng{a="q\\"b\\\\c\\nd"} -2.5e-3\n${hist('h_bucket{le="1"} 2\nh_bucket{le="+Inf"} 3\n')}`);
    expect(sampleValue(f, "a_total", { l: "v" })).toBe(1);
    expect(samples(f, "g")[0]!.labels.a).toBe('q"b\\c\nd');
    expect(sampleValue(f, "g")).toBe(-0.0025);
    expect(f.get("h")!.samples).toHaveLength(4);
  });
});
