// src/core on the in-memory runtime: forwarding, reply order across servers, fragment coalescing,
// write batching, flow control and half-close. Failures and ejection: core_failure.test.ts.

import { describe, expect, it } from "vitest";
import { array, bulk, memProxy, type MemProxy, resp } from "../helpers/mem_runtime.ts";

const REDIS3 = `alpha:
  listen: 127.0.0.1:22121
  redis: true
  servers:
   - 10.0.0.1:6379:1
   - 10.0.0.2:6379:1
   - 10.0.0.3:6379:1
`;

const MC2 = `beta:
  listen: 127.0.0.1:22122
  servers:
   - 10.0.1.1:11211:1
   - 10.0.1.2:11211:1
`;

/** Every message and mbuf is back on its free list. */
function expectNoLeak(p: MemProxy): void {
  expect(p.inUse()).toEqual({ msgs: 0, mbufs: 0 });
}

describe("core forwarding (redis, 3 servers)", () => {
  it("answers pipelined GETs in request order when the servers answer out of order", async () => {
    const p = await memProxy(REDIS3);
    const [a0, b0, c0, a1] = [p.keyOn(0, "a"), p.keyOn(1, "b"), p.keyOn(2, "c"), p.keyOn(0, "a", 1)] as const;
    const c = p.client();
    c.write(resp("GET", a0) + resp("GET", b0) + resp("GET", c0) + resp("GET", a1));
    p.rt.run();
    const [A, B, C] = [p.server(0).peer, p.server(1).peer, p.server(2).peer];
    // both of A's requests leave in one write
    expect(A.chunks.map((x) => x.length)).toEqual([resp("GET", a0).length + resp("GET", a1).length]);
    expect(A.take()).toBe(resp("GET", a0) + resp("GET", a1));
    expect(B.take()).toBe(resp("GET", b0));
    expect(C.take()).toBe(resp("GET", c0));

    C.write(bulk("vc0"));
    B.write(bulk("vb0"));
    p.rt.run();
    expect(c.take()).toBe(""); // the head of the pipeline waits on A
    A.write(bulk("va0"));
    p.rt.run();
    expect(c.take()).toBe(bulk("va0") + bulk("vb0") + bulk("vc0"));
    A.writeBytewise(bulk("va1")); // one byte per read: the parser resumes at every split
    p.rt.run();
    expect(c.take()).toBe(bulk("va1"));
    expectNoLeak(p);
  });

  it("keeps each client's order when two clients interleave over the same servers; one write per server per turn", async () => {
    const p = await memProxy(REDIS3);
    const a = [p.keyOn(0, "a"), p.keyOn(0, "a", 1)] as const;
    const b = [p.keyOn(1, "b"), p.keyOn(1, "b", 1)] as const;
    const x = p.client();
    const y = p.client();
    // connect both servers first, so the batching below is of open connections
    x.write(resp("GET", a[0]) + resp("GET", b[0]));
    p.rt.run();
    const [A, B] = [p.server(0).peer, p.server(1).peer];
    A.write("$-1\r\n");
    B.write("$-1\r\n");
    p.rt.run();
    expect(x.take()).toBe("$-1\r\n$-1\r\n");
    A.discard();
    B.discard();
    x.write(resp("GET", a[0]) + resp("GET", b[0]));
    y.write(resp("GET", b[1]) + resp("GET", a[1]));
    p.rt.run();
    // read in one turn, both clients' requests to a server go out in one write, in read order
    expect(A.chunks).toHaveLength(1);
    expect(A.take()).toBe(resp("GET", a[0]) + resp("GET", a[1]));
    expect(B.chunks).toHaveLength(1);
    expect(B.take()).toBe(resp("GET", b[0]) + resp("GET", b[1]));
    B.write(bulk("x-b") + bulk("y-b"));
    p.rt.run();
    expect(y.take()).toBe(bulk("y-b")); // y's head was on B
    expect(x.take()).toBe("");
    A.write(bulk("x-a"));
    A.write(bulk("y-a"));
    p.rt.run();
    expect(x.take()).toBe(bulk("x-a") + bulk("x-b"));
    expect(y.take()).toBe(bulk("y-a"));
    expectNoLeak(p);
  });

  it("carries a reply that spans many mbufs and arrives in uneven chunks byte for byte (-m 512)", async () => {
    const p = await memProxy(REDIS3, { mbufSize: 512 });
    const k = p.keyOn(2, "big");
    const value = Array.from({ length: 3000 }, (_, i) => String.fromCharCode(33 + (i % 90))).join("");
    const c = p.client();
    c.write(resp("GET", k) + resp("PING"));
    p.rt.run();
    const C = p.server(2).peer;
    expect(C.take()).toBe(resp("GET", k));
    const reply = bulk(value);
    for (const [s, e] of [[0, 3], [3, 700], [700, 701], [701, 2999], [2999, reply.length]] as const) {
      C.write(reply.slice(s, e));
    }
    p.rt.run();
    expect(c.take()).toBe(reply + "+PONG\r\n"); // the local PONG waits its turn behind the GET
    expectNoLeak(p);
  });

  it("splits MGET per server, keys in request order within each part, and coalesces in key order", async () => {
    const p = await memProxy(REDIS3);
    const keys = [p.keyOn(0, "a"), p.keyOn(1, "b"), p.keyOn(0, "a", 1), p.keyOn(2, "c"), p.keyOn(1, "b", 1)];
    const [ka0, kb0, ka1, kc0, kb1] = keys as [string, string, string, string, string];
    const c = p.client();
    c.write(resp("MGET", ...keys));
    p.rt.run();
    const [A, B, C] = [p.server(0).peer, p.server(1).peer, p.server(2).peer];
    expect(A.take()).toBe(resp("MGET", ka0, ka1));
    expect(B.take()).toBe(resp("MGET", kb0, kb1));
    expect(C.take()).toBe(resp("MGET", kc0));
    C.write(array("vc0"));
    const bReply = array(null, "vb1");
    B.write(bReply.slice(0, 7));
    p.rt.run();
    B.write(bReply.slice(7));
    p.rt.run();
    expect(c.take()).toBe("");
    A.write(array("va0", "va1"));
    p.rt.run();
    expect(c.take()).toBe(array("va0", null, "va1", "vc0", "vb1"));
    expectNoLeak(p);
  });

  it("sums DEL parts and answers MSET +OK once every part did", async () => {
    const p = await memProxy(REDIS3);
    const [a, b, c0] = [p.keyOn(0, "a"), p.keyOn(1, "b"), p.keyOn(2, "c")];
    const c = p.client();
    c.write(resp("DEL", a, b, c0) + resp("MSET", a, "1", b, "2"));
    p.rt.run();
    const [A, B, C] = [p.server(0).peer, p.server(1).peer, p.server(2).peer];
    expect(A.take()).toBe(resp("DEL", a) + resp("MSET", a, "1"));
    expect(B.take()).toBe(resp("DEL", b) + resp("MSET", b, "2"));
    expect(C.take()).toBe(resp("DEL", c0));
    A.write(":1\r\n+OK\r\n");
    B.write(":0\r\n");
    C.write(":1\r\n");
    p.rt.run();
    expect(c.take()).toBe(":2\r\n"); // MSET still waits for B's part
    B.write("+OK\r\n");
    p.rt.run();
    expect(c.take()).toBe("+OK\r\n");
    expectNoLeak(p);
  });

  it("sends a request whose keys all live on one server whole, unsplit", async () => {
    const p = await memProxy(REDIS3);
    const keys = [p.keyOn(1, "b"), p.keyOn(1, "b", 1), p.keyOn(1, "b", 2)];
    const c = p.client();
    c.write(resp("MGET", ...keys));
    p.rt.run();
    expect(p.server(1).peer.take()).toBe(resp("MGET", ...keys));
    expect(p.server(0).attempts + p.server(2).attempts).toBe(0);
    p.server(1).peer.write(array("1", "2", "3"));
    p.rt.run();
    expect(c.take()).toBe(array("1", "2", "3"));
    expectNoLeak(p);
  });
});

