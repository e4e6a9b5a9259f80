// Tests for parseConf: defaults, key handling, server order, and every rejection with code, line and key.

import { describe, expect, it } from "vitest";
import { ConfError } from "./errors.ts";
import type { ConfErrorCode } from "./errors.ts";
import { CONF_KEYS, parseConf } from "./parse.ts";

const FILE = "conf/test.yml";

/** A one-pool file: `extra` lines go between listen (line 2) and servers. */
function pool(extra = "", servers = "   - 127.0.0.1:6379:1\n"): string {
  return `alpha:\n  listen: 127.0.0.1:22121\n${extra}  servers:\n${servers}`;
}

function rejects(text: string): ConfError {
  try {
    parseConf(text, FILE);
  } catch (e) {
    if (e instanceof ConfError) return e;
    throw e;
  }
  throw new Error("parseConf accepted the text");
}

describe("parseConf() defaults", () => {
  it("parseConf() fills in twemproxy's CONF_DEFAULT_* values", () => {
    const [p] = parseConf(pool(), FILE);
    expect(p).toMatchObject({
      name: "alpha",
      hash: "fnv1a_64",
      hash_tag: null,
      distribution: "ketama",
      timeout: -1,
      backlog: 512,
      client_connections: 0,
      redis: false,
      redis_auth: null,
      redis_db: 0,
      preconnect: false,
      auto_eject_hosts: false,
      server_connections: 1,
      server_retry_timeout: 30000,
      server_failure_limit: 2,
      tcpkeepalive: false,
      reuseport: false,
    });
  });

  it("parseConf() knows exactly twemproxy's keys plus reuseport and our extensions", () => {
    expect(Object.keys(CONF_KEYS).sort()).toEqual(
      [
        "listen", "hash", "hash_tag", "distribution", "timeout", "backlog", "client_connections", "redis",
        "redis_auth", "redis_db", "preconnect", "server_connections", "auto_eject_hosts", "server_retry_timeout",
        "server_failure_limit", "tcpkeepalive", "reuseport", "servers",
        // ours
        "error_replies", "max_queued_bytes", "health_check", "fail_fast",
        "sentinels", "sentinel_interval", "replicas", "read_from", "reload_grace", "pinned_connections", "redis_cluster", "cluster_refresh", "tls", "tls_ca_file", "tls_cert_file", "tls_key_file", "tls_server_name",
        "tls_verify", "listen_tls_cert_file", "listen_tls_key_file", "listen_tls_ca_file",
      ].sort(),
    );
  });

  it("parseConf() reads every key", () => {
    const [p] = parseConf(
      pool(
        '  hash: murmur\n  hash_tag: "{}"\n  distribution: random\n  timeout: 400\n  backlog: 1024\n' +
          "  redis: true\n  redis_auth: s3cret\n  redis_db: 3\n  preconnect: true\n  server_connections: 4\n" +
          "  auto_eject_hosts: true\n  server_retry_timeout: 2000\n  server_failure_limit: 5\n" +
          "  tcpkeepalive: true\n  reuseport: true\n",
      ),
      FILE,
    );
    expect(p).toMatchObject({
      hash: "murmur",
      hash_tag: new Uint8Array([0x7b, 0x7d]),
      distribution: "random",
      timeout: 400,
      backlog: 1024,
      redis: true,
      redis_auth: "s3cret",
      redis_db: 3,
      preconnect: true,
      server_connections: 4,
      auto_eject_hosts: true,
      server_retry_timeout: 2000,
      server_failure_limit: 5,
      tcpkeepalive: true,
      reuseport: true,
    });
  });

  it("parseConf() keeps client_connections (twemproxy resets it to 0; we enforce it)", () => {
    expect(parseConf(pool("  client_connections: 10\n"), FILE)[0]!.client_connections).toBe(10);
  });

  it("parseConf() reads numbers with nc_atoi: leading zeros are decimal, quotes are fine", () => {
    expect(parseConf(pool("  timeout: 0400\n"), FILE)[0]!.timeout).toBe(400);
    expect(parseConf(pool('  timeout: "7"\n'), FILE)[0]!.timeout).toBe(7);
    expect(parseConf(pool("  timeout: 0\n"), FILE)[0]!.timeout).toBe(0);
  });

  it('parseConf() takes a quoted "true" as a boolean', () => {
    expect(parseConf(pool('  redis: "true"\n'), FILE)[0]!.redis).toBe(true);
  });

  it("parseConf() counts hash_tag in UTF-8 bytes", () => {
    expect(parseConf(pool('  hash_tag: "é"\n'), FILE)[0]!.hash_tag).toEqual(new Uint8Array([0xc3, 0xa9]));
  });

  it("parseConf() returns pools in file order", () => {
    const text = ["zeta", "a", "mid"]
      .map((n, i) => `${n}:\n  listen: 127.0.0.1:${22121 + i}\n  servers:\n   - 127.0.0.1:6379:1\n`)
      .join("");
    expect(parseConf(text, FILE).map((p) => p.name)).toEqual(["zeta", "a", "mid"]);
  });
});

