// Tests for isIPv6 and listenHost: the syntax check that stands in for getaddrinfo.

import { describe, expect, it } from "vitest";
import { isIPv6, listenHost } from "./host.ts";

describe("isIPv6()", () => {
  it("isIPv6() accepts the usual forms", () => {
    for (const s of ["::", "::1", "fe80::1", "2001:db8::8:800:200c:417a", "1:2:3:4:5:6:7:8", "::ffff:10.0.0.1", "fe80::1%eth0"]) {
      expect(isIPv6(s), s).toBe(true);
    }
  });

  it("isIPv6() rejects malformed addresses", () => {
    for (const s of ["", "1", "1:2", ":::", "1::2::3", "1:2:3:4:5:6:7:8:9", "12345::", "g::", "::1%", "::300.1.1.1"]) {
      expect(isIPv6(s), s).toBe(false);
    }
  });
});

describe("listenHost()", () => {
  it("listenHost() returns names, IPv4 and IPv6 as given, and unwraps [v6]", () => {
    expect(listenHost("localhost")).toBe("localhost");
    expect(listenHost("127.0.0.1")).toBe("127.0.0.1");
    expect(listenHost("::1")).toBe("::1");
    expect(listenHost("[::1]")).toBe("::1");
  });

  it("listenHost() returns null for what cannot resolve", () => {
    for (const s of ["", "*", "a b", "[localhost]", "1:2", "a..b"]) expect(listenHost(s), s).toBeNull();
  });
});
