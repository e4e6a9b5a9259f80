// Tests for parseListen: twemproxy's listen forms and its strtol-based unix mode.

import { describe, expect, it } from "vitest";
import { parseListen } from "./listen.ts";

const ok = (v: string) => {
  const r = parseListen(v);
  if (!r.ok) throw new Error(r.detail);
  return r.value;
};
const code = (v: string) => {
  const r = parseListen(v);
  return r.ok ? "ok" : r.code;
};

describe("parseListen()", () => {
  it("parseListen() splits host and port at the last colon", () => {
    expect(ok("0.0.0.0:22121").endpoint).toEqual({ host: "0.0.0.0", port: 22121 });
    expect(ok(":::22121").endpoint).toEqual({ host: "::", port: 22121 });
    expect(ok("::ffff:127.0.0.1:1").endpoint).toEqual({ host: "::ffff:127.0.0.1", port: 1 });
  });

  it("parseListen() strips brackets from an IPv6 host and keeps pname as written", () => {
    expect(ok("[::1]:6000")).toEqual({ pname: "[::1]:6000", endpoint: { host: "::1", port: 6000 }, mode: null });
  });

  it("parseListen() rejects ports outside 1..65535 and non-digits", () => {
    for (const v of ["127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:", "127.0.0.1:+1", "127.0.0.1:1 "]) {
      expect(code(v), v).toBe("E_CONF_INVALID_LISTEN");
    }
    expect(ok("127.0.0.1:65535").endpoint).toEqual({ host: "127.0.0.1", port: 65535 });
  });

  it("parseListen() rejects hosts getaddrinfo could not resolve", () => {
    for (const v of [":22121", "*:22121", "a b:1", "1:2:22121", "[127.0.0.1]:1", "nosuchhost"]) {
      expect(code(v), v).toBe("E_CONF_INVALID_LISTEN");
    }
  });

  it("parseListen() reads the unix mode like strtol(_, NULL, 8)", () => {
    expect(ok("/tmp/s 0666").mode).toBe(0o666);
    expect(ok("/tmp/s 666").mode).toBe(0o666);
    expect(ok("/tmp/s 0777").mode).toBe(0o777);
    // no octal digits, or a stop at the first 8/9: 0, which means "leave the mode alone"
    expect(ok("/tmp/s abc").mode).toBeNull();
    expect(ok("/tmp/s 0999").mode).toBeNull();
    expect(ok("/tmp/s 0").mode).toBeNull();
    expect(code("/tmp/s 1000")).toBe("E_CONF_INVALID_LISTEN");
    expect(code("/tmp/s -1")).toBe("E_CONF_INVALID_LISTEN");
  });

  it("parseListen() splits the unix path at the last space", () => {
    expect(ok("/tmp/a b 0600")).toEqual({ pname: "/tmp/a b 0600", endpoint: { path: "/tmp/a b" }, mode: 0o600 });
    expect(ok("/tmp/s  0600").endpoint).toEqual({ path: "/tmp/s " });
    expect(ok("/tmp/s ").endpoint).toEqual({ path: "/tmp/s" });
  });

  it("parseListen() allows unix paths up to 107 bytes", () => {
    expect(code(`/${"x".repeat(106)}`)).toBe("ok");
    expect(code(`/${"x".repeat(107)}`)).toBe("E_CONF_INVALID_LISTEN");
    expect(code(`/${"é".repeat(54)}`)).toBe("E_CONF_INVALID_LISTEN"); // 109 bytes in UTF-8
  });

  it("parseListen() needs an absolute path for a unix socket", () => {
    expect(code("nc.sock")).toBe("E_CONF_INVALID_LISTEN");
  });
});
