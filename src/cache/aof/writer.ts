// The cache's append-only log: the live Journal (group commit, sync policy) over one file, recovered at open.
//
// Writing: the store's mutations are encoded into one reused buffer; commit() (once per batch,
// before the replies) makes it one write(2), then fdatasync for `sync always`, or arms a timer
// for `sync N` ms. A write(2) that returned survives a kill -9 under every policy; the policy is
// about power loss and OS crashes. `sync N` ms syncs in the background: the timer only starts
// the fdatasync.
//
// Once the log passes its limit it is rewritten in the background (compact.ts): each commit's
// bytes also go to the compaction, which at its end hands back the new file (adopt()).

import type { AppendFile, TimerHandle } from "../../../runtime/types.ts";
import type { Journal, JournalItem, JournalTarget } from "../journal.ts";
import { type CompactedLog, Compaction } from "./compact.ts";
import { RecordBuffer } from "./format.ts";
import { type AofRuntime, recoverAof } from "./recover.ts";

export { AofError, type AofRuntime } from "./recover.ts";

export interface AofOptions {
  readonly path: string;
  /** fdatasync in every commit, every N ms when something was written, or never (the OS decides). */
  readonly sync: "always" | "no" | number;
  /** Cut a damaged tail off instead of refusing to start. */
  readonly repair: boolean;
  /** Compact once the log is this big (and twice the size of the last snapshot). */
  readonly maxBytes?: number | undefined;
}

/** --aof-max-size when none is given. */
export const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;

/**
 * Recover the log at `opts.path` into `target` (snapshot and records), then return the live
 * journal that appends to it.
 *
 * @throws AofError naming the file, the offset and the damaged bytes when the tail is torn or
 *   corrupt and `opts.repair` is false, or when the file is not a cache log
 * @example
 * ```ts
 * store.journal = openAof(rt, { path: "cache.aof", sync: "always", repair: false }, store, log);
 * ```
 */
export function openAof(
  rt: AofRuntime,
  opts: AofOptions,
  target: JournalTarget,
  log: (line: string) => void,
): AofJournal {
  const r = recoverAof(rt, opts.path, opts.repair, target, log);
  return new AofJournal(rt, opts, target, log, r.size, r.lastFlushAt);
}

export class AofJournal implements Journal, CompactedLog {
  readonly path: string;
  /** Bytes in the live log file. */
  bytes: number;
  /** The latest flush_all time logged or replayed. */
  lastFlushAt: number;
  /** The rewrite of this log in the background, when it grows past its limit. */
  readonly compaction: Compaction;

  private readonly rt: AofRuntime;
  private readonly policy: "always" | "no" | number;
  private file: AppendFile | null;
  private readonly buf = new RecordBuffer();
  /** Set by a failed write or sync: from then on every commit throws it (no false acknowledgements). */
  private failed: Error | null = null;
  private syncTimer: TimerHandle | null = null;
  /** A background fdatasync of the live log (sync N ms) is in flight. */
  private logSyncing = false;
  private readonly log: (line: string) => void;
  private readonly onSyncTimer = (): void => {
    this.syncTimer = null;
    const f = this.file;
    if (f === null || this.failed !== null) return;
    if (this.logSyncing) {
      // the last one is still running: it may not cover the newest writes, try again later
      this.syncTimer = this.rt.setTimer(this.policy as number, this.onSyncTimer);
      return;
    }
    this.logSyncing = true;
    try {
      f.syncInBackground(this.onLogSynced);
    } catch (e) {
      this.logSyncing = false;
      this.fail(e);
    }
  };
  private readonly onLogSynced = (err: Error | null): void => {
    this.logSyncing = false;
    if (err !== null) this.fail(err);
  };

  constructor(
    rt: AofRuntime,
    opts: AofOptions,
    target: JournalTarget,
    log: (line: string) => void,
    size: number,
    lastFlushAt: number,
  ) {
    this.rt = rt;
    this.path = opts.path;
    this.policy = opts.sync;
    this.log = log;
    this.bytes = size;
    this.lastFlushAt = lastFlushAt;
    const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
    this.compaction = new Compaction(rt, this, maxBytes, target, log);
    this.file = rt.openAppendFile(opts.path, false);
    // a log recovered past its limit is compacted on the first timer turn, not inside open
    if (this.bytes >= maxBytes) this.compaction.startSoon();
  }

  /** The log takes writes: not closed, halted or failed. */
  get open(): boolean {
    return this.file !== null && this.failed === null;
  }

  set(item: JournalItem): void {
    this.buf.set(item);
  }

  delete(key: Uint8Array): void {
    this.buf.delete(key);
  }

  touch(key: Uint8Array, exptime: number): void {
    this.buf.touch(key, exptime);
  }

  flushAll(at: number): void {
    if (at > this.lastFlushAt) this.lastFlushAt = at;
    this.buf.flushAll(at);
  }

  /** Write the batch's records (one write), durable before returning under `sync always`. */
  commit(): void {
    const b = this.buf;
    const n = b.len;
    if (n === 0) return;
    const file = this.file;
    if (this.failed !== null || file === null) {
      b.clear();
      throw this.failed ?? new Error(`Cannot write "${this.path}": the log is closed`);
    }
    try {
      file.write(b.bytes, 0, n);
      if (this.policy === "always") file.sync();
    } catch (e) {
      b.clear();
      throw this.fail(e);
    }
    this.bytes += n;
    this.compaction.copy(b.bytes, n);
    b.clear();
    if (typeof this.policy === "number" && this.syncTimer === null) {
      this.syncTimer = this.rt.setTimer(this.policy, this.onSyncTimer);
    }
    if (this.compaction.due(this.bytes)) this.compaction.start();
  }

  /** The compaction's switch: `file` was renamed over the log and is the log from now on. */
  adopt(file: AppendFile, bytes: number): void {
    const old = this.file;
    this.file = file;
    this.bytes = bytes;
    old?.close();
  }

  /** Write what is buffered and make the file durable now (whatever the policy), then close. */
  close(): void {
    this.clearTimers();
    if (this.compaction.active) this.compaction.drop();
    if (this.file !== null && this.failed === null) {
      try {
        this.commit();
        this.file.sync();
      } catch (e) {
        this.fail(e);
      }
    }
    this.file?.close();
    this.file = null;
    this.failed ??= new Error(`Cannot write "${this.path}": the log is closed`);
  }

  /**
   * Stop at once as a kill -9 would: buffered records are lost, nothing is synced, the temp
   * file of a compaction stays. For crash tests.
   */
  halt(): void {
    this.clearTimers();
    this.compaction.halt();
    this.file?.close();
    this.file = null;
    this.failed = new Error(`Cannot write "${this.path}": the log was halted`);
  }

  private clearTimers(): void {
    if (this.syncTimer !== null) this.rt.clearTimer(this.syncTimer);
    this.syncTimer = null;
    this.compaction.clearTimer();
  }

  /** A write or sync of the log failed: refuse every later commit, say so once. */
  private fail(e: unknown): Error {
    if (this.failed === null) {
      const why = e instanceof Error ? e.message : String(e);
      this.failed = new Error(`${why}; the log refuses writes from now on`, { cause: e });
      this.log(`aof "${this.path}": ${this.failed.message}`);
      if (this.compaction.active) this.compaction.drop();
    }
    return this.failed;
  }
}
