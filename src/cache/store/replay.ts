// The store's side of persistence: replaying journal records into it, and the snapshot of its live items.

import { hashMurmur } from "../../hashkit/murmur.ts";
import type { JournalItem } from "../journal.ts";
import { type CacheStore, NO_MEMORY } from "./store.ts";

/** applySet: put `item` back as it was (its cas too), replacing any item with its key. */
export function replaySet(st: CacheStore, item: JournalItem): void {
  const nkey = item.key.length;
  const nbytes = item.value.length + 2;
  const h = hashMurmur(item.key, 0, nkey);
  const old = st.find(item.key, 0, nkey, h);
  if (old >= 0) st.unlink(old);
  const loc = st.alloc(nkey + nbytes);
  if (loc === NO_MEMORY) return; // as if evicted: the log holds more than --memory
  const d = st.arena.buf(loc);
  const at = st.arena.base(loc);
  d.set(item.key, at);
  d.set(item.value, at + nkey);
  d[at + nkey + nbytes - 2] = 13;
  d[at + nkey + nbytes - 1] = 10;
  const i = st.link(loc, nkey, nbytes, item.flags, st.relTime(item.exptime), 0, h);
  const cas = Number(item.cas);
  st.cas[i] = cas;
  if (cas > st.casId) st.casId = cas;
}

/** applyFlushAll: a flush in the past empties what was replayed so far; one to come is kept pending. */
export function replayFlushAll(st: CacheStore, at: number): void {
  const rel = at - st.processStarted;
  if (rel <= st.now) {
    st.forEachSlot((i) => st.unlink(i));
  } else {
    st.oldestLive = rel - 1;
  }
}

/** forEachItem: every live item, as copies: a snapshot may hold them while the store goes on changing. */
export function snapshotItems(st: CacheStore, fn: (item: JournalItem) => void): void {
  st.forEachSlot((i) => {
    if (st.isDead(i)) return;
    const it = st.journalItem(i);
    fn({ key: it.key.slice(), flags: it.flags, exptime: it.exptime, cas: it.cas, value: it.value.slice() });
  });
}
