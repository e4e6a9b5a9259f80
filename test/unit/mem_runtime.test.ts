// The in-memory runtime keeps the socket contract of runtime/types.ts (the cases of
// test/fixtures/contract_fixture.ts that the core relies on), so core tests on it mean something.

import { describe, expect, it } from "vitest";
import type { ErrnoName, Socket, SocketHandler } from "../../runtime/types.ts";
import { latin1, MemRuntime } from "../helpers/mem_runtime.ts";

/** Records the events of every socket it serves, as the contract fixture's Probe does. */
class Probe implements SocketHandler {
  readonly log: string[] = [];
  readonly got: string[] = [];
  kept: Uint8Array | null = null;
  hooks: Partial<Record<"open" | "data" | "end" | "drain", (s: Socket) => void>> = {};

  open(s: Socket): void {
    this.log.push("open");
    this.hooks.open?.(s);
  }
  data(s: Socket, chunk: Uint8Array): void {
    this.log.push("data");
    this.got.push(String.fromCharCode(...chunk));
    this.kept = chunk;
    this.hooks.data?.(s);
  }
  drain(s: Socket): void {
    this.log.push("drain");
    this.hooks.drain?.(s);
  }
  end(s: Socket): void {
    this.log.push("end");
    this.hooks.end?.(s);
  }
  close(_s: Socket, err: ErrnoName | null): void {
    this.log.push(`close:${err}`);
  }
}

const EP = { host: "10.0.0.1", port: 6379 };

describe("MemRuntime sockets", () => {
  it("queues a write and an end() made before open; FIN follows the bytes, close after both FINs", () => {
    const rt = new MemRuntime();
    const h = new Probe();
    const s = rt.connect({ endpoint: EP }, h);
    expect(s.write(latin1("early"))).toBe(true);
    expect(s.bufferedAmount).toBe(5);
    s.end();
    expect(h.log).toEqual([]); // nothing happens inside a call
    rt.run();
    const peer = rt.server("10.0.0.1:6379").peer;
    expect(peer.text()).toBe("early");
    expect(peer.gotFin).toBe(true);
    expect(s.bufferedAmount).toBe(0);
    expect(h.log).toEqual(["open"]);
    peer.write("bye");
    peer.end();
    rt.run();
    expect(h.log).toEqual(["open", "data", "end", "close:null"]);
    expect(h.got).toEqual(["bye"]);
    expect(s.write(latin1("late"))).toBe(false);
  });

  it("delivers one peer write per data call, lends the chunk, and holds data and FIN while paused", () => {
    const rt = new MemRuntime();
    const h = new Probe();
    const s = rt.connect({ endpoint: EP }, h);
    rt.run();
    s.pause();
    const peer = rt.server("10.0.0.1:6379").peer;
    peer.write("ab");
    peer.write("c");
    peer.end();
    rt.run();
    expect(h.log).toEqual(["open"]);
    s.resume();
    rt.run();
    expect(h.got).toEqual(["ab", "c"]);
    expect(h.log).toEqual(["open", "data", "data", "end"]);
    expect([...h.kept!]).toEqual([0xee]); // overwritten once data() returned
  });

  it("reports refused, blackholed and reset connections with the adapters' errno names", () => {
    const rt = new MemRuntime();
    rt.server("10.0.0.2:1").mode = "refuse";
    rt.server("10.0.0.3:1").mode = "blackhole";
    const refused = new Probe();
    const hole = new Probe();
    const reset = new Probe();
    rt.connect({ endpoint: { host: "10.0.0.2", port: 1 } }, refused);
    const h = rt.connect({ endpoint: { host: "10.0.0.3", port: 1 } }, hole);
    rt.connect({ endpoint: EP }, reset);
    rt.run();
    expect(refused.log).toEqual(["close:ECONNREFUSED"]);
    expect(hole.log).toEqual([]);
    h.close();
    rt.run();
    expect(hole.log).toEqual(["close:null"]); // giving up on a connect is an orderly close
    rt.server("10.0.0.1:6379").peer.reset();
    rt.run();
    expect(reset.log).toEqual(["open", "close:ECONNRESET"]);
  });

  it("close() drops queued bytes and reports close later, once; writes to a closed peer fail with EPIPE", () => {
    const rt = new MemRuntime();
    const h = new Probe();
    const s = rt.connect({ endpoint: EP }, h);
    rt.run();
    s.write(latin1("lost"));
    s.close();
    s.close();
    expect(h.log).toEqual(["open"]);
    rt.run();
    expect(h.log).toEqual(["open", "close:null"]);
    const peer = rt.server("10.0.0.1:6379").peer;
    expect(peer.text()).toBe("");
    expect(peer.closed).toBe(true);

    const h2 = new Probe();
    const s2 = rt.connect({ endpoint: EP }, h2);
    rt.run();
    rt.server("10.0.0.1:6379").peer.close();
    rt.run();
    s2.write(latin1("into the void"));
    rt.run();
    expect(h2.log).toEqual(["open", "end", "close:EPIPE"]);
  });

  it("returns false at the high-water mark while the peer does not read, and drains when it does", () => {
    const rt = new MemRuntime();
    const h = new Probe();
    const s = rt.connect({ endpoint: EP }, h);
    rt.run();
    const peer = rt.server("10.0.0.1:6379").peer;
    peer.stopReading(1000);
    expect(s.write(new Uint8Array(40 * 1024))).toBe(true);
    expect(s.write(new Uint8Array(40 * 1024))).toBe(false);
    rt.run();
    expect(s.bufferedAmount).toBe(80 * 1024 - 1000);
    expect(h.log).toEqual(["open"]);
    peer.startReading();
    rt.run();
    expect(s.bufferedAmount).toBe(0);
    expect(h.log).toEqual(["open", "drain"]);
    expect(peer.chunks.reduce((n, c) => n + c.length, 0)).toBe(80 * 1024);
  });

  it("closes a socket whose handler throws with EIO, and run() rethrows the exception", () => {
    const rt = new MemRuntime();
    const h = new Probe();
    h.hooks.data = () => {
      throw new Error("deliberate");
    };
    rt.connect({ endpoint: EP }, h);
    rt.run();
    rt.server("10.0.0.1:6379").peer.write("x");
    expect(() => rt.run()).toThrow(/deliberate/);
    expect(h.log).toEqual(["open", "data", "close:EIO"]);
  });

  it("dials a listener: the accepted socket opens on the next step", async () => {
    const rt = new MemRuntime();
    const h = new Probe();
    h.hooks.data = (s) => s.write(latin1("pong"));
    const l = await rt.listen({ endpoint: { host: "127.0.0.1", port: 0 }, backlog: 1 }, h);
    const c = rt.dial(`127.0.0.1:${l.endpoint.port}`);
    c.write("ping");
    rt.run();
    expect(h.got).toEqual(["ping"]);
    expect(c.text()).toBe("pong");
    l.close();
    expect(() => rt.dial(`127.0.0.1:${l.endpoint.port}`)).toThrow(/nothing listens/);
  });
});

