// src/core on the in-memory runtime: backends that reset, refuse, stall, half-close or talk
// garbage; fragments failing; auto_eject_hosts ejection and return on the manual clock.

import { describe, expect, it } from "vitest";
import { SP, SS } from "../../src/stats/table.ts";
import { array, bulk, memProxy, type MemProxy, resp } from "../helpers/mem_runtime.ts";

const REDIS3 = `alpha:
  listen: 127.0.0.1:22121
  redis: true
  timeout: 500
  servers:
   - 10.0.0.1:6379:1
   - 10.0.0.2:6379:1
   - 10.0.0.3:6379:1
`;

const EJECT = `eject:
  listen: 127.0.0.1:22124
  redis: true
  auto_eject_hosts: true
  server_failure_limit: 1
  server_retry_timeout: 1000
  servers:
   - 10.0.3.1:6379:1
   - 10.0.3.2:6379:1
`;

function expectNoLeak(p: MemProxy): void {
  expect(p.inUse()).toEqual({ msgs: 0, mbufs: 0 });
}

describe("a failing fragment", () => {
  for (const order of ["reset first", "reset last"] as const) {
    it(`MGET: a part's server resets (${order}) → one -ERR, then the client is closed; nothing leaks`, async () => {
      const p = await memProxy(REDIS3);
      const [a, b, c0] = [p.keyOn(0, "a"), p.keyOn(1, "b"), p.keyOn(2, "c")];
      const c = p.client();
      c.write(resp("MGET", a, b, c0) + resp("GET", a));
      p.rt.run();
      const [A, B, C] = [p.server(0).peer, p.server(1).peer, p.server(2).peer];
      expect(A.take()).toBe(resp("MGET", a) + resp("GET", a));
      if (order === "reset first") {
        B.reset();
        p.rt.run();
        expect(c.take()).toBe(""); // the other parts are still out
      }
      A.write(array("va") + bulk("va"));
      C.write(array("vc"));
      if (order === "reset last") B.reset();
      p.rt.run();
      // nc_redis.c: any failed part makes the whole reply the error; 0.5.0 then closes an MGET's client
      expect(c.take()).toBe("-ERR Connection reset by peer\r\n");
      expect(c.gotFin).toBe(true); // the GET behind it gets no reply
      c.end();
      p.rt.run();
      expect(c.closed).toBe(true);
      expect(p.pool().nclients).toBe(0);
      expect(p.server(1).peers.every((x) => x.closed)).toBe(true);
      expectNoLeak(p);
    });
  }

  it("DEL: a failed part answers -ERR but keeps the client (only MGET closes it)", async () => {
    const p = await memProxy(REDIS3);
    const [a, b] = [p.keyOn(0, "a"), p.keyOn(1, "b")];
    const c = p.client();
    c.write(resp("DEL", a, b));
    p.rt.run();
    p.server(1).peer.reset();
    p.server(0).peer.write(":1\r\n");
    p.rt.run();
    expect(c.take()).toBe("-ERR Connection reset by peer\r\n");
    expect(c.eof).toBe(false);
    // the next request to the same server takes a new connection
    c.write(resp("GET", b));
    p.rt.run();
    expect(p.server(1).peers).toHaveLength(2);
    p.server(1).peer.write(bulk("again"));
    p.rt.run();
    expect(c.take()).toBe(bulk("again"));
    expectNoLeak(p);
  });

  it("memcache get: a failed part answers SERVER_ERROR with the errno text and closes the client", async () => {
    const p = await memProxy(`beta:
  listen: 127.0.0.1:22122
  servers:
   - 10.0.1.1:11211:1
   - 10.0.1.2:11211:1
`);
    const [a, b] = [p.keyOn(0, "a"), p.keyOn(1, "b")];
    const c = p.client();
    c.write(`get ${a} ${b}\r\n`);
    p.rt.run();
    p.server(0).peer.write(`VALUE ${a} 0 1\r\nx\r\nEND\r\n`);
    p.server(1).peer.reset();
    p.rt.run();
    expect(c.take()).toBe("SERVER_ERROR Connection reset by peer\r\n");
    expect(c.gotFin).toBe(true);
    expectNoLeak(p);
  });
});

