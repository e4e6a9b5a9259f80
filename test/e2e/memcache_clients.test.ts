// Real memcache clients through the proxy: the npm `memcached` client and Python's pymemcache,
// over a ketama pool of three real memcached; and a multi-get whose keys span a dead and a live
// server, checked byte by byte on a raw socket.

import { spawn } from "node:child_process";
import { connect } from "node:net";
import { join } from "node:path";
import Memcached from "memcached";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exchange } from "../helpers/client.ts";
import { ROOT, type Running, startProxy, writeConf } from "../helpers/proxy.ts";
import { type Backend, startMemcached } from "../helpers/real_backends.ts";
import { freePort } from "../helpers/runtimes.ts";

// Debian's python has pymemcache; the python3 on PATH may not
const PYTHON = "/usr/bin/python3";
const PY_CHECK = join(ROOT, "test", "fixtures", "pymemcache_check.py");

let backends: Backend[] = [];
let proxy: Running;
// md5, not twemproxy's default fnv1a_64: that one keeps only the low 32 bits of FNV-1a 64, so keys
// that differ in their last characters hash close together and tend to land on one server
// (nutcracker 0.5.0 does the same); md5 spreads `key:0`..`key:N` over the continuum.
let port = 0; // pool "mc": the three memcached, ketama
let deadPort = 0; // pool "half": backends[0] and a port nothing listens on
let refusing = 0;

beforeAll(async () => {
  backends = await Promise.all([startMemcached(), startMemcached(), startMemcached()]);
  [port, deadPort, refusing] = [await freePort(), await freePort(), await freePort()];
  const conf = writeConf(
    `mc:\n  listen: 127.0.0.1:${port}\n  hash: md5\n  distribution: ketama\n  timeout: 3000\n  servers:\n` +
      backends.map((b) => `   - 127.0.0.1:${b.port}:1\n`).join("") +
      `half:\n  listen: 127.0.0.1:${deadPort}\n  hash: md5\n  distribution: ketama\n  timeout: 400\n  servers:\n` +
      `   - 127.0.0.1:${backends[0]!.port}:1\n   - 127.0.0.1:${refusing}:1\n`,
  );
  proxy = await startProxy("node", ["-c", conf], port);
});
afterAll(async () => {
  await proxy?.stop();
  await Promise.all(backends.map((b) => b.stop()));
});

/** Run one callback-style call of the npm client as a promise. */
function p<T>(fn: (cb: (err: unknown, v: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));
}

/** The keys among `keys` that the memcached on `backendPort` holds, read directly. */
async function heldBy(backendPort: number, keys: string[]): Promise<string[]> {
  const out = (await exchange(backendPort, Buffer.from(`get ${keys.join(" ")}\r\nquit\r\n`))).toString("latin1");
  return [...out.matchAll(/^VALUE (\S+) /gm)].map((m) => m[1]!);
}

