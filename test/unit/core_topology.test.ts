// src/core's topology seams on the in-memory runtime: a router swapped mid-pipeline, a server moved
// to another address, a pool replaced under connected clients, pinned connections, retained bytes.

import { describe, expect, it } from "vitest";
import type { ErrnoName } from "../../runtime/types.ts";
import { parseConf } from "../../src/conf/parse.ts";
import type { Msg } from "../../src/core/message.ts";
import { MsgWriter } from "../../src/core/msg_io.ts";
import { ServerPool } from "../../src/core/pool.ts";
import type { Proxy } from "../../src/core/proxy.ts";
import type { Router } from "../../src/core/router.ts";
import type { ServerConn } from "../../src/core/server.ts";
import { redisProto } from "../../src/proto/redis_proto.ts";
import { SP, SS } from "../../src/stats/table.ts";
import { bulk, latin1, memProxy, type MemProxy, resp } from "../helpers/mem_runtime.ts";

const conf = (timeout = ""): string => `alpha:
  listen: 127.0.0.1:22121
  redis: true
  server_connections: 1
${timeout}  servers:
   - 10.0.0.1:6379:1
   - 10.0.0.2:6379:1
`;

function expectNoLeak(p: MemProxy): void {
  expect(p.inUse()).toEqual({ msgs: 0, mbufs: 0 });
}

/** A router that sends every key to server `i` of the pool. */
function toServer(p: MemProxy, i: number, retains = false): Router {
  const s = p.pool().servers[i]!;
  return { route: () => s, rebuild: () => {}, retains };
}

describe("core topology changes", () => {
  it("a router swapped mid-pipeline: what was written finishes where it went, the next request takes the new route", async () => {
    const p = await memProxy(conf());
    const k = p.keyOn(0, "k");
    const c = p.client();
    c.write(resp("GET", k) + resp("GET", k));
    p.rt.run();
    const A = p.server(0).peer;
    expect(A.take()).toBe(resp("GET", k) + resp("GET", k));
    p.pool().setRouter(toServer(p, 1));
    c.write(resp("SET", k, "x") + resp("GET", k));
    p.rt.run();
    const B = p.server(1).peer;
    expect(B.take()).toBe(resp("SET", k, "x") + resp("GET", k));
    // the new server answers first; replies still leave in request order
    B.write("+OK\r\n" + bulk("x"));
    p.rt.run();
    expect(c.take()).toBe("");
    A.write(bulk("a") + bulk("b"));
    p.rt.run();
    expect(c.take()).toBe(bulk("a") + bulk("b") + "+OK\r\n" + bulk("x"));
    expectNoLeak(p);
  });

  it("a server moved to another address: the old connection finishes its requests and closes as no failure", async () => {
    const p = await memProxy(conf("  auto_eject_hosts: true\n  server_failure_limit: 1\n"));
    const k = p.keyOn(0, "k");
    const c = p.client();
    c.write(resp("GET", k));
    p.rt.run();
    const old = p.server(0).peer;
    expect(old.take()).toBe(resp("GET", k));
    const server = p.pool().servers[0]!;
    server.setEndpoint({ host: "10.0.9.9", port: 6379 });
    expect(server.conns).toHaveLength(0); // out of the rotation at once
    c.write(resp("GET", k));
    p.rt.run();
    const moved = p.rt.server("10.0.9.9:6379").peer;
    expect(moved.take()).toBe(resp("GET", k));
    expect(old.closed).toBe(false); // its reply is still due
    old.write(bulk("old"));
    moved.write(bulk("new"));
    p.rt.run();
    expect(c.take()).toBe(bulk("old") + bulk("new"));
    expect(old.closed).toBe(true);
    expect([server.stats[SS.server_eof], server.stats[SS.server_err], server.failureCount, server.nextRetry]).toEqual([0, 0, 0, 0]);
    expect(p.pool().stats[SP.server_ejects]).toBe(0);
    expectNoLeak(p);
  });

  it("a pool replaced under a connected client: counters go on, the client's next request uses the new pool", async () => {
    const p = await memProxy(conf());
    const k = p.keyOn(0, "k");
    const c = p.client();
    c.write(resp("GET", k));
    p.rt.run();
    const A = p.server(0).peer;
    A.take();
    const prev = p.pool();
    const [nextConf] = parseConf(conf().replace("10.0.0.1", "10.0.5.1").replace("10.0.0.2", "10.0.5.2"), "mem.yml");
    const next = new ServerPool(p.ctx, nextConf!, redisProto, prev);
    const proxy = p.listeners[0] as Proxy;
    expect(proxy.clients.size).toBe(1);
    proxy.swap(next);
    prev.stop();
    c.write(resp("GET", k));
    p.rt.run();
    expect(A.closed).toBe(false); // retiring: its request is pending
    const moved = [p.rt.server("10.0.5.1:6379"), p.rt.server("10.0.5.2:6379")].find((s) => s.peers.length > 0)!;
    expect(moved.peer.take()).toBe(resp("GET", k));
    A.write(bulk("1"));
    moved.peer.write(bulk("2"));
    p.rt.run();
    expect(c.take()).toBe(bulk("1") + bulk("2"));
    expect(A.closed).toBe(true);
    expect(next.stats).toBe(prev.stats); // the stats ports keep counting
    expect(next.nclients).toBe(1);
    c.close();
    p.rt.run();
    expect(next.nclients).toBe(0);
    expect(proxy.clients.size).toBe(0);
    expectNoLeak(p);
  });

  it("a router that retains requests: bytes are kept until the reply, then freed", async () => {
    const p = await memProxy(conf());
    p.pool().setRouter(toServer(p, 1, true));
    const c = p.client();
    c.write(resp("GET", "a"));
    p.rt.run();
    expect(p.server(1).peer.take()).toBe(resp("GET", "a"));
    // written, reply pending: the request still holds its mbuf (a plain router would hold none)
    expect(p.inUse().mbufs).toBeGreaterThan(0);
    p.server(1).peer.write(bulk("v"));
    p.rt.run();
    expect(c.take()).toBe(bulk("v"));
    expectNoLeak(p);
  });
});