describe("parseConf() listen forms", () => {
  const listen = (v: string) => parseConf(`a:\n  listen: ${v}\n  servers:\n   - 127.0.0.1:6379:1\n`, FILE)[0]!.listen;

  it("parseConf() reads host:port", () => {
    expect(listen("127.0.0.1:22121")).toEqual({
      pname: "127.0.0.1:22121",
      endpoint: { host: "127.0.0.1", port: 22121 },
      mode: null,
    });
  });

  it("parseConf() reads a bare IPv6 address, split at the last colon", () => {
    expect(listen("::1:22121").endpoint).toEqual({ host: "::1", port: 22121 });
  });

  it("parseConf() also reads [v6]:port", () => {
    expect(listen('"[::1]:22121"')).toEqual({ pname: "[::1]:22121", endpoint: { host: "::1", port: 22121 }, mode: null });
  });

  it("parseConf() reads host names", () => {
    expect(listen("localhost:22121").endpoint).toEqual({ host: "localhost", port: 22121 });
  });

  it("parseConf() reads a unix socket path with and without a mode", () => {
    expect(listen("/tmp/nc.sock")).toEqual({ pname: "/tmp/nc.sock", endpoint: { path: "/tmp/nc.sock" }, mode: null });
    expect(listen("/tmp/nc.sock 0666")).toEqual({
      pname: "/tmp/nc.sock 0666",
      endpoint: { path: "/tmp/nc.sock" },
      mode: 0o666,
    });
  });
});

describe("parseConf() servers", () => {
  const servers = (lines: string[]) =>
    parseConf(pool("", lines.map((l) => `   - ${l}\n`).join("")), FILE)[0]!.servers;

  it("parseConf() names a server by its name, else host:port, else host alone on port 11211", () => {
    const s = servers(["127.0.0.1:6379:1 alpha", "127.0.0.1:6380:2", "10.0.0.1:11211:1"]);
    expect(s.map((x) => [x.name, x.pname, x.named, x.weight])).toEqual([
      ["alpha", "127.0.0.1:6379:1", true, 1],
      ["10.0.0.1", "10.0.0.1:11211:1", false, 1],
      ["127.0.0.1:6380", "127.0.0.1:6380:2", false, 2],
    ]);
  });

  it("parseConf() names an unnamed unix socket server path + colon, as twemproxy does", () => {
    const [s] = servers(["/tmp/r.sock:3"]);
    expect(s).toMatchObject({ name: "/tmp/r.sock:", pname: "/tmp/r.sock:3", endpoint: { path: "/tmp/r.sock" }, weight: 3 });
  });

  it("parseConf() records each server's line", () => {
    expect(servers(["127.0.0.1:6379:1", "127.0.0.1:6380:1"]).map((s) => s.line)).toEqual([4, 5]);
  });

  it("parseConf() sorts servers shorter name first, then bytewise", () => {
    const s = servers(["127.0.0.1:6379:1 bb", "127.0.0.1:6380:1 a", "127.0.0.1:6381:1 ab", "127.0.0.1:6382:1 B"]);
    expect(s.map((x) => x.name)).toEqual(["B", "a", "ab", "bb"]);
  });

  it("parseConf() sorts names by UTF-8 length and bytes", () => {
    // "é" is two bytes, so it sorts after every one-byte name and before "zzz"
    const s = servers(["127.0.0.1:6379:1 é", "127.0.0.1:6380:1 z", "127.0.0.1:6381:1 zzz", "127.0.0.1:6382:1 zz"]);
    expect(s.map((x) => x.name)).toEqual(["z", "zz", "é", "zzz"]);
  });

  it("parseConf() accepts one server given as a scalar when another key is the sequence", () => {
    const [p] = parseConf("a:\n  listen:\n   - 127.0.0.1:22121\n  servers: 127.0.0.1:6379:1\n", FILE);
    expect(p!.servers.map((s) => s.name)).toEqual(["127.0.0.1:6379"]);
  });
});

