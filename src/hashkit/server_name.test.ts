// Tests for compareServerNames and defaultServerName: twemproxy's server order and identity.

import { expect, test } from "vitest";
import { compareServerNames, defaultServerName } from "./server_name.ts";

test("compareServerNames() puts shorter names first, then byte order", () => {
  expect(["gamma", "beta", "alpha", "delta"].sort(compareServerNames)).toEqual(["beta", "alpha", "delta", "gamma"]);
  expect(["aa", "b"].sort(compareServerNames)).toEqual(["b", "aa"]);
  expect(compareServerNames("x", "x")).toBe(0);
});

test("compareServerNames() orders unnamed servers by port when hosts match (variant e)", () => {
  const names = ["127.0.0.1:26003", "127.0.0.1:26001", "127.0.0.1:26005", "127.0.0.1:26002"];
  expect(names.sort(compareServerNames)).toEqual(["127.0.0.1:26001", "127.0.0.1:26002", "127.0.0.1:26003", "127.0.0.1:26005"]);
});

test("compareServerNames() compares UTF-8 bytes, not UTF-16 code units", () => {
  // "é" is 2 bytes, so it sorts after every 1-byte name.
  expect(["é", "z"].sort(compareServerNames)).toEqual(["z", "é"]);
  // Both are 4 bytes: f0 90 80 80 > ef bf bf 61, though JS string order says the opposite
  // (the surrogate 0xd800 sorts before 0xffff).
  expect("\u{10000}" < "\uffffa").toBe(true);
  expect(compareServerNames("\u{10000}", "\uffffa")).toBe(1);
  expect(compareServerNames("\uffffa", "\u{10000}")).toBe(-1);
});

test("defaultServerName() is host:port with the port text as written", () => {
  expect(defaultServerName("127.0.0.1", "6379")).toBe("127.0.0.1:6379");
  expect(defaultServerName("127.0.0.3", "06379")).toBe("127.0.0.3:06379");
  expect(defaultServerName("cache.local", "26001")).toBe("cache.local:26001");
});

test("defaultServerName() drops a port of 11211, like libmemcached and nutcracker 0.5.0", () => {
  expect(defaultServerName("127.0.0.1", "11211")).toBe("127.0.0.1");
  expect(defaultServerName("127.0.0.2", "011211")).toBe("127.0.0.2");
});

test("defaultServerName() keeps a trailing colon after a unix socket path", () => {
  expect(defaultServerName("/tmp/nctest/sock", null)).toBe("/tmp/nctest/sock:");
});
