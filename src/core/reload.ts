// Configuration reload (ours; twemproxy #6, whose PRs #257 and #321 were never merged): the new file is checked whole, then only what changed is replaced, while every client stays connected.
//
// Pools are matched by name. An unchanged pool is not touched. A changed one is rebuilt as a new
// ServerPool that carries the old one's counters and adopts its connections to the servers that
// stay (ServerPool.adopt), and is put under the listener (Proxy.swap): clients keep their sockets,
// their next request uses the new ring, and what is already written finishes on the connection
// it is on. Everything that can fail (parsing, binding a new listen address, a first Sentinel
// round) happens before the first swap, so a reload is applied whole or not at all.

import { parseConf } from "../conf/parse.ts";
import { workersRefuse } from "./workers.ts";
import type { PoolConf } from "../conf/types.ts";
import type { Proto } from "../proto/types.ts";
import { type Context, LOG_NOTICE } from "./context.ts";
import { ServerPool } from "./pool.ts";
import { type Proxy, type PoolRegistry, proxyInit } from "./proxy.ts";

/** What a reload did, as POST /reload answers it. */
export interface ReloadOutcome {
  readonly ok: boolean;
  /** Why the file was refused (what `-t` says), or null. */
  readonly error: string | null;
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly changed: readonly string[];
  readonly unchanged: readonly string[];
  /** From the trigger to the new pools serving. */
  readonly ms: number;
  readonly reloads: number;
  readonly reloads_failed: number;
}

/** A pool's settings and servers, without where in the file they were written: equal keys, nothing changed. */
export function confKey(c: PoolConf): string {
  return JSON.stringify(c, (k, v: unknown) => (k === "line" ? undefined : v instanceof Uint8Array ? Array.from(v) : v));
}

interface Step {
  readonly conf: PoolConf;
  readonly next: ServerPool;
  /** The listener it replaces under (same name), or null for a new pool. */
  readonly old: Proxy | null;
  /** A listener bound for it in this reload (a new pool, or a new listen address). */
  readonly bound: Proxy | null;
}

