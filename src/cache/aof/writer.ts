// The cache's append-only log: the live Journal (group commit, sync policy) and its compaction in the background.
//
// Writing: the store's mutations are encoded into one reused buffer; commit() (once per batch,
// before the replies) makes it one write(2), then fdatasync for `sync always`, or arms a timer
// for `sync N` ms. A write(2) that returned survives a kill -9 under every policy; the policy is
// about power loss and OS crashes.
//
// Compaction, when the log passes its limit, rewrites it as [header][snapshot][records since]:
//
//   start    open <log>.compact (empty), header
//   SNAPSHOT each timer turn, for STEP_MS: walk on through the store (forEachItemFrom; a store
//            without it is listed in one pass at the start), encode items, write them.
//            fdatasync of <log>.compact runs in the background, one at a time, each covering
//            all written before it: neither the writers nor the snapshot wait for the disk.
//            Commits go on to the old log (durability) and are kept in `pending`.
//   CATCHUP  each turn, for STEP_MS: copy `pending` to <log>.compact while commits still add
//            to it (a memory copy outruns any client, so this ends).
//   TAIL     `pending` is all in: from now on commits go to both files.
//   switch   once a background sync covers the snapshot and `pending`: fdatasync <log>.compact
//            (what commits added since), rename it over the log, fsync the directory, close the
//            old file. No commit runs in between, so an acknowledged record is durable in
//            whichever file the name points to.
//
// A crash before the rename leaves the old log complete (recovery removes the temp file); after
// it, the new log holds everything. Writers wait for at most STEP_MS of encoding and writing per
// turn, and once for the switch's two small syncs; a store without forEachItemFrom also makes
// them wait for its one-pass listing at the start. The next compaction is due at twice the
// snapshot (not the new file, which also holds what came during a slow final sync).
//
// `sync N` ms syncs the live log in the background too: the timer only starts the fdatasync.

import type { AppendFile, TimerHandle } from "../../../runtime/types.ts";
import { header, RecordBuffer } from "./format.ts";
import { type AofRuntime, compactPath, dirOf, recoverAof } from "./recover.ts";
import type { Journal, JournalItem, JournalTarget } from "../journal.ts";

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

export const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;
/** Snapshot bytes encoded per write; a step writes chunks until STEP_MS has passed. */
const CHUNK = 64 * 1024;
/** Time one snapshot or catch-up step may take: the longest a writer waits for it. */
const STEP_MS = 2;
/** `pending` bytes copied to the temp file per write in the catch-up. */
const CATCHUP_WRITE = 1024 * 1024;
/** Items asked of forEachItemFrom per call; calls repeat until CHUNK bytes are encoded. */
const WALK = 256;

const IDLE = 0;
const SNAPSHOT = 1;
const CATCHUP = 2;
const TAIL = 3;
const PHASES = ["idle", "snapshot", "catchup", "tail"] as const;

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

export class AofJournal implements Journal {
  /** Bytes in the live log file. */
  bytes: number;
  /** Compactions finished since open. */
  compactions = 0;
  /** Longest time one step of the last compaction kept the event loop (ms): what a writer waited. */
  maxStepMs = 0;

  private readonly rt: AofRuntime;
  private readonly path: string;
  private readonly tmpPath: string;
  private readonly policy: "always" | "no" | number;
  private readonly maxBytes: number;
  private readonly target: JournalTarget;
  private readonly log: (line: string) => void;
  private file: AppendFile | null;
  private readonly buf = new RecordBuffer();
  /** Set by a failed write or sync: from then on every commit throws it (no false acknowledgements). */
  private failed: Error | null = null;
  private syncTimer: TimerHandle | null = null;
  /** A background fdatasync of the live log (sync N ms) is in flight. */
  private logSyncing = false;
  private lastFlushAt: number;
  /** Size at which the next compaction starts. */
  private compactAt: number;

