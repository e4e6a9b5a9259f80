// The redis protocol as the core sees it: parsers, PING/QUIT handled locally, `-ERR` replies.

import type { ErrnoName } from "../../runtime/types.ts";
import type { Msg } from "../core/message.ts";
import { strerror } from "../errors.ts";
import { redisParseReq, redisParseRsp, requestCommand } from "./redis.ts";
import { CmdLocal } from "./redis_commands.ts";
import { redisBuildFragment, redisCoalesce, redisFragmentable } from "./redis_fragment.ts";
import { type Proto, ReqAction } from "./types.ts";

const enc = new TextEncoder();
const PONG = enc.encode("+PONG\r\n");
const errorReplies = new Map<ErrnoName | null, Uint8Array>();

export const redisProto: Proto = {
  name: "redis",
  parseReq: redisParseReq,
  parseRsp: redisParseRsp,

  filter(msg: Msg): ReqAction {
    const cmd = requestCommand(msg);
    if (cmd === null) return ReqAction.FORWARD;
    switch (cmd.local) {
      case CmdLocal.ping:
        msg.reply = PONG;
        return ReqAction.LOCAL;
      case CmdLocal.quit:
        return ReqAction.QUIT;
      default:
        return ReqAction.FORWARD;
    }
  },

  fragmentable: redisFragmentable,
  buildFragment: redisBuildFragment,
  coalesce: redisCoalesce,

  errorReply(err: ErrnoName | null): Uint8Array {
    let r = errorReplies.get(err);
    if (r === undefined) {
      r = enc.encode(`-ERR ${strerror(err)}\r\n`);
      errorReplies.set(err, r);
    }
    return r;
  },
};
