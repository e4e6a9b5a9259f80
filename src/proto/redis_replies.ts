// The redis replies the proxy writes itself: twemproxy's canned replies (nc_redis.c rsp_*) and its `-ERR <strerror>` errors.

import type { ErrnoName } from "../../runtime/types.ts";
import { strerror } from "../errors.ts";

const enc = new TextEncoder();

export const PONG = enc.encode("+PONG\r\n");
export const OK = enc.encode("+OK\r\n");
export const INVALID_PASSWORD = enc.encode("-ERR invalid password\r\n");
export const AUTH_REQUIRED = enc.encode("-NOAUTH Authentication required\r\n");
export const NO_PASSWORD = enc.encode("-ERR Client sent AUTH, but no password is set\r\n");

const errorReplies = new Map<ErrnoName | null, Uint8Array>();

/** The reply for a request that failed with `err` (msg_get_error): built once per errno, then shared. */
export function redisErrorReply(err: ErrnoName | null): Uint8Array {
  let r = errorReplies.get(err);
  if (r === undefined) {
    // EROFS: a write held for a master that said it is a replica (ServerConn's ROLE check), told
    // as the replica itself would tell it, so clients that reconnect on READONLY do
    r = enc.encode(err === "EROFS" ? "-READONLY You can't write against a read only replica.\r\n" : `-ERR ${strerror(err)}\r\n`);
    errorReplies.set(err, r);
  }
  return r;
}
