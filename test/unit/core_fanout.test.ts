// The commands clients send at their defaults, on the in-memory runtime: HELLO and RESP3 end to end,
// the connection commands the proxy answers, and the keyspace-wide ones sent to every server or
// walked server by server (SCAN).

import { describe, expect, it } from "vitest";
import { array, bulk, memProxy, type MemProxy, resp } from "../helpers/mem_runtime.ts";

const conf = (extra = ""): string => `alpha:
  listen: 127.0.0.1:22121
  redis: true
${extra}  servers:
   - 10.0.0.1:6379:1
   - 10.0.0.2:6379:1
   - 10.0.0.3:6379:1
`;

function expectNoLeak(p: MemProxy): void {
  expect(p.inUse()).toEqual({ msgs: 0, mbufs: 0 });
}

const HELLO3_MAP = "%1\r\n$6\r\nserver\r\n$5\r\nredis\r\n";

describe("HELLO and RESP3", () => {
  it("HELLO 3 answers redis's map with our values; the client's requests then ride connections that said HELLO 3", async () => {
    const p = await memProxy(conf());
    const k = p.keyOn(0, "k");
    const v2 = p.client();
    v2.write(resp("GET", k));
    p.rt.run();
    const shared = p.server(0).peer;
    expect(shared.take()).toBe(resp("GET", k));
    const v3 = p.client();
    v3.write(resp("HELLO", "3") + resp("HGETALL", k));
    p.rt.run();
    const hello = v3.take();
    expect(hello.startsWith("%7\r\n$6\r\nserver\r\n$10\r\nnutcracker\r\n$7\r\nversion\r\n$5\r\n0.5.0\r\n$5\r\nproto\r\n:3\r\n")).toBe(true);
    expect(p.server(0).peers).toHaveLength(2);
    const resp3 = p.server(0).peer;
    expect(resp3.take()).toBe(resp("HELLO", "3") + resp("HGETALL", k));
    // the server's HELLO reply is swallowed; its RESP3 map goes to the RESP3 client only
    resp3.write(HELLO3_MAP + "%1\r\n$1\r\nf\r\n$1\r\nv\r\n");
    shared.write(bulk("x"));
    p.rt.run();
    expect(v3.take()).toBe("%1\r\n$1\r\nf\r\n$1\r\nv\r\n");
    expect(v2.take()).toBe(bulk("x"));
    expectNoLeak(p);
  });

  it("HELLO 2 answers the same facts as a flat array; other versions get -NOPROTO", async () => {
    const p = await memProxy(conf());
    const c = p.client();
    c.write(resp("HELLO", "2") + resp("HELLO", "4") + resp("HELLO", "x") + resp("HELLO", "2", "SETNAME", "app") + resp("CLIENT", "GETNAME"));
    p.rt.run();
    const out = c.take();
    expect(out.startsWith("*14\r\n$6\r\nserver\r\n")).toBe(true);
    expect(out).toContain("-NOPROTO sorry, this protocol version is not supported.\r\n-ERR Protocol version is not an integer or out of range\r\n");
    expect(out.endsWith(bulk("app"))).toBe(true);
    expect(p.server(0).peers).toHaveLength(0); // nothing of it reached a server
  });

  it("HELLO AUTH opens redis_auth's gate; HELLO without it is refused", async () => {
    const p = await memProxy(conf("  redis_auth: pw\n"));
    const c = p.client();
    c.write(resp("HELLO", "3") + resp("HELLO", "3", "AUTH", "default", "bad") + resp("HELLO", "3", "AUTH", "default", "pw") + resp("PING"));
    p.rt.run();
    const out = c.take();
    expect(out.startsWith("-NOAUTH HELLO must be called with the client already authenticated")).toBe(true);
    expect(out).toContain("-WRONGPASS invalid username-password pair or user is disabled.\r\n%7\r\n");
    expect(out.endsWith("+PONG\r\n")).toBe(true);
  });
});