describe("parseConf() rejections", () => {
  const cases: [string, string, ConfErrorCode, number | null, string | null][] = [
    // [what, text, code, line, key]
    ["invalid YAML", "a:\n  listen: x:1\n   bad: x\n", "E_CONF_YAML", 2, null],
    ["bytes that are not UTF-8", pool("  hash: m\uFFFDd5\n"), "E_CONF_YAML", 3, null],
    ["an empty file", "", "E_CONF_DOCUMENT_COUNT", null, null],
    ["two documents", `${pool()}---\n${pool()}`, "E_CONF_DOCUMENT_COUNT", null, null],
    ["a document start marker", `---\n${pool()}`, "E_CONF_DISALLOWED_TOKEN", 1, null],
    ["a document end marker", `${pool()}...\n`, "E_CONF_DISALLOWED_TOKEN", 5, null],
    ["a %YAML directive", `%YAML 1.1\n---\n${pool()}`, "E_CONF_DISALLOWED_TOKEN", 1, null],
    ["a flow sequence", "a:\n  listen: 127.0.0.1:1\n  servers: [127.0.0.1:6379:1]\n", "E_CONF_DISALLOWED_TOKEN", 3, null],
    ["a flow mapping", "a: {listen: x}\n", "E_CONF_DISALLOWED_TOKEN", 1, null],
    ["an anchor", pool("  hash: &h md5\n"), "E_CONF_DISALLOWED_TOKEN", 3, null],
    ["a tag", pool("  hash: !!str md5\n"), "E_CONF_DISALLOWED_TOKEN", 3, null],
    ["a scalar at the top", "hello\n", "E_CONF_STRUCTURE", 1, null],
    ["a sequence at the top", "- a\n", "E_CONF_STRUCTURE", 1, null],
    ["a pool that is a scalar", "a: b\n", "E_CONF_STRUCTURE", 1, null],
    ["a nested mapping", pool("  hash:\n    x: y\n"), "E_CONF_STRUCTURE", 3, "hash"],
    ["a second sequence", pool("  hash:\n   - md5\n"), "E_CONF_STRUCTURE", 5, "servers"],
    ["a sequence of sequences", pool("", "   - - 127.0.0.1:6379:1\n"), "E_CONF_STRUCTURE", 4, "servers"],
    ["a pool without servers", "a:\n  listen: 127.0.0.1:1\n", "E_CONF_MISSING_SERVERS", 1, "servers"],
    ["servers that are not a list", "a:\n  listen: 127.0.0.1:1\n  servers: 127.0.0.1:6379:1\n", "E_CONF_STRUCTURE", 1, "servers"],
    ["an empty value", pool("  hash:\n"), "E_CONF_EMPTY_VALUE", 3, "hash"],
    ["an empty pool name", "'':\n  listen: 127.0.0.1:1\n  servers:\n   - 127.0.0.1:6379:1\n", "E_CONF_EMPTY_VALUE", 1, null],
    ["an unknown key", pool("  hashes: md5\n"), "E_CONF_UNKNOWN_KEY", 3, "hashes"],
    ["a duplicate key", pool("  hash: md5\n  hash: md5\n"), "E_CONF_DUPLICATE_KEY", 4, "hash"],
    ["a duplicate listen key", pool("  listen: 127.0.0.1:2\n"), "E_CONF_DUPLICATE_KEY", 3, "listen"],
    ["an unknown hash", pool("  hash: foo\n"), "E_CONF_INVALID_HASH", 3, "hash"],
    ["a hash in capitals", pool("  hash: MD5\n"), "E_CONF_INVALID_HASH", 3, "hash"],
    ["an unknown distribution", pool("  distribution: foo\n"), "E_CONF_INVALID_DISTRIBUTION", 3, "distribution"],
    ["a one-character hash_tag", pool('  hash_tag: "{"\n'), "E_CONF_INVALID_HASH_TAG", 3, "hash_tag"],
    ["a three-character hash_tag", pool('  hash_tag: "{}}"\n'), "E_CONF_INVALID_HASH_TAG", 3, "hash_tag"],
    ["a word for a number", pool("  timeout: abc\n"), "E_CONF_NOT_A_NUMBER", 3, "timeout"],
    ["a negative number", pool("  timeout: -1\n"), "E_CONF_NOT_A_NUMBER", 3, "timeout"],
    ["a float", pool("  backlog: 1.5\n"), "E_CONF_NOT_A_NUMBER", 3, "backlog"],
    ["a number above 2^31-1", pool("  timeout: 4294967297\n"), "E_CONF_NOT_A_NUMBER", 3, "timeout"],
    ["True", pool("  redis: True\n"), "E_CONF_NOT_A_BOOLEAN", 3, "redis"],
    ["yes", pool("  preconnect: yes\n"), "E_CONF_NOT_A_BOOLEAN", 3, "preconnect"],
    ["listen without a port", "a:\n  listen: 127.0.0.1\n  servers:\n   - 127.0.0.1:6379:1\n", "E_CONF_INVALID_LISTEN", 2, "listen"],
    ["listen on port 0", "a:\n  listen: 127.0.0.1:0\n  servers:\n   - 127.0.0.1:6379:1\n", "E_CONF_INVALID_LISTEN", 2, "listen"],
    ["a bad unix mode", "a:\n  listen: /tmp/s 1000\n  servers:\n   - 127.0.0.1:6379:1\n", "E_CONF_INVALID_LISTEN", 2, "listen"],
    ["a server without weight", pool("", "   - 127.0.0.1:6379\n"), "E_CONF_INVALID_SERVER", 4, "servers"],
    ["a server with a bad port", pool("", "   - 127.0.0.1:0:1\n"), "E_CONF_INVALID_SERVER", 4, "servers"],
    ["a zero weight", pool("", "   - 127.0.0.1:6379:1\n   - 127.0.0.1:6380:0\n"), "E_CONF_ZERO_WEIGHT", 5, "servers"],
    ["a pool without listen", "a:\n  hash: md5\n  servers:\n   - 127.0.0.1:6379:1\n", "E_CONF_MISSING_LISTEN", 1, "listen"],
    ["listen as the only list", "a:\n  listen:\n   - 127.0.0.1:1\n", "E_CONF_MISSING_SERVERS", 1, "servers"],
    ["server_connections: 0", pool("  server_connections: 0\n"), "E_CONF_ZERO_SERVER_CONNECTIONS", 1, "server_connections"],
    ["redis_auth on memcache", pool("  redis_auth: pw\n"), "E_CONF_REDIS_AUTH_NOT_REDIS", 1, "redis_auth"],
    ["two servers with one name", pool("", "   - 127.0.0.1:6379:1 x\n   - 127.0.0.1:6380:1 x\n"), "E_CONF_DUPLICATE_SERVER", 5, "servers"],
    ["two servers at one address", pool("", "   - 127.0.0.1:6379:1\n   - 127.0.0.1:6379:2\n"), "E_CONF_DUPLICATE_SERVER", 5, "servers"],
    [
      "two pools on one listen",
      `${pool()}beta:\n  listen: 127.0.0.1:22121\n  servers:\n   - 127.0.0.1:6379:1\n`,
      "E_CONF_DUPLICATE_LISTEN",
      6,
      "listen",
    ],
    [
      "two pools with one name",
      `${pool()}alpha:\n  listen: 127.0.0.1:22122\n  servers:\n   - 127.0.0.1:6379:1\n`,
      "E_CONF_DUPLICATE_POOL",
      5,
      null,
    ],
  ];

  for (const [what, text, code, line, key] of cases) {
    it(`parseConf() rejects ${what} with ${code}`, () => {
      const e = rejects(text);
      expect({ code: e.code, line: e.line, key: e.key, file: e.file }).toEqual({ code, line, key, file: FILE });
    });
  }

  it("parseConf() reports structure errors before value errors, as twemproxy does", () => {
    const text = `${pool("  hash: foo\n")}b: c\n`;
    expect(rejects(text).code).toBe("E_CONF_STRUCTURE");
  });

  it("parseConf() reports value errors in file order before pool checks", () => {
    const text = `a:\n  hash: md5\n  servers:\n   - 127.0.0.1:6379:1\nb:\n  listen: 127.0.0.1:1\n  hash: foo\n  servers:\n   - 127.0.0.1:6379:1\n`;
    expect(rejects(text).code).toBe("E_CONF_INVALID_HASH");
  });

  it("ConfError is a SyntaxError with a std-style message", () => {
    const e = rejects(pool("  hash: foo\n"));
    expect(e).toBeInstanceOf(SyntaxError);
    expect(e.name).toBe("ConfError");
    expect(e.pool).toBe("alpha");
    expect(e.message).toMatch(/^Cannot parse configuration "conf\/test\.yml" line 3 key "hash": unknown hash "foo": expected one of one_at_a_time, md5, /);
    expect(e.message).not.toMatch(/\.$/);
  });
});