export class Reloader {
  private readonly ctx: Context;
  private readonly registry: PoolRegistry;
  /** The live listeners by pool name. */
  private readonly proxies: Map<string, Proxy>;
  private readonly file: string;
  private readonly protoOf: (c: PoolConf) => Proto;
  /** One reload at a time: a second trigger waits for the first to finish. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(ctx: Context, registry: PoolRegistry, proxies: Map<string, Proxy>, file: string, protoOf: (c: PoolConf) => Proto) {
    this.ctx = ctx;
    this.registry = registry;
    this.proxies = proxies;
    this.file = file;
    this.protoOf = protoOf;
  }

  /** Reload the file (`why` names the trigger, for the log). */
  reload(why: string): Promise<ReloadOutcome> {
    const run = this.chain.then(() => this.run(why));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async run(why: string): Promise<ReloadOutcome> {
    const ctx = this.ctx;
    const t0 = ctx.rt.now();
    let text: string;
    try {
      text = ctx.rt.readTextFile(this.file);
    } catch {
      // as -t words it (test_conf.ts)
      return this.refuse(why, `Cannot read configuration "${this.file}"`, t0);
    }
    let confs: PoolConf[];
    try {
      confs = parseConf(text, this.file);
    } catch (e) {
      return this.refuse(why, (e as Error).message, t0);
    }
    const shared = ctx.shareListeners ? workersRefuse(confs) : null;
    if (shared !== null) return this.refuse(why, shared, t0);

    const names = new Set(confs.map((c) => c.name));
    const removed = [...this.proxies.keys()].filter((n) => !names.has(n));
    const unchanged: string[] = [];
    const steps: Step[] = [];
    try {
      for (const conf of confs) {
        const old = this.proxies.get(conf.name) ?? null;
        if (old !== null && confKey(old.pool.conf) === confKey(conf)) {
          unchanged.push(conf.name);
          continue;
        }
        const next = new ServerPool(ctx, conf, this.protoOf(conf), old?.pool);
        const step: Step = { conf, next, old, bound: null };
        steps.push(step);
        await next.discover();
        if (old === null || old.pool.conf.listen.pname !== conf.listen.pname) {
          (step as { bound: Proxy | null }).bound = await proxyInit(ctx, next, false);
          ctx.connOpened(); // listeners count among the connections, as at start
        }
      }
    } catch (e) {
      // a listen address taken, most likely: undo what was bound, change nothing
      for (const s of steps) {
        if (s.bound !== null) {
          s.bound.close();
          ctx.connClosed();
        }
        s.next.stop();
      }
      const code = (e as { code?: string }).code;
      return this.refuse(why, `${code !== undefined ? `${code} ` : ""}${(e as Error).message}`, t0);
    }

    // from here on nothing fails and nothing waits: every pool changes in this one turn
    for (const s of steps) this.commit(s);
    for (const name of removed) this.retire(name);
    this.ctx.reloads++;
    const out: ReloadOutcome = {
      ok: true,
      error: null,
      added: steps.filter((s) => s.old === null).map((s) => s.conf.name),
      removed,
      changed: steps.filter((s) => s.old !== null).map((s) => s.conf.name),
      unchanged,
      ms: Math.round((ctx.rt.now() - t0) * 10) / 10,
      reloads: this.ctx.reloads,
      reloads_failed: this.ctx.reloadsFailed,
    };
    if (ctx.log.enabled(LOG_NOTICE)) {
      const list = (l: readonly string[]) => (l.length === 0 ? "none" : l.join(", "));
      ctx.log.debug(
        LOG_NOTICE,
        `reload (${why}) of '${this.file}' applied in ${out.ms} ms: added ${list(out.added)}; changed ${list(out.changed)}; ` +
          `removed ${list(removed)}; unchanged ${list(unchanged)}`,
      );
    }
    return out;
  }

  private refuse(why: string, error: string, t0: number): ReloadOutcome {
    this.ctx.reloadsFailed++;
    this.ctx.log.error(`reload (${why}) of '${this.file}' refused, nothing changed: ${error}`);
    return {
      ok: false,
      error,
      added: [],
      removed: [],
      changed: [],
      unchanged: [],
      ms: Math.round((this.ctx.rt.now() - t0) * 10) / 10,
      reloads: this.ctx.reloads,
      reloads_failed: this.ctx.reloadsFailed,
    };
  }

  private commit(s: Step): void {
    const { next, old, bound } = s;
    if (old === null) {
      this.registry.add(next);
      this.proxies.set(s.conf.name, bound!);
      if (s.conf.preconnect) next.preconnect();
      return;
    }
    const prev = old.pool;
    next.adopt(prev);
    old.swap(next);
    // after adopting, so the connections kept count against server_connections first
    if (s.conf.preconnect) next.preconnect();
    if (bound !== null) {
      // a new listen address: it listens already; the old one closes, its clients move over
      bound.adoptClients(old);
      old.close();
      this.ctx.connClosed();
      this.proxies.set(s.conf.name, bound);
    }
    this.registry.replace(prev, next);
    prev.stop();
  }

  /** A pool gone from the file: stop accepting, let what is in flight finish, close its clients after reload_grace. */
  private retire(name: string): void {
    const proxy = this.proxies.get(name)!;
    this.proxies.delete(name);
    proxy.close();
    this.ctx.connClosed();
    const pool = proxy.pool;
    this.registry.remove(pool);
    const grace = pool.conf.reload_grace;
    this.ctx.log.warn(`pool '${name}' removed: its ${proxy.clients.size} clients are closed in ${grace} ms`);
    this.ctx.rt.setTimer(grace, () => {
      this.ctx.tick();
      const n = proxy.clients.size;
      for (const c of [...proxy.clients]) c.close();
      pool.stop();
      this.ctx.log.warn(`pool '${name}' removed: closed its ${n} clients after ${grace} ms`);
      this.ctx.flushDirty();
    });
  }
}
