// The redis protocol as the core sees it: parsers, local replies (PING, AUTH), QUIT, `-ERR` replies.

import type { PoolConf } from "../conf/types.ts";
import type { Msg } from "../core/message.ts";
import { MsgCursor, msgKeyEquals } from "../core/msg_io.ts";
import { redisParseReq, redisParseRsp, requestCommand, RspType } from "./redis.ts";
import { CmdConn, CmdFanout, CmdLocal, REDIS_COMMANDS } from "./redis_commands.ts";
import { RedisPins } from "./redis_pinned.ts";
import { redisBuildFragment, redisCoalesce, redisFailClosesClient, redisFragmentable, redisPartRefused } from "./redis_fragment.ts";
import { redisPassword } from "./redis_args.ts";
import { redisBuildFanPart, redisFanArityOk, redisFanTarget } from "./redis_fanout.ts";
import { redisLocalReply } from "./redis_local.ts";
import { AUTH_REQUIRED, INVALID_PASSWORD, NO_PASSWORD, OK, PONG, redisErrorReply } from "./redis_replies.ts";
import { type Proto, ReqAction, type ReqClient, ReqError } from "./types.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const HELLO3 = enc.encode("*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n");

function bulk(s: string): string {
  return `$${enc.encode(s).length}\r\n${s}\r\n`;
}

/** The error reply `error_replies: true` gives instead of closing (ours, not twemproxy's). */
function reqErrorReply(msg: Msg): Uint8Array {
  const name = dec.decode(msg.name.subarray(0, msg.nameLen)).toLowerCase();
  return enc.encode(
    msg.reqError === ReqError.ARITY
      ? `-ERR wrong number of arguments for '${name}' command\r\n`
      : `-ERR unsupported command '${name}'\r\n`,
  );
}

const FAILURES = ["-OOM", "-BUSY", "-LOADING"].map((s) => enc.encode(s));
const cursor = new MsgCursor();

/**
 * twemproxy's redis_failure: these errors make it close the server connection, so the request
 * and every other one in flight there get `-ERR Invalid argument`. (-BUSYKEY is not one.)
 */
function redisFailure(rsp: Msg): boolean {
  if (rsp.type !== RspType.ERROR) return false;
  for (const f of FAILURES) {
    const c = cursor.reset(rsp);
    let i = 0;
    while (i < f.length && c.next() === f[i]) i++;
    if (i < f.length) continue;
    const after = c.next();
    if (after === 32 || after === 13) return true;
  }
  return false;
}

export const redisProto: Proto = {
  name: "redis",
  pinSession: (client) => new RedisPins(client as ConstructorParameters<typeof RedisPins>[0]),
  commandNames: ["unknown", ...REDIS_COMMANDS.map((c) => c.name.toLowerCase())],
  writes: Uint8Array.from([1, ...REDIS_COMMANDS.map((c) => (c.write ? 1 : 0))]),
  parseReq: redisParseReq,
  parseRsp: redisParseRsp,

  /** twemproxy's req_filter + redis_reply: QUIT first, then AUTH, then the auth gate, then PING. */
  filter(msg: Msg, client: ReqClient): ReqAction {
    if (msg.reqError !== ReqError.NONE) {
      if (!client.conf.error_replies) return ReqAction.CLOSE;
      msg.reply = reqErrorReply(msg);
      return ReqAction.LOCAL;
    }
    const row = requestCommand(msg);
    const local = row?.local ?? CmdLocal.none;
    if (local === CmdLocal.quit) return ReqAction.QUIT;
    if (local === CmdLocal.auth) {
      const pw = client.conf.redis_auth;
      if (pw === null) {
        msg.reply = NO_PASSWORD;
      } else {
        // a wrong password de-authenticates until the right one comes
        client.authenticated = msgKeyEquals(msg, 0, redisPassword(client.conf)!);
        msg.reply = client.authenticated ? OK : INVALID_PASSWORD;
      }
      return ReqAction.LOCAL;
    }
    // HELLO may carry the AUTH that opens the gate below
    if (local === CmdLocal.hello) {
      msg.reply = redisLocalReply(msg, local, client);
      return ReqAction.LOCAL;
    }
    if (!client.authenticated) {
      msg.reply = AUTH_REQUIRED;
      return ReqAction.LOCAL;
    }
    // subscribed or in MULTI: the session judges everything; else pub/sub, blocking, MULTI...
    if (client.pinMode || row?.conn === CmdConn.pinned) return ReqAction.PINNED;
    if (local === CmdLocal.ping && msg.keys.length === 0) {
      msg.reply = PONG;
      return ReqAction.LOCAL;
    }
    // 0.5.0 takes PING with no argument only
    if (local === CmdLocal.ping && !client.conf.error_replies) return ReqAction.CLOSE;
    if (local !== CmdLocal.none) {
      msg.reply = redisLocalReply(msg, local, client);
      if (msg.reply !== null) return ReqAction.LOCAL;
    }
    if (row !== null && row.fanout !== CmdFanout.one && !redisFanArityOk(msg)) {
      msg.reqError = ReqError.ARITY;
      msg.reply = reqErrorReply(msg);
      return ReqAction.LOCAL;
    }
    return ReqAction.FORWARD;
  },

  /** AUTH, then SELECT: twemproxy sends SELECT first, its bug #457 (the data lands in db 0). */
  serverPreamble(conf: PoolConf, resp3: boolean): Uint8Array[] {
    const out: Uint8Array[] = [];
    if (conf.redis_auth !== null) out.push(enc.encode(`*2\r\n$4\r\nAUTH\r\n${bulk(conf.redis_auth)}`));
    if (conf.redis_db !== 0) out.push(enc.encode(`*2\r\n$6\r\nSELECT\r\n${bulk(String(conf.redis_db))}`));
    // the rotation that carries the requests of clients that said HELLO 3
    if (resp3) out.push(HELLO3);
    return out;
  },

  quietSentinel: null,
  probe: enc.encode("*1\r\n$4\r\nPING\r\n"),
  probeOk: (r) => r[0] === 43, // '+': +PONG (an -ERR such as -LOADING is not well)
  failClosesClient: redisFailClosesClient,
  isFailure: redisFailure,
  isSentinelReply: () => false,
  fragmentable: redisFragmentable,
  fanTarget: redisFanTarget,
  buildFanPart: redisBuildFanPart,
  rewritesWhole: false,
  buildFragment: redisBuildFragment,
  partRefused: redisPartRefused,
  coalesce: redisCoalesce,

  errorReply: redisErrorReply,
};
