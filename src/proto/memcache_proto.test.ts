// memcacheProto: quit, SERVER_ERROR replies, multi-get split and merge; and the command table's facts.

import { describe, expect, it } from "vitest";
import { MbufPool } from "../buf/mbuf.ts";
import { type Msg, MsgPool } from "../core/message.ts";
import { MsgWriter } from "../core/msg_io.ts";
import { parseConf } from "../conf/parse.ts";
import { lookupMcCommand, MC_COMMANDS, MC_REQUEST_NAMES, McLocal, McMerge, mcCommandOf, McShape, McType, packName } from "./memcache_commands.ts";
import { memcacheProto } from "./memcache_proto.ts";
import { memcacheParseReq } from "./memcache_req.ts";
import { memcacheParseRsp } from "./memcache_rsp.ts";
import { latin1Text, MB, parseOne } from "./parse_harness.ts";
import { ReqAction } from "./types.ts";

const keys100 = Array.from({ length: 100 }, (_, i) => `key:${i}:${"x".repeat(i)}`);
const mb = MB;

describe("MC_COMMANDS", () => {
  it("has one row per request type, found by its packed name and by its type", () => {
    expect(new Set(MC_COMMANDS.map((c) => c.type)).size).toBe(MC_COMMANDS.length);
    for (const c of MC_COMMANDS) {
      expect(lookupMcCommand(packName(c.name)), c.name).toBe(c);
      expect(mcCommandOf(c.type)).toBe(c);
      expect(MC_REQUEST_NAMES[c.type]).toBe(c.name);
    }
    expect(MC_REQUEST_NAMES[0]).toBe("unknown");
    // every name of up to three letters, and near misses of the real ones: none but the rows match
    const names = new Set(MC_COMMANDS.map((c) => c.name));
    const letters = "abcdefghijklmnopqrstuvwxyz";
    const tries = [...letters];
    for (const a of letters) for (const b of letters) tries.push(a + b, ...[...letters].map((c) => a + b + c));
    for (const c of MC_COMMANDS) tries.push(c.name.slice(0, -1), `${c.name}s`, `${c.name.slice(0, -1)}z`);
    for (const t of tries) if (!names.has(t) && t.length > 0) expect(lookupMcCommand(packName(t)), t).toBeUndefined();
  });

  it("keeps each command's facts on its row", () => {
    const by = (f: (c: (typeof MC_COMMANDS)[number]) => boolean) => MC_COMMANDS.filter(f).map((c) => c.name);
    expect(by((c) => c.merge === McMerge.values)).toEqual(["get", "gets", "gat", "gats"]);
    expect(by((c) => c.merge === McMerge.values)).toEqual(by((c) => c.shape === McShape.retrieval || c.shape === McShape.gat));
    expect(by((c) => c.local === McLocal.quit)).toEqual(["quit"]);
    expect(by((c) => c.noreply)).toEqual(["delete", "cas", "set", "add", "replace", "append", "prepend", "incr", "decr", "touch"]);
    expect(by((c) => c.quiet)).toEqual(["mg", "ms", "md", "ma"]);
    expect(by((c) => c.twemproxy)).toEqual(by((c) => c.type <= McType.REQ_MC_VERSION));
    expect(by((c) => !c.write)).toEqual(["get", "gets", "quit", "version", "mg", "mn", "me"]);
  });
});

