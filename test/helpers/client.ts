// Raw-byte TCP clients for end-to-end tests: send bytes, collect every byte until the peer closes.

import { connect } from "node:net";

/** RESP-encode one command. */
export function resp(...args: (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = typeof a === "string" ? Buffer.from(a) : a;
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from("\r\n"));
  }
  return Buffer.concat(parts);
}

/**
 * Connect, write `data` (in `chunk`-sized writes when given), and resolve with every byte received
 * until the server closes the connection, or reject after `timeoutMs`.
 */
export function exchange(port: number, data: Buffer, opts: { chunk?: number; timeoutMs?: number; halfClose?: boolean } = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: "127.0.0.1", port });
    const got: Buffer[] = [];
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no close from port ${port} within ${opts.timeoutMs ?? 30000} ms; got ${Buffer.concat(got).length} bytes`));
    }, opts.timeoutMs ?? 30_000);
    sock.on("connect", () => {
      const step = opts.chunk ?? data.length;
      for (let i = 0; i < data.length; i += step) sock.write(data.subarray(i, i + step));
      if (opts.halfClose) sock.end();
    });
    sock.on("data", (d) => got.push(d));
    sock.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.on("close", () => {
      clearTimeout(timer);
      resolve(Buffer.concat(got));
    });
  });
}

/** Connect, write `data`, resolve once `n` bytes arrived (or reject on close/timeout); then close. */
export function request(port: number, data: Buffer, n: number, timeoutMs = 10_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: "127.0.0.1", port });
    const got: Buffer[] = [];
    let len = 0;
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`only ${len} of ${n} bytes from port ${port}: ${Buffer.concat(got).toString()}`));
    }, timeoutMs);
    sock.on("connect", () => sock.write(data));
    sock.on("data", (d) => {
      got.push(d);
      len += d.length;
      if (len >= n) {
        clearTimeout(timer);
        sock.destroy();
        resolve(Buffer.concat(got));
      }
    });
    sock.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.on("close", () => {
      clearTimeout(timer);
      if (len < n) reject(new Error(`closed after ${len} of ${n} bytes: ${Buffer.concat(got).toString()}`));
    });
  });
}
