// Differential test: the real nutcracker 0.5.0 binary and our -t check and command line agree.

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCli, usageText, versionText } from "../src/cli.ts";
import { testConfText } from "../src/conf/test_conf.ts";

const NUTCRACKER = "/usr/sbin/nutcracker";

const L = "  listen: 127.0.0.1:22121\n";
const S = "  servers:\n   - 127.0.0.1:6379:1\n";
const P = `a:\n${L}`; // pool header with listen; add keys, then S

interface Case {
  readonly name: string;
  readonly yaml: string;
  /** Write `yaml` as latin1, one byte per character, to get bytes that are not UTF-8. */
  readonly latin1?: true;
  /** Set where we differ from nutcracker 0.5.0 on purpose: what nutcracker says, and why. */
  readonly differs?: { readonly nutcrackerOk: boolean; readonly why: string };
}

/** Good and bad files; every rejection of nc_conf.c has at least one. */
const CASES: readonly Case[] = [
  // accepted
  { name: "minimal", yaml: P + S },
  { name: "all_keys", yaml: `${P}  hash: md5\n  hash_tag: "{}"\n  distribution: modula\n  timeout: 400\n  backlog: 1024\n  client_connections: 10\n  redis: true\n  redis_auth: secret\n  redis_db: 3\n  preconnect: true\n  server_connections: 2\n  auto_eject_hosts: true\n  server_retry_timeout: 2000\n  server_failure_limit: 3\n  tcpkeepalive: true\n${S}` },
  { name: "every_hash", yaml: ["one_at_a_time", "md5", "crc16", "crc32", "crc32a", "fnv1_64", "fnv1a_64", "fnv1_32", "fnv1a_32", "hsieh", "murmur", "jenkins"].map((h, i) => `p${i}:\n  listen: 127.0.0.1:${23000 + i}\n  hash: ${h}\n${S}`).join("") },
  { name: "every_distribution", yaml: ["ketama", "modula", "random"].map((h, i) => `p${i}:\n  listen: 127.0.0.1:${23000 + i}\n  distribution: ${h}\n${S}`).join("") },
  { name: "listen_ipv6_bare", yaml: `a:\n  listen: ::1:22121\n${S}` },
  { name: "listen_any", yaml: `a:\n  listen: 0.0.0.0:22121\n${S}` },
  { name: "listen_localhost", yaml: `a:\n  listen: localhost:22121\n${S}` },
  { name: "listen_unix", yaml: `a:\n  listen: /tmp/nc.sock\n${S}` },
  { name: "listen_unix_mode", yaml: `a:\n  listen: /tmp/nc.sock 0666\n${S}` },
  { name: "listen_unix_mode_not_octal", yaml: `a:\n  listen: /tmp/nc.sock 0999\n${S}` },
  { name: "listen_unix_107_bytes", yaml: `a:\n  listen: /tmp/${"x".repeat(102)}\n${S}` },
  { name: "servers_named", yaml: `${P}  servers:\n   - 127.0.0.1:6379:1 alpha\n   - 127.0.0.1:6380:1 beta\n` },
  { name: "servers_ipv6", yaml: `${P}  servers:\n   - ::1:6379:1\n` },
  { name: "servers_unix", yaml: `${P}  servers:\n   - /tmp/r.sock:1\n   - /tmp/q.sock:2 q\n` },
  { name: "servers_hostname_unresolved", yaml: `${P}  servers:\n   - nosuchhost.invalid:6379:1\n` },
  { name: "servers_empty_host", yaml: `${P}  servers:\n   - :6379:1\n` },
  { name: "same_host_port_named", yaml: `${P}  servers:\n   - 127.0.0.1:6379:1 a\n   - 127.0.0.1:6379:1 b\n` },
  { name: "quoted_values", yaml: `a:\n  'listen': "127.0.0.1:22121"\n  redis: "true"\n  timeout: "400"\n${S}` },
  { name: "octal_looking_number", yaml: `${P}  timeout: 0400\n${S}` },
  { name: "int_max", yaml: `${P}  timeout: 2147483647\n${S}` },
  { name: "comments_and_crlf", yaml: `# head\r\na: # pool\r\n  listen: 127.0.0.1:22121 # l\r\n  servers:\r\n   - 127.0.0.1:6379:1\r\n# tail\r\n` },
  { name: "explicit_key", yaml: `a:\n  ? listen\n  : 127.0.0.1:22121\n${S}` },
  { name: "block_scalar", yaml: `a:\n  listen: |-\n    127.0.0.1:22121\n${S}` },
  { name: "hash_tag_two_bytes_one_char", yaml: `${P}  hash_tag: "é"\n${S}` },
  { name: "listen_is_the_sequence", yaml: `a:\n  listen:\n   - 127.0.0.1:22121\n  servers: 127.0.0.1:6379:1\n` },
  { name: "number_pool_name", yaml: `1:\n${L}${S}` },
  { name: "redis_db_on_memcache", yaml: `${P}  redis_db: 3\n${S}` },
  { name: "cr_line_breaks", yaml: `a:\r${L.trimEnd()}\r  servers:\r   - 127.0.0.1:6379:1\r` },
  { name: "bom", yaml: `\uFEFF${P}${S}` },
  { name: "sequence_not_indented", yaml: `${P}  servers:\n  - 127.0.0.1:6379:1\n` },
  { name: "keys_after_sequence", yaml: `${P}${S}  hash: md5\n` },
  { name: "servers_scalar_and_sequence", yaml: `${P}  servers: 127.0.0.1:6380:1\n${S}` },
  { name: "pool_name_with_space", yaml: `my pool:\n${L}${S}` },
  { name: "folded_scalar", yaml: `a:\n  listen: >-\n    127.0.0.1:22121\n${S}` },
  { name: "listen_ipv4_mapped_ipv6", yaml: `a:\n  listen: ::ffff:127.0.0.1:22121\n${S}` },
  { name: "listen_ipv4_short", yaml: `a:\n  listen: 127.1:22121\n${S}` },
  { name: "blank_lines_in_sequence", yaml: `${P}  servers:\n\n   - 127.0.0.1:6379:1\n\n   - 127.0.0.1:6380:1\n` },

  // rejected: YAML and document shape
  { name: "not_utf8", yaml: `${P}  servers:\n   - 127.0.0.1:6379:1 \xff\n`, latin1: true },
  { name: "whitespace_only", yaml: "   \n\n" },
  { name: "sequence_bad_indent", yaml: `${P}  servers:\n    - 127.0.0.1:6379:1\n   - 127.0.0.1:6380:1\n` },
  { name: "reserved_indicator", yaml: `${P}  redis: true\n  redis_auth: @secret\n${S}` },
  { name: "bad_yaml", yaml: `a:\n  listen: 127.0.0.1:22121\n   bad: x\n${S}` },
  { name: "tab_indent", yaml: `a:\n\tlisten: 127.0.0.1:22121\n${S}` },
  { name: "empty_file", yaml: "" },
  { name: "only_comment", yaml: "# nothing\n" },
  { name: "two_documents", yaml: `${P}${S}---\nb:\n  listen: 127.0.0.1:22122\n${S}` },
  { name: "doc_start", yaml: `---\n${P}${S}` },
  { name: "doc_end", yaml: `${P}${S}...\n` },
  { name: "yaml_directive", yaml: `%YAML 1.1\n---\n${P}${S}` },
  { name: "flow_sequence", yaml: `${P}  servers: [127.0.0.1:6379:1]\n` },
  { name: "flow_mapping", yaml: "a: {listen: 127.0.0.1:22121}\n" },
  { name: "anchor", yaml: `a:\n  listen: &x 127.0.0.1:22121\n${S}` },
  { name: "alias", yaml: `a:\n  listen: &x 127.0.0.1:22121\n  redis_auth: *x\n${S}` },
  { name: "tag", yaml: `a:\n  listen: !!str 127.0.0.1:22121\n${S}` },
  { name: "root_scalar", yaml: "hello\n" },
  { name: "root_sequence", yaml: "- a\n- b\n" },
  { name: "pool_scalar", yaml: "a: b\n" },
  { name: "pool_empty", yaml: `a:\nb:\n${L}${S}` },
  { name: "nested_mapping", yaml: `a:\n  listen:\n    x: y\n${S}` },
  { name: "two_sequences", yaml: `a:\n  listen:\n   - 127.0.0.1:22121\n${S}` },
  { name: "sequence_of_mappings", yaml: `${P}  servers:\n   - a: b\n` },
  { name: "sequence_of_sequences", yaml: `${P}  servers:\n   - - 127.0.0.1:6379:1\n` },
  { name: "no_sequence", yaml: P },
  { name: "servers_scalar_only", yaml: `${P}  servers: 127.0.0.1:6379:1\n` },

  // rejected: values
  { name: "empty_value", yaml: `${P}  hash:\n${S}` },
  { name: "empty_quoted_value", yaml: `${P}  hash: ""\n${S}` },
  { name: "empty_server", yaml: `${P}  servers:\n   -\n` },
  { name: "unknown_key", yaml: `${P}  foo: bar\n${S}` },
  { name: "empty_key", yaml: `a:\n  '': x\n${L}${S}` },
  { name: "empty_pool_name", yaml: `'':\n${L}${S}` },
  { name: "null_pool_name", yaml: `? \n: \n${L}${S}` },
  { name: "duplicate_key", yaml: `${P}  hash: md5\n  hash: md5\n${S}` },
  { name: "duplicate_listen_key", yaml: `${P}  listen: 127.0.0.1:22122\n${S}` },
  { name: "unknown_hash", yaml: `${P}  hash: foo\n${S}` },
  { name: "hash_case", yaml: `${P}  hash: MD5\n${S}` },
  { name: "null_hash", yaml: `${P}  hash: ~\n${S}` },
  { name: "unknown_distribution", yaml: `${P}  distribution: foo\n${S}` },
  { name: "hash_tag_one", yaml: `${P}  hash_tag: "{"\n${S}` },
  { name: "hash_tag_three", yaml: `${P}  hash_tag: "{}}"\n${S}` },
  { name: "number_word", yaml: `${P}  timeout: abc\n${S}` },
  { name: "number_negative", yaml: `${P}  timeout: -1\n${S}` },
  { name: "number_plus", yaml: `${P}  timeout: +5\n${S}` },
  { name: "number_float", yaml: `${P}  timeout: 4.0\n${S}` },
  { name: "number_space", yaml: `${P}  timeout: '5 '\n${S}` },
  { name: "number_over_int_max", yaml: `${P}  timeout: 2147483648\n${S}` },
  { name: "bool_True", yaml: `${P}  redis: True\n${S}` },
  { name: "bool_yes", yaml: `${P}  redis: yes\n${S}` },
  { name: "listen_no_port", yaml: `a:\n  listen: 127.0.0.1\n${S}` },
  { name: "listen_port_0", yaml: `a:\n  listen: 127.0.0.1:0\n${S}` },
  { name: "listen_port_65536", yaml: `a:\n  listen: 127.0.0.1:65536\n${S}` },
  { name: "listen_empty_host", yaml: `a:\n  listen: :22121\n${S}` },
  { name: "listen_relative_path", yaml: `a:\n  listen: nc.sock\n${S}` },
  { name: "listen_unix_mode_1000", yaml: `a:\n  listen: /tmp/nc.sock 1000\n${S}` },
  { name: "listen_unix_108_bytes", yaml: `a:\n  listen: /tmp/${"x".repeat(103)}\n${S}` },
  { name: "server_no_weight", yaml: `${P}  servers:\n   - 127.0.0.1:6379\n` },
  { name: "server_zero_weight", yaml: `${P}  servers:\n   - 127.0.0.1:6379:0\n` },
  { name: "server_bad_weight", yaml: `${P}  servers:\n   - 127.0.0.1:6379:x\n` },
  { name: "server_port_0", yaml: `${P}  servers:\n   - 127.0.0.1:0:1\n` },
  { name: "server_name_with_space", yaml: `${P}  servers:\n   - 127.0.0.1:6379:1 a b\n` },
  { name: "server_unix_no_weight", yaml: `${P}  servers:\n   - /tmp/r.sock\n` },
  { name: "server_unix_colon_in_path", yaml: `${P}  servers:\n   - /tmp/r:x.sock:1\n` },

  // rejected: pool and file checks
  { name: "missing_listen", yaml: `a:\n  hash: md5\n${S}` },
  { name: "missing_servers", yaml: `a:\n  listen:\n   - 127.0.0.1:22121\n  hash: md5\n` },
  { name: "server_connections_0", yaml: `${P}  server_connections: 0\n${S}` },
  { name: "redis_auth_memcache", yaml: `${P}  redis_auth: pw\n${S}` },
  { name: "duplicate_server_name", yaml: `${P}  servers:\n   - 127.0.0.1:6379:1 x\n   - 127.0.0.1:6380:1 x\n` },
  { name: "duplicate_server_addr", yaml: `${P}  servers:\n   - 127.0.0.1:6379:1\n   - 127.0.0.1:6379:2\n` },
  { name: "duplicate_server_11211", yaml: `${P}  servers:\n   - 127.0.0.1:11211:1\n   - 127.0.0.1:1:1 127.0.0.1\n` },
  { name: "duplicate_server_unix", yaml: `${P}  servers:\n   - /tmp/r.sock:1\n   - '/tmp/q.sock:2 /tmp/r.sock:'\n` },
  { name: "duplicate_listen", yaml: `${P}${S}b:\n${L}${S}` },
  { name: "duplicate_pool_third", yaml: `${P}${S}b:\n  listen: 127.0.0.1:22122\n${S}a:\n  listen: 127.0.0.1:22123\n${S}` },
  { name: "servers_twice", yaml: `${P}${S}${S}` },
  { name: "listen_ipv6_bad", yaml: `a:\n  listen: 1:2:22121\n${S}` },
  { name: "duplicate_pool", yaml: `${P}${S}a:\n  listen: 127.0.0.1:22122\n${S}` },

  // deliberate differences
  {
    name: "reuseport",
    yaml: `${P}  reuseport: true\n${S}`,
    differs: { nutcrackerOk: false, why: "reuseport is from twemproxy master; 0.5.0 calls it unknown" },
  },
  {
    name: "listen_ipv6_brackets",
    yaml: `a:\n  listen: "[::1]:22121"\n${S}`,
    differs: { nutcrackerOk: false, why: "nutcracker hands the brackets to getaddrinfo, which fails" },
  },
  {
    name: "number_wraps",
    yaml: `${P}  timeout: 4294967297\n${S}`,
    differs: { nutcrackerOk: true, why: "nutcracker's nc_atoi wraps around in a C int and reads 1" },
  },
];

