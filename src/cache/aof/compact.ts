// Compaction of the cache log in the background: [header][snapshot][records since] in <log>.compact, then renamed over the log.
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
// The live log (writer.ts) owns a Compaction: it hands over each commit's bytes (copy()) and
// asks due() after each commit; the compaction hands the renamed file back through adopt().

import type { AppendFile, TimerHandle } from "../../../runtime/types.ts";
import type { JournalItem, JournalTarget } from "../journal.ts";
import { header, RecordBuffer } from "./format.ts";
import { type AofRuntime, compactPath, dirOf } from "./recover.ts";

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
export type CompactionPhase = (typeof PHASES)[number];

/** What a compaction needs of the live log it rewrites. */
export interface CompactedLog {
  /** The log's path; the temp file is next to it. */
  readonly path: string;
  /** Bytes in the live log file. */
  readonly bytes: number;
  /** The log takes writes (it is not closed, halted or failed). */
  readonly open: boolean;
  /** The latest flush_all time logged, which a snapshot must carry while it is in the future. */
  readonly lastFlushAt: number;
  /** The switch: `file`, now renamed over the log and `bytes` long, is the live log; close the old one. */
  adopt(file: AppendFile, bytes: number): void;
}

export class Compaction {
  /** Compactions finished since open. */
  finished = 0;
  /** Longest time one step of the last compaction kept the event loop (ms): what a writer waited. */
  maxStepMs = 0;

