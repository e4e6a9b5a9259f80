// What the core asks of a protocol (redis or memcache): parsers, local handling, error replies.

import type { ErrnoName } from "../../runtime/types.ts";
import type { Msg, MsgParser } from "../core/message.ts";
import type { MsgWriter } from "../core/msg_io.ts";
import type { PoolConf } from "../conf/types.ts";

/** What req_filter decides for a parsed request. */
export const ReqAction = {
  /** Send it to the server its key picks. */
  FORWARD: 0,
  /** The proxy answered it: msg.reply holds the bytes. */
  LOCAL: 1,
  /** Close the client once earlier replies are out; no reply (redis QUIT, memcache quit). */
  QUIT: 2,
  /** Close the client now, without a reply (twemproxy's answer to what it does not support). */
  CLOSE: 3,
  /**
   * Goes through the client's pinned-connection session (Proto.pinSession): pub/sub, blocking
   * commands, transactions, and every request while the client is subscribed or in MULTI.
   */
  PINNED: 4,
} as const;
export type ReqAction = (typeof ReqAction)[keyof typeof ReqAction];

/** What req_filter may read and change of the client connection. */
export interface ReqClient {
  authenticated: boolean;
  readonly conf: PoolConf;
  /** The connection's number (CLIENT ID, HELLO's id). */
  readonly id: number;
  /** CLIENT SETNAME / HELLO SETNAME, kept here and never sent to a server. */
  name: Uint8Array | null;
  /** The client said HELLO 3: it gets RESP3, from the servers' RESP3 connections and from the proxy. */
  resp3: boolean;
  /** `addr:port` of the client (CLIENT INFO). */
  readonly peerName: string;
  /** Clients of the pool connected now (INFO's connected_clients). */
  readonly poolClients: number;
  /** Servers in the pool (SCAN's cursor counts them). */
  readonly poolServers: number;
  /** Subscribed (RESP2) or inside MULTI: every request goes to the pinned session. */
  readonly pinMode: boolean;
}

/** A client's connections of its own and what is on them (redis_pinned.ts). */
export interface PinSession {
  /** Take a request the filter said is PINNED; it answers or forwards it, in the client's reply order. */
  request(msg: Msg): void;
  /** Subscribed (RESP2) or inside MULTI. */
  readonly mode: boolean;
  /** The client is gone: release every pinned connection. */
  closed(): void;
  /** A command is pending on one of its pinned command connections (a blocking pop, a transaction). */
  readonly holding: boolean;
}

/** Proto.fanTarget: a request for the one server its key picks, or for every server of the pool. */
export const FAN_NONE = -2;
export const FAN_EVERY = -1;

/** Why a well-formed request is not forwarded (msg.reqError). */
export const ReqError = {
  NONE: 0,
  UNSUPPORTED: 1,
  ARITY: 2,
} as const;

export interface Proto {
  readonly name: "redis" | "memcache";
  /** Request names by message type (msg.type), index 0 for "unknown": per-command counts. */
  readonly commandNames: readonly string[];
  /**
   * Per message type, 1 for a request that may change data (the command table's `write`; an
   * unknown type counts as a write): a replica group sends it to the master only.
   */
  readonly writes: Uint8Array;
  readonly parseReq: MsgParser;
  readonly parseRsp: MsgParser;
  /** The session that serves a client's PINNED requests (redis), made on its first one. */
  readonly pinSession: ((client: unknown) => PinSession) | null;
  filter(msg: Msg, client: ReqClient): ReqAction;
  /** What a health check sends, and whether a reply's first bytes say the server is well. */
  readonly probe: Uint8Array;
  probeOk(reply: Uint8Array): boolean;
  /**
   * Requests every new server connection sends first, their replies swallowed (AUTH, SELECT);
   * `resp3` for a connection of the RESP3 rotation (redis HELLO 3).
   */
  serverPreamble(conf: PoolConf, resp3: boolean): Uint8Array[];
  /** The reply a client gets for a request that failed with `err` (msg_get_error). */
  errorReply(err: ErrnoName | null): Uint8Array;
  /**
   * For quiet requests: the no-op to send after each (memcache `mn`), and whether a reply is that
   * no-op's answer, which means the quiet request before it got no reply of its own.
   */
  readonly quietSentinel: Uint8Array | null;
  /** Whether a request that failed on a server (connection error) also closes its client. */
  failClosesClient(msg: Msg): boolean;
  /** A reply that means the server is failing (redis -OOM, -BUSY, -LOADING): drop the connection. */
  isFailure(rsp: Msg): boolean;
  isSentinelReply(rsp: Msg): boolean;
  /** Whether a request with several keys may be split per server (MGET, DEL, get...). */
  fragmentable(msg: Msg): boolean;
  /**
   * Whether a multi-key request whose keys all live on one server is still sent as its fragment's
   * bytes (memcache: nutcracker's `get a b \r\n`), not as the client wrote it.
   */
  readonly rewritesWhole: boolean;
  /** Write the fragment of `owner` that carries the keys `keyIdx` (indexes into owner.keys / 3). */
  buildFragment(w: MsgWriter, owner: Msg, keyIdx: readonly number[]): void;
  /**
   * A multi-key request's part (or the whole of it, sent to one server) whose reply is not the kind
   * its command expects: the request fails with EINVAL, as twemproxy's pre_coalesce decides.
   */
  partRefused(req: Msg, rsp: Msg): boolean;
  /**
   * Which servers a request goes to other than by its key: FAN_NONE (by its key), FAN_EVERY
   * (every server of the pool: KEYS, DBSIZE, FLUSHALL...), or the index of the one server the
   * command itself names (SCAN's cursor carries it).
   */
  fanTarget(msg: Msg, nservers: number): number;
  /** Write the part of a fanned-out request that goes to server `server` of `nservers`. */
  buildFanPart(w: MsgWriter, owner: Msg, server: number, nservers: number): void;
  /** The one reply for a split request, from its fragments' replies (pre/post coalesce). */
  coalesce(owner: Msg): Uint8Array;
}