let dir = "";

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "conf-oracle-"));
});

afterAll(() => {
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
});

/** Runs the real binary; stdin is /dev/null so nothing it logs can reach the terminal. */
function nutcrackerTest(file: string): { code: number | null; stderr: string; stdout: string } {
  const r = spawnSync(NUTCRACKER, ["-t", "-c", file], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  return { code: r.status, stderr: r.stderr, stdout: r.stdout };
}

describe("testConfText() against nutcracker -t", () => {
  it("nutcracker 0.5.0 is installed at /usr/sbin/nutcracker", () => {
    expect(existsSync(NUTCRACKER), `${NUTCRACKER} is missing: apt-get install nutcracker`).toBe(true);
  });

  it("case names are unique", () => {
    expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length);
  });

  for (const c of CASES) {
    it(`${c.name}: ${c.differs ? `differs on purpose (${c.differs.why})` : "same verdict and exit code"}`, () => {
      const file = join(dir, `${c.name}.yml`);
      writeFileSync(file, Buffer.from(c.yaml, c.latin1 ? "latin1" : "utf8"));
      const theirs = nutcrackerTest(file);
      const ours = testConfText(readFileSync(file, "utf8"), file);

      const theirOk = theirs.code === 0;
      expect(theirs.stdout).toBe("");
      expect(theirs.stderr.split("\n")[0]).toBe(
        `nutcracker: configuration file '${file}' syntax is ${theirOk ? "ok" : "invalid"}`,
      );
      if (c.differs !== undefined) {
        expect(theirOk).toBe(c.differs.nutcrackerOk);
        expect(ours.ok).toBe(!c.differs.nutcrackerOk);
        return;
      }
      expect({ ok: ours.ok, code: ours.code }).toEqual({ ok: theirOk, code: theirs.code });
      expect(ours.lines[0]).toEqual({ stream: "stderr", text: theirs.stderr.split("\n")[0] });
    });
  }

  it("unreadable file: both print the invalid line and exit 1", () => {
    const file = join(dir, "does-not-exist.yml");
    const theirs = nutcrackerTest(file);
    const ours = testConfText(null, file, "No such file or directory");
    expect(theirs.code).toBe(1);
    expect(theirs.stderr).toBe(`nutcracker: configuration file '${file}' syntax is invalid\n`);
    expect(ours.code).toBe(1);
    expect(ours.lines[0]).toEqual({ stream: "stderr", text: theirs.stderr.trimEnd() });
  });

  it("sample files in conf/ pass both", () => {
    for (const name of ["nutcracker.yml", "nutcracker.root.yml", "nutcracker.leaf.yml", "quickstart.yml"]) {
      const file = join("conf", name);
      expect(nutcrackerTest(file).code, name).toBe(0);
      expect(testConfText(readFileSync(file, "utf8"), file).ok, name).toBe(true);
    }
  });
});