/** A pinned connection's owner that keeps what it is told. */
class Owner {
  readonly pushes: string[] = [];
  readonly gone: (ErrnoName | null)[] = [];
  readonly done: Msg[] = [];
  readonly id = 999;
  private readonly p: MemProxy;
  constructor(p: MemProxy) {
    this.p = p;
  }
  pushed(_c: ServerConn, rsp: Msg): void {
    const out = new Uint8Array(rsp.mlen);
    rsp.copyTo(out, 0);
    this.pushes.push(Buffer.from(out).toString("latin1"));
    this.p.ctx.msgs.put(rsp);
  }
  unpinned(_c: ServerConn, err: ErrnoName | null): void {
    this.gone.push(err);
  }
  reqDone(m: Msg): void {
    this.done.push(m);
  }
}

/** A request owned by `owner`, as the client side would hand it over. */
function request(p: MemProxy, owner: Owner, wire: string): Msg {
  const msgs = p.ctx.msgs;
  const m = msgs.get(true, owner);
  const w = new MsgWriter();
  w.begin(msgs.mbufs, m).bytes(latin1(wire));
  w.end();
  return m;
}

describe("pinned connections", () => {
  it("stay outside the rotation, take unasked replies, may wait past the timeout, and are released without a failure", async () => {
    const p = await memProxy(conf("  timeout: 100\n  auto_eject_hosts: true\n  server_failure_limit: 1\n"));
    const server = p.pool().servers[0]!;
    const owner = new Owner(p);
    const pin = server.pin(owner)!;
    p.rt.run();
    expect(server.conns).toHaveLength(0);
    // a shared connection opens beside it: the pinned one does not count against server_connections
    const c = p.client();
    c.write(resp("GET", p.keyOn(0, "k")));
    p.rt.run();
    expect(p.server(0).peers).toHaveLength(2);
    expect(server.conns).toHaveLength(1);
    const pinPeer = p.server(0).peers[0]!;
    const shared = p.server(0).peers[1]!;
    shared.write(bulk("v"));
    p.rt.run();
    expect(c.take()).toBe(bulk("v"));

    // a request exempt from the pool timeout (a blocking pop)
    const req = request(p, owner, resp("BLPOP", "q", "0"));
    req.untimed = true;
    pin.enqueue(req);
    p.rt.run();
    expect(pinPeer.take()).toBe(resp("BLPOP", "q", "0"));
    p.rt.advance(1000);
    expect(pin.closed).toBe(false);
    const push = "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n";
    pinPeer.write("*2\r\n$1\r\nq\r\n$1\r\nx\r\n" + push);
    p.rt.run();
    expect(owner.done).toHaveLength(1);
    expect(owner.pushes).toEqual([push]);
    for (const m of owner.done) {
      p.ctx.msgs.put(m.peer!);
      p.ctx.msgs.put(m);
    }

    pin.release();
    p.rt.run();
    expect(pinPeer.closed).toBe(true);
    expect(owner.gone).toEqual([]);
    expect([server.stats[SS.server_eof], server.stats[SS.server_err], server.failureCount, server.nextRetry]).toEqual([0, 0, 0, 0]);
    expect(shared.closed).toBe(false);
    expectNoLeak(p);
  });

  it("tell their owner when the server closes them, which counts as the server's failure", async () => {
    const p = await memProxy(conf());
    const server = p.pool().servers[1]!;
    const owner = new Owner(p);
    const pin = server.pin(owner)!;
    p.rt.run();
    p.server(1).peer.end();
    p.rt.run();
    expect(pin.closed).toBe(true);
    expect(owner.gone).toEqual([null]);
    expect(server.stats[SS.server_eof]).toBe(1);
    expectNoLeak(p);
  });
});