  private phase: number = IDLE;
  private tmp: AppendFile | null = null;
  private tmpBytes = 0;
  /** The store is walked in pieces (forEachItemFrom) from `cursor`, -1 once done. */
  private walking = false;
  private cursor = 0;
  /** Otherwise its items were listed at the start and are encoded from `next` on. */
  private items: (JournalItem | null)[] = [];
  private next = 0;
  private snapItems = 0;
  /** The clock of the current snapshot step: items expired by then are left out. */
  private snapNow = 0;
  private readonly pending = new RecordBuffer();
  /** How much of `pending` the catch-up has copied. */
  private pendingOff = 0;
  private readonly chunk = new RecordBuffer(CHUNK + 64 * 1024);
  private stepTimer: TimerHandle | null = null;
  /** A background fdatasync of the temp file is in flight. */
  private syncing = false;
  /** Snapshot bytes were written to the temp file after the sync in flight began. */
  private unsynced = false;
  /** Tests drive a compaction by hand with stepCompaction(). */
  private manual = false;
  private compactStart = 0;
  /** When the snapshot and the catch-up ended (for the log line). */
  private snapEnd = 0;
  private catchupEnd = 0;
  /** What the start took (the whole store is listed then when it has no forEachItemFrom). */
  private startMs = 0;
  /** Header + snapshot bytes of the compaction under way: the base of the next limit. */
  private snapBytes = 0;
  private bytesBefore = 0;
  private readonly onStep = (): void => {
    this.stepTimer = null;
    this.stepCompaction();
  };
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
  private readonly collect = (item: JournalItem): void => {
    this.items.push(item);
  };
  private readonly encode = (item: JournalItem): void => {
    // expired but not yet reclaimed: replay would only drop it again
    if (item.exptime !== 0 && item.exptime <= this.snapNow) return;
    this.chunk.set(item);
    this.snapItems++;
  };
  private readonly onStart = (): void => {
    this.stepTimer = null;
    this.startCompaction();
  };
  private readonly onTmpSynced = (err: Error | null): void => {
    this.syncing = false;
    // the compaction may have been dropped meanwhile (close, halt, a failed log)
    if (this.phase === IDLE) return;
    if (err !== null) {
      this.abortCompaction(err);
      return;
    }
    if (this.unsynced) this.syncTmp();
    else if (this.phase === TAIL) this.schedule();
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
    this.tmpPath = compactPath(opts.path);
    this.policy = opts.sync;
    this.maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
    this.target = target;
    this.log = log;
    this.bytes = size;
    this.lastFlushAt = lastFlushAt;
    this.compactAt = this.maxBytes;
    this.file = rt.openAppendFile(opts.path, false);
    // a log recovered past its limit is compacted on the first timer turn, not inside open
    if (this.bytes >= this.compactAt) this.stepTimer = rt.setTimer(0, this.onStart);
  }

  /** "idle", "snapshot", "catchup" or "tail". */
  get compactionPhase(): (typeof PHASES)[number] {
    return PHASES[this.phase] as (typeof PHASES)[number];
  }

  /** A background sync of the temp file is in flight (the switch waits for it). */
  get compactionWaiting(): boolean {
    return this.syncing;
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
    if (this.phase === SNAPSHOT || this.phase === CATCHUP) {
      this.pending.append(b.bytes, 0, n);
    } else if (this.phase === TAIL) {
      try {
        (this.tmp as AppendFile).write(b.bytes, 0, n);
        this.tmpBytes += n;
      } catch (e) {
        this.abortCompaction(e);
      }
    }
    b.clear();
    if (typeof this.policy === "number" && this.syncTimer === null) {
      this.syncTimer = this.rt.setTimer(this.policy, this.onSyncTimer);
    }
    if (this.phase === IDLE && this.bytes >= this.compactAt && this.stepTimer === null) this.startCompaction();
  }