describe("memcacheProto", () => {
  it("closes on quit and forwards the rest", () => {
    const pool = new MsgPool(new MbufPool(512));
    const quit = parseOne(pool, "quit\r\n", memcacheParseReq, true);
    const get = parseOne(pool, "get k\r\n", memcacheParseReq, true);
    const conf = parseConf("m:\n  listen: 127.0.0.1:1\n  servers:\n   - 127.0.0.1:2:1\n", "m.yml")[0]!;
    const client = { authenticated: true, conf, id: 1, name: null, peerName: "127.0.0.1:3", poolClients: 1, poolServers: 1, resp3: false, pinMode: false };
    expect(memcacheProto.filter(quit, client)).toBe(ReqAction.QUIT);
    expect(memcacheProto.filter(get, client)).toBe(ReqAction.FORWARD);
    pool.put(quit);
    pool.put(get);
    expect(pool.mbufs.inUse).toBe(0);
  });

  it("answers failures with SERVER_ERROR and the strerror text", () => {
    expect(latin1Text(memcacheProto.errorReply("ECONNREFUSED"))).toBe("SERVER_ERROR Connection refused\r\n");
    expect(latin1Text(memcacheProto.errorReply("ETIMEDOUT"))).toBe("SERVER_ERROR Connection timed out\r\n");
    expect(latin1Text(memcacheProto.errorReply(null))).toBe("SERVER_ERROR unknown\r\n");
  });

  it("splits only retrievals of several keys", () => {
    const pool = new MsgPool(new MbufPool(512));
    const cases: [string, boolean][] = [
      ["get a b\r\n", true],
      ["gets a b\r\n", true],
      ["gat 1 a b\r\n", true],
      ["gats 1 a b\r\n", true],
      ["get a\r\n", false],
      ["mg a v\r\n", false],
      ["set a 0 0 1\r\nx\r\n", false],
    ];
    for (const [wire, want] of cases) {
      const m = parseOne(pool, wire, memcacheParseReq, true);
      expect(memcacheProto.fragmentable(m), wire).toBe(want);
      pool.put(m);
    }
  });

  it("builds a fragment with the owner's command and the chosen keys", () => {
    for (const mbufSize of [512, 16384]) {
      const pool = new MsgPool(new MbufPool(mbufSize));
      const w = new MsgWriter();
      const cases: [string, number[], string][] = [
        // nutcracker's form: every key followed by a space (memcache_fragment_retrieval)
        ["get a b c\r\n", [0, 2], "get a c \r\n"],
        ["gets  a  b\r\n", [1], "gets b \r\n"],
        ["  get a b\r\n", [1, 0], "get b a \r\n"],
        ["gat 10 a b c\r\n", [2, 0], "gat 10 c a \r\n"],
        [`get ${keys100.join(" ")}\r\n`, [99, 50], `get ${keys100[99]} ${keys100[50]} \r\n`],
      ];
      for (const [wire, idx, want] of cases) {
        const owner = parseOne(pool, wire, memcacheParseReq, true);
        const frag = pool.get(true, null);
        w.begin(pool.mbufs, frag);
        memcacheProto.buildFragment(w, owner, idx);
        w.end();
        const out = new Uint8Array(frag.mlen);
        frag.copyTo(out, 0);
        expect(latin1Text(out)).toBe(want);
        pool.put(frag);
        pool.put(owner);
      }
      expect(pool.mbufs.inUse).toBe(0);
    }
  });

  /** A split request whose parts answered `answers` (null: the part failed). */
  function splitRequest(pool: MsgPool, fragMap: number[], answers: (string | null)[]): Msg {
    const owner = pool.get(true, null);
    owner.type = McType.REQ_MC_GET;
    owner.fragMap.push(...fragMap);
    for (const a of answers) {
      const f = pool.get(true, null);
      f.fragOwner = owner;
      if (a === null) {
        f.error = true;
        f.err = "ETIMEDOUT";
      } else {
        f.peer = parseOne(pool, a, memcacheParseRsp, false);
      }
      owner.frags.push(f);
    }
    return owner;
  }

  function release(pool: MsgPool, owner: Msg): void {
    for (const f of owner.frags) {
      if (f.peer !== null) pool.put(f.peer);
      pool.put(f);
    }
    pool.put(owner);
  }

  it("merges the parts' VALUE blocks in request-key order", () => {
    const pool = new MsgPool(new MbufPool(512));
    const va = "VALUE a 0 1\r\n1\r\n";
    const vb = "VALUE b 0 3\r\n\r\n2\r\n";
    const vc = `VALUE c 0 ${mb.length}\r\n${mb}\r\n`;
    // keys a b c d: a, c on part 0; b, d on part 1; d missed
    const owner = splitRequest(pool, [0, 1, 0, 1], [`${va}${vc}END\r\n`, `${vb}END\r\n`]);
    const merged = latin1Text(memcacheProto.coalesce(owner));
    expect(merged === `${va}${vb}${vc}END\r\n`).toBe(true);
    release(pool, owner);
    expect(pool.mbufs.inUse).toBe(0);
  });

  it("merges all misses into END", () => {
    const pool = new MsgPool(new MbufPool(512));
    const owner = splitRequest(pool, [0, 1], ["END\r\n", "END\r\n"]);
    expect(latin1Text(memcacheProto.coalesce(owner))).toBe("END\r\n");
    release(pool, owner);
  });

  it("turns a failed part into SERVER_ERROR, and an odd answer into EINVAL", () => {
    const pool = new MsgPool(new MbufPool(512));
    const failed = splitRequest(pool, [0, 1], ["END\r\n", null]);
    expect(latin1Text(memcacheProto.coalesce(failed))).toBe("SERVER_ERROR Connection timed out\r\n");
    release(pool, failed);
    const odd = splitRequest(pool, [0, 1], ["END\r\n", "SERVER_ERROR out of memory\r\n"]);
    expect(latin1Text(memcacheProto.coalesce(odd))).toBe("SERVER_ERROR Invalid argument\r\n");
    release(pool, odd);
    expect(pool.mbufs.inUse).toBe(0);
  });
});