describe("a failing server", () => {
  it("fails every request pending on a reset connection, in order, and leaves other servers' replies alone", async () => {
    const p = await memProxy(REDIS3);
    const [a0, b0, a1] = [p.keyOn(0, "a"), p.keyOn(1, "b"), p.keyOn(0, "a", 1)];
    const c = p.client();
    c.write(resp("GET", a0) + resp("GET", b0) + resp("GET", a1));
    p.rt.run();
    p.server(0).peer.reset();
    p.rt.run();
    const err = "-ERR Connection reset by peer\r\n";
    expect(c.take()).toBe(err); // a1's error waits behind b0
    p.server(1).peer.write(bulk("b"));
    p.rt.run();
    expect(c.take()).toBe(bulk("b") + err);
    expect(c.eof).toBe(false); // a GET failing does not close its client
    expect(p.pool().servers[0]!.stats[SS.server_err]).toBe(1);
    expectNoLeak(p);
  });

  it("times out a stalled server after `timeout` ms of the clock: -ERR Connection timed out, connection closed", async () => {
    const p = await memProxy(REDIS3);
    const [a, b] = [p.keyOn(0, "a"), p.keyOn(1, "b")];
    const c = p.client();
    c.write(resp("GET", a));
    p.rt.run();
    expect(p.server(0).peer.take()).toBe(resp("GET", a));
    p.rt.advance(250);
    c.write(resp("GET", a) + resp("GET", b)); // the second GET to the stalled server, 250 ms later
    p.rt.run();
    p.server(1).peer.write(bulk("b"));
    p.rt.advance(249);
    expect(c.take()).toBe("");
    p.rt.advance(1); // 500 ms after the first: its timeout closes the connection, failing both
    const tmo = "-ERR Connection timed out\r\n";
    expect(c.take()).toBe(tmo + tmo + bulk("b"));
    expect(p.server(0).peer.closed).toBe(true);
    expect(p.pool().servers[0]!.stats[SS.server_timedout]).toBe(1);
    p.rt.advance(1000); // B's timer, armed for its answered GET, runs out without re-arming
    expect(p.rt.activeTimers).toBe(0);
    expectNoLeak(p);
  });

  it("times out a connect that is never answered (blackholed SYN)", async () => {
    const p = await memProxy(REDIS3);
    p.server(2).mode = "blackhole";
    const k = p.keyOn(2, "c");
    const c = p.client();
    c.write(resp("GET", k));
    p.rt.advance(499);
    expect(c.take()).toBe("");
    p.rt.advance(1);
    expect(c.take()).toBe("-ERR Connection timed out\r\n");
    expect(p.rt.openSockets).toBe(1); // only the client: the connect was given up
    expectNoLeak(p);
  });

  it("fails the pending requests of a server that half-closes, and of one that answers garbage", async () => {
    const p = await memProxy(REDIS3);
    const [a, b] = [p.keyOn(0, "a"), p.keyOn(1, "b")];
    const c = p.client();
    c.write(resp("GET", a) + resp("GET", b));
    p.rt.run();
    p.server(0).peer.end(); // FIN: no errno, so strerror has nothing to say
    p.server(1).peer.write("this is not redis\r\n");
    p.rt.run();
    expect(c.take()).toBe("-ERR unknown\r\n-ERR Invalid argument\r\n");
    expect(p.server(0).peer.closed).toBe(true);
    expect(p.server(1).peer.closed).toBe(true);
    expectNoLeak(p);
  });

  it("closes a server connection that sends a reply nobody asked for", async () => {
    const p = await memProxy(REDIS3);
    const a = p.keyOn(0, "a");
    const c = p.client();
    c.write(resp("GET", a));
    p.rt.run();
    p.server(0).peer.write(bulk("x") + bulk("unasked"));
    p.rt.run();
    expect(c.take()).toBe(bulk("x"));
    expect(p.server(0).peer.closed).toBe(true);
    expect(p.log.grep(/unexpected rsp/)).toHaveLength(1);
    expectNoLeak(p);
  });
});

describe("auto_eject_hosts", () => {
  it("ejects a refusing server, moves its keys to the other, and tries it again after server_retry_timeout", async () => {
    const p = await memProxy(EJECT);
    const [A, B] = [p.server(0), p.server(1)];
    A.mode = "refuse";
    const ka = p.keyOn(0, "a");
    const c = p.client();
    c.write(resp("GET", ka));
    p.rt.run();
    expect(c.take()).toBe("-ERR Connection refused\r\n");
    expect(p.pool().stats[SP.server_ejects]).toBe(1);
    expect(p.log.grep(/ejecting server '10\.0\.3\.1:6379:1' from pool 'eject' for 1000 ms/)).toHaveLength(1);

    // ejected: its key now lives on B
    c.write(resp("GET", ka));
    p.rt.run();
    expect(B.peer.take()).toBe(resp("GET", ka));
    B.peer.write(bulk("from-b"));
    p.rt.run();
    expect(c.take()).toBe(bulk("from-b"));
    expect(A.attempts).toBe(1);

    // not yet due: still B
    p.rt.advance(999);
    c.write(resp("GET", ka));
    p.rt.run();
    expect(B.peer.take()).toBe(resp("GET", ka));
    B.peer.write("$-1\r\n");
    p.rt.run();
    expect(c.take()).toBe("$-1\r\n");
    expect(A.attempts).toBe(1);

    // due: put back blindly, and A (now up) gets its key again
    A.mode = "accept";
    p.rt.advance(2);
    c.write(resp("GET", ka));
    p.rt.run();
    expect(A.attempts).toBe(2);
    expect(A.peer.take()).toBe(resp("GET", ka));
    expect(B.peer.take()).toBe("");
    A.peer.write(bulk("from-a"));
    p.rt.run();
    expect(c.take()).toBe(bulk("from-a"));
    expectNoLeak(p);
  });

  it("counts failures up to server_failure_limit before ejecting; a reply resets the count", async () => {
    const p = await memProxy(EJECT.replace("server_failure_limit: 1", "server_failure_limit: 2"));
    const [A, B] = [p.server(0), p.server(1)];
    const ka = p.keyOn(0, "a");
    const c = p.client();
    const refusedOnce = async (): Promise<void> => {
      A.mode = "refuse";
      c.write(resp("GET", ka));
      p.rt.run();
      expect(c.take()).toBe("-ERR Connection refused\r\n");
    };
    await refusedOnce();
    expect(p.pool().stats[SP.server_ejects]).toBe(0);
    A.mode = "accept";
    c.write(resp("GET", ka)); // still A's: not ejected after one failure
    p.rt.run();
    A.peer.write(bulk("ok"));
    p.rt.run();
    expect(c.take()).toBe(bulk("ok"));
    A.peer.reset(); // one failure again, after a reply reset the count
    p.rt.run();
    expect(p.pool().stats[SP.server_ejects]).toBe(0);
    await refusedOnce(); // the second in a row: ejected
    expect(p.pool().stats[SP.server_ejects]).toBe(1);
    c.write(resp("GET", ka));
    p.rt.run();
    expect(B.peer.take()).toBe(resp("GET", ka));
    B.peer.write("$-1\r\n");
    p.rt.run();
    expect(c.take()).toBe("$-1\r\n");
    expectNoLeak(p);
  });
});