describe("parseConf() replica groups (ours)", () => {
  const redis = (extra: string, servers = "   - 127.0.0.1:6379:1 m1\n   - 127.0.0.1:6479:1 m2\n") =>
    `alpha:\n  listen: 127.0.0.1:22121\n  redis: true\n${extra}  servers:\n${servers}`;

  it("parseConf() gives a plain pool no groups and read_from master", () => {
    const [p] = parseConf(pool(), FILE);
    expect(p).toMatchObject({ sentinels: [], replicas: [], read_from: "master", sentinel_interval: 1000 });
  });

  it("parseConf() reads twemproxy's documented sentinels: list beside servers:, in either order", () => {
    const sent = "  sentinels:\n   - 127.0.0.1:26379:1\n   - 127.0.0.1:26380:1\n";
    for (const text of [redis(sent), `${redis("")}${sent}`]) {
      const [p] = parseConf(text, FILE);
      expect(p!.sentinels.map((s) => s.endpoint)).toEqual([
        { host: "127.0.0.1", port: 26379 },
        { host: "127.0.0.1", port: 26380 },
      ]);
      expect(p!.servers.map((s) => s.name)).toEqual(["m1", "m2"]);
    }
  });

  it("parseConf() reads replicas:, sentinel_interval and read_from", () => {
    const [p] = parseConf(
      redis("  read_from: prefer_replica\n  sentinel_interval: 250\n  replicas:\n   - 127.0.0.1:6380:1 m1\n   - 127.0.0.1:6480:1 m2\n"),
      FILE,
    );
    expect(p!.read_from).toBe("prefer_replica");
    expect(p!.sentinel_interval).toBe(250);
    expect(p!.replicas.map((r) => [r.name, r.endpoint.port])).toEqual([
      ["m1", 6380],
      ["m2", 6480],
    ]);
  });

  it("parseConf() takes every read_from policy name", () => {
    for (const policy of ["master", "prefer_master", "replica", "prefer_replica", "any"]) {
      const [p] = parseConf(redis(`  read_from: ${policy}\n  replicas:\n   - 127.0.0.1:6380:1 m1\n`), FILE);
      expect(p!.read_from).toBe(policy);
    }
  });

  const cases: [string, string, ConfErrorCode, number, string][] = [
    ["an unknown read_from", redis("  read_from: nearest\n"), "E_CONF_INVALID_READ_FROM", 4, "read_from"],
    ["read_from replica without replicas", redis("  read_from: replica\n"), "E_CONF_READ_FROM_NO_REPLICAS", 4, "read_from"],
    ["sentinels on a memcache pool", pool("  sentinels:\n   - 127.0.0.1:26379:1\n", "   - 127.0.0.1:11211:1 m1\n"), "E_CONF_GROUPS_NOT_REDIS", 4, "sentinels"],
    ["a sentinel line that does not parse", redis("  sentinels:\n   - 127.0.0.1:26379\n"), "E_CONF_INVALID_SERVER", 5, "sentinels"],
    ["an unnamed server with sentinels", redis("  sentinels:\n   - 127.0.0.1:26379:1\n", "   - 127.0.0.1:6379:1\n"), "E_CONF_SHARD_UNNAMED", 7, "servers"],
    ["a replica of no server (a group without a master)", redis("  replicas:\n   - 127.0.0.1:6380:1 m3\n"), "E_CONF_REPLICA_NO_MASTER", 5, "replicas"],
    ["an unnamed replica", redis("  replicas:\n   - 127.0.0.1:6380:1\n"), "E_CONF_REPLICA_NO_MASTER", 5, "replicas"],
    ["a replica listed twice", redis("  replicas:\n   - 127.0.0.1:6380:1 m1\n   - 127.0.0.1:6380:1 m1\n"), "E_CONF_DUPLICATE_SERVER", 6, "replicas"],
    ["both sentinels and replicas", redis("  sentinels:\n   - 127.0.0.1:26379:1\n  replicas:\n   - 127.0.0.1:6380:1 m1\n"), "E_CONF_GROUPS_BOTH", 7, "replicas"],
    ["a second list that is not a group list", redis("  hash_tag:\n   - x\n"), "E_CONF_STRUCTURE", 6, "servers"],
  ];
  for (const [what, text, code, line, key] of cases) {
    it(`parseConf() rejects ${what} with ${code}`, () => {
      const e = rejects(text);
      expect({ code: e.code, line: e.line, key: e.key }).toEqual({ code, line, key });
      expect(e.message).toMatch(/: \S/);
    });
  }
});