describe("core forwarding (memcache, 2 servers)", () => {
  it("splits a multi-key get per server and coalesces the VALUE blocks in key order", async () => {
    const p = await memProxy(MC2);
    const [a0, b0, a1, b1] = [p.keyOn(0, "a"), p.keyOn(1, "b"), p.keyOn(0, "a", 1), p.keyOn(1, "b", 1)];
    const c = p.client();
    c.write(`get ${a0} ${b0} ${a1} ${b1}\r\n`);
    p.rt.run();
    const [A, B] = [p.server(0).peer, p.server(1).peer];
    // twemproxy's memcache_append_key puts a space after every key, the last one too
    expect(A.take()).toBe(`get ${a0} ${a1} \r\n`);
    expect(B.take()).toBe(`get ${b0} ${b1} \r\n`);
    B.writeBytewise(`VALUE ${b0} 0 2\r\nB0\r\nVALUE ${b1} 7 3\r\nB1!\r\nEND\r\n`);
    p.rt.run();
    expect(c.take()).toBe("");
    A.write(`VALUE ${a0} 1 2\r\nA0\r\nVALUE ${a1} 0 0\r\n\r\nEND\r\n`);
    p.rt.run();
    expect(c.take()).toBe(
      `VALUE ${a0} 1 2\r\nA0\r\nVALUE ${b0} 0 2\r\nB0\r\nVALUE ${a1} 0 0\r\n\r\nVALUE ${b1} 7 3\r\nB1!\r\nEND\r\n`,
    );
    expectNoLeak(p);
  });

  it("places a part's blocks by position when it misses a key, as memcache_copy_bulk does", async () => {
    const p = await memProxy(MC2);
    const [a0, b0, a1] = [p.keyOn(0, "a"), p.keyOn(1, "b"), p.keyOn(0, "a", 1)];
    const c = p.client();
    c.write(`gets ${a0} ${b0} ${a1}\r\n`);
    p.rt.run();
    expect(p.server(0).peer.take()).toBe(`gets ${a0} ${a1} \r\n`);
    p.server(0).peer.write(`VALUE ${a1} 1 2 77\r\nA1\r\nEND\r\n`); // a0 is a miss
    p.server(1).peer.write(`VALUE ${b0} 0 1 78\r\nB\r\nEND\r\n`);
    p.rt.run();
    // A's only block takes a0's place; clients match blocks by key, so the order is harmless
    expect(c.take()).toBe(`VALUE ${a1} 1 2 77\r\nA1\r\nVALUE ${b0} 0 1 78\r\nB\r\nEND\r\n`);
    expectNoLeak(p);
  });

  it("answers pipelined gets in order across servers", async () => {
    const p = await memProxy(MC2);
    const [a, b] = [p.keyOn(0, "a"), p.keyOn(1, "b")];
    const c = p.client();
    c.write(`get ${a}\r\nget ${b}\r\nversion\r\n`);
    p.rt.run();
    p.server(1).peer.write("END\r\n");
    p.rt.run();
    expect(c.take()).toBe("");
    p.server(0).peer.write(`VALUE ${a} 0 1\r\nx\r\nEND\r\n`);
    p.rt.run();
    // `version` goes to a server too (twemproxy forwards it); it answers last
    expect(c.take()).toBe(`VALUE ${a} 0 1\r\nx\r\nEND\r\nEND\r\n`);
    const versionAt = p.server(0).peer.text().includes("version") ? 0 : 1;
    p.server(versionAt).peer.write("VERSION 1.6.0\r\n");
    p.rt.run();
    expect(c.take()).toBe("VERSION 1.6.0\r\n");
    expectNoLeak(p);
  });
});

