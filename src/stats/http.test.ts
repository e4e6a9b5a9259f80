// routeRequestLine, httpResponse and promEscape: the metrics port's decisions, byte for byte.

import { describe, expect, it } from "vitest";
import { httpResponse, routeRequestLine } from "./http.ts";
import { PROM_LE_US, promEscape } from "./prometheus.ts";

const line = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

describe("routeRequestLine()", () => {
  it.each([
    ["GET /metrics HTTP/1.1\r", 200, false],
    ["GET /metrics HTTP/1.0", 200, false],
    ["HEAD /metrics HTTP/1.1\r", 200, true],
    ["GET /metrics?x=1&y HTTP/1.1\r", 200, false],
    ["GET / HTTP/1.1\r", 404, false],
    ["GET /metrics/ HTTP/1.1\r", 404, false],
    ["GET http://host:9100/metrics HTTP/1.1\r", 200, false],
    ["GET http://host HTTP/1.1\r", 404, false],
    ["POST /metrics HTTP/1.1\r", 405, false],
    ["get /metrics HTTP/1.1\r", 405, false],
    ["GET /metrics\r", 400, false],
    ["GET /metrics HTTP/2.0\r", 400, false],
    ["GET /metrics HTTP/1.1 \r", 400, false],
    ["GET\t/metrics HTTP/1.1\r", 400, false],
    ["GET /met rics HTTP/1.1\r", 400, false],
    ["\x00\x01\xff", 400, false],
    ["", 400, false],
  ] as const)("%j gets %i", (text, status, head) => {
    expect(routeRequestLine(line(text))).toEqual({ status, head });
  });
});

describe("httpResponse()", () => {
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  it("sends the metrics with their length, and only the head for HEAD", () => {
    expect(text(httpResponse({ status: 200, head: false }, () => "a 1\n"))).toBe(
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: 4\r\nConnection: close\r\n\r\na 1\n",
    );
    expect(text(httpResponse({ status: 200, head: true }, () => "é 1\n"))).toBe(
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: 5\r\nConnection: close\r\n\r\n",
    );
  });
  it("does not build the metrics for an error, and names the allowed methods on 405", () => {
    const never = () => {
      throw new Error("built");
    };
    expect(text(httpResponse({ status: 405, head: false }, never))).toBe(
      "HTTP/1.1 405 Method Not Allowed\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 19\r\nAllow: GET, HEAD\r\nConnection: close\r\n\r\nMethod Not Allowed\n",
    );
    expect(text(httpResponse({ status: 404, head: false }, never))).toMatch(/^HTTP\/1\.1 404 Not Found\r\n.*\r\n\r\nNot Found\n$/s);
  });
});

describe("promEscape() and the buckets", () => {
  it("escapes backslash, quote and newline, and nothing else", () => {
    expect(promEscape('a\\b"c\nd\te€')).toBe('a\\\\b\\"c\\nd\te€');
  });
  it("has le edges on powers of two from 16 us to 16.8 s", () => {
    expect(PROM_LE_US[0]).toBe(16);
    expect(PROM_LE_US.at(-1)).toBe(2 ** 24);
    expect(PROM_LE_US.map((us) => String(us / 1e6)).slice(0, 3)).toEqual(["0.000016", "0.000032", "0.000064"]);
  });
});
