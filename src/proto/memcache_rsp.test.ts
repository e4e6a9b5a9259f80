// Wire vectors for the memcache reply parser, fed whole, byte by byte and at random splits.

import { describe, expect, it } from "vitest";
import { splits } from "../../test/helpers/split.ts";
import { type McType, mcTypeName, MEMCACHE_MAX_KEY_LENGTH } from "./memcache_commands.ts";
import { memcacheParseRsp } from "./memcache_rsp.ts";
import { BINARY, bytes, expectFails, expectWaits, MB, parseChunks, testPipeline, testVectors } from "./parse_harness.ts";

const run = (chunks: Uint8Array[], mbufSize: number) => parseChunks(chunks, memcacheParseRsp, { request: false, mbufSize, typeName: mcTypeName });

const mb = MB;
const binary = BINARY;

interface RspVector {
  name: string;
  wire: string;
  type?: keyof typeof McType;
  /** The VALUE blocks recorded in msg.keys. */
  blocks?: string[];
  error?: boolean;
}

const v1 = "VALUE a 0 1\r\n1\r\n";
const v2 = "VALUE bb 4294967295 3 123456789\r\nxyz\r\n";
const v3 = `VALUE bin 7 ${binary.length} 18446744073709551615\r\n${binary}\r\n`;
const v4 = "VALUE empty 0 0\r\n\r\n";
const vbig = `VALUE big 0 ${mb.length}\r\n${mb}\r\n`;

const replies: RspVector[] = [
  { name: "get hit", wire: `${v1}END\r\n`, type: "RSP_MC_VALUE", blocks: [v1] },
  { name: "get miss", wire: "END\r\n", type: "RSP_MC_END", blocks: [] },
  { name: "multi-get with cas and binary data", wire: `${v1}${v2}${v3}${v4}END\r\n`, type: "RSP_MC_VALUE", blocks: [v1, v2, v3, v4] },
  { name: "get of a 1 MB value", wire: `${v1}${vbig}END\r\n`, type: "RSP_MC_VALUE", blocks: [v1, vbig] },
  { name: "VALUE with padded fields", wire: "VALUE k  0  1 \r\na\r\nEND\r\n", type: "RSP_MC_VALUE", blocks: ["VALUE k  0  1 \r\na\r\n"] },
  { name: "VALUE then a server error", wire: `${v1}SERVER_ERROR out of memory writing get response\r\n`, type: "RSP_MC_SERVER_ERROR", blocks: [v1] },
  { name: "STORED", wire: "STORED\r\n", type: "RSP_MC_STORED" },
  { name: "STORED with a trailing space", wire: "STORED \r\n", type: "RSP_MC_STORED" },
  { name: "NOT_STORED", wire: "NOT_STORED\r\n", type: "RSP_MC_NOT_STORED" },
  { name: "EXISTS", wire: "EXISTS\r\n", type: "RSP_MC_EXISTS" },
  { name: "NOT_FOUND", wire: "NOT_FOUND\r\n", type: "RSP_MC_NOT_FOUND" },
  { name: "DELETED", wire: "DELETED\r\n", type: "RSP_MC_DELETED" },
  { name: "TOUCHED", wire: "TOUCHED\r\n", type: "RSP_MC_TOUCHED" },
  { name: "number", wire: "18446744073709551615\r\n", type: "RSP_MC_NUM" },
  { name: "number padded with spaces", wire: "12  \r\n", type: "RSP_MC_NUM" },
  { name: "VERSION", wire: "VERSION 1.6.18\r\n", type: "RSP_MC_VERSION" },
  { name: "bare VERSION", wire: "VERSION\r\n", type: "RSP_MC_VERSION" },
  { name: "ERROR", wire: "ERROR\r\n", type: "RSP_MC_ERROR" },
  { name: "ERROR with text", wire: "ERROR Too many open connections\r\n", type: "RSP_MC_ERROR" },
  { name: "CLIENT_ERROR", wire: "CLIENT_ERROR bad data chunk\r\n", type: "RSP_MC_CLIENT_ERROR" },
  { name: "bare CLIENT_ERROR", wire: "CLIENT_ERROR\r\n", type: "RSP_MC_CLIENT_ERROR" },
  { name: "SERVER_ERROR", wire: "SERVER_ERROR out of memory storing object\r\n", type: "RSP_MC_SERVER_ERROR" },
  { name: "HD", wire: "HD\r\n", type: "RSP_MC_HD" },
  { name: "HD with flags", wire: "HD c27 Oab\r\n", type: "RSP_MC_HD" },
  { name: "VA", wire: "VA 1 f5 c27 t-1 s1 kk O123\r\na\r\n", type: "RSP_MC_VA", blocks: [] },
  { name: "VA of a number", wire: "VA 2\r\n13\r\n", type: "RSP_MC_VA" },
  { name: "VA of nothing", wire: "VA 0\r\n\r\n", type: "RSP_MC_VA" },
  { name: "VA of binary data", wire: `VA ${binary.length} f1\r\n${binary}\r\n`, type: "RSP_MC_VA" },
  { name: "VA of a 1 MB value", wire: `VA ${mb.length}\r\n${mb}\r\n`, type: "RSP_MC_VA" },
  { name: "EN", wire: "EN\r\n", type: "RSP_MC_EN" },
  { name: "NF", wire: "NF\r\n", type: "RSP_MC_NF" },
  { name: "NS", wire: "NS\r\n", type: "RSP_MC_NS" },
  { name: "EX", wire: "EX c5\r\n", type: "RSP_MC_EX" },
  { name: "MN", wire: "MN\r\n", type: "RSP_MC_MN" },
  { name: "ME", wire: "ME k exp=-1 la=4 cas=28 fetch=yes cls=1 size=61\r\n", type: "RSP_MC_ME" },
  // errors: twemproxy turns each into SERVER_ERROR for the client (checked with the binary),
  // except VALUE...STORED, which it forwards
  { name: "END with a trailing space", wire: "END \r\n", error: true },
  { name: "OK", wire: "OK\r\n", error: true },
  { name: "lower-case end", wire: "end\r\n", error: true },
  { name: "negative number", wire: "-1\r\n", error: true },
  { name: "empty line", wire: "\r\n", error: true },
  { name: "STORED with text", wire: "STORED x\r\n", error: true },
  { name: "over-long token", wire: "SERVER_ERRORS x\r\n", error: true },
  { name: "VALUE without fields", wire: "VALUE\r\n", error: true },
  { name: "VALUE with negative flags", wire: "VALUE k -1 1\r\na\r\nEND\r\n", error: true },
  { name: "VALUE with a bad length", wire: "VALUE k 0 x\r\na\r\nEND\r\n", error: true },
  { name: "VALUE data shorter than declared", wire: "VALUE k 0 2\r\na\r\nEND\r\n", error: true },
  { name: "VALUE data longer than declared", wire: "VALUE k 0 1\r\nab\r\nEND\r\n", error: true },
  { name: "VALUE then STORED", wire: `${v1}STORED\r\n`, error: true },
  { name: "VALUE then END with a space", wire: `${v1}END \r\n`, error: true },
  { name: "VA without length", wire: "VA\r\n", error: true },
  { name: "VA data without CRLF", wire: "VA 1\r\nab", error: true },
  { name: "unknown token", wire: "STAT pid 1\r\n", error: true },
];

