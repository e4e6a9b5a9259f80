// For the cache's unit tests: a context on a fresh store with a clock the test moves, and a session writing into a byte list.

import type { CacheContext } from "./commands.ts";
import { Session } from "./session.ts";
import type { StatsView } from "./stats.ts";
import type { ConnView } from "./stats_cmd.ts";
import { CacheStore } from "../store/store.ts";

export const T0 = 1_800_000_000;

/** A cache context on a fresh store, with a clock the test moves. */
export function testContext(opts: { memory?: number; itemSizeMax?: number } = {}): CacheContext & { clock: number } {
  const store = new CacheStore({ memoryLimit: opts.memory ?? 64 << 20, itemSizeMax: opts.itemSizeMax ?? 1 << 20, unixNow: T0 });
  const ctx = {
    store,
    verbosity: 0,
    version: "test",
    clock: T0,
    unixTime(): number {
      return ctx.clock;
    },
    statsView(): StatsView {
      return {
        stats: store.stats,
        pid: 1,
        uptime: ctx.clock - T0,
        unixTime: ctx.clock,
        version: "test",
        maxConnections: 1024,
        limitMaxbytes: store.memoryLimit,
        currItems: store.count,
        bytes: store.itemBytes,
        hashPowerLevel: 16,
        verbosity: ctx.verbosity,
        port: 11211,
        listenAddr: "127.0.0.1",
        itemSizeMax: store.itemSizeMax,
        chunkMax: store.chunkMax,
        crawlerRunning: false,
        crawler: ctx.crawler,
        slabsMoved: store.arena.slabsMoved,
        trackSizes: store.sizesCasMin >= 0,
        oldestLive: store.oldestLive,
      };
    },
    crawler: { enabled: true, sleep: 100, tocrawl: 0 },
    connections(): readonly ConnView[] {
      return [];
    },
  };
  return ctx;
}

/** A session writing into a byte list; `ended` tells whether it closed the connection. */
export function testSession(ctx: CacheContext): { s: Session; out: () => string; ended: () => boolean } {
  const got: Uint8Array[] = [];
  let ended = false;
  const s = new Session(ctx, {
    write(b: Uint8Array): boolean {
      got.push(b.slice());
      return true;
    },
    end(): void {
      ended = true;
    },
  });
  return { s, out: () => Buffer.concat(got).toString("latin1"), ended: () => ended };
}