describe("npm memcached client through the proxy", () => {
  let mc: Memcached;
  const events: string[] = [];

  beforeAll(() => {
    // The client sends nothing on its own (no stats or version on connect), only what is called.
    // Its stats()/flush()/items() would send `stats`/`flush_all`, which the proxy, like twemproxy,
    // answers by closing the connection; the client then never calls back. Not used here.
    // One server: the client does no hashing of its own and sends everything to the proxy.
    // retries 0: a dropped connection shows as an error at once instead of a 1 s back-off
    mc = new Memcached(`127.0.0.1:${port}`, { retries: 0, timeout: 3000, poolSize: 4, idle: 60_000 });
    for (const ev of ["issue", "failure", "reconnecting", "reconnect", "remove"] as const) {
      mc.on(ev, (d: unknown) => events.push(`${ev} ${JSON.stringify(d)}`));
    }
  });
  afterAll(() => {
    mc?.end();
  });

  it("set/get, add/replace/append/prepend, touch, version", async () => {
    expect(await p<boolean>((cb) => mc.set("npm:a", "hello", 0, cb))).toBe(true);
    expect(await p((cb) => mc.get("npm:a", cb))).toBe("hello");
    expect(await p((cb) => mc.get("npm:never", cb))).toBeUndefined();
    expect(await p((cb) => mc.add("npm:add", "one", 0, cb))).toBe(true);
    await expect(p((cb) => mc.add("npm:add", "two", 0, cb))).rejects.toThrow("Item is not stored");
    expect(await p((cb) => mc.replace("npm:add", "three", 0, cb))).toBe(true);
    await expect(p((cb) => mc.replace("npm:norep", "x", 0, cb))).rejects.toThrow("Item is not stored");
    expect(await p((cb) => mc.append("npm:add", "+t", cb))).toBe(true);
    expect(await p((cb) => mc.prepend("npm:add", "h+", cb))).toBe(true);
    expect(await p((cb) => mc.get("npm:add", cb))).toBe("h+three+t");
    // the typings give touch's callback no result argument; the client passes true on TOUCHED
    expect(await p((cb) => mc.touch("npm:add", 100, cb as (err: unknown) => void))).toBe(true);
    const versions = await p<{ version: string }[]>((cb) => mc.version(cb));
    expect(versions).toHaveLength(1);
    expect(versions[0]!.version).toMatch(/^1\.\d+\.\d+$/);
    expect(events).toEqual([]);
  });

  it("getMulti of 500 keys spread over the three servers", async () => {
    const keys = Array.from({ length: 500 }, (_, i) => `npm:multi:${i}`);
    const stored = await Promise.all(keys.map((k, i) => p<boolean>((cb) => mc.set(k, `value-${i}`, 0, cb))));
    expect(stored.every((s) => s === true)).toBe(true);
    const got = await p<Record<string, unknown>>((cb) => mc.getMulti([...keys, "npm:multi:absent"], cb));
    expect(Object.keys(got).sort()).toEqual([...keys].sort());
    for (const [i, k] of keys.entries()) expect(got[k]).toBe(`value-${i}`);

    // on the backends directly: each holds a share, no key twice, none missing
    const held = await Promise.all(backends.map((b) => heldBy(b.port, keys)));
    for (const h of held) expect(h.length, held.map((x) => x.length).join(" ")).toBeGreaterThan(50);
    expect(held.flat().sort()).toEqual([...keys].sort());
    expect(events).toEqual([]);
  });

  it("incr/decr and delete", async () => {
    expect(await p((cb) => mc.set("npm:ctr", "10", 0, cb))).toBe(true);
    expect(await p((cb) => mc.incr("npm:ctr", 5, cb))).toBe(15);
    expect(await p((cb) => mc.decr("npm:ctr", 3, cb))).toBe(12);
    expect(await p((cb) => mc.decr("npm:ctr", 100, cb))).toBe(0); // memcached stops at 0
    expect(await p((cb) => mc.incr("npm:noctr", 1, cb))).toBe(false); // NOT_FOUND
    expect(await p((cb) => mc.del("npm:ctr", cb))).toBe(true);
    expect(await p((cb) => mc.get("npm:ctr", cb))).toBeUndefined();
    expect(await p((cb) => mc.del("npm:ctr", cb))).toBe(false); // NOT_FOUND
    expect(events).toEqual([]);
  });

  it("gets + cas: one that wins, one that conflicts", async () => {
    expect(await p((cb) => mc.set("npm:cas", "v1", 0, cb))).toBe(true);
    const g = await p<{ [k: string]: string; cas: string }>((cb) => mc.gets("npm:cas", cb));
    expect(g["npm:cas"]).toBe("v1");
    expect(g.cas).toMatch(/^\d+$/);
    expect(await p((cb) => mc.cas("npm:cas", "v2", g.cas, 0, cb))).toBe(true);
    expect(await p((cb) => mc.cas("npm:cas", "v3", g.cas, 0, cb))).toBe(false); // EXISTS
    expect(await p((cb) => mc.get("npm:cas", cb))).toBe("v2");
    const g2 = await p<{ [k: string]: string; cas: string }>((cb) => mc.gets("npm:cas", cb));
    expect(g2["npm:cas"]).toBe("v2");
    expect(g2.cas).not.toBe(g.cas);
    expect(events).toEqual([]);
  });

  it("a 500 KB value", async () => {
    const big = Array.from({ length: 500 * 1024 }, (_, i) => String.fromCharCode(33 + ((i * 31) % 94))).join("");
    expect(await p((cb) => mc.set("npm:big", big, 0, cb))).toBe(true);
    expect(await p((cb) => mc.get("npm:big", cb))).toBe(big);
    // and it is stored whole on one backend
    const where = await Promise.all(backends.map((b) => heldBy(b.port, ["npm:big"])));
    expect(where.flat()).toEqual(["npm:big"]);
    expect(events).toEqual([]);
  });

  it("values with spaces, protocol words, line breaks, UTF-8, empty; JSON and Buffer values", async () => {
    const values: Record<string, unknown> = {
      "npm:s:spaces": "  with  spaces\tand tabs  ",
      "npm:s:words": "END VALUE x 0 1 STORED",
      "npm:s:crlf": "line one\r\nEND\r\nline three\n", // the client escapes CR and LF with a backslash
      "npm:s:utf8": "héllo wörld ✓ 🎉 日本語",
      "npm:s:empty": "",
      "npm:s:json": { a: [1, 2, "three"], b: null },
      "npm:s:num": 12345,
      "npm:s:buf": Buffer.from(Array.from({ length: 256 }, (_, i) => i)), // flag 4: sent as latin-1 text in UTF-8
    };
    for (const [k, v] of Object.entries(values)) expect(await p((cb) => mc.set(k, v, 0, cb))).toBe(true);
    for (const [k, v] of Object.entries(values)) expect(await p((cb) => mc.get(k, cb))).toEqual(v);
    const all = await p<Record<string, unknown>>((cb) => mc.getMulti(Object.keys(values), cb));
    expect(all).toEqual(values);
    expect(events).toEqual([]);
  });
});

