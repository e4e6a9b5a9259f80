// The contract between the cache store and its persistence: what a mutation records and how replay applies it.
//
// The store logs the *result* of each mutation, never the command: an incr logs the new value,
// an append the whole new item, so replay is deterministic and needs no clock but the stored one.

/** One item as the log and the snapshot carry it. Times are absolute unix seconds; 0 = never expires. */
export interface JournalItem {
  readonly key: Uint8Array;
  readonly flags: number;
  readonly exptime: number;
  readonly cas: bigint;
  readonly value: Uint8Array;
}

/** What the store calls on every change it makes (after the change is applied in memory). */
export interface Journal {
  /** An item was stored or replaced (set/add/replace/append/prepend/cas/incr/decr/ms...). */
  set(item: JournalItem): void;
  /** An item was removed by a client (delete/md). Expiry and eviction are not logged. */
  delete(key: Uint8Array): void;
  /** An item's expiry changed (touch/gat/gats/mg T). */
  touch(key: Uint8Array, exptime: number): void;
  /** flush_all: every item stored before `at` (unix seconds) is invalid from `at` on. */
  flushAll(at: number): void;
  /**
   * Called once per batch of requests, before their replies are written: with `sync always` the
   * records must be durable when this returns, so an acknowledged write survives a kill -9.
   */
  commit(): void;
}

/** What replay and compaction need from the store. */
export interface JournalTarget {
  /** Replay one record into memory without logging it again. */
  applySet(item: JournalItem): void;
  applyDelete(key: Uint8Array): void;
  applyTouch(key: Uint8Array, exptime: number): void;
  applyFlushAll(at: number): void;
  /** Every live item, for a snapshot; the callback must not mutate the store. */
  forEachItem(fn: (item: JournalItem) => void): void;
}