describe("core flow control and half-close", () => {
  it("stops reading a client that does not read its replies past max_queued_bytes, and resumes when it reads", async () => {
    const p = await memProxy(`gamma:
  listen: 127.0.0.1:22123
  redis: true
  max_queued_bytes: 4096
  servers:
   - 10.0.2.1:6379:1
`);
    const value = "v".repeat(1000);
    const n = 40;
    const c = p.client();
    c.stopReading(); // its socket buffer is full: our replies stay in bufferedAmount
    const S = p.rt.server("10.0.2.1:6379");
    let answered = 0;
    /** Answer every GET the server got since last time; returns how many. */
    const answer = (): number => {
      p.rt.run();
      const got = S.peers.length === 0 ? 0 : S.peer.take().split("*2\r\n").length - 1;
      for (let i = 0; i < got; i++) S.peer.write(bulk(value));
      answered += got;
      p.rt.run();
      return got;
    };
    // one request per read, each answered before the next arrives
    for (let i = 0; i < n; i++) {
      c.write(resp("GET", `k${i}`));
      answer();
    }
    // held: 1 KB replies fill the 4 KB budget after a few; the rest wait unparsed, the socket paused
    expect(answered).toBeGreaterThanOrEqual(4);
    expect(answered).toBeLessThanOrEqual(6);
    const held = answered;
    p.rt.advance(500); // the recheck timer finds it still full: nothing moves
    expect(answer()).toBe(0);
    expect(answered).toBe(held);
    expect(c.text()).toBe("");
    expect(p.inUse().msgs).toBeLessThanOrEqual(2); // the held bytes wait as one partial message
    // the client reads: the drain resumes parsing, and every reply arrives in order
    c.startReading();
    for (let i = 0; i < 4 * n && answered < n; i++) {
      if (answer() === 0) p.rt.advance(50); // without a drain, the recheck timer resumes it
    }
    expect(answered).toBe(n);
    expect(c.text()).toBe(bulk(value).repeat(n));
    expectNoLeak(p);
  });

  it("answers what a client sent before its FIN, then sends its own FIN", async () => {
    const p = await memProxy(REDIS3);
    const [a, b] = [p.keyOn(0, "a"), p.keyOn(1, "b")];
    const c = p.client();
    c.write(resp("GET", a) + resp("GET", b));
    c.end();
    p.rt.run();
    expect(c.gotFin).toBe(false);
    p.server(1).peer.write(bulk("B"));
    p.server(0).peer.write(bulk("A"));
    p.rt.run();
    expect(c.text()).toBe(bulk("A") + bulk("B"));
    expect(c.gotFin).toBe(true);
    expect(c.closed).toBe(true); // both FINs: closed
    expect(p.pool().nclients).toBe(0);
    expectNoLeak(p);
  });

  it("swallows the replies of a client that left with requests in flight", async () => {
    const p = await memProxy(REDIS3);
    const keys = [p.keyOn(0, "a"), p.keyOn(1, "b"), p.keyOn(2, "c")];
    const c = p.client();
    c.write(keys.map((k) => resp("GET", k)).join("") + resp("MGET", ...keys));
    p.rt.run();
    c.reset();
    p.rt.run();
    for (const i of [0, 1, 2]) p.server(i).peer.write(bulk(`v${i}`) + array(`m${i}`));
    p.rt.run();
    expectNoLeak(p);
    // the server connections are still in step: a new client is answered correctly
    const d = p.client();
    d.write(resp("GET", keys[1]!));
    p.rt.run();
    p.server(1).peer.write(bulk("fresh"));
    p.rt.run();
    expect(d.take()).toBe(bulk("fresh"));
    expect(p.server(1).peers).toHaveLength(1);
  });
});
