// The memcache protocol as the core sees it: parsers, quit, multi-get split/merge, SERVER_ERROR replies.
//
// Splitting (nc_memcache.c memcache_fragment): get, gets, gat and gats with several keys go to
// each server as `get <key> <key> \r\n`, as nutcracker writes them (gat/gats keep the owner's
// bytes before the first key, which carry the exptime unparsed); so does a multi-get whose keys
// all live on one server, since nutcracker splits every multi-key get, even into one part. Merging (memcache_post_coalesce): the
// VALUE blocks of the parts' replies (recorded by memcacheParseRsp in msg.keys) are laid out in
// request-key order, then one END. A failed part makes the whole reply `SERVER_ERROR <strerror>`,
// and a part that answered anything but VALUE/END `SERVER_ERROR Invalid argument` (EINVAL), as in
// twemproxy.

import type { ErrnoName } from "../../runtime/types.ts";
import type { Msg } from "../core/message.ts";
import { msgCopySpan, type MsgWriter } from "../core/msg_io.ts";
import { strerror } from "../errors.ts";
import { MC_COMMANDS, MC_REQUEST_NAMES, McLocal, McMerge, mcCommandOf, McShape, McType } from "./memcache_commands.ts";
import { memcacheParseReq } from "./memcache_req.ts";
import { memcacheParseRsp } from "./memcache_rsp.ts";
import { msgSpan } from "./parse.ts";
import { FAN_NONE, type Proto, ReqAction, type ReqClient } from "./types.ts";

const enc = new TextEncoder();
const END = enc.encode("END\r\n");
/**
 * What a fragment starts with, by type: the command name and a space for get/gets, as
 * memcache_fragment_retrieval writes it; null where the owner's own bytes up to its first key are
 * copied instead (gat/gats, which keeps their exptime unparsed).
 */
const fragmentHead: (Uint8Array | null)[] = [];
for (const c of MC_COMMANDS) fragmentHead[c.type] = c.shape === McShape.retrieval ? enc.encode(`${c.name} `) : null;
/** One encoded reply per errno, built on first use (twemproxy's msg_get_error formats each time). */
const errorReplies = new Map<ErrnoName | null, Uint8Array>();
// scratch for the merge: per part, how many of its blocks are placed; reused, one merge at a time
const nextBlock: number[] = [];

function errorReply(err: ErrnoName | null): Uint8Array {
  let r = errorReplies.get(err);
  if (r === undefined) {
    r = enc.encode(`SERVER_ERROR ${strerror(err)}\r\n`);
    errorReplies.set(err, r);
  }
  return r;
}

/** Whether a request splits per server and merges VALUE blocks (get, gets, gat, gats). */
function mergesValues(msg: Msg): boolean {
  return mcCommandOf(msg.type)?.merge === McMerge.values;
}

/** Whether a request is a multi-key retrieval that may be split per server. */
export function memcacheFragmentable(msg: Msg): boolean {
  return mergesValues(msg) && msg.keys.length > 3;
}

/**
 * Write the part of `owner` that carries the keys `keyIdx` (indexes into owner.keys / 3). get and
 * gets are written as memcache_fragment_retrieval writes them, each key followed by a space
 * (`get a b \r\n`), so the servers receive, and request_bytes counts, nutcracker's bytes.
 */
export function memcacheBuildFragment(w: MsgWriter, owner: Msg, keyIdx: readonly number[]): void {
  const keys = owner.keys;
  const head = fragmentHead[owner.type];
  if (head !== null && head !== undefined) w.bytes(head);
  else w.range(owner, 0, owner.start, msgSpan(owner, 0, owner.start, keys[0]!, keys[1]!));
  for (let i = 0; i < keyIdx.length; i++) {
    const k = keyIdx[i]! * 3;
    w.range(owner, keys[k]!, keys[k + 1]!, keys[k + 2]!);
    w.byte(32); // ' '
  }
  w.crlf();
}

/** A part of a multi-get answered with something other than VALUE blocks and END (pre_coalesce's EINVAL). */
export function memcachePartRefused(_req: Msg, rsp: Msg): boolean {
  return rsp.type !== McType.RSP_MC_VALUE && rsp.type !== McType.RSP_MC_END;
}

/** Merge the parts' replies into one: VALUE blocks in request-key order, then END. */
export function memcacheCoalesce(owner: Msg): Uint8Array {
  const frags = owner.frags;
  for (const f of frags) if (f.error) return errorReply(f.err);
  let total = END.length;
  for (const f of frags) {
    const rsp = f.peer;
    if (rsp === null || memcachePartRefused(f, rsp)) return errorReply("EINVAL");
    const k = rsp.keys;
    for (let i = 2; i < k.length; i += 3) total += k[i]!;
  }
  // A part's blocks come in its keys' order with misses left out, so the j-th block of a part
  // goes where the part's j-th key was asked (twemproxy's memcache_copy_bulk does the same):
  // exact request order when all keys hit, and every block exactly once either way.
  const out = new Uint8Array(total);
  let at = 0;
  nextBlock.length = 0;
  for (let i = 0; i < frags.length; i++) nextBlock.push(0);
  const map = owner.fragMap;
  for (let k = 0; k < map.length; k++) {
    const fi = map[k]!;
    const rsp = frags[fi]!.peer!;
    const b = nextBlock[fi]!;
    if (b >= rsp.keys.length) continue; // a miss
    nextBlock[fi] = b + 3;
    at = msgCopySpan(out, at, rsp, rsp.keys[b]!, rsp.keys[b + 1]!, rsp.keys[b + 2]!);
  }
  out.set(END, at);
  return out;
}

export const memcacheProto: Proto = {
  name: "memcache",
  commandNames: MC_REQUEST_NAMES,
  pinSession: null,
  // replica groups are redis only: every memcache request counts as a write
  writes: new Uint8Array(MC_REQUEST_NAMES.length).fill(1),
  parseReq: memcacheParseReq,
  parseRsp: memcacheParseRsp,

  quietSentinel: new TextEncoder().encode("mn\r\n"),
  isFailure: () => false,
  probe: new TextEncoder().encode("version\r\n"),
  probeOk: (r) => r[0] === 86 && r[1] === 69, // "VE"RSION
  /** A failed retrieval closes the client after its SERVER_ERROR, as twemproxy does. */
  failClosesClient: mergesValues,
  isSentinelReply(rsp: Msg): boolean {
    return rsp.type === McType.RSP_MC_MN;
  },

  serverPreamble(): Uint8Array[] {
    return [];
  },

  filter(msg: Msg, _client: ReqClient): ReqAction {
    // twemproxy's req_filter: quit closes the client once earlier replies are out, no reply
    return mcCommandOf(msg.type)?.local === McLocal.quit ? ReqAction.QUIT : ReqAction.FORWARD;
  },

  fragmentable: memcacheFragmentable,
  fanTarget: () => FAN_NONE,
  buildFanPart: () => {},
  rewritesWhole: true,
  buildFragment: memcacheBuildFragment,
  partRefused: memcachePartRefused,
  coalesce: memcacheCoalesce,
  errorReply,
};