  private readonly rt: AofRuntime;
  private readonly live: CompactedLog;
  private readonly tmpPath: string;
  private readonly maxBytes: number;
  private readonly target: JournalTarget;
  private readonly log: (line: string) => void;
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
  /** Tests drive a compaction by hand with step(). */
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
    this.step();
  };
  private readonly onStart = (): void => {
    this.stepTimer = null;
    this.start();
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
  private readonly onTmpSynced = (err: Error | null): void => {
    this.syncing = false;
    // the compaction may have been dropped meanwhile (close, halt, a failed log)
    if (this.phase === IDLE) return;
    if (err !== null) {
      this.abort(err);
      return;
    }
    if (this.unsynced) this.syncTmp();
    else if (this.phase === TAIL) this.schedule();
  };

  constructor(rt: AofRuntime, live: CompactedLog, maxBytes: number, target: JournalTarget, log: (line: string) => void) {
    this.rt = rt;
    this.live = live;
    this.tmpPath = compactPath(live.path);
    this.maxBytes = maxBytes;
    this.compactAt = maxBytes;
    this.target = target;
    this.log = log;
  }

  /** "idle", "snapshot", "catchup" or "tail". */
  get phaseName(): CompactionPhase {
    return PHASES[this.phase] as CompactionPhase;
  }

  /** A background sync of the temp file is in flight (the switch waits for it). */
  get waiting(): boolean {
    return this.syncing;
  }

  /** A compaction is under way. */
  get active(): boolean {
    return this.phase !== IDLE;
  }

  /** Whether a live log of `bytes` should start a compaction now. */
  due(bytes: number): boolean {
    return this.phase === IDLE && bytes >= this.compactAt && this.stepTimer === null;
  }

  /** Start on the next timer turn (a log recovered past its limit: not inside open). */
  startSoon(): void {
    this.stepTimer = this.rt.setTimer(0, this.onStart);
  }

  /**
   * Begin a compaction now (normally the live log does when it passes its limit). With
   * `manual`, nothing is scheduled: the caller runs each step with step(), and a step does one
   * chunk rather than STEP_MS worth, so tests can stop at any point.
   */
  start(manual = false): void {
    // `syncing` outlives a dropped compaction until its callback: wait for that too
    if (this.phase !== IDLE || this.syncing || !this.live.open) return;
    this.manual = manual;
    this.compactStart = this.rt.now();
    this.maxStepMs = 0;
    this.bytesBefore = this.live.bytes;
    try {
      const tmp = this.rt.openAppendFile(this.tmpPath, true);
      this.tmp = tmp;
      const h = header();
      tmp.write(h, 0, h.length);
      this.tmpBytes = h.length;
    } catch (e) {
      this.abort(e);
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
  step(): CompactionPhase {
    if (this.phase === TAIL && (this.syncing || this.unsynced)) return this.phaseName;
    const t0 = this.rt.now();
    try {
      if (this.phase === SNAPSHOT) this.snapshotStep(t0);
      else if (this.phase === CATCHUP) this.catchupStep(t0);
      else if (this.phase === TAIL) this.switchFiles();
    } catch (e) {
      this.abort(e);
    }
    this.maxStepMs = Math.max(this.maxStepMs, this.rt.now() - t0);
    if (this.phase === SNAPSHOT || this.phase === CATCHUP || (this.phase === TAIL && !this.syncing && !this.unsynced)) {
      this.schedule();
    }
    return this.phaseName;
  }

  /** The records of a commit to the live log, `bytes[0..n)`: kept for the catch-up, or written to the temp file too. */
  copy(bytes: Uint8Array, n: number): void {
    if (this.phase === SNAPSHOT || this.phase === CATCHUP) {
      this.pending.append(bytes, 0, n);
    } else if (this.phase === TAIL) {
      try {
        (this.tmp as AppendFile).write(bytes, 0, n);
        this.tmpBytes += n;
      } catch (e) {
        this.abort(e);
      }
    }
  }

  /** Give up the compaction under way (the log closes or failed): its temp file goes. */
  drop(): void {
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

  /** Stop at once as a kill -9 would: the temp file stays as it is. */
  halt(): void {
    this.clearTimer();
    this.tmp?.close();
    this.tmp = null;
    this.phase = IDLE;
  }

  clearTimer(): void {
    if (this.stepTimer !== null) this.rt.clearTimer(this.stepTimer);
    this.stepTimer = null;
  }

  private schedule(): void {
    if (!this.manual && this.stepTimer === null) this.stepTimer = this.rt.setTimer(0, this.onStep);
  }

  private snapshotStep(t0: number): void {
    const out = this.chunk;
    const tmp = this.tmp as AppendFile;
    const now = (this.snapNow = this.rt.unixTime());
    const lastFlushAt = this.live.lastFlushAt;
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
      if (done && lastFlushAt > now) out.flushAll(lastFlushAt);
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
      this.abort(e);
    }
  }

  private switchFiles(): void {
    const tmp = this.tmp as AppendFile;
    const path = this.live.path;
    tmp.sync();
    this.rt.renameFile(this.tmpPath, path);
    // from here the new file is the log, whatever fails next
    this.tmp = null;
    this.phase = IDLE;
    this.live.adopt(tmp, this.tmpBytes);
    try {
      this.rt.syncDir(dirOf(path));
    } catch (e) {
      this.log(`aof "${path}": ${e instanceof Error ? e.message : String(e)}`);
    }
    this.finished++;
    // twice the snapshot, not the new file: what came during a slow compaction is garbage too
    this.compactAt = Math.max(this.maxBytes, 2 * this.snapBytes);
    const now = this.rt.now();
    const ms = (a: number, b: number): number => Math.round(b - a);
    this.log(
      `aof "${path}": compacted ${this.bytesBefore} to ${this.live.bytes} bytes (${this.snapItems} items) in ` +
        `${ms(this.compactStart, now)} ms (snapshot ${ms(this.compactStart, this.snapEnd)}, catch-up ` +
        `${ms(this.snapEnd, this.catchupEnd)}, sync ${ms(this.catchupEnd, now)}), ` +
        `longest pause ${this.maxStepMs.toFixed(1)} ms (start ${this.startMs.toFixed(1)})`,
    );
  }

  private abort(e: unknown): void {
    this.log(
      `aof "${this.live.path}": compaction failed: ${e instanceof Error ? e.message : String(e)}; the log goes on in place`,
    );
    this.drop();
    // try again only after as much growth again
    this.compactAt = this.live.bytes + this.maxBytes;
  }
}