describe("connection commands answered by the proxy", () => {
  it("CLIENT, SELECT, ECHO, PING msg, READONLY, RESET", async () => {
    const p = await memProxy(conf("  redis_db: 2\n"));
    const c = p.client();
    c.write(
      resp("CLIENT", "SETINFO", "LIB-NAME", "x") + resp("CLIENT", "SETINFO", "nope", "x") + resp("client", "setname", "me") +
        resp("CLIENT", "GETNAME") + resp("CLIENT", "MAINT_NOTIFICATIONS", "ON") + resp("SELECT", "2") + resp("SELECT", "0") +
        resp("ECHO", "hi") + resp("PING", "yo") + resp("READONLY") + resp("RESET") + resp("CLIENT", "GETNAME"),
    );
    p.rt.run();
    expect(c.take()).toBe(
      "+OK\r\n-ERR Unrecognized option 'nope'\r\n+OK\r\n" + bulk("me") +
        "-ERR unknown subcommand 'MAINT_NOTIFICATIONS'. Try CLIENT HELP.\r\n+OK\r\n" +
        "-ERR SELECT 0 is not supported by the proxy: this pool uses database 2 (redis_db)\r\n" +
        bulk("hi") + bulk("yo") + "+OK\r\n+RESET\r\n$-1\r\n",
    );
  });

  it("with error_replies: false, every command beyond 0.5.0 closes the connection, as 0.5.0 does", async () => {
    for (const cmd of [resp("HELLO", "3"), resp("CLIENT", "ID"), resp("SCAN", "0"), resp("DBSIZE"), resp("PING", "x")]) {
      const p = await memProxy(conf("  error_replies: false\n"));
      const c = p.client();
      c.write(cmd + resp("PING"));
      p.rt.run();
      expect(c.take()).toBe("");
      expect(c.closed).toBe(true);
    }
  });
});

