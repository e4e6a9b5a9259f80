// What the core asks of a protocol (redis or memcache): parsers, local handling, error replies.

import type { ErrnoName } from "../../runtime/types.ts";
import type { Msg, MsgParser } from "../core/message.ts";
import type { MsgWriter } from "../core/msg_io.ts";

/** What req_filter decides for a parsed request. */
export const ReqAction = {
  /** Send it to the server its key picks. */
  FORWARD: 0,
  /** The proxy answered it: msg.reply holds the bytes. */
  LOCAL: 1,
  /** Close the client once earlier replies are out; no reply (redis QUIT, memcache quit). */
  QUIT: 2,
} as const;
export type ReqAction = (typeof ReqAction)[keyof typeof ReqAction];

export interface Proto {
  readonly name: "redis" | "memcache";
  readonly parseReq: MsgParser;
  readonly parseRsp: MsgParser;
  filter(msg: Msg): ReqAction;
  /** The reply a client gets for a request that failed with `err` (msg_get_error). */
  errorReply(err: ErrnoName | null): Uint8Array;
  /** Whether a request with several keys may be split per server (MGET, DEL, get...). */
  fragmentable(msg: Msg): boolean;
  /** Write the fragment of `owner` that carries the keys `keyIdx` (indexes into owner.keys / 3). */
  buildFragment(w: MsgWriter, owner: Msg, keyIdx: readonly number[]): void;
  /** The one reply for a split request, from its fragments' replies (pre/post coalesce). */
  coalesce(owner: Msg): Uint8Array;
}
