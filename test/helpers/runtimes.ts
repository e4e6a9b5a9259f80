// For cross-process tests: how to start a TypeScript entry under node (as a bundle), bun and deno, and port helpers.

import { spawnSync } from "node:child_process";
import * as net from "node:net";
import { join } from "node:path";

export const ROOT = new URL("../../", import.meta.url).pathname;
export const BUN = join(ROOT, "node_modules", ".bin", "bun");
export const DENO = join(ROOT, "node_modules", ".bin", "deno");

export type RuntimeName = "node" | "bun" | "deno";

/** One runtime a test can start a program under. */
export interface RuntimeTarget {
  readonly name: RuntimeName;
  /** The argv that runs the entry with `entryArgs` after it. */
  cmd(entryArgs: readonly string[]): string[];
}

/** An entry point as TypeScript source, and the Node bundle made from it (Node 20 cannot run TS). */
export interface Entry {
  readonly ts: string;
  readonly nodeBundle: string;
}

/**
 * The three targets for `entry`. Deno gets -A and --unstable-net (Deno.listen's reusePort is an
 * unstable API); node runs the bundle, see bundleForNode().
 */
export function runtimeTargets(entry: Entry): readonly RuntimeTarget[] {
  return [
    { name: "node", cmd: (args) => [process.execPath, entry.nodeBundle, ...args] },
    { name: "bun", cmd: (args) => [BUN, entry.ts, ...args] },
    { name: "deno", cmd: (args) => [DENO, "run", "-A", "--unstable-net", "--quiet", entry.ts, ...args] },
  ];
}

/** Bundle a TypeScript entry into one ESM file Node 20 can run (bun build --target=node). */
export function bundleForNode(entryTs: string, outfile: string): void {
  const r = spawnSync(BUN, ["build", "--target=node", "--format=esm", "--outfile", outfile, entryTs], {
    cwd: ROOT,
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`Cannot bundle "${entryTs}" for node: ${r.stderr || r.stdout}`);
}

/** A TCP port that was free a moment ago on `host` (bind to port 0, read it, close). */
// ports handed out by this process: the kernel may give a just-closed port again, and callers
// often ask for several before binding any
const given = new Set<number>();

export async function freePort(host = "127.0.0.1"): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = net.createServer();
      srv.once("error", reject);
      srv.listen(0, host, () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    if (!given.has(port)) {
      given.add(port);
      return port;
    }
  }
}

/** Resolve once `host:port` accepts a connection; reject after `timeoutMs`. */
export function waitForPort(host: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      const c = net.connect({ host, port });
      c.once("connect", () => {
        c.destroy();
        resolve();
      });
      c.once("error", (e: Error) => {
        c.destroy();
        if (Date.now() >= deadline) reject(new Error(`Cannot connect to "${host}:${port}" within ${timeoutMs} ms: ${e.message}`));
        else setTimeout(attempt, 25);
      });
    };
    attempt();
  });
}