describe("parseCli() and usageText() against nutcracker", () => {
  const run = (args: string[]) => spawnSync(NUTCRACKER, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 10_000 });
  /** Debian's build patches three defaults in the usage text; put upstream's back. */
  const upstream = (text: string) =>
    text
      .replace("/var/log/nutcracker/nutcracker.log", "stderr")
      .replace("/etc/nutcracker/nutcracker.yml", "conf/nutcracker.yml")
      .replace("/run/nutcracker/nutcracker.pid", "off");

  it("usageText() matches nutcracker -h byte for byte, but for Debian's three patched defaults", () => {
    const r = run(["-h"]);
    expect(r.status).toBe(0);
    expect(upstream(r.stderr)).toBe(versionText("epoll") + usageText());
  });

  // each fails before nutcracker would read a configuration or start
  const bad: string[][] = [
    ["-x"], ["-?"], ["-v"], ["-v", "abc"], ["-v", "-1"], ["-s", "0"], ["-s", "70000"], ["-s", "x"], ["-i", "-5"],
    ["-m", "0"], ["-m", "511"], ["-m", "16777217"], ["-c"], ["-o"], ["-p"], ["-a"], ["--verbose"], ["--verbose=x"],
    ["--conf-file"], ["-tx"],
  ];
  for (const args of bad) {
    it(`parseCli(${JSON.stringify(args)}) fails with nutcracker's message`, () => {
      const r = run(args);
      const ours = parseCli(args);
      expect(r.status).toBe(1);
      expect(ours.ok).toBe(false);
      if (!ours.ok) expect(upstream(r.stderr)).toBe(`nutcracker: ${ours.error}\n${usageText()}`);
    });
  }

  const good: string[][] = [
    ["-V"], ["--version"], ["-Vt"], ["-v3", "-V"], ["--verb=3", "-V"], ["extra", "-V"], ["-v", "99", "-V"],
    ["-m", "512", "-V"], ["-m", "16777216", "-V"], ["--stats-p", "1", "-V"], ["-c", "-t", "-V"],
  ];
  for (const args of good) {
    it(`parseCli(${JSON.stringify(args)}) is accepted, as by nutcracker`, () => {
      const r = run(args);
      expect(r.status).toBe(0);
      expect(r.stderr).toBe(versionText("epoll"));
      expect(parseCli(args).ok).toBe(true);
    });
  }
});