describe("MemRuntime clock", () => {
  it("fires timers only on advance(), in deadline order, each at its own time; cleared ones never", () => {
    const rt = new MemRuntime();
    const t0 = rt.now();
    const fired: string[] = [];
    rt.setTimer(30, () => fired.push(`b@${rt.now() - t0}`));
    rt.setTimer(10, () => {
      fired.push(`a@${rt.now() - t0}`);
      rt.setTimer(5, () => fired.push(`c@${rt.now() - t0}`));
    });
    rt.clearTimer(rt.setTimer(20, () => fired.push("cleared")));
    rt.setTimer(0, () => fired.push(`zero@${rt.now() - t0}`));
    rt.run();
    expect(fired).toEqual([]);
    rt.advance(29);
    expect(fired).toEqual(["zero@1", "a@10", "c@15"]);
    expect(rt.now() - t0).toBe(29);
    rt.advance(1);
    expect(fired).toEqual(["zero@1", "a@10", "c@15", "b@30"]);
    expect(rt.activeTimers).toBe(0);
  });

  it("runs deferred callbacks after the I/O of their turn; those they defer, a turn later", () => {
    const rt = new MemRuntime();
    const order: string[] = [];
    const h = new Probe();
    h.hooks.open = () => order.push("open");
    rt.connect({ endpoint: EP }, h);
    rt.defer(() => {
      order.push("d1");
      rt.defer(() => order.push("d3"));
    });
    rt.defer(() => order.push("d2"));
    rt.step();
    expect(order).toEqual(["open", "d1", "d2"]);
    rt.step();
    expect(order).toEqual(["open", "d1", "d2", "d3"]);
  });
});