describe("pymemcache through the proxy", () => {
  it("a default_noreply=False client and a default (noreply) client", async () => {
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(PYTHON, [PY_CHECK, String(port), "py"], { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      let err = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.stderr.on("data", (d: Buffer) => (err += d.toString()));
      child.on("close", (c) => resolve({ code: c, stdout: out, stderr: err }));
    });
    expect(code, stderr).toBe(0);
    const res = JSON.parse(stdout) as Record<"reply" | "noreply", Record<string, unknown>>;
    for (const mode of ["reply", "noreply"] as const) {
      const r = { ...res[mode] };
      const pre = `py:${mode}:`;
      const many = r.get_many as Record<string, string>;
      delete r.get_many;
      expect(Object.keys(many)).toHaveLength(200);
      for (let i = 0; i < 200; i++) expect(many[`${pre}many:${i}`]).toBe(`v${i}`);
      const noreply = mode === "noreply";
      expect(r, mode).toEqual({
        default_noreply: noreply,
        set: true,
        get: "alpha",
        get_missing: null,
        set_many_failed: [],
        set_counter: true,
        incr: 15,
        decr: 12,
        decr_below_zero: 0,
        incr_missing: null,
        get_counter: "0 ", // memcached keeps the length of a shrunk number, padding with spaces
        delete: true,
        get_deleted: null,
        delete_missing: !noreply ? false : true, // noreply: the client cannot know
        set_cas: true,
        gets: ["v1", true],
        cas_ok: true,
        cas_stale: false,
        cas_missing: null,
        get_after_cas: "v2",
        gets_many: [`${pre}cas`, `${pre}many:0`],
        add_new: true,
        add_existing: noreply, // noreply: reported stored, but...
        get_add: "first", // ...the value stays
        replace_existing: true,
        replace_missing: noreply,
        get_replaced: "third",
        get_not_replaced: null,
        append: true,
        prepend: true,
        get_appended: "head+third+tail",
        set_binary: true,
        get_binary_ok: true,
        set_big: true,
        get_big_ok: true,
        // over memcached's 1 MB item limit: an error with a reply, silence with noreply
        set_too_large: noreply ? true : "<MemcacheServerError> b'object too large for cache'",
        get_too_large: null,
        delete_many: true,
        pipe_count: 990,
        pipe_ok: true,
        pipe_deleted: [],
        flips_ok: true,
        version: true,
      });
    }
  });
});

