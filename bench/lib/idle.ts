// Idle clients: open N connections to a redis pool, each sends one PING and reads its PONG, then stays open.

import { connect, type Socket } from "node:net";

const PING = Buffer.from("*1\r\n$4\r\nPING\r\n");
const PONG = "+PONG\r\n";

function one(port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port });
    let got = "";
    const fail = (why: string): void => {
      clearTimeout(t);
      s.destroy();
      reject(new Error(why));
    };
    const t = setTimeout(() => fail(`no PONG within ${timeoutMs} ms (got ${JSON.stringify(got)})`), timeoutMs);
    s.once("connect", () => s.write(PING));
    s.on("data", (d: Buffer) => {
      got += d.toString("latin1");
      if (got.length >= PONG.length) {
        clearTimeout(t);
        s.removeAllListeners("data");
        if (got !== PONG) return fail(`PING answered ${JSON.stringify(got)}`);
        resolve(s);
      }
    });
    s.once("error", (e) => fail(e.message));
    s.once("close", () => fail(`closed after ${JSON.stringify(got)}`));
  });
}

/** The open, idle connections; close() ends them all. */
export interface IdleClients {
  readonly sockets: readonly Socket[];
  close(): Promise<void>;
}

/**
 * Open `n` connections to 127.0.0.1:port, `batch` at a time (below any listen backlog), each having
 * done one PING. Rejects, closing what it opened, when one fails.
 */
export async function openIdle(port: number, n: number, batch = 100, timeoutMs = 10_000): Promise<IdleClients> {
  const sockets: Socket[] = [];
  const closeAll = async (): Promise<void> => {
    await Promise.all(
      sockets.map(
        (s) =>
          new Promise<void>((r) => {
            if (s.destroyed) return r();
            s.removeAllListeners("close");
            s.removeAllListeners("error");
            s.once("close", () => r());
            s.on("error", () => {});
            s.destroy();
          }),
      ),
    );
  };
  try {
    for (let i = 0; i < n; i += batch) {
      const k = Math.min(batch, n - i);
      const opened = await Promise.allSettled(Array.from({ length: k }, () => one(port, timeoutMs)));
      for (const o of opened) if (o.status === "fulfilled") sockets.push(o.value);
      const bad = opened.find((o): o is PromiseRejectedResult => o.status === "rejected");
      if (bad !== undefined) throw new Error(`idle client ${sockets.length + 1} of ${n}: ${(bad.reason as Error).message}`);
    }
  } catch (e) {
    await closeAll();
    throw e;
  }
  // from here on a peer close is not an error: the sockets only wait
  for (const s of sockets) {
    s.removeAllListeners("close");
    s.removeAllListeners("error");
    s.on("error", () => {});
  }
  return { sockets, close: closeAll };
}