  /**
   * Begin a compaction now (normally commit() does when the log passes its limit). With
   * `manual`, nothing is scheduled: the caller runs each step with stepCompaction(), and a step
   * does one chunk rather than STEP_MS worth, so tests can stop at any point.
   */
  startCompaction(manual = false): void {
    // `syncing` outlives a dropped compaction until its callback: wait for that too
    if (this.phase !== IDLE || this.syncing || this.failed !== null || this.file === null) return;
    this.manual = manual;
    this.compactStart = this.rt.now();
    this.maxStepMs = 0;
    this.bytesBefore = this.bytes;
    try {
      const tmp = this.rt.openAppendFile(this.tmpPath, true);
      this.tmp = tmp;
      const h = header();
      tmp.write(h, 0, h.length);
      this.tmpBytes = h.length;
    } catch (e) {
      this.abortCompaction(e);
      return;
    }
    this.snapItems = 0;
    this.walking = this.target.forEachItemFrom !== undefined;
    this.cursor = 0;
    this.items = [];
    this.next = 0;
    // without a walk in pieces: one pass over the store, references only, encoded over the next
    // turns. An item changed meanwhile is also in `pending`, and replaying that after it is exact.
    if (!this.walking) this.target.forEachItem(this.collect);
    this.phase = SNAPSHOT;
    this.startMs = this.maxStepMs = this.rt.now() - this.compactStart;
    this.schedule();
  }

  /**
   * Run one step of the compaction under way; returns the phase it is in afterwards. The switch
   * (the step in "tail") waits until a background sync covers the snapshot: then this does nothing.
   */
  stepCompaction(): (typeof PHASES)[number] {
    if (this.phase === TAIL && (this.syncing || this.unsynced)) return this.compactionPhase;
    const t0 = this.rt.now();
    try {
      if (this.phase === SNAPSHOT) this.snapshotStep(t0);
      else if (this.phase === CATCHUP) this.catchupStep(t0);
      else if (this.phase === TAIL) this.switchFiles();
    } catch (e) {
      this.abortCompaction(e);
    }
    this.maxStepMs = Math.max(this.maxStepMs, this.rt.now() - t0);
    if (this.phase === SNAPSHOT || this.phase === CATCHUP || (this.phase === TAIL && !this.syncing && !this.unsynced)) {
      this.schedule();
    }
    return this.compactionPhase;
  }

  /** Write what is buffered and make the file durable now (whatever the policy), then close. */
  close(): void {
    this.clearTimers();
    if (this.phase !== IDLE) this.dropCompaction();
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
    this.tmp?.close();
    this.tmp = null;
    this.phase = IDLE;
    this.file?.close();
    this.file = null;
    this.failed = new Error(`Cannot write "${this.path}": the log was halted`);
  }

  private clearTimers(): void {
    if (this.syncTimer !== null) this.rt.clearTimer(this.syncTimer);
    if (this.stepTimer !== null) this.rt.clearTimer(this.stepTimer);
    this.syncTimer = null;
    this.stepTimer = null;
  }

  /** A write or sync of the log failed: refuse every later commit, say so once. */
  private fail(e: unknown): Error {
    if (this.failed === null) {
      const why = e instanceof Error ? e.message : String(e);
      this.failed = new Error(`${why}; the log refuses writes from now on`, { cause: e });
      this.log(`aof "${this.path}": ${this.failed.message}`);
      if (this.phase !== IDLE) this.dropCompaction();
    }
    return this.failed;
  }

  private schedule(): void {
    if (!this.manual && this.stepTimer === null) this.stepTimer = this.rt.setTimer(0, this.onStep);
  }

  private snapshotStep(t0: number): void {
    const out = this.chunk;
    const tmp = this.tmp as AppendFile;
    const now = (this.snapNow = this.rt.unixTime());
    let done: boolean;
    do {
      if (this.walking) {
        const t = this.target as Required<JournalTarget>;
        while (this.cursor >= 0 && out.len < CHUNK) this.cursor = t.forEachItemFrom(this.cursor, WALK, this.encode);
        done = this.cursor < 0;
      } else {
        const items = this.items;
        while (this.next < items.length && out.len < CHUNK) {
          const it = items[this.next] as JournalItem;
          items[this.next++] = null;
          this.encode(it);
        }
        done = this.next >= items.length;
      }
      // a delayed flush_all still to come must outlive the records it will invalidate
      if (done && this.lastFlushAt > now) out.flushAll(this.lastFlushAt);
      tmp.write(out.bytes, 0, out.len);
      this.tmpBytes += out.len;
      out.clear();
    } while (!done && !this.manual && this.rt.now() - t0 < STEP_MS);
    if (done) {
      this.items = [];
      this.phase = CATCHUP;
      this.snapEnd = this.rt.now();
      this.snapBytes = this.tmpBytes;
    }
    this.requestTmpSync();
  }