/** Write `data` on a fresh connection and collect every byte until the proxy closes it. */
function untilClosed(port: number, data: string, timeoutMs = 5000): Promise<{ bytes: string; closedByPeer: boolean }> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: "127.0.0.1", port }, () => sock.write(data));
    let got = "";
    const timer = setTimeout(() => {
      sock.destroy();
      resolve({ bytes: got, closedByPeer: false });
    }, timeoutMs);
    sock.on("data", (d: Buffer) => (got += d.toString("latin1")));
    sock.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.on("end", () => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ bytes: got, closedByPeer: true });
    });
  });
}

describe("a multi-get over a dead and a live server", () => {
  const keys = Array.from({ length: 40 }, (_, i) => `span:${i}`);
  let live: string[] = [];
  let dead: string[] = [];

  beforeAll(async () => {
    // the live server of pool "half" holds every key; the other one refuses connections
    await exchange(backends[0]!.port, Buffer.from(keys.map((k) => `set ${k} 0 0 2\r\nok\r\n`).join("") + "quit\r\n"));
    // which keys the pool routes where: a single get finds the live ones
    const single = await Promise.all(keys.map((k) => untilClosed(deadPort, `get ${k}\r\nquit\r\n`)));
    live = keys.filter((k, i) => single[i]!.bytes === `VALUE ${k} 0 2\r\nok\r\nEND\r\n`);
    dead = keys.filter((_, i) => single[i]!.bytes === "SERVER_ERROR Connection refused\r\n");
    expect(live.length + dead.length, JSON.stringify(single)).toBe(keys.length);
    expect(live.length).toBeGreaterThan(1);
    expect(dead.length).toBeGreaterThan(1);
  });

  it("answers SERVER_ERROR <reason> and closes the client", async () => {
    // all live: a normal merged reply, in key order
    const ok = await untilClosed(deadPort, `get ${live.join(" ")}\r\nquit\r\n`);
    expect(ok.bytes).toBe(live.map((k) => `VALUE ${k} 0 2\r\nok\r\n`).join("") + "END\r\n");

    // spanning both: one SERVER_ERROR line, no VALUE, and the proxy closes the connection
    // without being asked to (no quit, no half-close from us)
    const t0 = Date.now();
    const span = await untilClosed(deadPort, `get ${keys.join(" ")}\r\n`);
    expect(span).toEqual({ bytes: "SERVER_ERROR Connection refused\r\n", closedByPeer: true });
    expect(Date.now() - t0).toBeLessThan(3000);

    // gets too, with the dead key last
    const spanGets = await untilClosed(deadPort, `gets ${live[0]} ${dead[0]}\r\n`);
    expect(spanGets).toEqual({ bytes: "SERVER_ERROR Connection refused\r\n", closedByPeer: true });

    // a pipelined request after the failed one is not answered: the close comes first
    // (nutcracker 0.5.0 races here and answers none, some or all of them before closing)
    const piped = await untilClosed(deadPort, `get ${dead[0]} ${live[0]}\r\nget ${live[1]}\r\n`);
    expect(piped).toEqual({ bytes: "SERVER_ERROR Connection refused\r\n", closedByPeer: true });

    // and the pool still serves its live server afterwards
    expect(await untilClosed(deadPort, `get ${live[0]}\r\nquit\r\n`)).toEqual({
      bytes: `VALUE ${live[0]} 0 2\r\nok\r\nEND\r\n`,
      closedByPeer: true,
    });
  });

  it("a single-key get refused at connect keeps the client, as in nutcracker 0.5.0", async () => {
    const r = await untilClosed(deadPort, `get ${dead[0]}\r\nget ${live[0]}\r\nquit\r\n`);
    expect(r).toEqual({ bytes: `SERVER_ERROR Connection refused\r\nVALUE ${live[0]} 0 2\r\nok\r\nEND\r\n`, closedByPeer: true });
  });

  // nutcracker 0.5.0 splits every multi-key get, even into one part when all keys land on one
  // server, so a refused connect there closes the client as it does for a split get
  it("a multi-key get whose keys all sit on the refusing server closes the client", async () => {
    const r = await untilClosed(deadPort, `get ${dead[0]} ${dead[1]}\r\nget ${live[0]}\r\n`, 1500);
    expect(r).toEqual({ bytes: "SERVER_ERROR Connection refused\r\n", closedByPeer: true });
  });
});
