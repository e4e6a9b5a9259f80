// Inline redis requests (`PING\r\n`, `SET k v\r\n`): a resumable parser for the one line, beside the multi-bulk one in redis.ts.
//
// twemproxy takes multi-bulk requests only and closes on anything else; with error_replies (the
// default) we take inline ones too, because redis-benchmark at its defaults sends `PING\r\n` and
// redis-cli --pipe passes inline lines through. The line is forwarded as it came (redis reads
// inline requests itself); its tokens are recorded as keys exactly as a multi-bulk request's
// arguments are, so routing, splitting and the proxy's own commands see no difference. Quotes
// are not parsed (redis's sdssplitargs would join "a b"): a token ends at a space. MSET and EVAL,
// whose split and routing read values after the keys in multi-bulk form, are refused inline.

import { type Msg, ParseResult } from "../core/message.ts";
import { parseAgain, parseDone } from "./parse.ts";
import { arityOk, isKeyArg } from "./redis.ts";
import { CmdShape, lookupCommand, REDIS_COMMANDS } from "./redis_commands.ts";
import { ReqError } from "./types.ts";

/** The first inline state; redis.ts hands a request here when its first byte is not '*'. */
export const SW_INLINE = 20;
const SW_INLINE_SP = 21; // between tokens
const SW_INLINE_TOKEN = 22;
const SW_INLINE_LF = 23; // after the CR
/** redis's PROTO_INLINE_MAX_SIZE: a longer line is not a request. */
const INLINE_MAX = 64 * 1024;

const CR = 13;
const LF = 10;
const SP = 32;

/** The command's shape once its name is read (or nokey: unknown, unsupported, or refused inline). */
function nameDone(msg: Msg): CmdShape {
  const type = msg.reqError === ReqError.NONE ? lookupCommand(msg.name, msg.nameLen) : 0;
  msg.type = type;
  const cmd = type === 0 ? null : REDIS_COMMANDS[type - 1]!;
  if (cmd === null || !cmd.supported || cmd.arity === CmdShape.argkvx || cmd.arity === CmdShape.argeval) {
    msg.reqError = ReqError.UNSUPPORTED;
    return CmdShape.nokey;
  }
  return cmd.arity;
}

function lineDone(msg: Msg, shape: CmdShape, idx: number, p: number): ParseResult {
  msg.narg = msg.argi + 1;
  if (msg.reqError === ReqError.NONE && !arityOk(msg, shape)) {
    msg.reqError = ReqError.ARITY;
    msg.keys.length = 0;
  }
  return parseDone(msg, idx, p);
}

/**
 * Parse one inline request from msg.pidx/ppos (its first byte) to its LF. msg.num counts the
 * line's bytes; msg.neg says whether the token being read was recorded as a key.
 */
export function redisParseInline(msg: Msg): ParseResult {
  const mbufs = msg.mbufs;
  const keys = msg.keys;
  let idx = msg.pidx;
  let p = msg.ppos;
  let state = msg.state;
  let num = msg.num;
  let rlen = msg.rlen;
  let shape: CmdShape = msg.type > 0 && msg.reqError === ReqError.NONE ? REDIS_COMMANDS[msg.type - 1]!.arity : CmdShape.nokey;

  for (; idx < mbufs.length; idx++, p = 0) {
    const m = mbufs[idx]!;
    const buf = m.buf;
    const lim = m.last;
    while (p < lim) {
      const ch = buf[p]!;
      switch (state) {
        case SW_INLINE:
          if (ch === SP || ch === CR || ch === LF) {
            shape = nameDone(msg);
            msg.argi = 0;
            state = SW_INLINE_SP; // the byte is read again there
            break;
          }
          if (msg.nameLen < msg.name.length) msg.name[msg.nameLen++] = ch >= 97 && ch <= 122 ? ch - 32 : ch;
          else msg.reqError = ReqError.UNSUPPORTED;
          p++;
          num++;
          break;

        case SW_INLINE_SP:
          if (ch === SP) {
            p++;
            num++;
          } else if (ch === CR) {
            state = SW_INLINE_LF;
            p++;
          } else if (ch === LF) {
            return lineDone(msg, shape, idx, p + 1);
          } else {
            msg.argi++;
            msg.neg = msg.reqError === ReqError.NONE && isKeyArg(msg, shape, msg.argi);
            if (msg.neg) keys.push(idx, p, 0);
            rlen = 0;
            state = SW_INLINE_TOKEN;
          }
          break;

        case SW_INLINE_TOKEN: {
          let i = p;
          while (i < lim) {
            const c = buf[i]!;
            if (c === SP || c === CR || c === LF) break;
            i++;
          }
          num += i - p;
          rlen += i - p;
          p = i;
          if (i < lim) {
            if (msg.neg) keys[keys.length - 1] = rlen;
            state = SW_INLINE_SP; // the space, CR or LF is read again there
          }
          break;
        }

        case SW_INLINE_LF:
          if (ch !== LF) return ParseResult.ERROR;
          return lineDone(msg, shape, idx, p + 1);

        default:
          return ParseResult.ERROR;
      }
      if (num > INLINE_MAX) return ParseResult.ERROR;
    }
    if (idx === mbufs.length - 1) break;
  }
  return parseAgain(msg, state, num, rlen, idx, p);
}