describe("memcacheParseRsp()", () => {
  testVectors(replies, run, (m, v) => {
    expect(m.name).toBe(v.type);
    const blocks = v.blocks ?? [];
    expect(m.keys.length).toBe(blocks.length);
    expect(m.keys.every((b, i) => b === blocks[i])).toBe(true);
  });
  testPipeline("replies", replies, run, (m) => [m.bytes, m.name, m.keys], (v) => [v.wire, v.type, v.blocks ?? []]);

  it("records VALUE blocks that straddle mbufs, however the reply is cut", () => {
    // 600 blocks of assorted sizes across 512-byte mbufs: every block boundary lands somewhere new
    const blocks = Array.from({ length: 600 }, (_, i) => `VALUE k${i} ${i} ${i % 37}\r\n${"d".repeat(i % 37)}\r\n`);
    const wire = `${blocks.join("")}END\r\n`;
    for (const [how, chunks] of splits(bytes(wire), 5)) {
      const { msgs, error } = run(chunks, 512);
      expect(error, how).toBe(false);
      expect(msgs).toHaveLength(1);
      expect(msgs[0]!.keys).toEqual(blocks);
    }
  });

  it("fails a runaway key or reply token before the line ends", () => {
    expectFails(run, [`VALUE ${"k".repeat(MEMCACHE_MAX_KEY_LENGTH + 1)}`, "SERVER_ERRORS"]);
  });

  it("waits for the rest of a cut reply", () => {
    expectWaits(run, [v1, `${v1}EN`, "VALUE k 0 5\r\nab", "STORED\r", "VA 3 f\r\nab\r"]);
  });
});

// twemproxy's own vectors (src/test_all.c), with the type nc_memcache.c gives each
const twemRspOk: [string, keyof typeof McType][] = [
  ["0\r\n", "RSP_MC_NUM"],
  ["0  \r\n", "RSP_MC_NUM"],
  ["9223372036854775807\r\n", "RSP_MC_NUM"],
  ["DELETED\r\n", "RSP_MC_DELETED"],
  ["END\r\n", "RSP_MC_END"],
  ["ERROR\r\n", "RSP_MC_ERROR"],
  ["EXISTS\r\n", "RSP_MC_EXISTS"],
  ["NOT_FOUND\r\n", "RSP_MC_NOT_FOUND"],
  ["STORED\r\n", "RSP_MC_STORED"],
  ["TOUCHED\r\n", "RSP_MC_TOUCHED"],
  // twemproxy ends these as RSP_MC_END; we keep RSP_MC_VALUE when there was a hit
  ["VALUE key 0 2\r\nab\r\nEND\r\n", "RSP_MC_VALUE"],
  ["VALUE key 0 2\r\nab\r\nVALUE key2 0 2\r\ncd\r\nEND\r\n", "RSP_MC_VALUE"],
  ["VERSION 1.5.22\r\n", "RSP_MC_VERSION"],
];
const twemRspBad = ["\r\n", "ENDD\r\n", "\r", "-1\r\n"];

describe("memcacheParseRsp() on twemproxy's test_all.c vectors", () => {
  const vectors: RspVector[] = [
    ...twemRspOk.map(([wire, type]) => ({ name: `test_all.c ${JSON.stringify(wire.slice(0, 40))}`, wire, type })),
    ...twemRspBad.map((wire) => ({ name: `test_all.c ${JSON.stringify(wire.slice(0, 40))}`, wire, error: true })),
  ];
  testVectors(vectors, run, (m, v) => expect(m.name).toBe(v.type));
});
