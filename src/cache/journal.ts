// The contract between the cache store and its persistence: what a mutation records and how replay applies it.
//
// The store logs the *result* of each mutation, never the command: an incr logs the new value,
// an append the whole new item, so replay is deterministic and needs no clock but the stored one.
//
// store/ calls a Journal and is a JournalTarget; aof/ is a Journal over a file and replays into
// any JournalTarget, so the log never imports the store (its tests run it over a Map).

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
  /**
   * Every live item, for a snapshot; the callback must not mutate the store. Without
   * forEachItemFrom the log keeps these items and encodes them over later turns, so they must
   * stay as they were handed over (copies, or never-reused memory).
   */
  forEachItem(fn: (item: JournalItem) => void): void;
  /**
   * Optional, and what a big store should offer: the same walk in pieces, so a snapshot never
   * holds the event loop for long (forEachItem copies the whole store in one turn; README.md,
   * "Compaction", gives both at 500,000 items). Visits the live items from `cursor` on (0 to
   * begin), about `max` of them (a store may count slots), and returns the cursor to go on from,
   * or -1 after the last. Items may be views valid during the callback only: each is encoded at
   * once. The log's records since the snapshot began make up for whatever changes between
   * calls, provided an item only ever moves to another position by a change that is logged (a
   * set); eviction and expiry may remove items anywhere.
   */
  forEachItemFrom?(cursor: number, max: number, fn: (item: JournalItem) => void): number;
}