  private catchupStep(t0: number): void {
    const p = this.pending;
    const tmp = this.tmp as AppendFile;
    do {
      const end = Math.min(p.len, this.pendingOff + CATCHUP_WRITE);
      tmp.write(p.bytes, this.pendingOff, end);
      this.tmpBytes += end - this.pendingOff;
      this.pendingOff = end;
    } while (this.pendingOff < p.len && !this.manual && this.rt.now() - t0 < STEP_MS);
    if (this.pendingOff >= p.len) {
      p.clear();
      this.pendingOff = 0;
      this.phase = TAIL;
      this.catchupEnd = this.rt.now();
    }
    this.requestTmpSync();
  }

  /** Cover what was just written with a background sync: now, or after the one in flight. */
  private requestTmpSync(): void {
    if (this.syncing) this.unsynced = true;
    else this.syncTmp();
  }

  /** Start a background sync of the temp file, covering everything written to it so far. */
  private syncTmp(): void {
    this.unsynced = false;
    this.syncing = true;
    try {
      (this.tmp as AppendFile).syncInBackground(this.onTmpSynced);
    } catch (e) {
      // no callback will come
      this.syncing = false;
      this.abortCompaction(e);
    }
  }

  private switchFiles(): void {
    const tmp = this.tmp as AppendFile;
    tmp.sync();
    this.rt.renameFile(this.tmpPath, this.path);
    // from here the new file is the log, whatever fails next
    const old = this.file;
    this.file = tmp;
    this.tmp = null;
    this.phase = IDLE;
    this.bytes = this.tmpBytes;
    old?.close();
    try {
      this.rt.syncDir(dirOf(this.path));
    } catch (e) {
      this.log(`aof "${this.path}": ${e instanceof Error ? e.message : String(e)}`);
    }
    this.compactions++;
    // twice the snapshot, not the new file: what came during a slow compaction is garbage too
    this.compactAt = Math.max(this.maxBytes, 2 * this.snapBytes);
    const now = this.rt.now();
    const ms = (a: number, b: number): number => Math.round(b - a);
    this.log(
      `aof "${this.path}": compacted ${this.bytesBefore} to ${this.bytes} bytes (${this.snapItems} items) in ` +
        `${ms(this.compactStart, now)} ms (snapshot ${ms(this.compactStart, this.snapEnd)}, catch-up ` +
        `${ms(this.snapEnd, this.catchupEnd)}, sync ${ms(this.catchupEnd, now)}), ` +
        `longest pause ${this.maxStepMs.toFixed(1)} ms (start ${this.startMs.toFixed(1)})`,
    );
  }

  private abortCompaction(e: unknown): void {
    this.log(
      `aof "${this.path}": compaction failed: ${e instanceof Error ? e.message : String(e)}; the log goes on in place`,
    );
    this.dropCompaction();
    // try again only after as much growth again
    this.compactAt = this.bytes + this.maxBytes;
  }

  private dropCompaction(): void {
    if (this.stepTimer !== null) this.rt.clearTimer(this.stepTimer);
    this.stepTimer = null;
    this.tmp?.close();
    this.tmp = null;
    this.phase = IDLE;
    this.unsynced = false;
    this.items = [];
    this.pending.clear();
    this.pendingOff = 0;
    try {
      if (this.rt.fileSize(this.tmpPath) >= 0) this.rt.removeFile(this.tmpPath);
    } catch {
      // recovery removes it at the next start
    }
  }
}
