// Static replica groups (`replicas:`) against real redis-server replicas: ROLE checked before a member's first request, writes on the master only, reads by read_from, and a plain pool that never asks ROLE.

import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Backend, startRedis } from "../helpers/real_backends.ts";
import { cmd, countReplies, direct } from "../helpers/diff.ts";
import { exchange } from "../helpers/client.ts";
import { TARGETS, type Running, startProxy, writeConf } from "../helpers/proxy.ts";
import { freePort } from "../helpers/runtimes.ts";

const TARGETS_HERE = ["node", "binary"] as const;
const READONLY = "-READONLY You can't write against a read only replica.\r\n";

let master: Backend;
let replicaA: Backend;
let replicaB: Backend;

/**
 * Times the node on `port` saw command `name`: its `cmdstat_` calls plus the calls it refused
 * (a replica counts a refused write as rejected_calls, not calls); 0 when it never saw one.
 */
async function calls(port: number, name: string): Promise<number> {
  const info = (await direct(port, [cmd("INFO", "commandstats")], null)).toString();
  const m = new RegExp(`cmdstat_${name}:calls=(\\d+),.*rejected_calls=(\\d+),failed_calls=(\\d+)`).exec(info);
  return m === null ? 0 : Number(m[1]) + Number(m[2]) + Number(m[3]);
}

async function resetStats(): Promise<void> {
  for (const b of [master, replicaA, replicaB]) await direct(b.port, [cmd("CONFIG", "RESETSTAT")], null);
}

/** Send `commands` pipelined through the proxy, then QUIT; every reply, as text. */
async function through(port: number, commands: Buffer[]): Promise<string> {
  const out = await exchange(port, Buffer.concat([...commands, cmd("QUIT")]), { timeoutMs: 10_000 });
  expect(countReplies(out)).toBe(commands.length);
  return out.toString();
}

async function waitInSync(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const info = (await direct(port, [cmd("INFO", "replication")], null)).toString();
    if (info.includes("master_link_status:up")) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`replica ${port} never synced`);
}

beforeAll(async () => {
  master = await startRedis();
  replicaA = await startRedis(["--replicaof", "127.0.0.1", String(master.port)]);
  replicaB = await startRedis(["--replicaof", "127.0.0.1", String(master.port)]);
  await waitInSync(replicaA.port);
  await waitInSync(replicaB.port);
}, 30_000);

afterAll(async () => {
  for (const b of [master, replicaA, replicaB]) await b?.stop();
});

/** A one-shard group pool; PORT stands for the listen port. */
function groupPool(extra: string, masterPort: number, replicaPorts: readonly number[]): string {
  const replicas = replicaPorts.map((p) => `   - 127.0.0.1:${p}:1 shard1\n`).join("");
  return `grp:\n  listen: 127.0.0.1:PORT\n  redis: true\n${extra}  servers:\n   - 127.0.0.1:${masterPort}:1 shard1\n  replicas:\n${replicas}`;
}

describe.each(TARGETS_HERE)("replica groups on %s", (target) => {
  async function proxy(yaml: string): Promise<{ port: number; p: Running }> {
    const port = await freePort();
    const p = await startProxy(target, ["-c", writeConf(yaml.replaceAll("PORT", String(port))), "-s", String(await freePort())], port);
    return { port, p };
  }

  it("refuses writes to a master that says it is a replica: -READONLY, and the node never sees them", async () => {
    // the servers: line names a node that is in fact a replica
    const { port, p } = await proxy(groupPool("", replicaA.port, [master.port]));
    try {
      await resetStats();
      const out = await through(port, [cmd("SET", "rg:k", "v"), cmd("GET", "rg:k"), cmd("INCR", "rg:n")]);
      expect(out.startsWith(READONLY)).toBe(true);
      expect(out.split(READONLY).length - 1).toBe(2);
      expect(await calls(replicaA.port, "set")).toBe(0);
      expect(await calls(replicaA.port, "incr")).toBe(0);
      // the read went to it, after its ROLE
      expect(await calls(replicaA.port, "get")).toBe(1);
      expect(await calls(replicaA.port, "role")).toBeGreaterThanOrEqual(1);
      expect(p.stderr()).toMatch(/shard 'shard1': 127\.0\.0\.1:\d+ says it is a replica, routed to as a master/);
    } finally {
      await p.stop();
    }
  });

  it("read_from: replica sends reads to both replicas and writes to the master only", async () => {
    const { port, p } = await proxy(groupPool("  read_from: replica\n", master.port, [replicaA.port, replicaB.port]));
    try {
      await resetStats();
      const sets = Array.from({ length: 20 }, (_, i) => cmd("SET", `rg:${i}`, String(i)));
      expect(await through(port, sets)).toBe("+OK\r\n".repeat(20));
      expect(await calls(master.port, "set")).toBe(20);
      await new Promise((r) => setTimeout(r, 200));
      const gets = Array.from({ length: 40 }, (_, i) => cmd("GET", `rg:${i % 20}`));
      await through(port, gets);
      expect(await calls(master.port, "get")).toBe(0);
      const a = await calls(replicaA.port, "get");
      const b = await calls(replicaB.port, "get");
      expect(a + b).toBe(40);
      expect(a).toBeGreaterThan(0);
      expect(b).toBeGreaterThan(0);
      // an MGET over one shard is one part, to one member
      await through(port, [cmd("MGET", "rg:1", "rg:2", "rg:3")]);
      expect((await calls(replicaA.port, "mget")) + (await calls(replicaB.port, "mget"))).toBe(1);
      expect(await calls(master.port, "mget")).toBe(0);
    } finally {
      await p.stop();
    }
  });

  it("read_from: master (the default) keeps reads on the master", async () => {
    const { port, p } = await proxy(groupPool("", master.port, [replicaA.port, replicaB.port]));
    try {
      await resetStats();
      await through(port, Array.from({ length: 10 }, (_, i) => cmd("GET", `rg:${i}`)));
      expect(await calls(master.port, "get")).toBe(10);
      expect((await calls(replicaA.port, "get")) + (await calls(replicaB.port, "get"))).toBe(0);
    } finally {
      await p.stop();
    }
  });

  it("a pool without replicas: or sentinels: never sends ROLE", async () => {
    const { port, p } = await proxy(`plain:\n  listen: 127.0.0.1:PORT\n  redis: true\n  servers:\n   - 127.0.0.1:${master.port}:1\n`);
    try {
      await resetStats();
      await through(port, [cmd("SET", "rg:plain", "1"), cmd("GET", "rg:plain")]);
      expect(await calls(master.port, "set")).toBe(1);
      expect(await calls(master.port, "role")).toBe(0);
    } finally {
      await p.stop();
    }
  });

  it("-t explains a group mistake", () => {
    const file = writeConf(
      `grp:\n  listen: 127.0.0.1:1\n  redis: true\n  servers:\n   - 127.0.0.1:6379:1 shard1\n  replicas:\n   - 127.0.0.1:6380:1 shard2\n`,
    );
    const [bin, ...args] = TARGETS[target](["-t", "-c", file]);
    const r = spawnSync(bin!, args, { encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(r.stderr + r.stdout).toContain(
      `line 7 key "replicas": replica "127.0.0.1:6380:1" names shard "shard2", but no server of pool "grp" has that name (its master)`,
    );
  });
});