describe("keyspace-wide commands", () => {
  it("DBSIZE sums, KEYS concatenates, FLUSHALL waits for every server, RANDOMKEY picks a key", async () => {
    const p = await memProxy(conf());
    const c = p.client();
    c.write(resp("DBSIZE") + resp("KEYS", "*") + resp("FLUSHALL") + resp("RANDOMKEY"));
    p.rt.run();
    const peers = [0, 1, 2].map((i) => p.server(i).peer);
    for (const s of peers) expect(s.take()).toBe(resp("DBSIZE") + resp("KEYS", "*") + resp("FLUSHALL") + resp("RANDOMKEY"));
    peers[0]!.write(":2\r\n" + array("a", "b") + "+OK\r\n$-1\r\n");
    peers[1]!.write(":0\r\n*0\r\n+OK\r\n$-1\r\n");
    peers[2]!.write(":1\r\n" + array("c") + "+OK\r\n" + bulk("c"));
    p.rt.run();
    expect(c.take()).toBe(":3\r\n" + array("a", "b", "c") + "+OK\r\n" + bulk("c"));
    expectNoLeak(p);
  });

  it("a part a server refused or could not take fails the whole, as a split command's; a wrong argument count is judged here", async () => {
    const p = await memProxy(conf());
    p.server(2).mode = "refuse";
    const c = p.client();
    c.write(resp("DBSIZE"));
    p.rt.run();
    p.server(0).peer.write(":1\r\n");
    p.server(1).peer.write(":1\r\n");
    p.rt.run();
    expect(c.take()).toBe("-ERR Connection refused\r\n");
    p.server(2).mode = "accept";
    c.write(resp("FLUSHALL"));
    p.rt.run();
    p.server(0).peer.write("+OK\r\n");
    p.server(1).peer.write("-READONLY You can't write against a read only replica.\r\n");
    p.server(2).peer.write("+OK\r\n");
    p.rt.run();
    expect(c.take()).toBe("-ERR Invalid argument\r\n");
    const sent = [0, 1, 2].map((i) => p.server(i).received().length);
    c.write(resp("KEYS") + resp("DBSIZE", "x") + resp("FLUSHDB", "ASYNC", "x") + resp("RANDOMKEY", "a"));
    p.rt.run();
    expect(c.take()).toBe(["keys", "dbsize", "flushdb", "randomkey"].map((n) => `-ERR wrong number of arguments for '${n}' command\r\n`).join(""));
    expect([0, 1, 2].map((i) => p.server(i).received().length)).toEqual(sent);
    expectNoLeak(p);
  });

  it("SCAN walks the servers in order, its cursor carrying the server, and ends at 0", async () => {
    const p = await memProxy(conf());
    const c = p.client();
    const scan = (cursor: string): string => {
      c.write(resp("SCAN", cursor, "COUNT", "10"));
      p.rt.run();
      return c.take();
    };
    const reply = (cursor: string, ...keys: string[]): string => `*2\r\n${bulk(cursor)}${array(...keys)}`;
    const answer = (i: number, want: string, r: string): void => {
      expect(p.server(i).peer.take()).toBe(want);
      p.server(i).peer.write(r);
      p.rt.run();
    };
    c.write(resp("SCAN", "0", "COUNT", "10"));
    p.rt.run();
    answer(0, resp("SCAN", "0", "COUNT", "10"), reply("7", "a"));
    expect(c.take()).toBe(reply("21", "a")); // 7 * 3 + 0
    c.write(resp("SCAN", "21", "COUNT", "10"));
    p.rt.run();
    answer(0, resp("SCAN", "7", "COUNT", "10"), reply("0", "b"));
    expect(c.take()).toBe(reply("1", "b")); // server 0 done: server 1 from its start
    c.write(resp("SCAN", "1", "COUNT", "10"));
    p.rt.run();
    answer(1, resp("SCAN", "0", "COUNT", "10"), reply("0"));
    expect(c.take()).toBe(reply("2"));
    c.write(resp("SCAN", "2", "COUNT", "10"));
    p.rt.run();
    answer(2, resp("SCAN", "0", "COUNT", "10"), reply("0", "c", "d"));
    expect(c.take()).toBe(reply("0", "c", "d"));
    expect(scan("x").length).toBe(0); // a cursor that is not one goes to the first server, which judges it
    p.server(0).peer.write("-ERR invalid cursor\r\n");
    p.rt.run();
    expect(c.take()).toBe("-ERR invalid cursor\r\n");
    expectNoLeak(p);
  });

  it("INFO: the proxy's sections, the lowest redis_version, the keyspace summed", async () => {
    const p = await memProxy(conf());
    const c = p.client();
    c.write(resp("INFO"));
    p.rt.run();
    const info = (v: string, db: string): string => bulk(`# Server\r\nredis_version:${v}\r\n\r\n# Persistence\r\nloading:0\r\n\r\n# Keyspace\r\n${db}\r\n`);
    p.server(0).peer.write(info("7.0.15", "db0:keys=3,expires=1,avg_ttl=100"));
    p.server(1).peer.write(info("6.2.14", "db0:keys=2,expires=1,avg_ttl=300"));
    p.server(2).peer.write(info("7.2.4", "db1:keys=5,expires=0,avg_ttl=0"));
    p.rt.run();
    const text = c.take();
    expect(text).toContain("redis_version:6.2.14\r\n");
    expect(text).toContain("connected_clients:1\r\n");
    expect(text).toContain("loading:0\r\n");
    expect(text).toContain("# Keyspace\r\ndb0:keys=5,expires=2,avg_ttl=200\r\ndb1:keys=5,expires=0,avg_ttl=0\r\n");
    c.write(resp("INFO", "keyspace"));
    p.rt.run();
    for (const i of [0, 1, 2]) p.server(i).peer.write(info("7.0.0", "db0:keys=1,expires=0,avg_ttl=0"));
    p.rt.run();
    expect(c.take()).toBe(bulk("# Keyspace\r\ndb0:keys=3,expires=0,avg_ttl=0\r\n"));
    expectNoLeak(p);
  });
});
