// redis_auth, redis_db (AUTH before SELECT), error replies (the default) and error_replies: false, against real redis.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exchange, request, resp } from "../helpers/client.ts";
import { type Running, startProxy, type Target, writeConf } from "../helpers/proxy.ts";
import { type Backend, startRedis } from "../helpers/real_backends.ts";
import { freePort } from "../helpers/runtimes.ts";

const QUIT = resp("QUIT");
let secured: Backend;
let open: Backend;

beforeAll(async () => {
  [secured, open] = await Promise.all([startRedis(["--requirepass", "s3cret"]), startRedis()]);
});
afterAll(async () => {
  await Promise.all([secured, open].filter(Boolean).map((b) => b.stop()));
});

describe.each(["node", "bun"] as Target[])("redis auth and errors on %s", (rt) => {
  let proxy: Running;
  const ports = { auth: 0, plain: 0, errors: 0 };

  beforeAll(async () => {
    ports.auth = await freePort();
    ports.plain = await freePort();
    ports.errors = await freePort();
    const conf = writeConf(`auth:
  listen: 127.0.0.1:${ports.auth}
  redis: true
  redis_auth: s3cret
  redis_db: 3
  servers:
   - 127.0.0.1:${secured.port}:1
plain:
  listen: 127.0.0.1:${ports.plain}
  redis: true
  error_replies: false
  servers:
   - 127.0.0.1:${open.port}:1
errors:
  listen: 127.0.0.1:${ports.errors}
  redis: true
  servers:
   - 127.0.0.1:${open.port}:1
`);
    proxy = await startProxy(rt, ["-c", conf], ports.errors);
  });
  afterAll(async () => {
    await proxy?.stop();
  });

  it("asks for AUTH before anything, PING included, and a wrong password de-authenticates", async () => {
    const seq = [
      resp("PING"),
      resp("GET", "k"),
      resp("AUTH", "nope"),
      resp("AUTH", "s3cret"),
      resp("PING"),
      resp("SET", "authkey", "v"),
      resp("AUTH", "wrong"),
      resp("GET", "authkey"),
      QUIT,
    ];
    const got = (await exchange(ports.auth, Buffer.concat(seq))).toString();
    expect(got).toBe(
      "-NOAUTH Authentication required\r\n-NOAUTH Authentication required\r\n-ERR invalid password\r\n" +
        "+OK\r\n+PONG\r\n+OK\r\n-ERR invalid password\r\n-NOAUTH Authentication required\r\n",
    );
  });

  it("authenticates backend connections itself and writes to redis_db (AUTH before SELECT)", async () => {
    const direct = (
      await exchange(secured.port, Buffer.concat([resp("AUTH", "s3cret"), resp("SELECT", "3"), resp("GET", "authkey"), QUIT]))
    ).toString();
    expect(direct).toBe("+OK\r\n+OK\r\n$1\r\nv\r\n+OK\r\n");
  });

  it("answers AUTH without redis_auth with twemproxy's error", async () => {
    const want = "-ERR Client sent AUTH, but no password is set\r\n";
    const got = await request(ports.plain, resp("AUTH", "x"), want.length);
    expect(got.toString()).toBe(want);
  });

  it("closes on an unsupported command without a word with error_replies: false, as twemproxy", async () => {
    const got = await exchange(ports.plain, Buffer.concat([resp("PING"), resp("FLUSHALL"), resp("PING")]));
    expect(got.toString()).toBe("");
    // the commands the proxy serves beyond 0.5.0 close it too
    for (const cmd of [resp("HELLO", "3"), resp("CLIENT", "SETINFO", "LIB-NAME", "x"), resp("INFO"), resp("SCAN", "0"), resp("PING", "x")]) {
      expect((await exchange(ports.plain, Buffer.concat([cmd, resp("PING")]))).toString()).toBe("");
    }
  });

  it("answers unsupported commands and wrong arity with errors by default, and keeps going", async () => {
    // (MULTI and SUBSCRIBE are served now, on pinned connections: test/e2e/pinned.test.ts)
    const seq = [resp("CONFIG", "GET", "x"), resp("GET", "a", "b"), resp("WAIT", "0", "0"), resp("PING"), resp("SET", "e", "1"), resp("GET", "e"), QUIT];
    const got = (await exchange(ports.errors, Buffer.concat(seq), { chunk: 3 })).toString();
    expect(got).toBe(
      "-ERR unsupported command 'config'\r\n-ERR wrong number of arguments for 'get' command\r\n" +
        "-ERR unsupported command 'wait'\r\n+PONG\r\n+OK\r\n$1\r\n1\r\n",
    );
  });
});
