// Tests for parseServer: conf_add_server's scan from the end and the names it gives.

import { describe, expect, it } from "vitest";
import { parseServer } from "./server.ts";

const ok = (v: string) => {
  const r = parseServer(v, 1);
  if (!r.ok) throw new Error(r.detail);
  return r.value;
};
const code = (v: string) => {
  const r = parseServer(v, 1);
  return r.ok ? "ok" : r.code;
};

describe("parseServer()", () => {
  it("parseServer() reads host:port:weight and names it host:port", () => {
    expect(ok("127.0.0.1:6379:3")).toEqual({
      pname: "127.0.0.1:6379:3",
      name: "127.0.0.1:6379",
      named: false,
      endpoint: { host: "127.0.0.1", port: 6379 },
      weight: 3,
      line: 1,
    });
  });

  it("parseServer() keeps the port as written in the name", () => {
    expect(ok("127.0.0.1:06379:1")).toMatchObject({ name: "127.0.0.1:06379", endpoint: { port: 6379 } });
  });

  it("parseServer() names a server on port 11211 by host alone", () => {
    expect(ok("cache1:11211:1").name).toBe("cache1");
  });

  it("parseServer() takes the name after the last space", () => {
    expect(ok("127.0.0.1:6379:1 alpha")).toMatchObject({ pname: "127.0.0.1:6379:1", name: "alpha", named: true });
  });

  it("parseServer() keeps an empty name and the trailing space in pname", () => {
    expect(ok("127.0.0.1:6379:1 ")).toMatchObject({ pname: "127.0.0.1:6379:1 ", name: "", named: true });
  });

  it("parseServer() reads IPv6 hosts bare or bracketed", () => {
    expect(ok("::1:6379:1")).toMatchObject({ name: "::1:6379", endpoint: { host: "::1", port: 6379 } });
    expect(ok("[::1]:6379:1")).toMatchObject({ name: "[::1]:6379", endpoint: { host: "::1", port: 6379 } });
  });

  it("parseServer() accepts any host, resolved later (twemproxy resolves servers lazily)", () => {
    expect(ok(":6379:1").endpoint).toEqual({ host: "", port: 6379 });
    expect(ok("nosuchhost.invalid:6379:1").endpoint).toEqual({ host: "nosuchhost.invalid", port: 6379 });
  });

  it("parseServer() reads a unix socket and names it path + colon", () => {
    expect(ok("/tmp/r.sock:2")).toEqual({
      pname: "/tmp/r.sock:2",
      name: "/tmp/r.sock:",
      named: false,
      endpoint: { path: "/tmp/r.sock" },
      weight: 2,
      line: 1,
    });
    expect(ok("/tmp/r.sock:2 redis")).toMatchObject({ pname: "/tmp/r.sock:2", name: "redis", named: true });
  });

  it("parseServer() rejects what conf_add_server rejects", () => {
    expect(code("127.0.0.1:6379")).toBe("E_CONF_INVALID_SERVER");
    expect(code("127.0.0.1")).toBe("E_CONF_INVALID_SERVER");
    expect(code("127.0.0.1:6379:")).toBe("E_CONF_INVALID_SERVER");
    expect(code("127.0.0.1:6379:x")).toBe("E_CONF_INVALID_SERVER");
    expect(code("127.0.0.1:6379:1 a b")).toBe("E_CONF_INVALID_SERVER");
    expect(code("127.0.0.1:0:1")).toBe("E_CONF_INVALID_SERVER");
    expect(code("127.0.0.1:65536:1")).toBe("E_CONF_INVALID_SERVER");
    expect(code("127.0.0.1:6379:1\0")).toBe("E_CONF_INVALID_SERVER");
    expect(code("/tmp/r.sock")).toBe("E_CONF_INVALID_SERVER");
    expect(code("/tmp/r:x.sock:1")).toBe("E_CONF_INVALID_SERVER");
  });

  it("parseServer() rejects weight 0 with its own code", () => {
    expect(code("127.0.0.1:6379:0")).toBe("E_CONF_ZERO_WEIGHT");
    expect(code("/tmp/r.sock:00")).toBe("E_CONF_ZERO_WEIGHT");
  });
});
