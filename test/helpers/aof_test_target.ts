// For the log's tests: a small store on a Map that is both a JournalTarget and a writer through a Journal.

import type { Journal, JournalItem, JournalTarget } from "../../src/cache/journal.ts";

/** A string of code points below 256 as those bytes (keys in the tests are binary). */
export const b = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
const str = (x: Uint8Array): string => String.fromCharCode(...x.subarray(0, 4096)) + (x.length > 4096 ? `…${x.length}` : "");

/**
 * The state a log must reproduce: items by key, and every flush_all time replayed. Items are
 * replaced, never changed in place, as a store hands them to forEachItem.
 */
export class MapTarget implements JournalTarget {
  readonly items = new Map<string, JournalItem>();
  readonly flushes: number[] = [];
  /** Every call in order, for comparing replays. */
  readonly ops: string[] = [];
  journal: Journal | null = null;
  /** Positions as a store's slots: a set moves an item to a free slot, as CacheStore's link does. */
  protected readonly slots: (string | null)[] = [];
  private readonly slotOf = new Map<string, number>();
  private readonly free: number[] = [];

  private place(k: string, item: JournalItem): void {
    this.items.set(k, item);
    const s = this.free.length > 0 ? (this.free.pop() as number) : this.slots.push(null) - 1;
    this.slots[s] = k;
    this.unplace(k);
    this.slotOf.set(k, s);
  }

  private unplace(k: string): void {
    const old = this.slotOf.get(k);
    if (old === undefined) return;
    this.slots[old] = null;
    this.free.push(old);
    this.slotOf.delete(k);
  }

  private remove(k: string): void {
    this.items.delete(k);
    this.unplace(k);
  }

  private clear(): void {
    for (const k of [...this.items.keys()]) this.remove(k);
  }

  applySet(item: JournalItem): void {
    this.place(str(item.key), item);
    this.ops.push(`set ${str(item.key)} ${item.flags} ${item.exptime} ${item.cas} ${item.value.length}:${hashBytes(item.value)}`);
  }

  applyDelete(key: Uint8Array): void {
    this.remove(str(key));
    this.ops.push(`delete ${str(key)}`);
  }

  applyTouch(key: Uint8Array, exptime: number): void {
    const it = this.items.get(str(key));
    if (it !== undefined) this.items.set(str(key), { ...it, exptime });
    this.ops.push(`touch ${str(key)} ${exptime}`);
  }

  applyFlushAll(at: number): void {
    this.flushes.push(at);
    // only a flush already due empties the map; a delayed one is kept as a fact to compare
    if (at <= Math.floor(Date.now() / 1000)) this.clear();
    this.ops.push(`flush_all ${at}`);
  }

  forEachItem(fn: (item: JournalItem) => void): void {
    for (const it of this.items.values()) fn(it);
  }

  // the writer side: change the map, then log the result, as the store does

  set(key: string, value: Uint8Array | string, flags = 0, exptime = 0, cas = 0n): void {
    const item: JournalItem = { key: b(key), flags, exptime, cas, value: typeof value === "string" ? b(value) : value };
    this.place(key, item);
    this.journal?.set(item);
  }

  delete(key: string): void {
    this.remove(key);
    this.journal?.delete(b(key));
  }

  touch(key: string, exptime: number): void {
    const it = this.items.get(key);
    if (it === undefined) return;
    this.items.set(key, { ...it, exptime });
    this.journal?.touch(b(key), exptime);
  }

  flushAll(at: number): void {
    this.flushes.push(at);
    if (at <= Math.floor(Date.now() / 1000)) this.clear();
    this.journal?.flushAll(at);
  }

  /** A comparable picture of the items: key → flags, exptime, cas, value. */
  dump(): Map<string, string> {
    const out = new Map<string, string>();
    for (const [k, it] of [...this.items].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0))) {
      out.set(k, `${it.flags} ${it.exptime} ${it.cas} ${str(it.value)}`);
    }
    return out;
  }
}

/** The same store offering the snapshot walk in pieces, over its slots. */
export class SlotTarget extends MapTarget {
  forEachItemFrom(cursor: number, max: number, fn: (item: JournalItem) => void): number {
    let i = cursor;
    for (let n = 0; i < this.slots.length && n < max; i++) {
      const k = this.slots[i];
      if (k === null || k === undefined) continue;
      fn(this.items.get(k) as JournalItem);
      n++;
    }
    return i >= this.slots.length ? -1 : i;
  }
}

/** FNV-1a of the bytes, to name a value in `ops` without printing a megabyte. */
function hashBytes(x: Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < x.length; i++) h = Math.imul(h ^ x[i]!, 0x01000193);
  return (h >>> 0).toString(16);
}
