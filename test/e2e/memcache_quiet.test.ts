// Meta commands in quiet mode through a two-server pool answer what one memcached answers directly.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exchange } from "../helpers/client.ts";
import { type Running, startProxy, writeConf } from "../helpers/proxy.ts";
import { type Backend, startMemcached } from "../helpers/real_backends.ts";
import { freePort } from "../helpers/runtimes.ts";

let backends: Backend[] = [];
let proxy: Running;
let port = 0;

beforeAll(async () => {
  backends = await Promise.all([startMemcached(), startMemcached(), startMemcached()]);
  port = await freePort();
  const conf = writeConf(`mc:\n  listen: 127.0.0.1:${port}\n  servers:\n${backends
    .slice(1)
    .map((b) => `   - 127.0.0.1:${b.port}:1`)
    .join("\n")}\n`);
  proxy = await startProxy("node", ["-c", conf, "-m", "512"], port);
});
afterAll(async () => {
  await proxy?.stop();
  await Promise.all(backends.map((b) => b.stop()));
});

describe("memcache quiet mode", () => {
  it("keeps quiet replies in order: silent ones stay silent, hits and errors come through", async () => {
    const lines: string[] = [];
    for (let i = 0; i < 200; i++) {
      const k = `q${i % 37}`;
      switch (i % 6) {
        case 0:
          lines.push(`ms ${k} 3 q\r\nv${i % 10}x\r\n`);
          break;
        case 1:
          lines.push(`mg ${k} q v\r\n`, `mg miss${i} q v\r\n`);
          break;
        case 2:
          lines.push(`md ${k} q\r\n`, `md gone${i} q\r\n`);
          break;
        case 3:
          lines.push(`ma ${k} q\r\n`); // non-numeric value: an error, never suppressed
          break;
        case 4:
          lines.push(`mg ${k} v\r\n`, "mn\r\n");
          break;
        default:
          lines.push(`get ${k} q${(i + 1) % 37}\r\n`);
      }
    }
    const load = Buffer.from(lines.join("") + "mn\r\nquit\r\n");
    const direct = await exchange(backends[0]!.port, load);
    const proxied = await exchange(port, load, { chunk: 101 });
    expect(proxied.toString()).toBe(direct.toString());
    expect(direct.toString()).toContain("VA 3");
  });
});
